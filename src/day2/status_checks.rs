//! What is wrong in a status report, each with the action that fixes it. Pure.

use super::status::{ClusterStatus, Problem};
use crate::inventory::Cluster;

/// Certificates with fewer days left than this are a problem (shown in red).
pub const CERT_WARN_DAYS: u64 = 30;

fn p(what: String, fix: String) -> Problem {
    Problem { what, fix }
}

/// Fills `problems` and `healthy`. `config`: the inventory's path, for the commands offered.
pub fn check(c: &Cluster, s: &mut ClusterStatus, config: &str) {
    let mut out = Vec::new();
    for u in &s.unreachable {
        out.push(p(
            format!("cannot reach {}: {}", u.node, u.error),
            format!(
                "check that {} is up and answers SSH; a control plane that is gone for good: remove it from etcd (see its member below)",
                u.node
            ),
        ));
    }
    for e in &s.errors {
        out.push(p(
            format!("on {}: {}", e.node, e.error),
            format!("look at it on {} (the status steps change nothing)", e.node),
        ));
    }

    // Nodes.
    if s.nodes_reported_by.is_none() {
        out.push(p(
            format!(
                "no control plane answered for the cluster's nodes through {}",
                s.endpoint
            ),
            "check HAProxy's backends and etcd below: the API needs both".into(),
        ));
    } else {
        for n in c.nodes.iter() {
            if !s.nodes.iter().any(|k| k.name == n.name) {
                out.push(p(
                    format!("{} is in the inventory but not in the cluster", n.name),
                    format!("kha-tui apply --config {config} --node {}", n.name),
                ));
            }
        }
        for n in &s.nodes {
            if !n.in_inventory {
                out.push(p(
                    format!("{} is in the cluster but not in the inventory", n.name),
                    format!("add it to {config} as a [[nodes]] entry, or take it out of the cluster: kubectl delete node {}", n.name),
                ));
            }
            if !n.ready {
                out.push(p(
                    format!("{} is {}", n.name, n.status),
                    format!(
                        "on {}: systemctl status kubelet; journalctl -u kubelet -n 50",
                        n.name
                    ),
                ));
            }
            if n.status.contains("SchedulingDisabled") {
                out.push(p(
                    format!("{} is cordoned (no new pods are scheduled there)", n.name),
                    format!("kubectl uncordon {}", n.name),
                ));
            }
        }
    }

    // etcd.
    if s.etcd_members_reported_by.is_none() {
        out.push(p(
            "no control plane could list etcd's members".into(),
            "on a control plane: crictl ps -a --name etcd, and its logs (crictl logs ID)".into(),
        ));
    } else {
        let total = s.etcd_members.len();
        let healthy = s
            .etcd_members
            .iter()
            .filter(|m| m.healthy == Some(true))
            .count();
        if healthy < total / 2 + 1 {
            out.push(p(
                format!("etcd has lost quorum: {healthy} of {total} members healthy"),
                "bring the stopped members back first (start their nodes or etcd); remove no member while quorum is lost".into(),
            ));
        }
        for m in &s.etcd_members {
            let peer = m.peer_urls.join(",");
            if !m.started {
                out.push(p(
                    format!("etcd member {} ({peer}) was added but never started", m.id),
                    format!("on a healthy control plane: etcdctl member remove {}, then join its node again", m.id),
                ));
                continue;
            }
            if !m.in_inventory {
                out.push(p(
                    format!(
                        "etcd member {} ({}, {peer}) is no control plane of the inventory",
                        m.name, m.id
                    ),
                    format!(
                        "if that node is gone: etcdctl member remove {} on a healthy control plane",
                        m.id
                    ),
                ));
            }
            if m.healthy != Some(true) {
                let why = m.error.clone().unwrap_or_else(|| "no answer".into());
                let gone = s.unreachable.iter().any(|u| u.node == m.name);
                out.push(p(
                    format!("etcd member {} ({}) is not healthy: {why}", m.name, m.id),
                    if gone {
                        format!("start {} again; if it is gone for good, remove its member from a healthy control plane: etcdctl member remove {}", m.name, m.id)
                    } else {
                        format!("on {}: crictl ps -a --name etcd and its logs; the manifest is /etc/kubernetes/manifests/etcd.yaml", m.name)
                    },
                ));
            }
        }
        for cp in c.control_planes() {
            if !s.etcd_members.iter().any(|m| m.name == cp.name) {
                out.push(p(
                    format!("control plane {} has no etcd member", cp.name),
                    format!("kha-tui apply --config {config} --node {}", cp.name),
                ));
            }
        }
    }

    // Load balancers.
    for lb in &s.load_balancers {
        if !lb.reachable {
            continue; // said above
        }
        let redo = format!(
            "kha-tui apply --config {config} --node {} --from haproxy",
            lb.name
        );
        if let Some(e) = &lb.error {
            out.push(p(format!("HAProxy on {}: {e}", lb.name), redo.clone()));
            continue;
        }
        for b in &lb.backends {
            if !b.up {
                out.push(p(
                    format!(
                        "HAProxy on {} marks {}'s API server {} (check {})",
                        lb.name, b.name, b.status, b.check
                    ),
                    format!(
                        "on {}: crictl ps -a --name kube-apiserver; curl -k https://{}/readyz",
                        b.name, b.address
                    ),
                ));
            }
        }
        for cp in c.control_planes() {
            if !lb.backends.iter().any(|b| b.name == cp.name) {
                out.push(p(
                    format!(
                        "HAProxy on {} has no backend for control plane {}",
                        lb.name, cp.name
                    ),
                    redo.clone(),
                ));
            }
        }
        for b in &lb.backends {
            if !c.control_planes().any(|n| n.name == b.name) {
                out.push(p(
                    format!("HAProxy on {} still sends to {}, which is no control plane of the inventory", lb.name, b.name),
                    redo.clone(),
                ));
            }
        }
    }
    if let Some(v) = &s.vip {
        let reached = s
            .load_balancers
            .iter()
            .all(|l| l.reachable && l.holds_vip.is_some());
        match v.holders.len() {
            0 if reached => out.push(p(
                format!("no load balancer holds the virtual address {}", v.address),
                "on both LBs: systemctl status keepalived; journalctl -u keepalived -n 50".into(),
            )),
            n if n > 1 => out.push(p(
                format!("{} load balancers hold {} at once ({})", n, v.address, v.holders.join(", ")),
                "VRRP between the LBs is broken: check that they reach each other and that no other device uses the same virtual_router_id".into(),
            )),
            _ => {}
        }
    }

    // Certificates: one problem per control plane, naming the soonest.
    let mut nodes: Vec<&str> = s.certificates.iter().map(|c| c.node.as_str()).collect();
    nodes.dedup();
    for n in nodes {
        let mut near: Vec<_> = s
            .certificates
            .iter()
            .filter(|c| c.node == n && c.residual_days < CERT_WARN_DAYS)
            .collect();
        near.sort_by_key(|c| c.residual_days);
        if let Some(first) = near.first() {
            out.push(p(
                format!(
                    "{} certificate(s) on {n} expire within {CERT_WARN_DAYS} days, the soonest {} in {} ({})",
                    near.len(),
                    first.name,
                    first.residual,
                    first.expires
                ),
                "on every control plane: kubeadm certs renew all, then restart the control-plane static pods".into(),
            ));
        }
    }

    s.healthy = out.is_empty();
    s.problems = out;
}
