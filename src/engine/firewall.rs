//! Host firewalls (ufw, firewalld): the one list of what each node's role must let in, the
//! parser of what preflight.sh found allowed, and the preflight check that names the closed
//! openings. The fix (`firewall-open`, src/engine/fix.rs) opens exactly those.

use super::events::{CheckResult, CheckStatus};
use super::preflight::Facts;
use crate::inventory::{Cluster, Node, Role};

/// The fix's name in `CheckResult::fixable`; the openings follow it, separated by spaces
/// ("firewall-open 10250/tcp 4789/udp"), so the operator sees exactly what it opens.
pub const FIX: &str = "firewall-open";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// One thing a node must let in: a port range of a transport protocol, or a whole IP protocol
/// (VRRP, 112, between the load balancers of a pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Ports { from: u16, to: u16, proto: Proto },
    IpProto(&'static str),
}

impl Opening {
    fn tcp(p: u16) -> Opening {
        Opening::Ports {
            from: p,
            to: p,
            proto: Proto::Tcp,
        }
    }

    /// ufw's spelling ("2379:2380/tcp", "vrrp"); the fix script turns ':' into '-' for
    /// firewalld.
    pub fn spec(&self) -> String {
        match self {
            Opening::Ports { from, to, proto } => {
                let p = match proto {
                    Proto::Tcp => "tcp",
                    Proto::Udp => "udp",
                };
                if from == to {
                    format!("{from}/{p}")
                } else {
                    format!("{from}:{to}/{p}")
                }
            }
            Opening::IpProto(name) => (*name).to_string(),
        }
    }

    /// The inverse of [`Opening::spec`]; anything else is refused (the fix's argument is
    /// checked with it before it reaches a shell).
    pub fn parse_spec(s: &str) -> Option<Opening> {
        if s == "vrrp" {
            return Some(Opening::IpProto("vrrp"));
        }
        let (range, proto) = s.split_once('/')?;
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => return None,
        };
        let (from, to) = match range.split_once(':') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let p = range.parse().ok()?;
                (p, p)
            }
        };
        (from <= to && from > 0).then_some(Opening::Ports { from, to, proto })
    }
}

/// What a node of `role` must let in, and why (kubeadm-ha-facts.md: kubeadm's port table,
/// kube-proxy, NodePorts; Calico in the mode assets/templates/calico-installation.yaml installs,
/// VXLANCrossSubnet: BGP between nodes, VXLAN across subnets, Typha; no IP-in-IP). Load
/// balancers: the API port, and VRRP when there is a pair.
pub fn openings(c: &Cluster, role: Role) -> Vec<(Opening, &'static str)> {
    let udp = |p| Opening::Ports {
        from: p,
        to: p,
        proto: Proto::Udp,
    };
    let range = |from, to| Opening::Ports {
        from,
        to,
        proto: Proto::Tcp,
    };
    let every_node = [
        (Opening::tcp(10250), "kubelet API"),
        (Opening::tcp(10256), "kube-proxy health"),
        (range(30000, 32767), "NodePort services"),
        (Opening::tcp(179), "Calico BGP"),
        (udp(4789), "Calico VXLAN"),
        (Opening::tcp(5473), "Calico Typha"),
    ];
    match role {
        Role::ControlPlane => [
            (Opening::tcp(6443), "kube-apiserver"),
            (range(2379, 2380), "etcd"),
            (Opening::tcp(10257), "kube-controller-manager"),
            (Opening::tcp(10259), "kube-scheduler"),
        ]
        .into_iter()
        .chain(every_node)
        .collect(),
        Role::Worker => every_node.to_vec(),
        Role::LoadBalancer => {
            let mut v = vec![(Opening::tcp(c.api_port), "HAProxy (the API endpoint)")];
            if c.lb_pair.is_some() {
                v.push((
                    Opening::IpProto("vrrp"),
                    "keepalived VRRP (IP protocol 112)",
                ));
            }
            v
        }
    }
}

/// One rule the firewall has that lets something in, as preflight.sh reports it: ufw's "To"
/// column ("22/tcp", "80", "2379:2380/tcp", "80,443/tcp", "Anywhere") or firewalld's ports and
/// protocols ("2379-2380/tcp", "vrrp"); "any" when everything is let in (a default policy of
/// allow, a zone target ACCEPT). Anything else (an application profile's name, an address)
/// is not understood and allows nothing here.
#[derive(Debug, Clone, PartialEq)]
enum Allowed {
    Everything,
    Ports {
        from: u16,
        to: u16,
        proto: Option<Proto>,
    },
    IpProto(String),
}

fn parse_allowed(token: &str) -> Vec<Allowed> {
    match token {
        "any" | "Anywhere" => return vec![Allowed::Everything],
        "vrrp" | "112" => return vec![Allowed::IpProto("vrrp".into())],
        _ => {}
    }
    // ufw's rules by protocol alone: "Anywhere/tcp", "Anywhere/vrrp".
    if let Some(p) = token.strip_prefix("Anywhere/") {
        return match p {
            "tcp" | "udp" => parse_allowed(&format!("1:65535/{p}")),
            _ => vec![Allowed::IpProto(p.into())],
        };
    }
    let (ports, proto) = match token.split_once('/') {
        Some((p, "tcp")) => (p, Some(Proto::Tcp)),
        Some((p, "udp")) => (p, Some(Proto::Udp)),
        Some(_) => return vec![],
        None => (token, None),
    };
    ports
        .split(',')
        .filter_map(|part| {
            let (a, b) = part
                .split_once(':')
                .or_else(|| part.split_once('-'))
                .unwrap_or((part, part));
            let (from, to) = (a.parse().ok()?, b.parse().ok()?);
            Some(Allowed::Ports { from, to, proto })
        })
        .collect()
}

fn allows(rules: &[Allowed], o: &Opening) -> bool {
    rules.iter().any(|r| match (r, o) {
        (Allowed::Everything, _) => true,
        (
            Allowed::Ports { from, to, proto },
            Opening::Ports {
                from: f,
                to: t,
                proto: p,
            },
        ) => from <= f && t <= to && proto.is_none_or(|x| x == *p),
        (Allowed::IpProto(a), Opening::IpProto(b)) => a == b,
        _ => false,
    })
}

/// The firewall preflight.sh found active ("ufw", "firewalld"), if any.
pub fn active(f: &Facts) -> Option<&str> {
    match f.get("firewall") {
        "" | "none" => None,
        x => Some(x),
    }
}

/// The openings `role` needs that the node's active firewall does not allow.
pub fn closed(c: &Cluster, role: Role, f: &Facts) -> Vec<(Opening, &'static str)> {
    if active(f).is_none() {
        return vec![];
    }
    let rules: Vec<Allowed> = f
        .get("firewall_allows")
        .split_whitespace()
        .flat_map(parse_allowed)
        .collect();
    openings(c, role)
        .into_iter()
        .filter(|(o, _)| !allows(&rules, o))
        .collect()
}

/// The preflight check "firewall": passes without an active firewall or when it lets in all
/// the role needs; otherwise fails, naming the firewall and each closed opening, with the
/// one-key fix that opens exactly those.
pub fn check(c: &Cluster, n: &Node, f: &Facts) -> CheckResult {
    let mut r = CheckResult {
        node: n.name.clone(),
        check: "firewall".into(),
        status: CheckStatus::Pass,
        found: String::new(),
        fix: String::new(),
        fixable: None,
    };
    let Some(fw) = active(f) else {
        r.found = "no active ufw or firewalld".into();
        return r;
    };
    let closed = closed(c, n.role, f);
    if closed.is_empty() {
        r.found = format!("{fw} is active and lets in what a {} needs", n.role.label());
        return r;
    }
    let list: Vec<String> = closed
        .iter()
        .map(|(o, why)| format!("{} ({why})", o.spec()))
        .collect();
    let specs: Vec<String> = closed.iter().map(|(o, _)| o.spec()).collect();
    r.status = CheckStatus::Fail;
    r.found = format!("{fw} is active and does not let in {}", list.join(", "));
    r.fix = match fw {
        "firewalld" => "open exactly these (f, or `kha-tui fix`): firewall-cmd --permanent --add-port (--add-protocol) for each, then --reload; firewalld stays on".into(),
        _ => "open exactly these (f, or `kha-tui fix`): `ufw allow PORT/PROTO comment kha-tui` for each; ufw stays enabled".into(),
    };
    r.fixable = Some(format!("{FIX} {}", specs.join(" ")));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{self, validate};

    fn cluster() -> Cluster {
        validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
            .unwrap()
            .0
    }

    fn facts(fw: &str, allows: &str) -> Facts {
        Facts::parse(&format!("firewall={fw}\nfirewall_allows={allows}\n"), 0.0)
    }

    fn specs(v: &[(Opening, &str)]) -> Vec<String> {
        v.iter().map(|(o, _)| o.spec()).collect()
    }

    #[test]
    fn each_role_needs_its_ports() {
        let mut c = cluster();
        assert_eq!(
            specs(&openings(&c, Role::ControlPlane)),
            [
                "6443/tcp",
                "2379:2380/tcp",
                "10257/tcp",
                "10259/tcp",
                "10250/tcp",
                "10256/tcp",
                "30000:32767/tcp",
                "179/tcp",
                "4789/udp",
                "5473/tcp"
            ]
        );
        assert_eq!(
            specs(&openings(&c, Role::Worker)),
            [
                "10250/tcp",
                "10256/tcp",
                "30000:32767/tcp",
                "179/tcp",
                "4789/udp",
                "5473/tcp"
            ]
        );
        c.api_port = 8443;
        assert_eq!(specs(&openings(&c, Role::LoadBalancer)), ["8443/tcp"]);
        let mut pair = inventory::parse(inventory::EXAMPLE).unwrap();
        pair.load_balancer.vip = "10.0.0.5".into();
        pair.load_balancer.backup_address = "10.0.0.9".into();
        let c = validate::check(&pair).unwrap().0;
        assert_eq!(
            specs(&openings(&c, Role::LoadBalancer)),
            ["6443/tcp", "vrrp"]
        );
    }

    #[test]
    fn specs_round_trip_and_nothing_else_parses() {
        let c = cluster();
        for role in [Role::ControlPlane, Role::Worker, Role::LoadBalancer] {
            for (o, _) in openings(&c, role) {
                assert_eq!(Opening::parse_spec(&o.spec()), Some(o));
            }
        }
        for bad in [
            "22",
            "22/icmp",
            "a:b/tcp",
            "9:8/tcp",
            "0/tcp",
            "22/tcp;reboot",
            "$(x)",
        ] {
            assert_eq!(Opening::parse_spec(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_ufw_and_firewalld_allow_is_understood() {
        let c = cluster();
        let w = |fw: &str, allows: &str| specs(&closed(&c, Role::Worker, &facts(fw, allows)));
        // No firewall, or one that lets everything in: nothing is closed.
        assert!(w("none", "").is_empty());
        assert!(w("ufw", "any 22/tcp").is_empty());
        assert!(w("ufw", "Anywhere").is_empty());
        // Only ssh: every opening is named.
        assert_eq!(
            w("ufw", "22/tcp OpenSSH"),
            specs(&openings(&c, Role::Worker))
        );
        // A bare port allows both protocols; ranges and lists cover what falls inside them;
        // a range that covers only part of the NodePorts leaves them closed.
        assert_eq!(
            w(
                "ufw",
                "22/tcp 10250 10256,179/tcp 30000:31000/tcp 4789/tcp 5000:6000/tcp"
            ),
            ["30000:32767/tcp", "4789/udp"]
        );
        assert_eq!(
            w(
                "firewalld",
                "10250/tcp 10256/tcp 30000-32767/tcp 179/tcp 4789/udp 5473/tcp"
            ),
            Vec::<String>::new()
        );
        let mut pair = inventory::parse(inventory::EXAMPLE).unwrap();
        pair.load_balancer.vip = "10.0.0.5".into();
        pair.load_balancer.backup_address = "10.0.0.9".into();
        let p = validate::check(&pair).unwrap().0;
        let lb = |allows: &str| specs(&closed(&p, Role::LoadBalancer, &facts("ufw", allows)));
        assert_eq!(lb("6443/tcp"), ["vrrp"]);
        assert!(lb("6443/tcp vrrp").is_empty());
        // As ufw 0.36 (Debian 12) lists `ufw allow proto vrrp from any to any`.
        assert!(lb("6443/tcp Anywhere/vrrp").is_empty());
        assert_eq!(lb("Anywhere/tcp"), ["vrrp"]);
    }

    #[test]
    fn the_check_names_firewall_ports_and_fix() {
        let c = cluster();
        let worker = c.nodes.iter().find(|n| n.role == Role::Worker).unwrap();
        let r = check(&c, worker, &facts("ufw", "22/tcp 10250/tcp"));
        assert_eq!(r.status, CheckStatus::Fail);
        assert!(r.found.starts_with("ufw is active and does not let in 10256/tcp (kube-proxy health), 30000:32767/tcp (NodePort services)"), "{}", r.found);
        assert!(!r.found.contains("10250/tcp"), "{}", r.found);
        assert!(r.fix.contains("ufw stays enabled"), "{}", r.fix);
        assert_eq!(
            r.fixable.as_deref(),
            Some("firewall-open 10256/tcp 30000:32767/tcp 179/tcp 4789/udp 5473/tcp")
        );
        let ok = check(&c, worker, &facts("none", ""));
        assert_eq!((ok.status, ok.fixable), (CheckStatus::Pass, None));
        let fd = check(&c, worker, &facts("firewalld", "ssh"));
        assert!(fd.found.starts_with("firewalld is active"), "{}", fd.found);
        assert!(fd.fix.contains("firewall-cmd --permanent"), "{}", fd.fix);
    }
}
