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

/// What one rule of the firewall is about, as preflight.sh reports it: ufw's "To" column
/// ("22/tcp", "80", "2379:2380/tcp", "80,443/tcp", "Anywhere", "Anywhere/vrrp") or firewalld's
/// ports and protocols ("2379-2380/tcp", "vrrp"); "any" for everything (a default policy of
/// allow, a zone target ACCEPT). Anything else (an application profile's name) is not
/// understood and matches nothing here.
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
            "112" => vec![Allowed::IpProto("vrrp".into())],
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

/// Whether `a` lets in all of `o`.
fn covers(a: &Allowed, o: &Opening) -> bool {
    match (a, o) {
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
    }
}

/// Whether `a` is about any part of `o` (a DENY of 2379/tcp closes etcd's 2379:2380/tcp).
fn overlaps(a: &Allowed, o: &Opening) -> bool {
    match (a, o) {
        (
            Allowed::Ports { from, to, proto },
            Opening::Ports {
                from: f,
                to: t,
                proto: p,
            },
        ) => from <= t && f <= to && proto.is_none_or(|x| x == *p),
        _ => covers(a, o),
    }
}

/// One rule as preflight.sh reports it, "ACTION,TO,FROM" ("ALLOW,10250/tcp,10.77.3.11",
/// "DENY,2379/tcp,Anywhere", "ALLOW,vrrp,10.0.0.0/24"), in the order the firewall applies them.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    to: Vec<Allowed>,
    /// `None`: from anywhere.
    from: Option<ipnet::IpNet>,
}

fn parse_rule(token: &str) -> Option<Rule> {
    // TO may hold commas itself (ufw's "80,443/tcp"): ACTION is before the first, FROM after
    // the last.
    let (action, rest) = token.split_once(',')?;
    let (to, from) = rest.rsplit_once(',')?;
    let allow = match action {
        "ALLOW" | "LIMIT" => true,
        "DENY" | "REJECT" => false,
        _ => return None,
    };
    let to = parse_allowed(to);
    // ufw writes a rule by protocol alone with it on the source too ("10.0.0.1/vrrp").
    let from = match from.rsplit_once('/') {
        Some((a, p)) if p.parse::<u8>().is_err() => a,
        _ => from,
    };
    let from = match from {
        "Anywhere" | "any" => None,
        a => Some(
            a.parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| a.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))?,
        ),
    };
    Some(Rule { allow, to, from })
}

/// Whether `rules` let `o` in from `src`: the first rule about `src` and (a part of) `o`
/// decides, as ufw and firewalld apply them; an ALLOW must cover all of `o`. No rule: closed
/// (a default of allow is reported as a last rule "ALLOW,any,Anywhere").
fn lets_in(rules: &[Rule], o: &Opening, src: std::net::IpAddr) -> bool {
    for r in rules {
        if !r.from.is_none_or(|n| n.contains(&src)) {
            continue;
        }
        if !r.allow && r.to.iter().any(|a| overlaps(a, o)) {
            return false;
        }
        if r.allow && r.to.iter().any(|a| covers(a, o)) {
            return true;
        }
    }
    false
}

/// The rule lists preflight.sh found: one for ufw; one per zone for firewalld (each list
/// starts with "@ZONE"), the zones of the interfaces the cluster's addresses are reached
/// through.
fn rule_lists(f: &Facts) -> Vec<Vec<Rule>> {
    let mut lists: Vec<Vec<Rule>> = vec![];
    for tok in f.get("firewall_rules").split_whitespace() {
        if tok.starts_with('@') || lists.is_empty() {
            lists.push(vec![]);
        }
        if let Some(r) = parse_rule(tok) {
            lists.last_mut().expect("pushed").push(r);
        }
    }
    if lists.is_empty() {
        lists.push(vec![]);
    }
    lists
}

/// The addresses the cluster's traffic comes from: every node and load balancer of the
/// inventory, and the pair's virtual address. kha-tui lets its ports in from these only.
pub fn sources(c: &Cluster) -> Vec<std::net::IpAddr> {
    let mut v: Vec<std::net::IpAddr> = c.all_hosts().map(|n| n.address).collect();
    v.extend(c.lb_pair.iter().map(|p| p.vip));
    let mut seen = std::collections::HashSet::new();
    v.retain(|a| seen.insert(*a));
    v
}

/// Whether `o` is opened to any source (only the load balancers' API frontend: its clients are
/// wherever the operator's users are); everything else only from [`sources`].
pub fn open_to_anyone(c: &Cluster, role: Role, o: &Opening) -> bool {
    role == Role::LoadBalancer && *o == Opening::tcp(c.api_port)
}

/// The firewall preflight.sh found active ("ufw", "firewalld"), if any.
pub fn active(f: &Facts) -> Option<&str> {
    match f.get("firewall") {
        "" | "none" => None,
        x => Some(x),
    }
}

/// The openings `role` needs that the node's active firewall does not let in from every one
/// of the cluster's addresses (in every zone that applies).
pub fn closed(c: &Cluster, role: Role, f: &Facts) -> Vec<(Opening, &'static str)> {
    if active(f).is_none() {
        return vec![];
    }
    let lists = rule_lists(f);
    let srcs = sources(c);
    openings(c, role)
        .into_iter()
        .filter(|(o, _)| {
            !lists
                .iter()
                .all(|rules| srcs.iter().all(|s| lets_in(rules, o, *s)))
        })
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
        r.found = format!(
            "{fw} is active and lets in what a {} needs from the cluster's addresses",
            n.role.label()
        );
        return r;
    }
    let list: Vec<String> = closed
        .iter()
        .map(|(o, why)| format!("{} ({why})", o.spec()))
        .collect();
    let specs: Vec<String> = closed.iter().map(|(o, _)| o.spec()).collect();
    r.status = CheckStatus::Fail;
    r.found = format!(
        "{fw} is active and does not let in {} from every cluster address",
        list.join(", ")
    );
    r.fix = match fw {
        "firewalld" => "open exactly these to the cluster's addresses (f, or `kha-tui fix`): a rich rule `rule family=ipv4 source address=ADDR port port=P protocol=tcp accept` per address in the zone of the node's interface, then --reload; firewalld stays on".into(),
        _ => "open exactly these to the cluster's addresses (f, or `kha-tui fix`): `ufw allow from ADDR to any port P proto tcp comment kha-tui` per address; ufw stays enabled".into(),
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

    fn facts(fw: &str, rules: &str) -> Facts {
        Facts::parse(&format!("firewall={fw}\nfirewall_rules={rules}\n"), 0.0)
    }

    /// ufw's words for rules from anywhere: "ALLOW,22/tcp,Anywhere ...".
    fn from_any(tos: &str) -> String {
        tos.split_whitespace()
            .map(|t| format!("ALLOW,{t},Anywhere"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Rules allowing each of `tos` from each of the example's seven hosts.
    fn from_each_host(tos: &str) -> String {
        let c = cluster();
        let mut v = vec![];
        for t in tos.split_whitespace() {
            for a in sources(&c) {
                v.push(format!("ALLOW,{t},{a}"));
            }
        }
        v.join(" ")
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
        let c = validate::check(&inventory::example_pair()).unwrap().0;
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
        let w = |fw: &str, rules: &str| specs(&closed(&c, Role::Worker, &facts(fw, rules)));
        let all = specs(&openings(&c, Role::Worker));
        // No firewall, or one that lets everything in: nothing is closed.
        assert!(w("none", "").is_empty());
        assert!(w("ufw", "ALLOW,22/tcp,Anywhere ALLOW,any,Anywhere").is_empty());
        assert!(w("ufw", &from_any("Anywhere")).is_empty());
        // Only ssh: every opening is named.
        assert_eq!(w("ufw", &from_any("22/tcp OpenSSH")), all);
        // A bare port allows both protocols; ranges and lists cover what falls inside them;
        // a range that covers only part of the NodePorts leaves them closed.
        assert_eq!(
            w(
                "ufw",
                &from_any("22/tcp 10250 10256,179/tcp 30000:31000/tcp 4789/tcp 5000:6000/tcp")
            ),
            ["30000:32767/tcp", "4789/udp"]
        );
        assert_eq!(
            w(
                "firewalld",
                &format!(
                    "@public {}",
                    from_any("10250/tcp 10256/tcp 30000-32767/tcp 179/tcp 4789/udp 5473/tcp")
                )
            ),
            Vec::<String>::new()
        );
        let p = validate::check(&inventory::example_pair()).unwrap().0;
        let lb = |rules: &str| specs(&closed(&p, Role::LoadBalancer, &facts("ufw", rules)));
        assert_eq!(lb(&from_any("6443/tcp")), ["vrrp"]);
        assert!(lb(&from_any("6443/tcp vrrp")).is_empty());
        // As ufw 0.36 (Debian 12) lists `ufw allow proto vrrp from any to any`.
        assert!(lb(&from_any("6443/tcp Anywhere/vrrp")).is_empty());
        assert_eq!(lb(&from_any("Anywhere/tcp")), ["vrrp"]);
    }

    #[test]
    fn a_source_limited_rule_counts_only_when_it_covers_every_cluster_address() {
        let c = cluster();
        let w = |rules: &str| specs(&closed(&c, Role::Worker, &facts("ufw", rules)));
        let all = "10250/tcp 10256/tcp 30000:32767/tcp 179/tcp 4789/udp 5473/tcp";
        // What `kha-tui fix` writes: each opening from each node and load balancer.
        assert!(w(&from_each_host(all)).is_empty());
        // One host missing (10.0.0.23, worker3) leaves every opening closed for it.
        let short: String = from_each_host(all)
            .split_whitespace()
            .filter(|r| !r.ends_with(",10.0.0.23"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(w(&short), all.split_whitespace().collect::<Vec<_>>());
        // A subnet that holds every address counts; one that holds only some does not; ufw
        // writes protocol-only sources as "ADDR/PROTO".
        let subnet = |net: &str| {
            all.split_whitespace()
                .map(|t| format!("ALLOW,{t},{net}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(w(&subnet("10.0.0.0/24")).is_empty());
        assert_eq!(w(&subnet("10.0.0.0/29")).len(), 6);
        assert!(
            w(&subnet("::/0")).len() == 6,
            "an IPv6 rule lets in no IPv4 address"
        );
        // Rules about other addresses, or not understood, let nothing in.
        assert_eq!(
            w("ALLOW,10250/tcp,192.168.1.1 ALLOW,10250/tcp,nonsense").len(),
            6
        );
        let p = validate::check(&inventory::example_pair()).unwrap().0;
        let vrrp: String = sources(&p)
            .iter()
            .map(|a| format!("ALLOW,Anywhere/vrrp,{a}/vrrp"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(sources(&p).len(), 9, "seven hosts, the backup LB, the VIP");
        let lb = |rules: &str| specs(&closed(&p, Role::LoadBalancer, &facts("ufw", rules)));
        assert!(lb(&format!("ALLOW,6443/tcp,Anywhere {vrrp}")).is_empty());
    }

    #[test]
    fn an_earlier_deny_wins_and_every_firewalld_zone_must_let_in() {
        let c = cluster();
        let w = |fw: &str, rules: &str| specs(&closed(&c, Role::Worker, &facts(fw, rules)));
        let all = "10250/tcp 10256/tcp 30000:32767/tcp 179/tcp 4789/udp 5473/tcp";
        // ufw applies the first rule that matches: a DENY of part of a range before the ALLOW
        // closes it; the same DENY after it changes nothing; a DENY from one node closes it.
        assert_eq!(
            w("ufw", &format!("DENY,30000/tcp,Anywhere {}", from_any(all))),
            ["30000:32767/tcp"]
        );
        assert!(w("ufw", &format!("{} DENY,30000/tcp,Anywhere", from_any(all))).is_empty());
        assert_eq!(
            w(
                "ufw",
                &format!("REJECT,Anywhere,10.0.0.22 {}", from_each_host(all))
            )
            .len(),
            6
        );
        assert_eq!(
            w("ufw", &format!("DENY,10250/udp,Anywhere {}", from_any(all))),
            Vec::<String>::new(),
            "a DENY of another protocol is about something else"
        );
        // firewalld: the rules of every zone listed (the zones of the node's interfaces).
        let both = format!("@public {} @internal {}", from_any(all), from_any(all));
        assert!(w("firewalld", &both).is_empty());
        let one = format!(
            "@public {} @internal ALLOW,10250/tcp,Anywhere",
            from_any(all)
        );
        assert_eq!(w("firewalld", &one).len(), 5);
    }

    #[test]
    fn the_check_names_firewall_ports_and_fix() {
        let c = cluster();
        let worker = c.nodes.iter().find(|n| n.role == Role::Worker).unwrap();
        let r = check(&c, worker, &facts("ufw", &from_any("22/tcp 10250/tcp")));
        assert_eq!(r.status, CheckStatus::Fail);
        assert!(r.found.starts_with("ufw is active and does not let in 10256/tcp (kube-proxy health), 30000:32767/tcp (NodePort services)"), "{}", r.found);
        assert!(!r.found.contains("10250/tcp"), "{}", r.found);
        assert!(r.fix.contains("ufw stays enabled"), "{}", r.fix);
        assert!(
            r.found.ends_with(" from every cluster address"),
            "{}",
            r.found
        );
        assert_eq!(
            r.fixable.as_deref(),
            Some("firewall-open 10256/tcp 30000:32767/tcp 179/tcp 4789/udp 5473/tcp")
        );
        let ok = check(&c, worker, &facts("none", ""));
        assert_eq!((ok.status, ok.fixable), (CheckStatus::Pass, None));
        let fd = check(
            &c,
            worker,
            &facts("firewalld", "@public ALLOW,ssh,Anywhere"),
        );
        assert!(fd.found.starts_with("firewalld is active"), "{}", fd.found);
        assert!(fd.fix.contains("rich rule"), "{}", fd.fix);
    }
}
