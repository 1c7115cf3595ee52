//! The cluster view's data: what the status steps printed (`kha-status KIND ...` lines, see
//! `assets/scripts/status-*.sh`), parsed into one report. Pure: lines in, report out.

use serde::Serialize;

use super::status_plan::{CONTROL_PLANE_STEP, LB_STEP};
use crate::inventory::Cluster;

/// One `kha-status` line as a step printed it (prefix removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub node: String,
    pub step: String,
    pub line: String,
}

/// A host the status could not read, or a part of it that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostError {
    pub node: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub ready: bool,
    /// As kubectl prints it, e.g. `Ready,SchedulingDisabled`.
    pub status: String,
    pub roles: Vec<String>,
    pub version: String,
    pub age: String,
    pub in_inventory: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EtcdMember {
    /// Hexadecimal, as `etcdctl member list` prints it and `etcdctl member remove` takes it.
    pub id: String,
    /// Empty for a member that was added but never started.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub started: bool,
    /// `etcdctl endpoint health` on the member's own node; `None` = no answer from there.
    pub healthy: Option<bool>,
    pub leader: bool,
    pub db_size: Option<u64>,
    pub version: Option<String>,
    /// Why its node did not answer for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A control plane of the inventory carries this name.
    pub in_inventory: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// HAProxy's server name (the control plane's name in the config kha-tui writes).
    pub name: String,
    pub address: String,
    /// HAProxy's status column: `UP`, `DOWN`, `UP 1/3`, `MAINT`, `no check`, …
    pub status: String,
    pub up: bool,
    /// Sessions open now, and in all since HAProxy started.
    pub sessions: u64,
    pub total_sessions: u64,
    /// The last health check's result, e.g. `L7OK`, `L4CON`, `L7STS`.
    pub check: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LbStatus {
    pub name: String,
    pub reachable: bool,
    pub backends: Vec<Backend>,
    /// With a pair: this LB holds the virtual address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds_vip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VipStatus {
    pub address: String,
    pub holders: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertStatus {
    pub node: String,
    pub name: String,
    pub authority: bool,
    /// kubeadm's EXPIRES column, e.g. `Dec 07, 2027 14:00 UTC`.
    pub expires: String,
    /// kubeadm's RESIDUAL TIME column, e.g. `364d`, `9y`, `<invalid>`.
    pub residual: String,
    /// Whole days left (0 for less than a day or expired).
    pub residual_days: u64,
    /// The soonest to expire of the whole cluster.
    pub soonest: bool,
}

/// A bootstrap token: its id only (the secret half never leaves the node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenStatus {
    pub id: String,
    pub ttl: String,
    pub expires: String,
    pub reported_by: String,
}

/// Something wrong, and the action that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub what: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    pub cluster: String,
    pub endpoint: String,
    /// The control plane whose answers the nodes and tokens are from.
    pub nodes_reported_by: Option<String>,
    pub nodes: Vec<NodeStatus>,
    pub etcd_members_reported_by: Option<String>,
    pub etcd_members: Vec<EtcdMember>,
    pub load_balancers: Vec<LbStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vip: Option<VipStatus>,
    pub certificates: Vec<CertStatus>,
    pub tokens: Vec<TokenStatus>,
    pub unreachable: Vec<HostError>,
    /// Parts that could not be read on a reachable host.
    pub errors: Vec<HostError>,
    pub problems: Vec<Problem>,
    /// No problems.
    pub healthy: bool,
    /// The last `kha-tui backup` of this cluster from this machine (by hand or by its timer):
    /// read from kha-tui's data dir, not from the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<super::backup_store::LastBackup>,
}

fn lines_of<'a>(r: &'a [Reported], node: &'a str, step: &'a str) -> impl Iterator<Item = &'a str> {
    r.iter()
        .filter(move |l| l.node == node && l.step == step)
        .map(|l| l.line.as_str())
}

fn kind_rest(line: &str) -> (&str, &str) {
    line.split_once(' ').unwrap_or((line, ""))
}

/// `NAME STATUS ROLES AGE VERSION` as `kubectl get nodes --no-headers` prints it.
pub fn parse_node(line: &str) -> Option<NodeStatus> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 5 {
        return None;
    }
    Some(NodeStatus {
        name: f[0].into(),
        ready: f[1].split(',').next() == Some("Ready"),
        status: f[1].into(),
        roles: if f[2] == "<none>" {
            vec![]
        } else {
            f[2].split(',').map(str::to_string).collect()
        },
        age: f[3].into(),
        version: f[4].into(),
        in_inventory: false,
    })
}

/// kubeadm's RESIDUAL TIME (`364d`, `9y`, `23h`, `<invalid>`) in whole days.
pub fn residual_days(s: &str) -> u64 {
    let (num, unit) = s.split_at(s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let n: u64 = num.parse().unwrap_or(0);
    match unit {
        "y" => n * 365,
        "d" => n,
        _ => 0,
    }
}

/// `leaf|authority NAME RESIDUAL MON DD, YYYY HH:MM UTC`.
fn parse_cert(node: &str, rest: &str) -> Option<CertStatus> {
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() < 8 {
        return None;
    }
    Some(CertStatus {
        node: node.into(),
        authority: f[0] == "authority",
        name: f[1].into(),
        residual: f[2].into(),
        residual_days: residual_days(f[2]),
        expires: f[3..].join(" "),
        soonest: false,
    })
}

#[derive(serde::Deserialize)]
struct EpStatus {
    #[serde(rename = "Status")]
    status: EpStatusInner,
}
#[derive(serde::Deserialize)]
struct EpStatusInner {
    header: EpHeader,
    version: Option<String>,
    #[serde(rename = "dbSize")]
    db_size: Option<u64>,
    leader: Option<u64>,
}
#[derive(serde::Deserialize)]
struct EpHeader {
    member_id: u64,
}
#[derive(serde::Deserialize)]
struct EpHealth {
    health: bool,
}
#[derive(serde::Deserialize)]
struct MemberList {
    #[serde(default)]
    members: Vec<MemberJson>,
}
#[derive(serde::Deserialize)]
struct MemberJson {
    #[serde(rename = "ID")]
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(rename = "peerURLs", default)]
    peer_urls: Vec<String>,
    #[serde(rename = "clientURLs", default)]
    client_urls: Vec<String>,
}

/// What one control plane's etcd said about itself.
#[derive(Default)]
struct LocalEtcd {
    member_id: Option<u64>,
    leader: Option<u64>,
    db_size: Option<u64>,
    version: Option<String>,
    healthy: Option<bool>,
    error: Option<String>,
}

/// HAProxy's `show stat` CSV (header line first) → the kube-apiserver backend's servers.
pub fn parse_haproxy(lines: &[&str]) -> Vec<Backend> {
    let Some(header) = lines.iter().find(|l| l.starts_with("# pxname")) else {
        return vec![];
    };
    let cols: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let at = |name: &str| cols.iter().position(|c| *c == name);
    let (sv, st, scur, stot, chk, addr) = (
        at("svname"),
        at("status"),
        at("scur"),
        at("stot"),
        at("check_status"),
        at("addr"),
    );
    lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let get = |i: Option<usize>| i.and_then(|i| f.get(i)).copied().unwrap_or("");
            let name = get(sv);
            if f.first() != Some(&"kube-apiserver") || name == "FRONTEND" || name == "BACKEND" {
                return None;
            }
            let status = get(st).to_string();
            Some(Backend {
                name: name.into(),
                address: get(addr).into(),
                up: status.starts_with("UP") || status == "no check",
                status,
                sessions: get(scur).parse().unwrap_or(0),
                total_sessions: get(stot).parse().unwrap_or(0),
                check: get(chk).into(),
            })
        })
        .collect()
}

/// The report from every reported line, the hosts that could not be reached, and the steps
/// that failed (node, reason). Problems are filled in by `status_checks`.
pub fn build(
    c: &Cluster,
    reported: &[Reported],
    unreachable: &[HostError],
    failed: &[HostError],
) -> ClusterStatus {
    let mut errors: Vec<HostError> = failed.to_vec();
    let err = |errors: &mut Vec<HostError>, node: &str, what: &str, e: &str| {
        errors.push(HostError {
            node: node.into(),
            error: format!("{what}: {e}"),
        })
    };

    // Control planes: nodes, tokens and members from the first that answered; certificates and
    // each member's own health from every one.
    let mut nodes = None;
    let mut tokens = None;
    let mut members: Option<(String, Vec<MemberJson>)> = None;
    let mut certificates = Vec::new();
    let mut local: Vec<(String, LocalEtcd)> = Vec::new();
    for cp in c.control_planes() {
        let mut my_nodes = Vec::new();
        let mut my_tokens = Vec::new();
        // Which parts failed here (an empty node or token list is an answer too).
        let (mut nodes_failed, mut tokens_failed) = (false, false);
        let mut etcd = LocalEtcd::default();
        let mut ran = false;
        for line in lines_of(reported, &cp.name, CONTROL_PLANE_STEP) {
            ran = true;
            let (kind, rest) = kind_rest(line);
            match kind {
                "node" => my_nodes.extend(parse_node(rest)),
                "token" => {
                    let f: Vec<&str> = rest.split_whitespace().collect();
                    if f.len() >= 3 {
                        my_tokens.push(TokenStatus {
                            id: f[0].into(),
                            ttl: f[1].into(),
                            expires: f[2].into(),
                            reported_by: cp.name.clone(),
                        });
                    }
                }
                "cert" => certificates.extend(parse_cert(&cp.name, rest)),
                "etcd-status" => match serde_json::from_str::<Vec<EpStatus>>(rest) {
                    Ok(v) if !v.is_empty() => {
                        let s = &v[0].status;
                        etcd.member_id = Some(s.header.member_id);
                        etcd.leader = s.leader;
                        etcd.db_size = s.db_size;
                        etcd.version = s.version.clone();
                    }
                    _ => etcd.error = Some(format!("unreadable endpoint status: {rest}")),
                },
                "etcd-health" => {
                    etcd.healthy = serde_json::from_str::<Vec<EpHealth>>(rest)
                        .ok()
                        .and_then(|v| v.first().map(|h| h.health));
                }
                "etcd-unhealthy" => {
                    etcd.healthy = Some(false);
                    etcd.error.get_or_insert_with(|| rest.to_string());
                }
                "etcd-error" => {
                    etcd.error = Some(rest.to_string());
                }
                "etcd-members" => {
                    if members.is_none()
                        && let Ok(m) = serde_json::from_str::<MemberList>(rest)
                    {
                        members = Some((cp.name.clone(), m.members));
                    }
                }
                "nodes-error" => {
                    nodes_failed = true;
                    err(&mut errors, &cp.name, "kubectl get nodes", rest)
                }
                "tokens-error" => {
                    tokens_failed = true;
                    err(&mut errors, &cp.name, "kubeadm token list", rest)
                }
                "certs-error" => err(
                    &mut errors,
                    &cp.name,
                    "kubeadm certs check-expiration",
                    rest,
                ),
                "etcd-members-error" => err(&mut errors, &cp.name, "etcdctl member list", rest),
                "error" => {
                    (nodes_failed, tokens_failed) = (true, true);
                    err(&mut errors, &cp.name, "status", rest)
                }
                _ => {}
            }
        }
        if ran && !nodes_failed && nodes.is_none() {
            nodes = Some((cp.name.clone(), my_nodes));
        }
        if ran && !tokens_failed && tokens.is_none() {
            tokens = Some(my_tokens);
        }
        if ran {
            local.push((cp.name.clone(), etcd));
        }
    }

    let (nodes_reported_by, mut nodes) = match nodes {
        Some((by, n)) => (Some(by), n),
        None => (None, vec![]),
    };
    for n in &mut nodes {
        n.in_inventory = c.nodes.iter().any(|i| i.name == n.name);
    }

    let leader = local.iter().find_map(|(_, e)| e.leader);
    let (etcd_members_reported_by, etcd_members) = match members {
        Some((by, ms)) => (
            Some(by),
            ms.into_iter()
                .map(|m| {
                    let mine = local.iter().find(|(node, e)| {
                        e.member_id == Some(m.id) || (e.member_id.is_none() && *node == m.name)
                    });
                    let unreach = unreachable.iter().find(|u| u.node == m.name);
                    let (healthy, db_size, version, error) = match (mine, unreach) {
                        (Some((_, e)), _) => (
                            if e.member_id.is_some() {
                                e.healthy.or(Some(false))
                            } else {
                                Some(false)
                            },
                            e.db_size,
                            e.version.clone(),
                            e.error.clone(),
                        ),
                        (None, Some(u)) => (
                            None,
                            None,
                            None,
                            Some(format!("{} unreachable: {}", u.node, u.error)),
                        ),
                        (None, None) => (None, None, None, None),
                    };
                    EtcdMember {
                        id: format!("{:x}", m.id),
                        started: !m.name.is_empty() && !m.client_urls.is_empty(),
                        in_inventory: c.control_planes().any(|n| n.name == m.name),
                        name: m.name,
                        peer_urls: m.peer_urls,
                        healthy,
                        leader: leader == Some(m.id),
                        db_size,
                        version,
                        error,
                    }
                })
                .collect(),
        ),
        None => (None, vec![]),
    };

    // Certificates: the soonest of the cluster marked.
    if let Some(min) = certificates.iter().map(|c| c.residual_days).min() {
        for cert in certificates.iter_mut().filter(|c| c.residual_days == min) {
            cert.soonest = true;
        }
    }

    let mut load_balancers = Vec::new();
    let mut holders = Vec::new();
    for lb in c.load_balancers() {
        let lines: Vec<&str> = lines_of(reported, &lb.name, LB_STEP).collect();
        let mut csv = Vec::new();
        let mut holds_vip = None;
        let mut error = None;
        for l in &lines {
            let (kind, rest) = kind_rest(l);
            match kind {
                "haproxy" => csv.push(rest),
                "haproxy-error" => error = Some(rest.to_string()),
                "vip" => {
                    let held = rest.starts_with("held");
                    holds_vip = Some(held);
                    if held {
                        holders.push(lb.name.clone());
                    }
                }
                _ => {}
            }
        }
        let reachable = !unreachable.iter().any(|u| u.node == lb.name);
        if !reachable {
            error = unreachable
                .iter()
                .find(|u| u.node == lb.name)
                .map(|u| u.error.clone());
        }
        load_balancers.push(LbStatus {
            name: lb.name.clone(),
            reachable,
            backends: parse_haproxy(&csv),
            holds_vip,
            error,
        });
    }
    let vip = c.lb_pair.as_ref().map(|p| VipStatus {
        address: p.vip.to_string(),
        holders,
    });

    ClusterStatus {
        cluster: c.name.clone(),
        endpoint: c.control_plane_endpoint(),
        nodes_reported_by,
        nodes,
        etcd_members_reported_by,
        etcd_members,
        load_balancers,
        vip,
        certificates,
        tokens: tokens.unwrap_or_default(),
        unreachable: unreachable.to_vec(),
        errors,
        problems: vec![],
        healthy: false,
        last_backup: None,
    }
}
