//! The plan behind `kha-tui remove-node`, and the checks that refuse a removal before anything
//! runs. Steps, in order: drain the node (from a control plane that stays), `kubeadm reset -f`
//! and the cleanup on the node itself, its etcd member removed if still listed (a control plane),
//! its Node object deleted, HAProxy's config rendered without it on every LB (a control plane).
//! With `unreachable` the node is dead: no drain, no reset, the member goes first. Pure.

use std::time::Duration;

use super::status::ClusterStatus;
use crate::assets::scripts;
use crate::inventory::{Cluster, Role};
use crate::plan::{self, Limits, Mode, Phase, Plan, Step, host_in_url};

/// How long a drain may take before it is called blocked.
pub const DRAIN_TIMEOUT_SECS: u64 = 120;

#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    /// Allow what is refused otherwise (a removal that breaks etcd's quorum).
    pub force: bool,
    /// The node is dead: skip its drain and its own reset.
    pub unreachable: bool,
    /// How long the drain may take (`None`: [`DRAIN_TIMEOUT_SECS`]).
    pub drain_timeout: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Removal {
    pub target: String,
    pub role: Role,
    /// The control plane that stays and runs the cluster-side steps.
    pub source: String,
    /// The inventory after the removal (the target gone); its first control plane is the one
    /// kha-tui treats as "the first" from now on.
    pub after: Cluster,
    /// The cluster the engine connects to (the target included unless it is dead).
    pub run_cluster: Cluster,
    pub plan: Plan,
    /// Warnings to show before the confirmation.
    pub notes: Vec<String>,
    /// The target is the inventory's first control plane (the one that ran kubeadm init).
    pub was_first: bool,
}

fn step(id: &str, node: &str, title: &str, body: &str, env: Vec<(&str, String)>) -> Step {
    let mut s = Step::new(id, node, title, format!("{}\n{body}", scripts::LIB));
    s.env = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    s
}

/// The etcd peer URL kubeadm gives a control plane at the inventory's address.
fn etcd_peer(n: &crate::inventory::Node) -> String {
    format!("https://{}:2380", host_in_url(n.address))
}

/// The etcd member named `target` and the member at `target`'s address (its peer URL) must be
/// the same one: when they are not, the inventory's name and address point at two different
/// machines, and removing "target" would take the wrong member (or reset the wrong host).
fn same_member_by_name_and_address(
    s: &ClusterStatus,
    target: &str,
    peer: &str,
) -> Result<(), String> {
    for m in &s.etcd_members {
        let by_name = m.name == target;
        let by_peer = m.peer_urls.iter().any(|u| u == peer);
        if by_name && !by_peer && !m.peer_urls.is_empty() {
            return Err(format!(
                "etcd's member {target} is at {}, but the inventory gives {target} the address of {peer}: the inventory and the cluster disagree about which machine {target} is. Nothing was changed; correct {target}'s address in the inventory",
                m.peer_urls.join(", ")
            ));
        }
        if by_peer && !by_name && !m.name.is_empty() {
            return Err(format!(
                "the etcd member at {peer} ({target}'s address in the inventory) is {}, not {target}: the inventory and the cluster disagree about which machine {target} is. Nothing was changed; correct {target}'s address in the inventory",
                m.name
            ));
        }
    }
    Ok(())
}

/// Checks the removal against the cluster as `s` shows it, and plans it.
pub fn plan_removal(
    c: &Cluster,
    s: &ClusterStatus,
    target: &str,
    o: &RemoveOptions,
) -> Result<Removal, String> {
    let node = c
        .nodes
        .iter()
        .find(|n| n.name == target)
        .ok_or_else(|| {
            let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
            format!(
                "the inventory has no node named {target:?}; its nodes are {}",
                names.join(", ")
            )
        })?
        .clone();
    let mut notes = Vec::new();
    let is_cp = node.role == Role::ControlPlane;
    if is_cp && c.control_planes().count() == 1 {
        return Err(format!(
            "{target} is the last control plane: removing it ends the cluster (no API server and no etcd would be left, so nothing could join or be removed again), and --force does not change that; --force only allows a removal that breaks etcd's quorum. To take the whole cluster down, use kha-tui reset"
        ));
    }
    let dead = s.unreachable.iter().any(|u| u.node == target);
    if dead && !o.unreachable {
        return Err(format!(
            "{target} does not answer over SSH ({}); if it is gone for good, pass --unreachable: its etcd member and Node object are removed from a healthy control plane and its own reset is skipped",
            s.unreachable
                .iter()
                .find(|u| u.node == target)
                .map(|u| u.error.as_str())
                .unwrap_or("")
        ));
    }
    if o.unreachable && !dead {
        notes.push(format!(
            "{target} answers over SSH, but --unreachable skips its drain and its own kubeadm reset: it keeps its Kubernetes files"
        ));
    }
    if is_cp {
        same_member_by_name_and_address(s, target, &etcd_peer(&node))?;
    }
    // etcd's quorum after the removal.
    if is_cp && !s.etcd_members.is_empty() {
        let total = s.etcd_members.len();
        let healthy = s
            .etcd_members
            .iter()
            .filter(|m| m.healthy == Some(true))
            .count();
        let target_healthy = s
            .etcd_members
            .iter()
            .any(|m| m.name == target && m.healthy == Some(true));
        let listed = s.etcd_members.iter().any(|m| m.name == target);
        let total_after = if listed { total - 1 } else { total };
        let healthy_after = healthy - usize::from(target_healthy);
        let needed = total_after / 2 + 1;
        if healthy_after < needed {
            let down: Vec<&str> = s
                .etcd_members
                .iter()
                .filter(|m| m.healthy != Some(true) && m.name != target)
                .map(|m| m.name.as_str())
                .collect();
            let why = format!(
                "removing {target} leaves {healthy_after} healthy of {total_after} etcd members, and etcd needs {needed}: it would lose quorum (down now: {})",
                if down.is_empty() {
                    "none".into()
                } else {
                    down.join(", ")
                }
            );
            if !o.force {
                return Err(format!(
                    "{why}. Bring the stopped members back first, or pass --force to remove it anyway"
                ));
            }
            notes.push(format!("--force: {why}"));
        }
    }
    let source = c
        .control_planes()
        .filter(|n| n.name != target)
        .find(|n| {
            s.nodes.iter().any(|k| k.name == n.name && k.ready)
                && s.etcd_members
                    .iter()
                    .any(|m| m.name == n.name && m.healthy == Some(true))
        })
        .ok_or_else(|| {
            format!(
                "no other control plane is Ready with a healthy etcd member to remove {target} from"
            )
        })?
        .name
        .clone();

    let mut after = c.clone();
    after.nodes.retain(|n| n.name != target);
    let run_cluster = if o.unreachable {
        after.clone()
    } else {
        c.clone()
    };

    // In this order, each after the one before: drain, HAProxy without the target (before its
    // API server goes away, so no request is sent to it meanwhile), the node's reset, its etcd
    // member, its Node object.
    let mut steps: Vec<Step> = Vec::new();
    if !o.unreachable {
        let secs = o.drain_timeout.unwrap_or(DRAIN_TIMEOUT_SECS);
        let mut d = step(
            "drain",
            &source,
            &format!("Cordon and drain {target} (at most {secs} s)"),
            scripts::DRAIN_NODE,
            vec![
                ("KHA_TARGET", target.to_string()),
                ("KHA_DRAIN_TIMEOUT", secs.to_string()),
            ],
        );
        d.limits = Limits {
            total: Some(Duration::from_secs(secs + 60)),
            idle: Some(Duration::from_secs(secs + 30)),
        };
        d.id = format!("drain-{target}");
        steps.push(d);
    }
    if is_cp {
        // HAProxy's step of the install, rendered from the inventory without the target.
        let full = plan::build(&after);
        for lb in after.load_balancers() {
            if let Some(h) = full.find(&lb.name, "haproxy") {
                steps.push(h.clone());
            }
        }
    }
    if !o.unreachable {
        let mut r = step(
            "node-reset",
            target,
            "kubeadm reset -f, then CNI files and links, kube-proxy/Calico rules, kubelet and etcd data",
            scripts::NODE_RESET,
            // The script refuses a host that Kubernetes knows as another node.
            vec![("KHA_NODE", target.to_string())],
        );
        if is_cp {
            // kubeadm reset removes the node's etcd member: one membership change at a time.
            r.holds = vec![plan::ETCD_MEMBERSHIP_HOLD.into()];
        }
        steps.push(r);
    }
    if is_cp {
        let mut m = step(
            "etcd-member-remove",
            &source,
            &format!("Remove {target}'s etcd member if it is still listed"),
            scripts::ETCD_MEMBER_REMOVE,
            vec![
                ("KHA_TARGET", target.to_string()),
                ("KHA_TARGET_PEER", etcd_peer(&node)),
            ],
        );
        m.id = format!("etcd-member-remove-{target}");
        m.holds = vec![plan::ETCD_MEMBERSHIP_HOLD.into()];
        steps.push(m);
    }
    let mut del = step(
        "delete-node",
        &source,
        &format!("Delete the Node object {target}"),
        scripts::DELETE_NODE_OBJECT,
        vec![("KHA_TARGET", target.to_string())],
    );
    del.id = format!("delete-node-{target}");
    steps.push(del);
    for i in 1..steps.len() {
        let prev = Plan::key(&steps[i - 1].node, &steps[i - 1].id);
        steps[i].after = vec![prev];
    }
    if let Some(first) = steps.first_mut() {
        first.after.clear();
    }
    let plan = Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: after.first_control_plane().name.clone(),
        phases: vec![Phase {
            name: "remove".into(),
            title: format!("Remove {target} from the cluster"),
            mode: Mode::Serial,
            steps,
        }],
        values: None,
    };
    Ok(Removal {
        target: target.into(),
        role: node.role,
        source,
        after,
        run_cluster,
        plan,
        notes,
        was_first: c.first_control_plane().name == target,
    })
}
