//! `kha-tui backup` and `kha-tui restore` on the command line: each runs its plan on the engine
//! over SSH, printing the engine's events as `apply` does. A restore asks for the cluster's
//! name typed again (or `--confirm NAME`) before anything runs.

use std::path::Path;
use std::process::ExitCode;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::headless;
use crate::engine::Options;
use crate::inventory::Cluster;

/// `kha-tui backup [--keep N]`.
pub async fn backup(c: Cluster, opts: Options, keep: usize) -> anyhow::Result<ExitCode> {
    let t = crate::transport::ssh::cluster_transport(&c, opts.dirs.known_hosts.clone());
    let stop = CancellationToken::new();
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let r = crate::day2::backup_run::run_backup(t, &c, &opts, keep, tx, stop).await;
    let _ = printer.await;
    match r {
        Ok(o) => {
            let s = &o.meta.snapshot;
            println!(
                "backup of {} from {}: {} ({} bytes, 0600)",
                c.name,
                o.meta.source,
                o.file.display(),
                s.archive_size
            );
            println!(
                "etcd snapshot checked: hash {}, revision {}, {} keys, {} bytes",
                s.hash, s.revision, s.total_keys, s.total_size
            );
            for p in &o.removed {
                println!("removed (--keep {keep}): {}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("kha-tui: backup failed: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `kha-tui restore --from FILE [--confirm NAME]`.
pub async fn restore(
    c: Cluster,
    opts: Options,
    from: &Path,
    confirm: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let b = match crate::day2::restore_run::read_backup(from, &c) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kha-tui: {e}; nothing was changed");
            return Ok(ExitCode::FAILURE);
        }
    };
    let cps: Vec<String> = c.control_planes().map(|n| n.name.clone()).collect();
    eprintln!(
        "kha-tui: restore of cluster {} from {}{}: etcd and the API servers stop on {}, etcd's data is replaced by the snapshot's (what changed since is lost), then they start again",
        c.name,
        from.display(),
        b.meta
            .as_ref()
            .map(|m| format!(
                " (taken {} on {}, revision {})",
                m.time, m.source, m.snapshot.revision
            ))
            .unwrap_or_default(),
        cps.join(", ")
    );
    let ok = match confirm {
        Some(n) => n == c.name,
        None if headless::stdin_is_terminal() => {
            use std::io::Write as _;
            eprint!("type the cluster's name ({}) to restore it: ", c.name);
            let _ = std::io::stderr().flush();
            let mut l = String::new();
            let _ = std::io::stdin().read_line(&mut l);
            l.trim() == c.name
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
    let mut opts = opts;
    opts.assume_yes = true;
    let t = crate::transport::ssh::cluster_transport(&c, opts.dirs.known_hosts.clone());
    let stop = CancellationToken::new();
    let ctrl_c = headless::cancel_on_ctrl_c(
        &stop,
        "kha-tui: stopping; run the same restore again to resume it".into(),
    );
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, stop.clone()));
    let r = crate::day2::restore_run::run_restore(t, &c, &b, &opts, tx, stop).await;
    let _ = printer.await;
    ctrl_c.abort();
    match r {
        Ok(s) if s.ok => {
            println!("cluster {} restored from {}", c.name, from.display());
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => {
            eprintln!("kha-tui: the restore stopped; run the same command again to resume it");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("kha-tui: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}
