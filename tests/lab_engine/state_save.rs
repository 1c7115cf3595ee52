//! A state save that fails stops the run: the summary names the state file and the OS error,
//! and no step starts after it, not even one in the moment the save took (checked on the
//! hosts: each step leaves a mark there when it runs). The state file is replaced by a
//! directory mid-run, a failure root meets too.

use kha_tui::engine::{Event, StepOutcome};

use crate::run::{Scene, stdout};

const MARKS: &str = "/var/tmp/kha-save-ran";

pub fn a_failed_save_stops_the_run(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    let state_file = data
        .path()
        .join("state")
        .join(format!("{}.state.json", s.name));
    let worker = s.worker().to_string();
    let plan = s.plan(|st| {
        st.script = if st.node == worker && st.id == "containerd" {
            // The test breaks the state file when it sees this line.
            format!(
                "echo save-breaks; sleep 1; echo {}:{} >>{MARKS}",
                st.node, st.id
            )
        } else {
            // Half a second each: long enough that a step started before the failed save
            // (as the scheduler did before it waited for each save) would be seen running.
            format!(
                "echo stand-in; sleep 0.5; echo {}:{} >>{MARKS}",
                st.node, st.id
            )
        };
    });
    let file = state_file.clone();
    let ran = s.apply(
        data.path(),
        plan,
        // One step at a time, so that "after the failure" is a clear line.
        |o| o.concurrency = 1,
        Box::new(move |ev, _| {
            if matches!(ev, Event::Log { line, .. } if line == "save-breaks") {
                // The writer may be renaming over the file right now: retry until the
                // directory stands where the file was.
                loop {
                    let _ = std::fs::remove_file(&file);
                    if std::fs::create_dir(&file).is_ok() {
                        break;
                    }
                }
            }
        }),
    );
    assert!(!ran.summary.ok);
    let why = format!(
        "cannot save state to {}: Is a directory (os error 21)",
        state_file.display()
    );
    assert_eq!(
        ran.summary.stopped.as_deref(),
        Some(why.as_str()),
        "{}",
        ran.dump()
    );

    let broke = ran.log_index("save-breaks").expect("the step ran");
    let started: Vec<(usize, String)> = ran
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, (_, e))| match e {
            Event::StepStarted { node, step, .. } => Some((i, format!("{node}:{step}"))),
            _ => None,
        })
        .collect();
    // The save of the breaking step's end fails; the scheduler waits for that save before it
    // starts anything, so nothing starts after the break (before, one step slipped through
    // in the milliseconds the failing save took).
    let after: Vec<&String> = started
        .iter()
        .filter(|(i, _)| *i > broke)
        .map(|(_, k)| k)
        .collect();
    assert!(
        after.is_empty(),
        "steps started after the break: {after:?}\n{}",
        ran.dump()
    );
    let not_run = ran
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(e, Event::StepFinished { outcome: StepOutcome::NotRun { reason }, .. } if *reason == why)
        })
        .count();
    assert!(
        not_run >= 1,
        "the steps left are not run, saying why: {}",
        ran.dump()
    );

    // What ran on the hosts is exactly what was reported started.
    let mut marks: Vec<String> = s
        .hosts
        .iter()
        .flat_map(|h| {
            stdout(&s.lab.exec(
                &h.name,
                &["sh", "-c", &format!("cat {MARKS} 2>/dev/null || true")],
            ))
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
        })
        .collect();
    marks.sort();
    let mut reported: Vec<String> = started.into_iter().map(|(_, k)| k).collect();
    reported.sort();
    assert_eq!(marks, reported);
    s.assert_nothing_left("kha-save-ran");
}
