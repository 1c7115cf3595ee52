//! Upgrade checks and plans, from fixture reports of the example cluster moved back to 1.35.

use super::status::{self, ClusterStatus};
use super::status_fixture::{Faults, reported};
use super::upgrade_plan::{NodeFacts, UpgradeOptions, containerd_at_least, plan_upgrade};
use crate::inventory::{self, Cluster, validate};

fn cluster() -> Cluster {
    validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
        .unwrap()
        .0
}

/// The fixture's report with every kubelet at `version`.
fn report_at(c: &Cluster, f: Faults, version: &str) -> ClusterStatus {
    let (mut lines, unreachable) = reported(&f);
    for l in &mut lines {
        l.line = l.line.replace("v1.37.1", version);
    }
    status::build(c, &lines, &unreachable, &[])
}

fn opts(to: &str, max: usize) -> UpgradeOptions {
    UpgradeOptions {
        to: to.into(),
        max_unavailable: max,
        drain_timeout: 120,
        by: "ops@lb".into(),
    }
}

fn facts(c: &Cluster, v: &str) -> NodeFacts {
    NodeFacts {
        containerd: c.nodes.iter().map(|n| (n.name.clone(), v.into())).collect(),
    }
}

fn keys(u: &super::upgrade_plan::Upgrade) -> Vec<String> {
    u.plan
        .steps()
        .map(|(_, s)| format!("{}:{}", s.node, s.id))
        .collect()
}

#[test]
fn two_minors_ahead_is_refused_with_the_path_as_consecutive_runs() {
    let c = cluster();
    let s = report_at(&c, Faults::default(), "v1.35.2");
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.37", 1)).unwrap_err();
    assert!(e.contains("1.35 → 1.36 → 1.37"), "{e}");
    assert!(
        e.contains("`kha-tui upgrade --to 1.36`, then `kha-tui upgrade --to 1.37`"),
        "{e}"
    );
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.35", 1)).unwrap_err();
    assert!(e.contains("runs 1.35 already"), "{e}");
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.99", 1)).unwrap_err();
    assert!(e.contains("does not know 1.99"), "{e}");
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("136", 1)).unwrap_err();
    assert!(e.contains("as 1.NN"), "{e}");
}

#[test]
fn an_unhealthy_cluster_is_refused_naming_what_is_wrong() {
    let c = cluster();
    let s = report_at(
        &c,
        Faults {
            etcd_stopped: Some("master2"),
            ..Faults::default()
        },
        "v1.35.2",
    );
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap_err();
    assert!(e.contains("not healthy"), "{e}");
    assert!(e.contains("etcd member master2"), "{e}");
    let s = report_at(
        &c,
        Faults {
            backend_down: Some("master3"),
            ..Faults::default()
        },
        "v1.35.2",
    );
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap_err();
    assert!(e.contains("backend master3"), "{e}");
}

#[test]
fn containerd_1x_is_replaced_first_when_the_target_needs_2x() {
    assert!(!containerd_at_least("1.6.20", "2.0"));
    assert!(containerd_at_least("2.1.9", "2.0"));
    assert!(containerd_at_least("1.7.24", "1.6"));
    let c = cluster();
    let s = report_at(&c, Faults::default(), "v1.35.2");
    let u = plan_upgrade(&c, &s, &facts(&c, "1.6.20"), &opts("1.36", 1)).unwrap();
    assert_eq!(u.containerd_nodes.len(), c.nodes.len());
    assert!(u.notes.iter().any(|n| n.contains("containerd >= 2.0")));
    let k = keys(&u);
    let pos = |key: &str| {
        k.iter()
            .position(|x| x == key)
            .unwrap_or_else(|| panic!("{key} in {k:?}"))
    };
    // Every control plane's containerd before the first kubeadm upgrade apply.
    for cp in ["master1", "master2", "master3"] {
        assert!(
            pos(&format!("{cp}:upgrade-1.36-containerd")) < pos("master1:upgrade-1.36-kubeadm")
        );
    }
    // A worker's containerd inside its drained window.
    assert!(pos("master1:upgrade-1.36-drain-worker1") < pos("worker1:upgrade-1.36-containerd"));
    assert!(pos("worker1:upgrade-1.36-containerd") < pos("worker1:upgrade-1.36-kubeadm"));
    let cd = u.plan.find("worker1", "upgrade-1.36-containerd").unwrap();
    assert!(
        cd.env
            .iter()
            .any(|(k, v)| k == "KHA_CONTAINERD_MIN" && v == "2.0")
    );
    // Already on 2.x: no containerd step at all.
    let u = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap();
    assert!(u.containerd_nodes.is_empty());
    assert!(!keys(&u).iter().any(|k| k.ends_with("-containerd")));
}

#[test]
fn a_calico_line_without_the_target_is_upgraded_first() {
    // Calico 3.31 is tested on 1.32-1.35 only: before 1.36, the table's preferred line.
    let mut c = cluster();
    c.calico_version = "v3.31.3".into();
    let s = report_at(&c, Faults::default(), "v1.35.2");
    let u = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap();
    assert_eq!(u.calico_to.as_deref(), Some("v3.33.0"));
    assert!(
        u.notes
            .iter()
            .any(|n| n.contains("Calico v3.31.3 does not support Kubernetes 1.36")),
        "{:?}",
        u.notes
    );
    let k = keys(&u);
    let pos = |key: &str| {
        k.iter()
            .position(|x| x == key)
            .unwrap_or_else(|| panic!("{key} in {k:?}"))
    };
    assert!(pos("master1:upgrade-1.36-calico") < pos("master1:upgrade-1.36-kubeadm"));
    let step = u.plan.find("master1", "upgrade-1.36-calico").unwrap();
    assert!(
        step.env
            .iter()
            .any(|(k, v)| k == "KHA_CALICO_VERSION" && v == "v3.33.0"),
        "{:?}",
        step.env
    );
    // A line that supports the target: Calico is left alone.
    c.calico_version = "v3.32.2".into();
    let u = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap();
    assert!(u.calico_to.is_none());
    assert!(!keys(&u).iter().any(|k| k.ends_with("-calico")));
}

#[test]
fn order_is_snapshot_first_control_planes_then_workers_in_batches() {
    let c = cluster();
    let s = report_at(&c, Faults::default(), "v1.36.1");
    let u = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.37", 2)).unwrap();
    assert_eq!(u.from, "1.36");
    assert_eq!(u.batches, vec![vec!["worker1", "worker2"], vec!["worker3"]]);
    let dep = |node: &str, id: &str| u.plan.find(node, id).unwrap().after.clone();
    assert_eq!(
        dep("master1", "upgrade-1.37-etcd-snapshot"),
        vec!["master1:upgrade-1.37-mark"]
    );
    assert_eq!(
        dep("master1", "upgrade-1.37-kubeadm"),
        vec!["master1:upgrade-1.37-etcd-snapshot"]
    );
    assert_eq!(
        dep("master2", "upgrade-1.37-kubeadm"),
        vec!["master1:upgrade-1.37-kubeadm"]
    );
    assert_eq!(
        dep("master1", "upgrade-1.37-kubelet"),
        vec!["master3:upgrade-1.37-kubeadm"]
    );
    let apply = u.plan.find("master1", "upgrade-1.37-kubeadm").unwrap();
    assert!(
        apply
            .env
            .contains(&("KHA_UPGRADE_APPLY".into(), "1".into()))
    );
    let node = u.plan.find("master2", "upgrade-1.37-kubeadm").unwrap();
    assert!(node.env.contains(&("KHA_UPGRADE_APPLY".into(), "0".into())));
    // Batch 1 side by side after the control planes, batch 2 after both of batch 1.
    for w in ["worker1", "worker2"] {
        assert_eq!(
            dep("master1", &format!("upgrade-1.37-drain-{w}")),
            vec!["master3:upgrade-1.37-kubelet"]
        );
    }
    let mut b2 = dep("master1", "upgrade-1.37-drain-worker3");
    b2.sort();
    assert_eq!(
        b2,
        vec![
            "master1:upgrade-1.37-uncordon-worker1",
            "master1:upgrade-1.37-uncordon-worker2"
        ]
    );
    // Per worker: drain → kubeadm upgrade node → kubelet → uncordon.
    assert_eq!(
        dep("worker3", "upgrade-1.37-kubeadm"),
        vec!["master1:upgrade-1.37-drain-worker3"]
    );
    assert_eq!(
        dep("master1", "upgrade-1.37-uncordon-worker3"),
        vec!["worker3:upgrade-1.37-kubelet"]
    );
    assert_eq!(
        dep("master1", "upgrade-1.37-unmark"),
        vec!["master1:upgrade-1.37-uncordon-worker3"]
    );
}

#[test]
fn an_interrupted_upgrade_with_nodes_on_both_minors_continues_to_the_same_target() {
    let c = cluster();
    let (mut lines, unreachable) = reported(&Faults::default());
    for l in &mut lines {
        let v = if l.line.contains("worker3") {
            "v1.35.2"
        } else {
            "v1.36.1"
        };
        l.line = l.line.replace("v1.37.1", v);
    }
    let s = status::build(&c, &lines, &unreachable, &[]);
    let u = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.36", 1)).unwrap();
    assert_eq!((u.from.as_str(), u.to.as_str()), ("1.35", "1.36"));
    // The next minor is refused until every node is there.
    let e = plan_upgrade(&c, &s, &facts(&c, "2.1.9"), &opts("1.37", 1)).unwrap_err();
    assert!(e.contains("1.35 → 1.36 → 1.37"), "{e}");
}
