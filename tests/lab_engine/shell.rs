//! A node's steps run in one long-lived root shell (one sudo per connection, not one per
//! step): every step of the worker reports the same process group, the group of the shell
//! whose command line carries kha-tui's marker, and when the run ends the shell is gone
//! with the work directory.

use std::collections::BTreeSet;

use kha_tui::engine::Event;

use crate::run::Scene;

pub fn steps_share_one_root_shell(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    let worker = s.worker().to_string();
    let report = "read -r st </proc/$$/stat; set -- ${st##*) }; echo \"kha-group $3 uid $(id -u)\"";
    let ran = s.apply(
        data.path(),
        s.plan(|st| {
            if st.node == worker {
                st.script = report.into();
            }
        }),
        |_| {},
        Box::new(|_, _| {}),
    );
    assert!(ran.summary.ok, "{:?}\n{}", ran.summary, ran.dump());
    let reports: Vec<(String, String)> = ran
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Log {
                node, step, line, ..
            } if node == &worker && line.starts_with("kha-group ") => {
                Some((step.clone(), line.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(
        reports.len() >= 3,
        "the worker ran several steps: {reports:?}"
    );
    assert!(
        reports.iter().all(|(_, l)| l.ends_with(" uid 0")),
        "every step ran as root: {reports:?}"
    );
    let groups: BTreeSet<&str> = reports
        .iter()
        .map(|(_, l)| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        groups.len(),
        1,
        "one root shell ran every step of the worker (one process group), not one sudo per step: {reports:?}"
    );
    s.assert_nothing_left("KHA-TUI-SHELL");
}
