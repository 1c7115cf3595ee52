//! Preflight: facts gathered on every node (assets/scripts/preflight.sh) and compared with what
//! kubeadm needs and across nodes, before anything changes a node. Every failure names the
//! node, what was found, what is needed and the fix.

use std::collections::HashMap;
use std::net::IpAddr;

use super::events::{CheckResult, CheckStatus};
use crate::inventory::{Cluster, Node, Role};

/// Ports kubeadm needs free, per role.
pub fn ports_for(role: Role, api_port: u16) -> Vec<u16> {
    match role {
        Role::ControlPlane => vec![6443, 2379, 2380, 10250, 10257, 10259],
        Role::Worker => vec![10250],
        Role::LoadBalancer => vec![api_port],
    }
}

/// Parsed key=value output of preflight.sh, plus the clock offset measured by the engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub kv: HashMap<String, String>,
    /// Node clock minus local clock, in seconds (measured around the command).
    pub clock_offset: f64,
}

impl Facts {
    pub fn parse(text: &str, clock_offset: f64) -> Facts {
        let kv = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Facts { kv, clock_offset }
    }
    pub fn get(&self, k: &str) -> &str {
        self.kv.get(k).map(String::as_str).unwrap_or("")
    }
    fn num(&self, k: &str) -> Option<u64> {
        self.get(k).parse().ok()
    }
}

/// Whether kubeadm already ran on a node (its ports are then legitimately in use).
pub type Joined = dyn Fn(&str) -> bool;

/// One check's result, with no one-key fix.
pub(super) fn result(
    node: &str,
    check: &str,
    status: CheckStatus,
    found: String,
    fix: &str,
) -> CheckResult {
    CheckResult {
        node: node.into(),
        check: check.into(),
        status,
        found,
        fix: fix.into(),
        fixable: None,
    }
}

/// Checks one node's facts on their own.
pub fn check_node(c: &Cluster, n: &Node, f: &Facts, kubeadm_done: bool) -> Vec<CheckResult> {
    use CheckStatus::*;
    let mut out = Vec::new();
    let name = n.name.as_str();
    let os = format!("{} {}", f.get("os_id"), f.get("os_version"));
    let supported = matches!(
        (f.get("os_id"), f.get("os_version")),
        ("debian", "12" | "13") | ("ubuntu", "22.04" | "24.04" | "26.04")
    );
    out.push(if supported {
        result(name, "os", Pass, f.get("os_pretty").to_string(), "")
    } else {
        result(
            name,
            "os",
            Warn,
            format!(
                "{} is not a release kha-tui is tested on",
                f.get("os_pretty")
            ),
            "use Debian 12/13 or Ubuntu 22.04/24.04; the install may still work",
        )
    });
    let _ = os;

    if n.role != Role::LoadBalancer {
        let cg = f.get("cgroup");
        if c.versions.cgroup_v2 && cg != "cgroup2fs" {
            out.push(result(
                name,
                "cgroup",
                Fail,
                format!("cgroup v1 ({cg}) at /sys/fs/cgroup"),
                &format!("Kubernetes {} refuses cgroup v1: boot with systemd.unified_cgroup_hierarchy=1 or use a release that defaults to cgroup v2", c.versions.minor),
            ));
        } else {
            out.push(result(name, "cgroup", Pass, cg.to_string(), ""));
        }

        let (min_cpu, min_mem) = if n.role == Role::ControlPlane {
            (2, 1700)
        } else {
            (1, 1700)
        };
        match f.num("cpus") {
            Some(x) if x >= min_cpu => out.push(result(name, "cpu", Pass, format!("{x} CPU(s)"), "")),
            Some(x) => out.push(result(
                name,
                "cpu",
                if n.role == Role::ControlPlane { Fail } else { Warn },
                format!("{x} CPU(s)"),
                &format!("a {} needs at least {min_cpu} CPUs (kubeadm's own preflight refuses fewer on control planes)", n.role.label()),
            )),
            None => out.push(result(name, "cpu", Warn, "unknown".into(), "")),
        }
        match f.num("mem_mb") {
            Some(x) if x >= min_mem => {
                out.push(result(name, "memory", Pass, format!("{x} MB"), ""))
            }
            Some(x) => out.push(result(
                name,
                "memory",
                if n.role == Role::ControlPlane {
                    Fail
                } else {
                    Warn
                },
                format!("{x} MB"),
                &format!("give it at least {min_mem} MB (2 GB recommended)"),
            )),
            None => out.push(result(name, "memory", Warn, "unknown".into(), "")),
        }
        let swap = f.num("swap_bytes").unwrap_or(0);
        if swap > 0 {
            let mut r = result(
                name,
                "swap",
                Warn,
                format!("swap is on ({} MB)", swap / 1_048_576),
                "the prepare step turns it off for good (swapoff -a, fstab, swap.target masked)",
            );
            r.fixable = Some("swap-off".into());
            out.push(r);
        } else {
            out.push(result(name, "swap", Pass, "off".into(), ""));
        }
    }

    match f.num("disk_free_mb") {
        Some(x) if x < 10_240 && n.role != Role::LoadBalancer => out.push(result(
            name,
            "disk",
            Warn,
            format!("{x} MB free on /"),
            "images and etcd want at least 10 GB free",
        )),
        Some(x) => out.push(result(name, "disk", Pass, format!("{x} MB free on /"), "")),
        None => {}
    }

    // Ports: free, or held by what kha-tui put there in an earlier run.
    let mut busy = Vec::new();
    for p in ports_for(n.role, c.api_port) {
        let who = f.get(&format!("port_{p}"));
        let ours = (n.role == Role::LoadBalancer && who == "haproxy")
            || (kubeadm_done && n.role != Role::LoadBalancer);
        if !who.is_empty() && who != "free" && !ours {
            busy.push(format!("{p} ({who})"));
        }
    }
    if busy.is_empty() {
        out.push(result(
            name,
            "ports",
            Pass,
            "needed ports are free".into(),
            "",
        ));
    } else {
        out.push(result(
            name,
            "ports",
            Fail,
            format!("in use: {}", busy.join(", ")),
            "stop what listens there (ss -ltnp shows it) or use another node",
        ));
    }

    // Every node reaches the load balancer: its API port once HAProxy listens, before that
    // at least the host.
    if n.role != Role::LoadBalancer {
        let ep = format!("{}:{}", c.lb.address, c.api_port);
        match f.get("lb_reach") {
            "api" => out.push(result(name, "lb-reach", Pass, format!("reaches {ep}"), "")),
            "ssh" => out.push(result(
                name,
                "lb-reach",
                Pass,
                format!("reaches the load balancer ({ep} opens when HAProxy is installed)"),
                "",
            )),
            "none" => out.push(result(
                name,
                "lb-reach",
                Fail,
                format!(
                    "cannot reach the load balancer {} (neither {} nor its SSH port)",
                    c.lb.address, ep
                ),
                "open the firewall or fix routing between this node and the load balancer",
            )),
            _ => {}
        }
    }

    if n.role == Role::LoadBalancer {
        out.extend(super::preflight_pair::check_lb(c, n, f));
    }

    // An active ufw or firewalld lets in what this node's role needs (src/engine/firewall.rs).
    out.push(super::firewall::check(c, n, f));

    // Node addresses inside the pod or service subnet break routing.
    for a in f.get("addresses").split_whitespace() {
        if let Ok(ip) = a.parse::<IpAddr>() {
            for (what, net) in [("pod", c.pod_subnet), ("service", c.service_subnet)] {
                if net.contains(&ip) {
                    out.push(result(
                        name,
                        "subnets",
                        Fail,
                        format!("interface address {ip} lies in the {what} subnet {net}"),
                        &format!("choose a {what} subnet that no node address falls in"),
                    ));
                }
            }
        }
    }
    out
}

/// Checks across nodes: unique hostnames, MACs, product_uuids; clock skew against the LB.
pub fn check_fleet(c: &Cluster, facts: &[(String, Facts)]) -> Vec<CheckResult> {
    use CheckStatus::*;
    let mut out = Vec::new();
    let k8s: Vec<&(String, Facts)> = facts
        .iter()
        .filter(|(n, _)| c.nodes.iter().any(|x| &x.name == n))
        .collect();
    let mut dup = |check: &str, key: &str, what: &str, fix: &str, many: bool| {
        let mut seen: HashMap<String, String> = HashMap::new();
        for (node, f) in &k8s {
            let values: Vec<&str> = if many {
                f.get(key).split_whitespace().collect()
            } else {
                vec![f.get(key)]
            };
            for v in values.into_iter().filter(|v| !v.is_empty()) {
                if let Some(other) = seen.get(v) {
                    out.push(result(
                        node,
                        check,
                        Fail,
                        format!("{what} {v} is also {other}'s"),
                        fix,
                    ));
                } else {
                    seen.insert(v.to_string(), node.clone());
                }
            }
        }
    };
    dup(
        "hostname",
        "hostname",
        "hostname",
        "give every node its own hostname (hostnamectl set-hostname)",
        false,
    );
    dup(
        "mac",
        "macs",
        "MAC address",
        "cloned VMs need new MAC addresses",
        true,
    );
    dup(
        "product-uuid",
        "product_uuid",
        "product_uuid",
        "cloned VMs need a new SMBIOS UUID",
        false,
    );
    for (node, f) in &k8s {
        if f.get("product_uuid").is_empty() {
            out.push(result(
                node,
                "product-uuid",
                Warn,
                "no /sys/class/dmi/id/product_uuid".into(),
                "uniqueness cannot be checked on this node",
            ));
        }
    }
    if let Some((_, lb)) = facts.iter().find(|(n, _)| *n == c.lb.name) {
        for (node, f) in facts.iter().filter(|(n, _)| *n != c.lb.name) {
            let skew = (f.clock_offset - lb.clock_offset).abs();
            let found = format!("clock differs from the load balancer's by {skew:.1}s");
            if skew > 30.0 {
                out.push(result(node, "clock", Fail, found, "synchronise clocks (systemd-timesyncd or chrony): certificates and tokens depend on them"));
            } else if skew > 2.0 {
                out.push(result(
                    node,
                    "clock",
                    Warn,
                    found,
                    "synchronise clocks (systemd-timesyncd or chrony)",
                ));
            } else {
                out.push(result(node, "clock", Pass, found, ""));
            }
        }
    }
    out
}

/// Failed checks that stop `apply`, minus those the operator chose to ignore.
pub fn blocking(results: &[CheckResult], ignore: &[String]) -> Vec<CheckResult> {
    results
        .iter()
        .filter(|r| {
            r.status == CheckStatus::Fail && !ignore.iter().any(|i| i == &r.check || i == "all")
        })
        .cloned()
        .collect()
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

    fn good(host: &str, mac: &str, uuid: &str) -> Facts {
        Facts::parse(
            &format!(
                "hostname={host}\nos_id=debian\nos_version=12\nos_pretty=Debian GNU/Linux 12 (bookworm)\ncpus=2\nmem_mb=3900\ndisk_free_mb=50000\nswap_bytes=0\ncgroup=cgroup2fs\nproduct_uuid={uuid}\nmacs={mac}\naddresses=10.0.0.50\nport_6443=free\nport_10250=free\nlb_reach=ssh\n"
            ),
            0.0,
        )
    }

    #[test]
    fn a_good_node_passes() {
        let c = cluster();
        let r = check_node(&c, &c.nodes[0], &good("m1", "aa", "u1"), false);
        assert!(r.iter().all(|x| x.status == CheckStatus::Pass), "{r:#?}");
    }

    #[test]
    fn each_problem_is_named_with_a_fix() {
        let c = cluster();
        let mut f = good("m1", "aa", "u1");
        for (k, v) in [
            ("cgroup", "tmpfs"),
            ("cpus", "1"),
            ("mem_mb", "900"),
            ("swap_bytes", "2147483648"),
            ("port_6443", "nginx"),
            ("addresses", "10.244.3.3"),
        ] {
            f.kv.insert(k.into(), v.into());
        }
        let r = check_node(&c, &c.nodes[0], &f, false);
        let get = |check: &str| r.iter().find(|x| x.check == check).unwrap();
        assert_eq!(get("cgroup").status, CheckStatus::Fail);
        assert!(get("cgroup").fix.contains("1.37 refuses cgroup v1"));
        assert_eq!(get("cpu").status, CheckStatus::Fail);
        assert_eq!(get("memory").status, CheckStatus::Fail);
        assert_eq!(get("swap").status, CheckStatus::Warn);
        assert_eq!(get("swap").fixable.as_deref(), Some("swap-off"));
        assert_eq!(get("ports").found, "in use: 6443 (nginx)");
        assert!(
            get("subnets")
                .found
                .contains("10.244.3.3 lies in the pod subnet")
        );
        assert!(
            r.iter()
                .filter(|x| x.status != CheckStatus::Pass)
                .all(|x| !x.fix.is_empty())
        );
        let b = blocking(&r, &["ports".into()]);
        assert!(b.iter().all(|x| x.check != "ports") && b.iter().any(|x| x.check == "cgroup"));
        assert!(blocking(&r, &["all".into()]).is_empty());
    }

    #[test]
    fn ports_held_by_our_own_earlier_run_pass() {
        let c = cluster();
        let mut f = good("m1", "aa", "u1");
        f.kv.insert("port_6443".into(), "kube-apiserver".into());
        assert!(
            check_node(&c, &c.nodes[0], &f, true)
                .iter()
                .all(|x| x.status == CheckStatus::Pass)
        );
        let mut lb = good("lb", "ff", "u9");
        lb.kv.insert("port_6443".into(), "haproxy".into());
        assert!(
            check_node(&c, &c.lb, &lb, false)
                .iter()
                .all(|x| x.status == CheckStatus::Pass)
        );
    }

    #[test]
    fn duplicates_and_clock_skew_across_nodes() {
        let c = cluster();
        let mut facts = vec![
            ("lb".to_string(), good("lb", "00:01", "")),
            ("master1".to_string(), good("m1", "aa:01", "u1")),
            ("master2".to_string(), good("m1", "aa:02", "u2")),
            ("master3".to_string(), good("m3", "aa:01", "u2")),
        ];
        facts[3].1.clock_offset = 45.0;
        facts[2].1.clock_offset = 3.0;
        let r = check_fleet(&c, &facts);
        let fails: Vec<_> = r
            .iter()
            .filter(|x| x.status == CheckStatus::Fail)
            .map(|x| (x.node.as_str(), x.check.as_str()))
            .collect();
        assert!(fails.contains(&("master2", "hostname")), "{fails:?}");
        assert!(fails.contains(&("master3", "mac")));
        assert!(fails.contains(&("master3", "product-uuid")));
        assert!(fails.contains(&("master3", "clock")));
        assert!(
            r.iter().any(|x| x.node == "master2"
                && x.check == "clock"
                && x.status == CheckStatus::Warn)
        );
    }
}
