//! A step that prints nothing for longer than the quiet threshold is reported quiet
//! (`StepQuiet`), again while it stays quiet, and never while it prints. The
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
    // What is asserted holds whatever the machine's load: reports come while the step is
    // silent, never before the threshold, each one for a longer silence than the last, and
    // none while it prints. (How often they repeat is not asserted: that is wall-clock time.)
    let while_silent: Vec<_> = quiet
        .iter()
        .filter(|(i, ..)| (begins..noisy).contains(i))
        .collect();
    assert!(!while_silent.is_empty(), "{}", ran.dump());
    assert!(
        quiet.iter().all(|q| q.1 >= Duration::from_secs(2)),
        "never before 2 s of silence: {quiet:?}"
    );
    assert!(
        quiet.windows(2).all(|w| w[1].1 > w[0].1),
        "each report is for a longer silence: {quiet:?}"
    );
    let while_printing = ran.events[noisy..=ends]
        .iter()
        .filter(|(_, e)| matches!(e, Event::StepQuiet { .. }))
        .count();
    assert_eq!(while_printing, 0, "{}", ran.dump());
}
