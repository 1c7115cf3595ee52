//! `kha-tui restore --from FILE`: reads a backup made by `kha-tui backup`, checks it is an
//! archive of this cluster with a snapshot in it, and runs the restore plan on the engine. The
//! run's state is its own (`STATE/restore-ID12/`), so a stopped restore of the same file
//! resumes where it stopped, and a restore of another file starts from the beginning; it is
//! archived once every step is done.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::backup_run::hex;
use super::restore_plan::restore_plan;
use crate::engine::{self, Dirs, Event, Options, RunSummary};
use crate::inventory::Cluster;
use crate::transport::Transport;

pub struct Backup {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: Vec<u8>,
    /// From the `.json` next to it, when there is one.
    pub meta: Option<super::backup_store::BackupMeta>,
}

/// Reads and checks a backup archive: a tar whose first member is `snapshot.db`, and (when
/// its description is there) of this cluster.
pub fn read_backup(path: &Path, c: &Cluster) -> anyhow::Result<Backup> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("--from {}: cannot read it: {e}", path.display()))?;
    // A ustar header: the name in bytes 0..100, "ustar" at 257.
    let is_tar = bytes.len() > 512 && &bytes[257..262] == b"ustar";
    let first = bytes
        .get(..100)
        .map(|n| {
            String::from_utf8_lossy(n)
                .trim_end_matches('\0')
                .to_string()
        })
        .unwrap_or_default();
    anyhow::ensure!(
        is_tar && first == "snapshot.db",
        "--from {}: not a kha-tui backup (a tar archive starting with snapshot.db); give a file `kha-tui backup` wrote",
        path.display()
    );
    let meta: Option<super::backup_store::BackupMeta> =
        std::fs::read_to_string(path.with_extension("json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(m) = &meta {
        anyhow::ensure!(
            m.cluster == c.name,
            "--from {}: a backup of cluster {}, not of {}; give one of {}'s backups",
            path.display(),
            m.cluster,
            c.name,
            c.name
        );
    }
    Ok(Backup {
        path: path.to_path_buf(),
        sha256: hex(&Sha256::digest(&bytes)),
        bytes,
        meta,
    })
}

fn state_dir(opts: &Options, b: &Backup) -> PathBuf {
    opts.dirs.state.join(format!("restore-{}", &b.sha256[..12]))
}

pub async fn run_restore<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    b: &Backup,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<RunSummary> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&b.bytes);
    let plan = restore_plan(c, &b.sha256, &b64);
    let mut o = opts.clone();
    o.dirs = Dirs {
        state: state_dir(opts, b),
        ..opts.dirs.clone()
    };
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    let summary = engine::apply_plan(t, c.clone(), plan, o.clone(), events, stop).await;
    if summary.ok {
        super::reset_run::archive_state(&o.dirs.state, &c.name)?;
    }
    Ok(summary)
}
