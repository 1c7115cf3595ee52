//! The runtime side of the wizard's upgrade: the preflight read (`upgrade_run::prepare_upgrade`,
//! as `kha-tui upgrade` runs it before asking) answered as [`Msg::UpgradeRead`], and the run
//! itself: an etcd backup kept in kha-tui's data dir exactly as `kha-tui upgrade` makes it
//! first, then the upgrade plan on the engine, its events on the run dashboard.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::day2_wizard::Day2Report;
use super::model::Msg;
use super::upgrade_dialog::UpgradeRead;
use crate::day2::upgrade_plan::{MARK_CONFIGMAP, Upgrade, UpgradeOptions};
use crate::day2::{backup_run, upgrade_run};
use crate::engine::{Event, Options};
use crate::inventory::Cluster;
use crate::transport::Transport;

/// The backups an upgrade keeps, as `kha-tui upgrade` (and `kha-tui backup`'s default).
const UPGRADE_BACKUPS_KEPT: usize = 7;

/// Who runs it, for the "upgrade in progress" mark: user@host, as the CLI writes it.
fn by() -> String {
    format!(
        "{}@{}",
        std::env::var("USER").unwrap_or_else(|_| "root".into()),
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    )
}

pub async fn prepare<T: Transport>(
    t: Arc<T>,
    cluster: Cluster,
    config: String,
    to: String,
    opts: Options,
    stop: CancellationToken,
    done: mpsc::UnboundedSender<Msg>,
) {
    let o = UpgradeOptions {
        to: to.clone(),
        max_unavailable: 1,
        drain_timeout: crate::day2::remove_plan::DRAIN_TIMEOUT_SECS,
        by: by(),
    };
    let r = upgrade_run::prepare_upgrade(t, &cluster, &opts, &config, &o, stop)
        .await
        .map(|p| {
            Box::new(UpgradeRead {
                to,
                kubeadm_plan: p.kubeadm_plan,
                upgrade: p.upgrade.map(Box::new),
            })
        })
        .map_err(|e| format!("{e:#}"));
    let _ = done.send(Msg::UpgradeRead(r));
}

/// The backup, then the plan; what happened goes into the report `r`.
pub async fn run<T: Transport>(
    t: Arc<T>,
    cluster: &Cluster,
    u: &Upgrade,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
    r: &mut Day2Report,
) {
    match backup_run::run_backup(
        t.clone(),
        cluster,
        opts,
        UPGRADE_BACKUPS_KEPT,
        events.clone(),
        stop.clone(),
    )
    .await
    {
        Ok(b) => r.lines.push(format!(
            "backup before the upgrade: {} (kha-tui restore --from it undoes the upgrade's changes to etcd)",
            b.file.display()
        )),
        Err(e) => {
            r.lines.push(format!(
                "the backup before the upgrade failed, so nothing was upgraded: {e:#}"
            ));
            return;
        }
    }
    let s = upgrade_run::run_upgrade(t, u, opts, events, stop).await;
    r.ok = s.ok;
    if s.ok {
        r.lines.push(format!(
            "the cluster runs Kubernetes {}; set kubernetes_version = \"{}\" in the inventory so that later add-node runs install {}",
            u.to, u.to, u.to
        ));
    } else {
        r.lines.push(format!(
            "the upgrade to {} did not finish; kube-system/{MARK_CONFIGMAP} stays; r on the dashboard continues from where it stopped",
            u.to
        ));
        if let Some(why) = &s.stopped {
            r.lines.push(format!("stopped: {why}"));
        }
        for (node, step, reason) in &s.failures {
            r.lines.push(format!(
                "{node}: {step} failed: {}",
                reason.lines().last().unwrap_or("")
            ));
        }
    }
}
