//! The plan behind `kha-tui backup`: one step on one control plane whose etcd member is
//! healthy — an etcd snapshot taken inside its etcd container, checked, and packed with
//! /etc/kubernetes/pki into one private archive (`assets/scripts/etcd-backup.sh`). kha-tui then
//! copies the archive over the same SSH connection (`backup_run`), never through the logs. Pure.

use std::time::Duration;

use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::{Limits, Mode, Phase, Plan, Step};

pub const SNAPSHOT_STEP: &str = "etcd-snapshot";
/// On the control plane: inside /var/lib/etcd, the one host path the etcd container sees.
pub const REMOTE_DIR: &str = "/var/lib/etcd/kha-backup";
pub const REMOTE_ARCHIVE: &str = "/var/lib/etcd/kha-backup/backup.tar";
/// The prefix of the lines the step prints for kha-tui.
pub const LINE_PREFIX: &str = "kha-backup ";

pub fn backup_plan(c: &Cluster, source: &str) -> Plan {
    let mut s = Step::new(
        SNAPSHOT_STEP,
        source,
        "etcd snapshot (inside the etcd container), checked, packed with /etc/kubernetes/pki",
        format!("{}\n{}", scripts::LIB, scripts::ETCD_BACKUP),
    );
    s.env.push(("KHA_BACKUP_DIR".into(), REMOTE_DIR.into()));
    s.limits = Limits {
        total: Some(Duration::from_secs(300)),
        idle: Some(Duration::from_secs(120)),
    };
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: c.first_control_plane().name.clone(),
        phases: vec![Phase {
            name: "backup".into(),
            title: "Back up etcd and the cluster's certificates".into(),
            mode: Mode::Serial,
            steps: vec![s],
        }],
        values: None,
    }
}

/// What the step reported: the snapshot check (hash, revision, keys, size) and the archive's
/// SHA-256 and size.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotReport {
    pub hash: u64,
    pub revision: u64,
    pub total_keys: u64,
    pub total_size: u64,
    pub archive_sha256: String,
    pub archive_size: u64,
}

/// Parses `kha-backup status {json}` and `kha-backup archive SHA SIZE` (without the prefix).
pub fn parse_report(lines: &[String]) -> Option<SnapshotReport> {
    let mut r = SnapshotReport::default();
    let (mut status, mut archive) = (false, false);
    for l in lines {
        if let Some(j) = l.strip_prefix("status ") {
            let v: serde_json::Value = serde_json::from_str(j).ok()?;
            r.hash = v["hash"].as_u64()?;
            r.revision = v["revision"].as_u64()?;
            r.total_keys = v["totalKey"].as_u64()?;
            r.total_size = v["totalSize"].as_u64()?;
            status = true;
        } else if let Some(a) = l.strip_prefix("archive ") {
            let (sha, size) = a.split_once(' ')?;
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            r.archive_sha256 = sha.to_string();
            r.archive_size = size.trim().parse().ok()?;
            archive = true;
        }
    }
    (status && archive).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_needs_both_lines() {
        let status =
            r#"status {"hash":3387475532,"revision":1234,"totalKey":987,"totalSize":2269184}"#;
        let archive = format!("archive {} 2293760", "a".repeat(64));
        let r = parse_report(&[status.to_string(), archive.clone()]).unwrap();
        assert_eq!(r.revision, 1234);
        assert_eq!(r.total_keys, 987);
        assert_eq!(r.archive_size, 2293760);
        assert!(parse_report(&[status.to_string()]).is_none());
        assert!(parse_report(&[archive]).is_none());
        assert!(parse_report(&[status.to_string(), "archive not-a-sha 12".to_string()]).is_none());
    }
}
