//! The firewall's two scripts run under bash against stand-in `ufw`, `firewall-cmd` and `ip`
//! commands on PATH (they record what they are asked and answer as the real ones do): what
//! preflight.sh reports is judged by src/engine/firewall.rs as kha-tui judges a node's, and
//! firewall-open.sh opens only from the cluster's addresses, falls back for an ufw without
//! `proto vrrp`, and uses the zone of the interface the cluster is reached through.

use std::path::Path;
use std::process::Command;

use kha_tui::assets::scripts;
use kha_tui::engine::firewall;
use kha_tui::engine::preflight::Facts;
use kha_tui::inventory::{self, Cluster, Role, validate};

fn cluster() -> Cluster {
    validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
        .unwrap()
        .0
}

const HOSTS: &str = "10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.21 10.0.0.22 10.0.0.23";

/// A stand-in `ufw`: `status` prints $D/ufw-status (and the default policy for `verbose`),
/// `allow` records its arguments in $D/calls and refuses `proto vrrp` when $D/old-ufw exists
/// (as ufw 0.35 does), `reload` is recorded.
const FAKE_UFW: &str = r#"#!/bin/bash
D=$(dirname "$(dirname "$0")")
case "$1" in
  status) echo "Status: active"; [ "${2:-}" = verbose ] && echo "Default: ${DEFAULT_IN:-deny} (incoming), allow (outgoing), disabled (routed)"
    echo; echo "To                         Action      From"; echo "--                         ------      ----"
    cat "$D/ufw-status" 2>/dev/null; exit 0 ;;
  allow) if [ -e "$D/old-ufw" ] && [ "$2 $3" = "proto vrrp" ]; then echo "ERROR: Unsupported protocol 'vrrp'" >&2; exit 1; fi
    echo "ufw $*" >>"$D/calls"; echo "Rule added" ;;
  *) echo "ufw $*" >>"$D/calls" ;;
esac
"#;

/// A stand-in `firewall-cmd` (running; eth1 in zone "internal", the default zone "public")
/// that records every change in $D/calls and lists $D/rich-* as a zone's rich rules.
const FAKE_FIREWALL_CMD: &str = r#"#!/bin/bash
D=$(dirname "$(dirname "$0")")
zone=public
for a in "$@"; do case "$a" in --zone=*) zone=${a#--zone=} ;; esac; done
case "$*" in
  --state) echo running ;;
  --get-default-zone) echo public ;;
  --get-zone-of-interface=eth1) echo internal ;;
  --get-zone-of-interface=*) echo "no zone" >&2; exit 2 ;;
  *--list-rich-rules*) cat "$D/rich-$zone" 2>/dev/null || true ;;
  *--list-ports*) [ "$zone" = public ] && echo "22/tcp" || true ;;
  *--list-protocols* | *--list-services* | *--get-target*) ;;
  *) echo "firewall-cmd $*" >>"$D/calls" ;;
esac
"#;

/// A stand-in `ip route get`: the cluster's 10.0.0.x through eth1, the node's own address
/// through lo.
const FAKE_IP: &str = r#"#!/bin/bash
case "$4" in
  10.0.0.22) echo "local 10.0.0.22 dev lo table local src 10.0.0.22 uid 0" ;;
  10.0.0.*) echo "$4 dev eth1 src 10.0.0.22 uid 0" ;;
  *) echo "$4 via 192.168.1.1 dev eth0 src 192.168.1.5 uid 0" ;;
esac
"#;

fn fakes(d: &Path, which: &[(&str, &str)]) {
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in which {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    }
}

/// Runs `body` after the library and the firewall helpers, with the stand-ins first on PATH
/// and before.rules at $D/before.rules.
fn run(d: &Path, env: &[(&str, &str)], body: &str) -> (bool, String) {
    let program = format!(
        "{}\n{}\nUFW_BEFORE_RULES={}/before.rules\n{body}",
        scripts::LIB,
        scripts::FIREWALL_ZONES,
        d.display()
    );
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn preflight_facts(d: &Path, extra_env: &[(&str, &str)]) -> Facts {
    let mut env = vec![("KHA_PORTS", "1"), ("KHA_FW_FROM", HOSTS)];
    env.extend_from_slice(extra_env);
    let (ok, out) = run(d, &env, scripts::PREFLIGHT);
    assert!(ok, "preflight.sh: {out}");
    Facts::parse(&out, 0.0)
}

fn calls(d: &Path) -> Vec<String> {
    std::fs::read_to_string(d.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn specs(v: &[(firewall::Opening, &str)]) -> Vec<String> {
    v.iter().map(|(o, _)| o.spec()).collect()
}

#[test]
fn ufw_rules_are_read_in_order_with_their_sources() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fakes(d, &[("ufw", FAKE_UFW)]);
    let worker = "10250/tcp 10256/tcp 30000:32767/tcp 179/tcp 4789/udp 5473/tcp";
    // As ufw 0.36 lists what firewall-open.sh adds: one line per opening and address.
    let mut status = String::from("22/tcp                     ALLOW       Anywhere\n");
    for o in worker.split_whitespace() {
        for a in HOSTS.split_whitespace() {
            status.push_str(&format!("{o:<27}ALLOW       {a:<27}# kha-tui\n"));
        }
    }
    status.push_str("22/tcp (v6)                ALLOW       Anywhere (v6)\n");
    std::fs::write(d.join("ufw-status"), &status).unwrap();
    let f = preflight_facts(d, &[]);
    assert_eq!(f.get("firewall"), "ufw");
    assert!(
        f.get("firewall_rules")
            .starts_with("ALLOW,22/tcp,Anywhere ALLOW,10250/tcp,10.0.0.10 "),
        "{}",
        f.get("firewall_rules")
    );
    assert!(f.get("firewall_rules").contains("ALLOW,22/tcp,::/0"));
    assert!(firewall::closed(&c, Role::Worker, &f).is_empty());

    // One address fewer (worker3's) and worker's openings are closed for it.
    let short: String = status
        .lines()
        .filter(|l| !l.contains(" 10.0.0.23 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("ufw-status"), &short).unwrap();
    let f = preflight_facts(d, &[]);
    assert_eq!(specs(&firewall::closed(&c, Role::Worker, &f)).len(), 6);

    // An earlier DENY wins over the ALLOWs after it; a default of allow comes after the rules.
    let denied = format!("2379/tcp                   DENY        Anywhere\n{status}");
    std::fs::write(d.join("ufw-status"), &denied).unwrap();
    let f = preflight_facts(d, &[("DEFAULT_IN", "allow")]);
    assert!(
        f.get("firewall_rules").ends_with(" ALLOW,any,Anywhere"),
        "{}",
        f.get("firewall_rules")
    );
    let cp = specs(&firewall::closed(&c, Role::ControlPlane, &f));
    assert_eq!(cp, ["2379:2380/tcp"], "the DENY of 2379 closes etcd");
}

#[test]
fn ufw_opens_from_each_cluster_address_and_only_the_api_to_anyone() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fakes(d, &[("ufw", FAKE_UFW)]);
    let step = kha_tui::engine::fix::fix_step(&c, "lb", "firewall-open 6443/tcp vrrp").unwrap();
    let env: Vec<(&str, &str)> = step
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (ok, out) = run(
        d,
        &env,
        &format!("{}\nfirewall_open", scripts::FIREWALL_OPEN),
    );
    assert!(ok, "{out}");
    let mut want: Vec<String> = HOSTS
        .split_whitespace()
        .map(|a| format!("ufw allow proto vrrp from {a} to any comment kha-tui"))
        .collect();
    want.push("ufw allow proto tcp from any to any port 6443 comment kha-tui".into());
    assert_eq!(calls(d), want, "{out}");
    assert!(out.contains("ufw is still active"), "{out}");
}

#[test]
fn an_ufw_without_proto_vrrp_gets_before_rules_lines_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fakes(d, &[("ufw", FAKE_UFW)]);
    std::fs::write(d.join("old-ufw"), "").unwrap();
    let before =
        "*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -i lo -j ACCEPT\nCOMMIT\n";
    std::fs::write(d.join("before.rules"), before).unwrap();
    let env = [
        ("KHA_FW_OPEN", "vrrp"),
        ("KHA_FW_FROM", "10.0.0.10 10.0.0.9"),
    ];
    let body = format!("{}\nfirewall_open", scripts::FIREWALL_OPEN);
    let (ok, out) = run(d, &env, &body);
    assert!(ok, "{out}");
    let rules = std::fs::read_to_string(d.join("before.rules")).unwrap();
    let line = |a: &str| {
        format!("-A ufw-before-input -p 112 -s {a} -j ACCEPT -m comment --comment kha-tui\n")
    };
    assert_eq!(
        rules,
        format!(
            "*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -i lo -j ACCEPT\n{}{}COMMIT\n",
            line("10.0.0.10"),
            line("10.0.0.9")
        )
    );
    assert_eq!(calls(d), ["ufw reload"], "{out}");
    // A second run adds nothing and reloads nothing.
    let (ok, out) = run(d, &env, &body);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(d.join("before.rules")).unwrap(),
        rules
    );
    assert_eq!(calls(d), ["ufw reload"], "{out}");
    // Preflight reads those lines as VRRP let in from those addresses.
    let f = preflight_facts(d, &[]);
    assert!(
        f.get("firewall_rules")
            .starts_with("ALLOW,vrrp,10.0.0.10 ALLOW,vrrp,10.0.0.9"),
        "{}",
        f.get("firewall_rules")
    );
}

#[test]
fn firewalld_rich_rules_go_to_the_zone_of_the_cluster_interface() {
    let c = cluster();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fakes(d, &[("firewall-cmd", FAKE_FIREWALL_CMD), ("ip", FAKE_IP)]);
    let step = kha_tui::engine::fix::fix_step(&c, "worker2", "firewall-open 30000:32767/tcp vrrp")
        .unwrap();
    let env: Vec<(&str, &str)> = step
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (ok, out) = run(
        d,
        &env,
        &format!("{}\nfirewall_open", scripts::FIREWALL_OPEN),
    );
    assert!(ok, "{out}");
    let mut want = vec![];
    for o in [
        "port port=\"30000-32767\" protocol=\"tcp\"",
        "protocol value=\"vrrp\"",
    ] {
        for a in HOSTS.split_whitespace() {
            want.push(format!(
                "firewall-cmd --permanent --zone=internal --add-rich-rule=rule family=\"ipv4\" source address=\"{a}\" {o} accept"
            ));
        }
    }
    want.push("firewall-cmd --reload".into());
    assert_eq!(calls(d), want, "{out}");

    // Preflight reads the same zone's rich rules (DENY first) and nothing of "public".
    let rich: String = HOSTS
        .split_whitespace()
        .map(|a| {
            format!(
                "rule family=\"ipv4\" source address=\"{a}\" port port=\"30000-32767\" protocol=\"tcp\" accept\n"
            )
        })
        .collect();
    std::fs::write(
        d.join("rich-internal"),
        format!("{rich}rule family=\"ipv4\" source address=\"10.0.0.11\" port port=\"10250\" protocol=\"tcp\" reject\n"),
    )
    .unwrap();
    let f = preflight_facts(d, &[]);
    assert!(
        f.get("firewall_rules")
            .starts_with("@internal DENY,10250/tcp,10.0.0.11 ALLOW,30000-32767/tcp,10.0.0.10 "),
        "{}",
        f.get("firewall_rules")
    );
    let closed = specs(&firewall::closed(&c, Role::Worker, &f));
    assert!(
        !closed.contains(&"30000:32767/tcp".to_string()),
        "{closed:?}"
    );
    assert!(closed.contains(&"10250/tcp".to_string()), "{closed:?}");
}
