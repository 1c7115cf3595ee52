//! Stopping a run (what Ctrl-C in `apply` and Stop in the TUI do: cancel the run's token) ends
//! the remote step and every child it started and removes the run's work directories; a step
//! abandoned at its idle limit leaves nothing running, so the retry that follows gets the lock
//! the first attempt held (as apt's lock is held by an abandoned `apt-get update`).

use std::time::Duration;

use kha_tui::engine::Event;

use crate::run::Scene;

/// Stopped while a step runs with children (a long "download" in the background and one in
/// the foreground, as apt runs its methods).
pub fn stopped_mid_step(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    let long = "echo step-begins; sleep 311 & sleep 312; echo never";
    let ran = s.apply(
        data.path(),
        s.plan_with("containerd", long, None),
        |_| {},
        Box::new(|ev, stop| {
            if matches!(ev, Event::Log { line, .. } if line.contains("step-begins")) {
                stop.cancel();
            }
        }),
    );
    assert!(!ran.summary.ok);
    let events: Vec<String> = ran.events.iter().map(|(_, e)| format!("{e:?}")).collect();
    let stopping = events
        .iter()
        .position(|e| e.starts_with("Stopping"))
        .expect("Stopping was reported");
    assert!(
        events.last().unwrap().starts_with("RunFinished"),
        "RunFinished comes last"
    );
    assert!(stopping < events.len() - 1);
    assert!(
        events.iter().any(|e| e.contains("Interrupted")
            && e.contains(s.worker())
            && e.contains("containerd")),
        "{}",
        ran.dump()
    );
    s.assert_nothing_left("sleep 31");
}

/// A step that holds a lock and then stalls without output is abandoned at its idle limit;
/// its process group is ended, so the next run's attempt gets the lock.
pub fn abandoned_at_idle_limit(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    let locked = "exec 9>/var/tmp/kha-stop-test.lock\nflock -n 9 || { echo 'kha-tui: the lock is held by an earlier attempt' >&2; exit 1; }\nif [ ! -e /var/tmp/kha-stop-test.first ]; then touch /var/tmp/kha-stop-test.first; echo stalls; sleep 321 & sleep 322; fi\necho got-the-lock";
    let plan = s.plan_with("prepare", locked, Some(Duration::from_secs(3)));
    let ran = s.apply(data.path(), plan.clone(), |_| {}, Box::new(|_, _| {}));
    assert!(!ran.summary.ok);
    let timed_out = ran.events.iter().any(|(_, e)| {
        let e = format!("{e:?}");
        e.contains("StepFinished") && e.contains(s.worker()) && e.contains("TimedOut { idle: true")
    });
    assert!(timed_out, "{}", ran.dump());
    s.assert_nothing_left("sleep 32");
    // The retry (the same command again) runs the step and succeeds.
    let ran = s.apply(data.path(), plan, |_| {}, Box::new(|_, _| {}));
    assert!(ran.summary.ok, "{:?}", ran.summary);
    assert!(ran.log_index("got-the-lock").is_some(), "{}", ran.dump());
}
