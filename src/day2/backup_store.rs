//! kha-tui's backups on this machine: `DATA/backups/` (the `directories` data dir, or
//! `--data-dir`; 0700), one `CLUSTER-YYYYMMDDTHHMMSSZ.tar` (0600) per backup with its
//! `.json` (what was checked), and `CLUSTER.last.json`: the last backup's result (time, ok or
//! failed, file), which `kha-tui status` and the cluster view show.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::backup_plan::SnapshotReport;
use crate::engine::Dirs;
use crate::engine::state::create_private_dir;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupMeta {
    pub cluster: String,
    /// UTC, e.g. 2026-12-07T18:04:05Z.
    pub time: String,
    pub unix: u64,
    /// The control plane whose etcd member the snapshot is from.
    pub source: String,
    pub snapshot: SnapshotReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastBackup {
    pub time: String,
    pub unix: u64,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Next to kha-tui's known_hosts: the user's data dir, or the `--data-dir`.
pub fn dir(dirs: &Dirs) -> PathBuf {
    dirs.known_hosts
        .parent()
        .unwrap_or(Path::new("."))
        .join("backups")
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (days to civil date: Howard Hinnant's algorithm).
pub fn utc(unix: u64) -> String {
    let days = (unix / 86400) as i64;
    let secs = unix % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn stamp(meta: &BackupMeta) -> String {
    meta.time.replace(['-', ':'], "")
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Writes the archive and its description; returns the archive's path.
pub fn write_backup(dirs: &Dirs, meta: &BackupMeta, archive: &[u8]) -> anyhow::Result<PathBuf> {
    let d = dir(dirs);
    create_private_dir(&d)?;
    let file = d.join(format!("{}-{}.tar", meta.cluster, stamp(meta)));
    write_private(&file, archive)?;
    write_private(
        &file.with_extension("json"),
        serde_json::to_string_pretty(meta)?.as_bytes(),
    )?;
    Ok(file)
}

/// The cluster's backups, oldest first (the names sort by time).
pub fn list(dirs: &Dirs, cluster: &str) -> std::io::Result<Vec<PathBuf>> {
    let d = dir(dirs);
    let prefix = format!("{cluster}-");
    let mut v: Vec<PathBuf> = match std::fs::read_dir(&d) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "tar")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| is_backup_name(n, &prefix))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e),
    };
    v.sort();
    Ok(v)
}

/// `PREFIX` + `YYYYMMDDTHHMMSSZ.tar`: another cluster whose name starts like this one's
/// ("prod" and "prod-eu") has a different stamp position and is not matched.
fn is_backup_name(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(".tar"))
        .is_some_and(|s| {
            s.len() == 16
                && s.as_bytes()[8] == b'T'
                && s.ends_with('Z')
                && s.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 8 || i == 15 || b.is_ascii_digit())
        })
}

/// Removes all but the newest `keep` backups of the cluster; returns what it removed.
pub fn prune(dirs: &Dirs, cluster: &str, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let all = list(dirs, cluster)?;
    let n = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for p in all.into_iter().take(n) {
        std::fs::remove_file(&p)?;
        let _ = std::fs::remove_file(p.with_extension("json"));
        removed.push(p);
    }
    Ok(removed)
}

fn last_path(dirs: &Dirs, cluster: &str) -> PathBuf {
    dir(dirs).join(format!("{cluster}.last.json"))
}

pub fn record_last(dirs: &Dirs, cluster: &str, last: &LastBackup) -> anyhow::Result<()> {
    create_private_dir(&dir(dirs))?;
    write_private(
        &last_path(dirs, cluster),
        serde_json::to_string_pretty(last)?.as_bytes(),
    )?;
    Ok(())
}

/// A failed run, now: what `record_last` keeps when a backup could not be taken.
pub fn failed_now(error: &str) -> LastBackup {
    let unix = crate::engine::state::now_secs();
    LastBackup {
        time: utc(unix),
        unix,
        ok: false,
        file: None,
        error: Some(error.to_string()),
    }
}

/// One line: "2026-12-07T18:04:05Z ok: /path/prod-….tar" or "… FAILED: why".
pub fn describe(b: &LastBackup) -> String {
    if b.ok {
        format!("{} ok: {}", b.time, b.file.as_deref().unwrap_or("?"))
    } else {
        format!(
            "{} FAILED: {}",
            b.time,
            b.error.as_deref().unwrap_or("no reason recorded")
        )
    }
}

/// The last backup's result, when there was one.
pub fn read_last(dirs: &Dirs, cluster: &str) -> Option<LastBackup> {
    let t = std::fs::read_to_string(last_path(dirs, cluster)).ok()?;
    serde_json::from_str(&t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    fn meta(unix: u64) -> BackupMeta {
        BackupMeta {
            cluster: "prod".into(),
            time: utc(unix),
            unix,
            source: "master1".into(),
            snapshot: SnapshotReport::default(),
        }
    }

    #[test]
    fn utc_is_the_civil_date() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_668_846), "2026-12-07T18:40:46Z");
    }

    #[test]
    fn backups_are_private_and_pruned_to_the_newest() {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::under(root.path());
        for i in 0..4 {
            write_backup(&dirs, &meta(1_796_668_846 + i * 60), b"archive").unwrap();
        }
        // Another cluster whose name starts the same way is not this one's.
        let mut other = meta(1_796_668_846);
        other.cluster = "prod-eu".into();
        write_backup(&dirs, &other, b"x").unwrap();
        let d = dir(&dirs);
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let all = list(&dirs, "prod").unwrap();
        assert_eq!(all.len(), 4);
        for p in &all {
            assert_eq!(std::fs::metadata(p).unwrap().mode() & 0o777, 0o600);
        }
        let removed = prune(&dirs, "prod", 2).unwrap();
        assert_eq!(removed, all[..2].to_vec());
        assert_eq!(list(&dirs, "prod").unwrap(), all[2..].to_vec());
        assert!(!all[0].with_extension("json").exists());
        assert_eq!(list(&dirs, "prod-eu").unwrap().len(), 1);
    }

    #[test]
    fn the_last_result_round_trips() {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::under(root.path());
        assert_eq!(read_last(&dirs, "prod"), None);
        let l = LastBackup {
            time: utc(5),
            unix: 5,
            ok: false,
            file: None,
            error: Some("no healthy member".into()),
        };
        record_last(&dirs, "prod", &l).unwrap();
        assert_eq!(read_last(&dirs, "prod"), Some(l));
    }
}
