//! The plan behind `kha-tui reset`: every node reset (`kubeadm reset -f` and what kubeadm leaves
//! behind, `assets/scripts/node-reset.sh`) — the workers together, then the control planes one
//! at a time so each one's reset can still remove its etcd member through the others — and every
//! load balancer put back (`lb-reset.sh`). Each step is idempotent and recorded in the state, so
//! an interrupted reset re-runs to completion. Pure.

use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::{ETCD_MEMBERSHIP_HOLD, Mode, Phase, Plan, Step};

pub const NODE_STEP: &str = "reset-node";
pub const LB_STEP: &str = "reset-lb";

pub fn reset_plan(c: &Cluster, purge: bool) -> Plan {
    let purge_env = (
        "KHA_PURGE".to_string(),
        if purge { "1" } else { "0" }.to_string(),
    );
    let node_step = |name: &str| {
        let mut s = Step::new(
            NODE_STEP,
            name,
            "kubeadm reset -f, then CNI files and links, kube-proxy/Calico rules, kubelet and etcd data, /etc/kubernetes",
            format!("{}\n{}", scripts::LIB, scripts::NODE_RESET),
        );
        s.env.push(purge_env.clone());
        // The script refuses a host that Kubernetes knows as another node.
        s.env.push(("KHA_NODE".to_string(), name.to_string()));
        s
    };
    let workers: Vec<Step> = c.workers().map(|n| node_step(&n.name)).collect();
    let worker_keys: Vec<String> = workers.iter().map(|s| Plan::key(&s.node, &s.id)).collect();
    let mut cps: Vec<Step> = Vec::new();
    for n in c.control_planes() {
        let mut s = node_step(&n.name);
        s.holds = vec![ETCD_MEMBERSHIP_HOLD.into()];
        s.after = match cps.last() {
            Some(prev) => vec![Plan::key(&prev.node, &prev.id)],
            None => worker_keys.clone(),
        };
        cps.push(s);
    }
    // The load balancers last: the scheduler starts a step as soon as what it is `after` is
    // done, so without this they would be put back while the nodes are still being reset.
    let last_node: Vec<String> = match cps.last() {
        Some(s) => vec![Plan::key(&s.node, &s.id)],
        None => worker_keys.clone(),
    };
    let lbs: Vec<Step> = c
        .load_balancers()
        .map(|lb| {
            let mut s = Step::new(
                LB_STEP,
                &lb.name,
                "Remove the admin kubeconfig; HAProxy (and keepalived) back to the distro default",
                format!("{}\n{}", scripts::LIB, scripts::LB_RESET),
            );
            s.env.push(("KHA_USER".into(), lb.ssh.user.clone()));
            s.env.push(purge_env.clone());
            s.after = last_node.clone();
            s
        })
        .collect();
    let mut phases = Vec::new();
    if !workers.is_empty() {
        phases.push(Phase {
            name: "reset-workers".into(),
            title: "Reset the workers".into(),
            mode: Mode::Parallel,
            steps: workers,
        });
    }
    phases.push(Phase {
        name: "reset-control-planes".into(),
        title: "Reset the control planes, one at a time".into(),
        mode: Mode::Serial,
        steps: cps,
    });
    phases.push(Phase {
        name: "reset-load-balancers".into(),
        title: "Put the load balancers back".into(),
        mode: Mode::Parallel,
        steps: lbs,
    });
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: c.first_control_plane().name.clone(),
        phases,
        values: None,
    }
}
