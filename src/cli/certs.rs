//! `kha-tui certs` (every control plane's `kubeadm certs check-expiration` in one table: the
//! soonest leaf per node, the CAs, under 30 days flagged) and `kha-tui certs renew` (confirm,
//! then the renew plan on the engine, then the table again with the new dates).

use std::fmt::Write as _;
use std::process::ExitCode;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::headless;
use crate::day2::ClusterStatus;
use crate::day2::status_checks::CERT_WARN_DAYS;
use crate::engine::{self, Dirs, Options};
use crate::inventory::Cluster;

/// The table: per control plane its soonest leaf certificate, then its CAs; `!` = under 30 days.
pub fn table(s: &ClusterStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "  {:<14} {:<28} {:<24} {:<9} ",
        "NODE", "CERTIFICATE", "EXPIRES", "RESIDUAL"
    );
    let mut nodes: Vec<&str> = s.certificates.iter().map(|c| c.node.as_str()).collect();
    nodes.dedup();
    for n in nodes {
        let mine: Vec<_> = s.certificates.iter().filter(|c| c.node == n).collect();
        let soonest = mine
            .iter()
            .filter(|c| !c.authority)
            .min_by_key(|c| c.residual_days);
        for c in soonest
            .into_iter()
            .chain(mine.iter().filter(|c| c.authority))
        {
            let flag = if c.residual_days < CERT_WARN_DAYS {
                "!"
            } else {
                " "
            };
            let name = if c.authority {
                format!("{} (CA)", c.name)
            } else {
                format!("{} (soonest)", c.name)
            };
            let _ = writeln!(
                o,
                "{flag} {:<14} {:<28} {:<24} {:<9}{}",
                n,
                name,
                c.expires,
                c.residual,
                if flag == "!" {
                    format!(" under {CERT_WARN_DAYS} days")
                } else {
                    String::new()
                }
            );
        }
    }
    for e in s.errors.iter().chain(&s.unreachable) {
        let _ = writeln!(o, "? {}: {}", e.node, e.error);
    }
    o
}

async fn read(c: &Cluster, opts: &Options) -> anyhow::Result<ClusterStatus> {
    let t = crate::transport::ssh::cluster_transport(c, opts.dirs.known_hosts.clone());
    crate::day2::gather_status(t, c, opts, "", CancellationToken::new()).await
}

/// `kha-tui certs`: exit status 1 when a certificate expires within 30 days.
pub async fn show(c: Cluster, opts: Options) -> anyhow::Result<ExitCode> {
    let s = read(&c, &opts).await?;
    print!("{}", table(&s));
    let soon = s
        .certificates
        .iter()
        .any(|x| x.residual_days < CERT_WARN_DAYS);
    if soon {
        println!("renew them: kha-tui certs renew --config FILE");
    }
    Ok(if soon || s.certificates.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `kha-tui certs renew [--yes]`.
pub async fn renew(c: Cluster, opts: Options, yes: bool) -> anyhow::Result<ExitCode> {
    let cps: Vec<String> = c.control_planes().map(|n| n.name.clone()).collect();
    eprintln!(
        "kha-tui: renews every kubeadm certificate on {} one at a time, restarting etcd, the API server, controller manager and scheduler there; then the admin kubeconfig on the load balancer",
        cps.join(", ")
    );
    let ok = yes
        || (headless::stdin_is_terminal() && {
            use std::io::Write as _;
            eprint!("renew? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut l = String::new();
            let _ = std::io::stdin().read_line(&mut l);
            matches!(l.trim(), "y" | "yes")
        });
    if !ok {
        eprintln!("kha-tui: not confirmed, nothing was changed (answer y, or pass --yes)");
        return Ok(ExitCode::FAILURE);
    }
    let mut o = opts.clone();
    o.assume_yes = true;
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    o.dirs = Dirs {
        state: opts.dirs.state.join("certs-renew"),
        ..opts.dirs.clone()
    };
    let t = crate::transport::ssh::cluster_transport(&c, opts.dirs.known_hosts.clone());
    let stop = CancellationToken::new();
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let plan = crate::day2::certs_plan::renew_plan(&c);
    let summary = engine::apply_plan(t, c.clone(), plan, o.clone(), tx, stop).await;
    let _ = printer.await;
    if !summary.ok {
        eprintln!("kha-tui: the renewal stopped; run it again (renewing again is harmless)");
        return Ok(ExitCode::FAILURE);
    }
    crate::day2::reset_run::archive_state(&o.dirs.state, &c.name)?;
    println!("certificates renewed; now:");
    let s = read(&c, &opts).await?;
    print!("{}", table(&s));
    Ok(ExitCode::SUCCESS)
}
