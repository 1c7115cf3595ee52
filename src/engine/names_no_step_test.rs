//! The executor names no step (issue 18): every step id the plans hold — the install on one LB
//! and on a pair, reset, backup, certificate renewal, restore, status and removals — is absent, as a
//! string literal, from the engine's executor files. What a step needs (what it waits for, the
//! resources it holds, the values it uses, its timeouts) is declared on the step by its plan;
//! nothing here may decide by a step's name.

use std::collections::BTreeSet;

use crate::inventory::{self, EXAMPLE, validate};
use crate::plan::{self, Plan};

/// The executor's files, as compiled (a new one belongs here too).
const EXECUTOR: [(&str, &str); 14] = [
    ("runner.rs", include_str!("runner.rs")),
    ("scheduler.rs", include_str!("scheduler.rs")),
    ("node_task.rs", include_str!("node_task.rs")),
    ("node.rs", include_str!("node.rs")),
    ("values.rs", include_str!("values.rs")),
    ("state.rs", include_str!("state.rs")),
    ("state_writer.rs", include_str!("state_writer.rs")),
    ("payload.rs", include_str!("payload.rs")),
    ("root_shell.rs", include_str!("root_shell.rs")),
    ("connect.rs", include_str!("connect.rs")),
    ("node_setup.rs", include_str!("node_setup.rs")),
    ("pump.rs", include_str!("pump.rs")),
    ("fanout.rs", include_str!("fanout.rs")),
    ("vrrp_watch.rs", include_str!("vrrp_watch.rs")),
];

fn ids(p: &Plan, into: &mut BTreeSet<String>) {
    for phase in &p.phases {
        for s in &phase.steps {
            into.insert(s.id.clone());
        }
    }
}

#[test]
fn no_step_id_is_named_by_the_executor() {
    let one = validate::check(&inventory::parse(EXAMPLE).unwrap())
        .unwrap()
        .0;
    let mut f = inventory::example_pair();
    f.load_balancer.endpoint = String::new();
    let pair = validate::check(&f).unwrap().0;
    let mut all = BTreeSet::new();
    for c in [&one, &pair] {
        ids(&plan::build(c), &mut all);
        ids(&crate::day2::reset_plan::reset_plan(c, false), &mut all);
        ids(
            &crate::day2::backup_plan::backup_plan(c, "master1"),
            &mut all,
        );
        ids(&crate::day2::certs_plan::renew_plan(c), &mut all);
        ids(
            &crate::day2::restore_plan::restore_plan(c, "r1", ""),
            &mut all,
        );
        ids(&crate::day2::status_plan::status_plan(c), &mut all);
    }
    // Removals (a control plane, the first one, a worker), from the fixture's healthy report.
    let (lines, unreachable) =
        crate::day2::status_fixture::reported(&crate::day2::status_fixture::Faults::default());
    let healthy = crate::day2::status::build(&one, &lines, &unreachable, &[]);
    for target in ["master2", "master1", "worker2"] {
        let r = crate::day2::remove_plan::plan_removal(
            &one,
            &healthy,
            target,
            &crate::day2::remove_plan::RemoveOptions::default(),
        )
        .unwrap();
        ids(&r.plan, &mut all);
    }
    // The install's own, so the test cannot pass on an empty list.
    for must in ["kubeadm-init", "kubeadm-join", "kubeconfig", "keepalived"] {
        assert!(all.iter().any(|id| id.starts_with(must)), "{must}: {all:?}");
    }
    let mut named = Vec::new();
    for (file, text) in EXECUTOR {
        // The code, not its unit tests (at the file's end), which use ids as sample data.
        let code = text.split("\n#[cfg(test)]\nmod ").next().unwrap();
        for id in &all {
            if code.contains(&format!("\"{id}\"")) {
                named.push(format!("{file} names \"{id}\""));
            }
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}
