//! The day-2 commands of the command line (`status`, `add-node`, `remove-node`, `reset`): each
//! reads the cluster and runs its plan on the engine over SSH, printing the engine's events as
//! `apply` does; confirmations are asked on the terminal or given as flags.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::headless;
use crate::day2::remove_plan::RemoveOptions;
use crate::engine::Options;
use crate::inventory::Cluster;
use crate::transport::ssh::SshTransport;

/// `kha-tui status`: the status plan over SSH, printed as text or JSON.
pub async fn status(
    c: Cluster,
    config: &Path,
    json: bool,
    opts: Options,
) -> anyhow::Result<ExitCode> {
    let s = crate::day2::gather_status(
        ssh_transport(&c, &opts),
        &c,
        &opts,
        &config.display().to_string(),
        CancellationToken::new(),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", crate::day2::status_text::to_text(&s));
    }
    Ok(if s.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The SSH transport with the same trust sources as every run (crate::tui::trust).
fn ssh_transport(c: &Cluster, opts: &Options) -> Arc<SshTransport> {
    crate::transport::ssh::cluster_transport(c, opts.dirs.known_hosts.clone())
}

/// `kha-tui add-node`: read the cluster, say what will be added, then preflight and run.
pub async fn add_node(c: Cluster, config: &Path, opts: Options) -> anyhow::Result<ExitCode> {
    use crate::day2::add_run;
    let t = ssh_transport(&c, &opts);
    let stop = CancellationToken::new();
    let cfg = config.display().to_string();
    let a = match add_run::prepare_addition(t.clone(), &c, &opts, &cfg, stop.clone()).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kha-tui: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let roles: Vec<String> = a
        .new_nodes
        .iter()
        .map(|n| format!("{n} ({})", c.host(n).map(|h| h.role.label()).unwrap_or("?")))
        .collect();
    eprintln!(
        "kha-tui: adding {}; join secrets from {}; runs again on existing hosts: {}",
        roles.join(", "),
        a.source,
        a.rerun
            .iter()
            .map(|(n, s)| format!("{s} on {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let r = add_run::run_addition(t, &a, &opts, tx, stop).await;
    let _ = printer.await;
    match r {
        Ok(s) if s.ok => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(e) => {
            eprintln!("kha-tui: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Asks on the terminal; the answer's line, trimmed.
fn ask_line(prompt: &str) -> String {
    use std::io::Write as _;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut l = String::new();
    let _ = std::io::stdin().read_line(&mut l);
    l.trim().to_string()
}

/// `kha-tui remove-node`: read the cluster, check, confirm (the name typed again for a control
/// plane), run, update the inventory.
pub async fn remove_node(
    c: Cluster,
    config: &Path,
    opts: Options,
    name: &str,
    o: &RemoveOptions,
    yes: bool,
    confirm: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use crate::day2::remove_run;
    use crate::inventory::Role;
    let t = ssh_transport(&c, &opts);
    let stop = CancellationToken::new();
    let cfg = config.display().to_string();
    let r = match remove_run::prepare_removal(t.clone(), &c, &opts, &cfg, name, o, stop.clone())
        .await?
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kha-tui: {e}; nothing was changed");
            return Ok(ExitCode::FAILURE);
        }
    };
    for n in &r.notes {
        eprintln!("kha-tui: note: {n}");
    }
    let steps: Vec<String> = r
        .plan
        .steps()
        .map(|(_, s)| format!("{} on {}", s.id, s.node))
        .collect();
    eprintln!(
        "kha-tui: removing {name} ({}) through {}: {}",
        r.role.label(),
        r.source,
        steps.join(", ")
    );
    let tty = headless::stdin_is_terminal();
    let confirmed = if r.role == Role::ControlPlane {
        match confirm {
            Some(n) => n == name,
            None if tty => {
                ask_line(&format!("type the node's name ({name}) to remove it: ")) == name
            }
            None => false,
        }
    } else {
        yes || confirm == Some(name)
            || (tty
                && matches!(
                    ask_line(&format!("remove {name}? [y/N] ")).as_str(),
                    "y" | "yes"
                ))
    };
    if !confirmed {
        eprintln!(
            "kha-tui: not confirmed, nothing was changed ({})",
            if r.role == Role::ControlPlane {
                format!("a control plane needs its name typed again, or --confirm {name}")
            } else {
                "answer y, or pass --yes".into()
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let res = remove_run::run_removal(t, &r, config, &opts, tx, stop).await;
    let _ = printer.await;
    match res {
        Ok(s) if s.ok => {
            eprintln!("kha-tui: {name} removed; {} updated", config.display());
            if r.was_first {
                eprintln!(
                    "kha-tui: {} is the first control plane from now on (join secrets, readiness)",
                    r.after.first_control_plane().name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(e) => {
            eprintln!("kha-tui: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `kha-tui reset`: the cluster's name typed again, then the reset plan and a per-host report.
pub async fn reset(
    c: Cluster,
    opts: Options,
    confirm: Option<&str>,
    purge: bool,
) -> anyhow::Result<ExitCode> {
    let hosts: Vec<String> = c.all_hosts().map(|n| n.name.clone()).collect();
    eprintln!(
        "kha-tui: reset of cluster {} takes Kubernetes off {}{}",
        c.name,
        hosts.join(", "),
        if purge {
            " and purges its packages"
        } else {
            " (packages stay)"
        }
    );
    let ok = match confirm {
        Some(n) => n == c.name,
        None if headless::stdin_is_terminal() => {
            ask_line(&format!(
                "type the cluster's name ({}) to reset it: ",
                c.name
            )) == c.name
        }
        None => false,
    };
    if !ok {
        eprintln!(
            "kha-tui: not confirmed, nothing was changed (type the cluster's name, or pass --confirm {})",
            c.name
        );
        return Ok(ExitCode::FAILURE);
    }
    let t = ssh_transport(&c, &opts);
    let stop = CancellationToken::new();
    let ctrl_c = headless::cancel_on_ctrl_c(
        &stop,
        "kha-tui: stopping; run reset again to finish it".into(),
    );
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let out = crate::day2::reset_run::run_reset(t, &c, purge, &opts, tx, stop).await?;
    let _ = printer.await;
    ctrl_c.abort();
    println!("reset report:");
    for h in &hosts {
        let lines = out.report.get(h).cloned().unwrap_or_default();
        if lines.is_empty() {
            println!("  {h}: (nothing reported in this run)");
        }
        for l in lines {
            println!("  {h}: {l}");
        }
    }
    if let Some(a) = &out.archived {
        println!("kha-tui's state for {} archived to {}", c.name, a.display());
    }
    Ok(if out.summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `kha-tui upgrade --to 1.NN`: read the cluster and its nodes, refuse what kubeadm would
/// refuse (a skipped minor) and an unhealthy cluster, show `kubeadm upgrade plan` and kha-tui's
/// plan, confirm, run. Ctrl-C stops it; the same command again continues where it stopped.
/// The backups `upgrade` keeps (its own backup first; the oldest beyond this are removed, as
/// `kha-tui backup`'s default `--keep` does).
const UPGRADE_BACKUPS_KEPT: usize = 7;

pub async fn upgrade(
    c: Cluster,
    config: &Path,
    opts: Options,
    o: &crate::day2::upgrade_plan::UpgradeOptions,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    use crate::day2::upgrade_run;
    let t = ssh_transport(&c, &opts);
    let stop = CancellationToken::new();
    let cfg = config.display().to_string();
    let p = upgrade_run::prepare_upgrade(t.clone(), &c, &opts, &cfg, o, stop.clone()).await?;
    let u = match p.upgrade {
        Ok(u) => u,
        Err(e) => {
            eprintln!("kha-tui: {e}; nothing was changed");
            return Ok(ExitCode::FAILURE);
        }
    };
    eprintln!(
        "kha-tui: kubeadm upgrade plan on {}:",
        c.first_control_plane().name
    );
    for l in &p.kubeadm_plan {
        eprintln!("  | {l}");
    }
    for n in &u.notes {
        eprintln!("kha-tui: note: {n}");
    }
    eprintln!("kha-tui: upgrade {} → {}, in this order:", u.from, u.to);
    for ph in &u.plan.phases {
        eprintln!("  {}", ph.title);
        for s in &ph.steps {
            eprintln!("    {} on {}: {}", s.id, s.node, s.title);
        }
    }
    let ok = yes
        || (headless::stdin_is_terminal()
            && matches!(
                ask_line(&format!("upgrade the cluster to {}? [y/N] ", u.to)).as_str(),
                "y" | "yes"
            ));
    if !ok {
        eprintln!("kha-tui: not confirmed, nothing was changed (answer y, or pass --yes)");
        return Ok(ExitCode::FAILURE);
    }
    // An etcd backup first, made and kept here exactly as `kha-tui backup` makes it (the plan
    // also keeps a snapshot on the first control plane): without one, nothing is upgraded.
    {
        let (tx, rx) = mpsc::channel(1024);
        let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
        let r = crate::day2::backup_run::run_backup(
            t.clone(),
            &c,
            &opts,
            UPGRADE_BACKUPS_KEPT,
            tx,
            stop.clone(),
        )
        .await;
        let _ = printer.await;
        match r {
            Ok(b) => eprintln!(
                "kha-tui: backup before the upgrade: {} (kha-tui restore --from it undoes the upgrade's changes to etcd)",
                b.file.display()
            ),
            Err(e) => {
                eprintln!(
                    "kha-tui: the backup before the upgrade failed, so nothing was upgraded: {e:#}"
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let ctrl_c = headless::cancel_on_ctrl_c(
        &stop,
        format!(
            "kha-tui: stopping; run kha-tui upgrade --to {} again to continue",
            u.to
        ),
    );
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let s = upgrade_run::run_upgrade(t, &u, &opts, tx, stop).await;
    let _ = printer.await;
    ctrl_c.abort();
    if s.ok {
        eprintln!(
            "kha-tui: the cluster runs Kubernetes {}; set kubernetes_version = \"{}\" in {} so that later add-node runs install {}",
            u.to,
            u.to,
            config.display(),
            u.to
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "kha-tui: the upgrade to {} did not finish; kube-system/{} stays; run kha-tui upgrade --to {} again to continue from where it stopped",
            u.to,
            crate::day2::upgrade_plan::MARK_CONFIGMAP,
            u.to
        );
        Ok(ExitCode::FAILURE)
    }
}
