//! Removal checks and plans, from fixture reports of the example cluster.

use super::remove_plan::{RemoveOptions, plan_removal};
use super::status::{self, ClusterStatus};
use super::status_fixture::{Faults, reported};
use crate::inventory::{self, Cluster, validate};

fn cluster() -> Cluster {
    validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
        .unwrap()
        .0
}

fn report(c: &Cluster, f: Faults) -> ClusterStatus {
    let (lines, unreachable) = reported(&f);
    status::build(c, &lines, &unreachable, &[])
}

fn ids(r: &super::remove_plan::Removal) -> Vec<String> {
    r.plan
        .steps()
        .map(|(_, s)| format!("{}:{}", s.node, s.id))
        .collect()
}

#[test]
fn live_control_plane_is_drained_reset_and_taken_out_of_haproxy() {
    let c = cluster();
    let s = report(&c, Faults::default());
    let r = plan_removal(&c, &s, "master2", &RemoveOptions::default()).unwrap();
    assert_eq!(r.source, "master1");
    assert_eq!(
        ids(&r),
        [
            "master1:drain-master2",
            "lb:haproxy",
            "master2:node-reset",
            "master1:etcd-member-remove-master2",
            "master1:delete-node-master2"
        ]
    );
    let h = r.plan.find("lb", "haproxy").unwrap();
    let cfg = &h.files[0].content;
    assert!(cfg.contains("server master1 ") && cfg.contains("server master3 "));
    assert!(!cfg.contains("server master2 "), "{cfg}");
    assert!(r.run_cluster.host("master2").is_some());
    assert!(r.after.host("master2").is_none());
    assert!(!r.was_first);
}

#[test]
fn worker_needs_no_etcd_or_haproxy_step() {
    let c = cluster();
    let s = report(&c, Faults::default());
    let r = plan_removal(&c, &s, "worker2", &RemoveOptions::default()).unwrap();
    assert_eq!(
        ids(&r),
        [
            "master1:drain-worker2",
            "worker2:node-reset",
            "master1:delete-node-worker2"
        ]
    );
}

#[test]
fn dead_node_needs_unreachable_and_then_skips_its_own_steps() {
    let c = cluster();
    let s = report(
        &c,
        Faults {
            unreachable: Some("master3"),
            ..Default::default()
        },
    );
    let e = plan_removal(&c, &s, "master3", &RemoveOptions::default()).unwrap_err();
    assert!(e.contains("pass --unreachable"), "{e}");
    let r = plan_removal(
        &c,
        &s,
        "master3",
        &RemoveOptions {
            unreachable: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        ids(&r),
        [
            "lb:haproxy",
            "master1:etcd-member-remove-master3",
            "master1:delete-node-master3"
        ]
    );
    assert!(
        r.run_cluster.host("master3").is_none(),
        "a dead node is not dialled"
    );
}

#[test]
fn quorum_last_control_plane_and_first_control_plane() {
    let c = cluster();
    // master3's etcd is down: removing master2 would leave 1 healthy of 2.
    let s = report(
        &c,
        Faults {
            etcd_stopped: Some("master3"),
            ..Default::default()
        },
    );
    let e = plan_removal(&c, &s, "master2", &RemoveOptions::default()).unwrap_err();
    assert!(
        e.contains("leaves 1 healthy of 2 etcd members, and etcd needs 2"),
        "{e}"
    );
    assert!(e.contains("down now: master3"), "{e}");
    assert!(e.contains("--force"), "{e}");
    let r = plan_removal(
        &c,
        &s,
        "master2",
        &RemoveOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.notes[0].starts_with("--force:"), "{:?}", r.notes);
    // Removing the stopped one itself keeps quorum: 2 healthy of 2.
    assert!(plan_removal(&c, &s, "master3", &RemoveOptions::default()).is_ok());
    // The first control plane: the cluster-side steps run on the next one, which becomes first.
    let s = report(&c, Faults::default());
    let r = plan_removal(&c, &s, "master1", &RemoveOptions::default()).unwrap();
    assert_eq!(r.source, "master2");
    assert!(r.was_first);
    assert_eq!(r.after.first_control_plane().name, "master2");
    assert_eq!(r.plan.init_node, "master2");
    // The last control plane is refused, with the way to end the cluster.
    let mut one = c.clone();
    one.nodes
        .retain(|n| n.name != "master2" && n.name != "master3");
    let e = plan_removal(
        &one,
        &s,
        "master1",
        &RemoveOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.contains("last control plane") && e.contains("kha-tui reset"),
        "{e}"
    );
    assert!(e.contains("--force does not change that"), "{e}");
    assert!(
        plan_removal(&c, &s, "nope", &RemoveOptions::default())
            .unwrap_err()
            .contains("no node named")
    );
}

#[test]
fn first_control_plane_records_move() {
    use crate::engine::state::{State, StepRecord, StepStatus};
    let c = cluster();
    let mut st = State::default();
    let done = StepRecord {
        status: StepStatus::Done,
        at: 1,
        duration_ms: 1,
        reason: None,
    };
    for step in [
        "prepare",
        "kubeadm-init",
        "calico",
        "wait-ready",
        "cleanup-secrets",
    ] {
        st.set("master1", step, done.clone());
    }
    st.set("master2", "kubeadm-join", done.clone());
    let mut after = c.clone();
    after.nodes.retain(|n| n.name != "master1");
    super::remove_run::move_first(&mut st, &after, "master1");
    for step in ["kubeadm-init", "calico", "wait-ready", "cleanup-secrets"] {
        assert!(st.is_done("master2", step), "{step}");
    }
    assert!(
        !st.is_done("master2", "prepare"),
        "its own steps are its own"
    );
}

#[test]
fn reset_plan_workers_then_control_planes_one_by_one_then_lbs() {
    let c = cluster();
    let p = super::reset_plan::reset_plan(&c, false);
    let phases: Vec<(&str, Vec<String>)> = p
        .phases
        .iter()
        .map(|ph| {
            (
                ph.name.as_str(),
                ph.steps
                    .iter()
                    .map(|s| format!("{}:{}", s.node, s.id))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(phases[0].0, "reset-workers");
    assert_eq!(phases[0].1.len(), 3);
    assert_eq!(
        phases[1].1,
        [
            "master1:reset-node",
            "master2:reset-node",
            "master3:reset-node"
        ]
    );
    let m2 = p.find("master2", "reset-node").unwrap();
    assert_eq!(m2.after, ["master1:reset-node"]);
    assert_eq!(
        p.find("master1", "reset-node").unwrap().after.len(),
        3,
        "after every worker"
    );
    assert_eq!(phases[2].1, ["lb:reset-lb"]);
    assert_eq!(
        p.find("lb", "reset-lb").unwrap().after,
        ["master3:reset-node"],
        "the LB is put back after the last control plane"
    );
    assert!(m2.env.contains(&("KHA_PURGE".into(), "0".into())));
    let purge = super::reset_plan::reset_plan(&c, true);
    assert!(
        purge
            .find("lb", "reset-lb")
            .unwrap()
            .env
            .contains(&("KHA_PURGE".into(), "1".into()))
    );
}

#[test]
fn a_name_and_an_address_that_are_two_machines_are_refused() {
    // The inventory's addresses of master2 and master3 swapped (a typo, a re-IP): etcd knows
    // master2 at master3's address. Removing "master2" would drain one machine and reset the
    // other: refused, whichever is named.
    let c = cluster();
    let s = report(&c, Faults::default());
    let mut swapped = c.clone();
    let a2 = swapped.host("master2").unwrap().address;
    let a3 = swapped.host("master3").unwrap().address;
    for n in swapped.nodes.iter_mut() {
        if n.name == "master2" {
            n.address = a3;
        } else if n.name == "master3" {
            n.address = a2;
        }
    }
    for (target, other) in [("master2", "master3"), ("master3", "master2")] {
        let e = plan_removal(&swapped, &s, target, &RemoveOptions::default()).unwrap_err();
        assert!(
            e.contains("disagree about which machine") && e.contains("Nothing was changed"),
            "{e}"
        );
        assert!(e.contains(target), "{e}");
        // --force is about quorum; it does not make a wrong machine the right one.
        let forced = RemoveOptions {
            force: true,
            ..Default::default()
        };
        assert!(
            plan_removal(&swapped, &s, target, &forced).is_err(),
            "{other}"
        );
    }
    // The inventory as it is: fine.
    assert!(plan_removal(&c, &s, "master2", &RemoveOptions::default()).is_ok());
}

#[test]
fn every_node_reset_is_told_which_node_it_must_be() {
    let c = cluster();
    let p = super::reset_plan::reset_plan(&c, false);
    for (_, s) in p.steps() {
        if s.id == super::reset_plan::NODE_STEP {
            assert!(
                s.env.contains(&("KHA_NODE".into(), s.node.clone())),
                "{}: {:?}",
                s.node,
                s.env
            );
        }
    }
    let s = report(&c, Faults::default());
    for target in ["master2", "worker1"] {
        let r = plan_removal(&c, &s, target, &RemoveOptions::default()).unwrap();
        let reset = r.plan.find(target, "node-reset").unwrap();
        assert!(
            reset.env.contains(&("KHA_NODE".into(), target.into())),
            "{:?}",
            reset.env
        );
    }
    // The script reads it, and compares it with the kubelet's own name before kubeadm reset.
    let script = crate::assets::scripts::NODE_RESET;
    let check = script.find("\"$me\" != \"$KHA_NODE\"").expect("the check");
    assert!(check < script.find("  kubeadm reset -f 2>&1").unwrap());
}

#[test]
fn keepalived_config_is_removed_only_when_it_carries_the_marker_kha_tui_writes() {
    let mut f = inventory::example_pair();
    f.load_balancer.endpoint = String::new();
    f.load_balancer.virtual_router_id = Some(51);
    let c = validate::check(&f).unwrap().0;
    let steps = crate::plan::pair::keepalived_steps(&c);
    assert_eq!(steps.len(), 2);
    // lb-reset.sh's own test, run by bash on what the pair's step writes and on an operator's
    // config that only mentions kha-tui.
    let script = crate::assets::scripts::LB_RESET;
    let test = script
        .lines()
        .find(|l| l.contains("grep -q '^# Written by kha-tui"))
        .expect("lb-reset.sh looks for the marker");
    let pattern = test.split('\'').nth(1).unwrap().to_string();
    let ours = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keepalived.conf");
        std::fs::write(&p, text).unwrap();
        std::process::Command::new("grep")
            .args(["-q", &pattern])
            .arg(&p)
            .status()
            .unwrap()
            .success()
    };
    for s in &steps {
        assert!(ours(&s.files[0].content), "{}", s.node);
    }
    assert!(!ours(
        "# my own keepalived; kha-tui's HAProxy is tracked below\nvrrp_instance X {\n}\n"
    ));
}
