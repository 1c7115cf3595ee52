//! The plan behind `kha-tui add-node`: the install's own steps for the new nodes only (prepare,
//! containerd, packages, join), HAProxy's config rendered again on every load balancer when a
//! control plane is new (validated with `haproxy -c` before it goes live), then the readiness
//! wait and the secret cleanup on a control plane that is in the cluster already. Nothing else
//! runs on the existing nodes. Pure.

use std::collections::HashSet;

use super::status::ClusterStatus;
use crate::inventory::{Cluster, Role};
use crate::plan::{self, Plan};

/// What an addition will do.
#[derive(Debug, Clone)]
pub struct Addition {
    /// Inventory nodes the cluster does not have yet.
    pub new_nodes: Vec<String>,
    /// The control plane in the cluster that makes the join secrets and waits for Ready.
    pub source: String,
    /// Steps on existing hosts that run again (their earlier "done" is forgotten first).
    pub rerun: Vec<(String, String)>,
    pub plan: Plan,
    /// The cluster as the plan sees it: `source` first among the control planes.
    pub cluster: Cluster,
}

/// The steps of the install that a new node runs.
const NEW_NODE_STEPS: [&str; 4] = ["prepare", "containerd", "kube-packages", "kubeadm-join"];

/// Plans the addition of every inventory node the cluster does not have. `Err` says why
/// nothing can be added (and nothing runs).
pub fn plan_addition(c: &Cluster, s: &ClusterStatus, config: &str) -> Result<Addition, String> {
    if s.nodes_reported_by.is_none() {
        let why = s
            .errors
            .iter()
            .chain(&s.unreachable)
            .map(|e| format!("{}: {}", e.node, e.error))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(format!(
            "no control plane could list the cluster's nodes ({why}); add-node needs a running cluster: see kha-tui status --config {config}"
        ));
    }
    let registered: HashSet<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    let new_nodes: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| !registered.contains(n.name.as_str()))
        .map(|n| n.name.clone())
        .collect();
    if new_nodes.is_empty() {
        return Err(format!(
            "nothing to add: every [[nodes]] entry of {config} is in the cluster already; add the new node to {config} first (name, address, role), or pass --name, --address and --role"
        ));
    }
    // The source: a control plane in the cluster, Ready, whose etcd member is healthy.
    let healthy_member = |name: &str| {
        s.etcd_members
            .iter()
            .any(|m| m.name == name && m.healthy == Some(true))
    };
    let source = c
        .control_planes()
        .find(|n| {
            s.nodes.iter().any(|k| k.name == n.name && k.ready) && healthy_member(&n.name)
        })
        .ok_or_else(|| {
            "no control plane of the inventory is in the cluster, Ready and with a healthy etcd member: joins need one (see kha-tui status)".to_string()
        })?
        .name
        .clone();

    // The cluster with the source first: the plan's builders take the first control plane as
    // the one that holds the CA and makes the join secrets.
    let mut c2 = c.clone();
    c2.nodes.sort_by_key(|n| {
        (
            n.role != Role::ControlPlane,
            n.name != source,
            // keep file order otherwise (stable sort)
        )
    });
    let full = plan::build(&c2);
    let new_cp = c
        .nodes
        .iter()
        .any(|n| n.role == Role::ControlPlane && new_nodes.contains(&n.name));
    let lbs: Vec<String> = c.load_balancers().map(|n| n.name.clone()).collect();
    let keep = |node: &str, step: &str| {
        (new_nodes.iter().any(|n| n == node) && NEW_NODE_STEPS.contains(&step))
            || (new_cp && step == "haproxy" && lbs.iter().any(|l| l == node))
            || (node == source && (step == "wait-ready" || step == "cleanup-secrets"))
    };
    let mut p = full.clone();
    for ph in &mut p.phases {
        ph.steps.retain(|s| keep(&s.node, &s.id));
    }
    p.phases.retain(|ph| !ph.steps.is_empty());
    let kept: HashSet<String> = p.steps().map(|(_, s)| Plan::key(&s.node, &s.id)).collect();
    let haproxy: Vec<String> = kept
        .iter()
        .filter(|k| k.ends_with(":haproxy"))
        .cloned()
        .collect();
    for ph in &mut p.phases {
        for s in &mut ph.steps {
            s.after.retain(|a| kept.contains(a));
            // A new control plane joins once every LB knows it (and the config passed haproxy -c).
            let is_cp = c
                .host(&s.node)
                .is_some_and(|n| n.role == Role::ControlPlane);
            if s.id == "kubeadm-join" && is_cp {
                s.after.extend(haproxy.iter().cloned());
                s.after.sort();
                s.after.dedup();
            }
        }
    }
    let rerun = p
        .steps()
        .filter(|(_, s)| !new_nodes.contains(&s.node))
        .map(|(_, s)| (s.node.clone(), s.id.clone()))
        .collect();
    Ok(Addition {
        new_nodes,
        source,
        rerun,
        plan: p,
        cluster: c2,
    })
}
