//! `kha-tui status` as text: one section per part, problems and their fixes last.

use std::fmt::Write as _;

use super::status::ClusterStatus;
use super::status_checks::CERT_WARN_DAYS;

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "?",
    }
}

fn size(b: Option<u64>) -> String {
    match b {
        None => "-".into(),
        Some(b) if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        Some(b) => format!("{:.0} KiB", b as f64 / 1024.0),
    }
}

pub fn to_text(s: &ClusterStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "cluster {} — endpoint {}", s.cluster, s.endpoint);

    let by = |b: &Option<String>| {
        b.as_deref()
            .map(|n| format!(" (from {n})"))
            .unwrap_or_default()
    };
    let _ = writeln!(o, "\nNodes{}", by(&s.nodes_reported_by));
    let _ = writeln!(
        o,
        "  {:<16} {:<26} {:<16} {:<10} AGE",
        "NAME", "STATUS", "ROLES", "VERSION"
    );
    for n in &s.nodes {
        let roles = if n.roles.is_empty() {
            "<none>".to_string()
        } else {
            n.roles.join(",")
        };
        let _ = writeln!(
            o,
            "  {:<16} {:<26} {:<16} {:<10} {}",
            n.name, n.status, roles, n.version, n.age
        );
    }

    let _ = writeln!(o, "\netcd members{}", by(&s.etcd_members_reported_by));
    let _ = writeln!(
        o,
        "  {:<16} {:<18} {:<8} {:<7} {:<7} {:<10} VERSION",
        "NAME", "ID", "STARTED", "HEALTHY", "LEADER", "DB SIZE"
    );
    for m in &s.etcd_members {
        let name = if m.name.is_empty() {
            "(unstarted)"
        } else {
            &m.name
        };
        let _ = writeln!(
            o,
            "  {:<16} {:<18} {:<8} {:<7} {:<7} {:<10} {}",
            name,
            m.id,
            if m.started { "yes" } else { "NO" },
            yes_no(m.healthy),
            if m.leader { "*" } else { "" },
            size(m.db_size),
            m.version.as_deref().unwrap_or("-")
        );
    }

    for lb in &s.load_balancers {
        let vip = match lb.holds_vip {
            Some(true) => " — holds the virtual address",
            Some(false) => "",
            None => "",
        };
        let _ = writeln!(o, "\nHAProxy on {}{vip}", lb.name);
        if let Some(e) = &lb.error {
            let _ = writeln!(o, "  {e}");
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<16} {:<22} {:<10} {:<8} {:<8} CHECK",
            "BACKEND", "ADDRESS", "STATUS", "SESSIONS", "TOTAL"
        );
        for b in &lb.backends {
            let _ = writeln!(
                o,
                "  {:<16} {:<22} {:<10} {:<8} {:<8} {}",
                b.name, b.address, b.status, b.sessions, b.total_sessions, b.check
            );
        }
    }
    if let Some(v) = &s.vip {
        let who = if v.holders.is_empty() {
            "nobody".to_string()
        } else {
            v.holders.join(", ")
        };
        let _ = writeln!(o, "\nvirtual address {}: held by {who}", v.address);
    }

    let _ = writeln!(
        o,
        "\nCertificates (soonest marked >, under {CERT_WARN_DAYS} days marked !)"
    );
    let mut last = "";
    for c in &s.certificates {
        if c.node != last {
            let _ = writeln!(o, "  {}", c.node);
            last = &c.node;
        }
        let mark = match (c.soonest, c.residual_days < CERT_WARN_DAYS) {
            (_, true) => "!",
            (true, false) => ">",
            _ => " ",
        };
        let kind = if c.authority { " (CA)" } else { "" };
        let _ = writeln!(
            o,
            "   {mark} {:<30} {:<24} {}",
            format!("{}{kind}", c.name),
            c.expires,
            c.residual
        );
    }

    let _ = writeln!(
        o,
        "\nBootstrap tokens: {}",
        if s.tokens.is_empty() { "none" } else { "" }
    );
    for t in &s.tokens {
        let _ = writeln!(
            o,
            "  {} (secret not shown)  ttl {}  expires {}",
            t.id, t.ttl, t.expires
        );
    }

    if let Some(b) = &s.last_backup {
        let _ = writeln!(o, "\nLast backup: {}", super::backup_store::describe(b));
    }

    if s.problems.is_empty() {
        let _ = writeln!(o, "\nNo problems found.");
    } else {
        let _ = writeln!(o, "\n{} problem(s):", s.problems.len());
        for p in &s.problems {
            let _ = writeln!(o, "  ✗ {}\n      fix: {}", p.what, p.fix);
        }
    }
    o
}
