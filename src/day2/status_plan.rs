//! The plan behind `kha-tui status`: read-only steps on every load balancer (HAProxy's backends,
//! the virtual address) and every control plane (nodes, tokens, certificates, etcd), all at
//! once. Nothing in it changes a node; it is a plan so the engine runs it as it runs the install.

use std::time::Duration;

use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::{Limits, Mode, Phase, Plan, Step};

pub const LB_STEP: &str = "status-lb";
pub const CONTROL_PLANE_STEP: &str = "status-control-plane";

/// The prefix of every line the status steps print for kha-tui to parse.
pub const LINE_PREFIX: &str = "kha-status ";

fn limits() -> Limits {
    // A status must come back while the operator looks: a hung etcdctl or kubectl is cut off.
    Limits {
        total: Some(Duration::from_secs(60)),
        idle: Some(Duration::from_secs(40)),
    }
}

pub fn status_plan(c: &Cluster) -> Plan {
    let mut steps = Vec::new();
    for lb in c.load_balancers() {
        let mut s = Step::new(
            LB_STEP,
            &lb.name,
            "Read HAProxy's API-server backends (and who holds the virtual address)",
            format!("{}\n{}", scripts::LIB, scripts::STATUS_LB),
        );
        if let Some(pair) = &c.lb_pair {
            s.env.push(("KHA_VIP".into(), pair.vip.to_string()));
        }
        s.limits = limits();
        steps.push(s);
    }
    for cp in c.control_planes() {
        let mut s = Step::new(
            CONTROL_PLANE_STEP,
            &cp.name,
            "Read nodes, bootstrap tokens, certificate expiry and etcd from this control plane",
            format!("{}\n{}", scripts::LIB, scripts::STATUS_CONTROL_PLANE),
        );
        s.env.push(("KHA_NODE_NAME".into(), cp.name.clone()));
        s.limits = limits();
        steps.push(s);
    }
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: c.first_control_plane().name.clone(),
        phases: vec![Phase {
            name: "status".into(),
            title: "Read the cluster's state (changes nothing)".into(),
            mode: Mode::Parallel,
            steps,
        }],
        values: None,
    }
}
