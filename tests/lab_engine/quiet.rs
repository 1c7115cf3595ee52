//! A step that prints nothing for longer than the quiet threshold is reported quiet
//! (`StepQuiet`), again every 10 s while it stays quiet, and never while it prints. The
//! threshold is the run's option (`Options::quiet_after`, 30 s by default), shortened here.

use std::time::Duration;

use kha_tui::engine::Event;

use crate::run::Scene;

pub fn quiet_steps_are_reported(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    // 13 s of silence (quiet at 2 s and at 12 s), then 4 s of output every half second.
    let script = "echo quiet-begins; sleep 13; echo noisy-begins\nfor i in 1 2 3 4 5 6 7 8; do sleep 0.5; echo tick $i; done\necho noisy-ends";
    let ran = s.apply(
        data.path(),
        s.plan_with("containerd", script, None),
        |o| o.quiet_after = Duration::from_secs(2),
        Box::new(|_, _| {}),
    );
    assert!(ran.summary.ok, "{:?}\n{}", ran.summary, ran.dump());
    let begins = ran.log_index("quiet-begins").expect("the step began");
    let noisy = ran
        .log_index("noisy-begins")
        .expect("the step printed again");
    let ends = ran.log_index("noisy-ends").expect("the step ended");
    let quiet: Vec<(usize, Duration, std::time::Instant)> = ran
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, (at, e))| match e {
            Event::StepQuiet {
                node,
                step,
                quiet_for,
            } if node == s.worker() && step == "containerd" => Some((i, *quiet_for, *at)),
            _ => None,
        })
        .collect();
    let while_silent: Vec<_> = quiet
        .iter()
        .filter(|(i, ..)| (begins..noisy).contains(i))
        .collect();
    assert_eq!(while_silent.len(), 2, "{}", ran.dump());
    let (first, second) = (while_silent[0], while_silent[1]);
    assert!(
        first.1 >= Duration::from_secs(2) && first.1 < Duration::from_secs(4),
        "the first after 2 s of silence: {:?}",
        first.1
    );
    assert!(
        second.1 >= Duration::from_secs(12) && second.1 < Duration::from_millis(13_500),
        "the next 10 s later: {:?}",
        second.1
    );
    let gap = second.2 - first.2;
    assert!(
        gap > Duration::from_millis(9_000) && gap < Duration::from_millis(11_000),
        "sent 10 s apart: {gap:?}"
    );
    let while_printing = ran.events[noisy..=ends]
        .iter()
        .filter(|(_, e)| matches!(e, Event::StepQuiet { .. }))
        .count();
    assert_eq!(while_printing, 0, "{}", ran.dump());
    assert_eq!(
        quiet.len(),
        2,
        "no other quiet report for this step: {}",
        ran.dump()
    );
}
