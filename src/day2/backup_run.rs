//! `kha-tui backup`: picks a control plane whose etcd member is healthy (from the status plan),
//! runs the backup plan there on the engine, then copies the archive to this machine over a
//! fresh SSH session as root (base64 on the session's stdout: never in a log, an event or a
//! world-readable file), checks its SHA-256 against what the step computed, removes the remote
//! copy, writes it 0600 into kha-tui's data dir (0700) named by cluster and UTC time, keeps the
//! newest `keep`, and records the result where `kha-tui status` reads it (`backup_store`).

use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::backup_plan::{self, LINE_PREFIX, REMOTE_ARCHIVE, REMOTE_DIR, SnapshotReport};
use super::backup_store::{self, BackupMeta, LastBackup};
use crate::engine::node::NodeConn;
use crate::engine::{self, Dirs, Event, Options, events::Stream};
use crate::inventory::Cluster;
use crate::shell::quote;
use crate::transport::Transport;

pub struct BackupOutcome {
    pub file: std::path::PathBuf,
    pub meta: BackupMeta,
    /// Older backups removed by `--keep`.
    pub removed: Vec<std::path::PathBuf>,
}

/// The first control plane (inventory order) whose etcd member is started and healthy.
pub fn healthy_source(c: &Cluster, s: &super::ClusterStatus) -> Option<String> {
    c.control_planes()
        .find(|cp| {
            s.etcd_members
                .iter()
                .any(|m| m.name == cp.name && m.started && m.healthy == Some(true))
        })
        .map(|cp| cp.name.clone())
}

/// Why no control plane could be the source, per control plane (its host unreachable, its etcd
/// not answering, its member unhealthy; those with the same reason named together), for the
/// recorded failure the cluster view shows: an operator reading it at 9 a.m. sees what went
/// wrong at 3.
pub fn why_no_source(c: &Cluster, s: &super::ClusterStatus) -> String {
    // (what follows the node names, the nodes), in inventory order of first appearance.
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    for cp in c.control_planes() {
        let n = cp.name.as_str();
        let why = if let Some(u) = s.unreachable.iter().find(|u| u.node == n) {
            format!(" unreachable: {}", u.error)
        } else {
            match s.etcd_members.iter().find(|m| m.name == n) {
                Some(m) if !m.started => ": its etcd member is not started".to_string(),
                Some(m) if m.healthy == Some(false) => ": its etcd member is unhealthy".into(),
                Some(m) => format!(
                    ": {}",
                    m.error
                        .as_deref()
                        .unwrap_or("its etcd member did not answer")
                ),
                None => match s.errors.iter().find(|e| e.node == n) {
                    Some(e) => format!(": {}", e.error),
                    None => ": no etcd member reported".into(),
                },
            }
        };
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, nodes)) => nodes.push(n.to_string()),
            None => reasons.push((why, vec![n.to_string()])),
        }
    }
    reasons
        .iter()
        .map(|(why, nodes)| format!("{}{why}", nodes.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn run_backup<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    keep: usize,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<BackupOutcome> {
    let r = backup(t, c, opts, keep, events, stop).await;
    let last = match &r {
        Ok(o) => LastBackup {
            time: o.meta.time.clone(),
            unix: o.meta.unix,
            ok: true,
            file: Some(o.file.display().to_string()),
            error: None,
        },
        Err(e) => backup_store::failed_now(&format!("{e:#}")),
    };
    backup_store::record_last(&opts.dirs, &c.name, &last)?;
    r
}

async fn backup<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    keep: usize,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<BackupOutcome> {
    anyhow::ensure!(keep >= 1, "--keep must be at least 1");
    let status = super::gather_status(t.clone(), c, opts, "", stop.clone()).await?;
    let source = healthy_source(c, &status).ok_or_else(|| {
        anyhow::anyhow!(
            "no control plane has a started, healthy etcd member ({}); nothing was backed up",
            why_no_source(c, &status)
        )
    })?;
    let report = snapshot(t.clone(), c, &source, opts, events, stop).await?;
    let node = c
        .host(&source)
        .ok_or_else(|| anyhow::anyhow!("{source} is not in the inventory"))?;
    let archive = fetch(t, node, opts, &report).await?;
    let unix = engine::state::now_secs();
    let meta = BackupMeta {
        cluster: c.name.clone(),
        time: backup_store::utc(unix),
        unix,
        source,
        snapshot: report,
    };
    let file = backup_store::write_backup(&opts.dirs, &meta, &archive)?;
    let removed = backup_store::prune(&opts.dirs, &c.name, keep)?;
    Ok(BackupOutcome {
        file,
        meta,
        removed,
    })
}

/// The backup plan on the engine; its `kha-backup` lines parsed. The run keeps no state (a
/// backup is taken whole each time); its logs go where every run's go.
async fn snapshot<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    source: &str,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<SnapshotReport> {
    let scratch = opts
        .dirs
        .state
        .join(format!("backup-run-{}", std::process::id()));
    let mut o = opts.clone();
    o.dirs = Dirs {
        state: scratch.clone(),
        ..opts.dirs.clone()
    };
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    let (tx, mut rx) = mpsc::channel(1024);
    let forward = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let Event::Log {
                stream: Stream::Stdout,
                line,
                ..
            } = &ev
                && let Some(rest) = line.strip_prefix(LINE_PREFIX)
            {
                lines.push(rest.to_string());
            }
            if events.send(ev).await.is_err() {
                break;
            }
        }
        lines
    });
    let plan = backup_plan::backup_plan(c, source);
    let summary = engine::apply_plan(t, c.clone(), plan, o, tx, stop).await;
    let lines = forward.await?;
    let _ = std::fs::remove_dir_all(&scratch);
    if !summary.ok {
        anyhow::bail!(
            "the snapshot on {source} failed{}; nothing was backed up",
            summary
                .stopped
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
    }
    backup_plan::parse_report(&lines).ok_or_else(|| {
        anyhow::anyhow!("the snapshot step on {source} did not report its check and archive")
    })
}

/// Copies the archive from the control plane as root, checks it, removes the remote copy.
async fn fetch<T: Transport>(
    t: Arc<T>,
    node: &crate::inventory::Node,
    opts: &Options,
    report: &SnapshotReport,
) -> anyhow::Result<Vec<u8>> {
    let session = t.connect(&engine::target_for(node, opts), None).await?;
    let mut conn = NodeConn::setup(
        &node.name,
        session,
        &node.ssh.user,
        opts.sudo_password.as_deref(),
    )
    .await?;
    let got = conn
        .root_collect(&format!("base64 {}", quote(REMOTE_ARCHIVE)))
        .await;
    let removed = conn
        .root_collect(&format!("rm -rf {}", quote(REMOTE_DIR)))
        .await;
    conn.finish().await;
    let got = got?;
    anyhow::ensure!(
        got.status.success(),
        "cannot read {REMOTE_ARCHIVE} on {}: {}",
        node.name,
        got.stderr.trim()
    );
    let text: String = got.stdout.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("the archive from {} is not base64: {e}", node.name))?;
    let sha = hex(&Sha256::digest(&bytes));
    anyhow::ensure!(
        sha == report.archive_sha256 && bytes.len() as u64 == report.archive_size,
        "the archive copied from {} differs from the one made there (sha256 {sha}, {} bytes; expected {}, {} bytes)",
        node.name,
        bytes.len(),
        report.archive_sha256,
        report.archive_size
    );
    if let Ok(r) = removed
        && !r.status.success()
    {
        anyhow::bail!(
            "cannot remove {REMOTE_DIR} on {}: {}",
            node.name,
            r.stderr.trim()
        );
    }
    Ok(bytes)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day2::status;
    use crate::day2::status_fixture::{Faults, reported};
    use crate::inventory::{self, validate};

    fn cluster() -> Cluster {
        validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn the_source_is_a_healthy_member_and_its_absence_says_why_per_control_plane() {
        let c = cluster();
        let (lines, unreachable) = reported(&Faults::default());
        let s = status::build(&c, &lines, &unreachable, &[]);
        assert_eq!(healthy_source(&c, &s).as_deref(), Some("master1"));

        // master1's etcd stopped: master2 is the source.
        let (lines, unreachable) = reported(&Faults {
            etcd_stopped: Some("master1"),
            ..Faults::default()
        });
        let s = status::build(&c, &lines, &unreachable, &[]);
        assert_eq!(healthy_source(&c, &s).as_deref(), Some("master2"));

        // Nobody answers: each control plane's reason, in inventory order.
        let unreachable: Vec<status::HostError> = c
            .control_planes()
            .map(|cp| status::HostError {
                node: cp.name.clone(),
                error: "cannot read the SSH key /k: No such file".into(),
            })
            .collect();
        let s = status::build(&c, &[], &unreachable, &[]);
        assert_eq!(healthy_source(&c, &s), None);
        assert_eq!(
            why_no_source(&c, &s),
            "master1, master2, master3 unreachable: cannot read the SSH key /k: No such file"
        );
        // Different reasons, each with its nodes.
        let (lines, mut unreachable) = reported(&Faults {
            etcd_stopped: Some("master2"),
            ..Faults::default()
        });
        unreachable.push(status::HostError {
            node: "master1".into(),
            error: "connection refused".into(),
        });
        let lines: Vec<_> = lines.into_iter().filter(|l| l.node != "master1").collect();
        let mut s = status::build(&c, &lines, &unreachable, &[]);
        for m in &mut s.etcd_members {
            if m.name == "master3" {
                m.healthy = Some(false);
            }
        }
        assert_eq!(
            why_no_source(&c, &s),
            "master1 unreachable: connection refused; master2, master3: its etcd member is unhealthy"
        );
    }
}
