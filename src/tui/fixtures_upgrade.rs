//! Fixtures of the wizard's upgrade dialog, over the cluster view of the example cluster opened
//! as the home screen, its kubelets moved back to an older minor: the preflight's answer built
//! by the real planner (`plan_upgrade`) from that report, and `kubeadm upgrade plan` as kubeadm
//! prints it.

use crossterm::event::KeyCode;

use super::fixtures::{feed, key};
use super::model::{Model, Msg};
use super::upgrade_dialog::UpgradeRead;
use crate::day2::upgrade_plan::{NodeFacts, UpgradeOptions, plan_upgrade};

/// The home screen with every kubelet at `version` ("v1.35.3") in the last status read.
pub fn home_at(version: &str) -> Model {
    let mut m = super::fixtures_day2::home(false);
    if let Some(s) = m.cluster_view.status.as_mut() {
        for n in &mut s.nodes {
            n.version = version.into();
        }
    }
    m
}

/// `kubeadm upgrade plan` of kubeadm `to` on a cluster at `from` (kubeadm's own layout).
pub fn kubeadm_plan(from: &str, to: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "[preflight] Running pre-flight checks.".to_string(),
        "[upgrade/config] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...".into(),
        "[upgrade] Running cluster health checks".into(),
        "[upgrade] Fetching available versions to upgrade to".into(),
        format!("[upgrade/versions] Cluster version: {from}"),
        format!("[upgrade/versions] kubeadm version: {to}"),
        format!("[upgrade/versions] Target version: {to}"),
        String::new(),
        "Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':".into(),
        "COMPONENT   NODE      CURRENT   TARGET".into(),
    ]
    .into();
    for n in [
        "master1", "master2", "master3", "worker1", "worker2", "worker3",
    ] {
        v.push(format!("kubelet     {n:<9} {from:<9} {to}"));
    }
    v.push(String::new());
    v.push("Upgrade to the latest stable version:".into());
    v.push(String::new());
    v.push("COMPONENT                 NODE      CURRENT    TARGET".into());
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        v.push(format!("{c:<25} master1   {from:<10} {to}"));
    }
    v.push(format!("{:<25}           {from:<10} {to}", "kube-proxy"));
    v.push(String::new());
    v.push("You can now apply the upgrade by executing the following command:".into());
    v.push(String::new());
    v.push(format!("\tkubeadm upgrade apply {to}"));
    v.push(String::new());
    v.push("_____________________________________________________________________".into());
    v
}

/// What the runtime answers for the model's status, planned by `plan_upgrade` to `to`, every
/// node on containerd `containerd`.
pub fn read_for(m: &Model, to: &str, containerd: &str) -> UpgradeRead {
    let c = m.cluster.clone().expect("a cluster");
    let s = m.cluster_view.status.as_deref().expect("a status").clone();
    let facts = NodeFacts {
        containerd: c
            .nodes
            .iter()
            .map(|n| (n.name.clone(), containerd.into()))
            .collect(),
    };
    let o = UpgradeOptions {
        to: to.into(),
        max_unavailable: 1,
        drain_timeout: 120,
        by: "op@lb".into(),
    };
    let from = s
        .nodes
        .first()
        .map(|n| n.version.clone())
        .unwrap_or_default();
    UpgradeRead {
        to: to.into(),
        kubeadm_plan: kubeadm_plan(&from, &format!("v{to}.2")),
        upgrade: plan_upgrade(&c, &s, &facts, &o).map(Box::new),
    }
}

/// At 1.35 with the distribution's containerd 1.6: `u`, the preflight's answer for 1.36
/// (containerd 2 first), the name half typed.
pub fn upgrade_ready() -> Model {
    let mut m = home_at("v1.35.3");
    feed(&mut m, [key(KeyCode::Char('u'))]);
    let r = read_for(&m, "1.36", "1.6.20");
    feed(&mut m, [Msg::UpgradeRead(Ok(Box::new(r)))]);
    feed(&mut m, "pro".chars().map(|c| key(KeyCode::Char(c))));
    m
}

/// At 1.35, Tab to 1.37: refused, with kubeadm's path.
pub fn upgrade_skip() -> Model {
    let mut m = home_at("v1.35.3");
    feed(&mut m, [key(KeyCode::Char('u')), key(KeyCode::Tab)]);
    m
}

/// At the newest minor of the versions table: nothing to upgrade.
pub fn upgrade_newest() -> Model {
    let mut m = home_at("v1.37.1");
    feed(&mut m, [key(KeyCode::Char('u'))]);
    m
}
