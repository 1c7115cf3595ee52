//! What has been done, per node and step, so that a re-run resumes: done steps are skipped,
//! the failed one is retried. Written atomically, mode 0600; holds no secret by construction
//! (only names, statuses and times).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Done,
    Failed,
    /// Was running when the operator stopped the run; runs again next time.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub status: StepStatus,
    /// Unix seconds when it finished.
    pub at: u64,
    pub duration_ms: u64,
    /// For failures: the exit status and the last error line (already redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub cluster: String,
    /// node → step id → record
    pub steps: BTreeMap<String, BTreeMap<String, StepRecord>>,
    /// Unix seconds of the last certificate upload (kubeadm init or a refresh), for the 2 h window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certs_uploaded_at: Option<u64>,
    /// Wall time of every earlier run of this cluster, summed (resumes add up).
    #[serde(default)]
    pub elapsed_ms_all_runs: u64,
    /// node → which machine its records were made on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub machines: BTreeMap<String, NodeIdentity>,
    /// Records of nodes that turned out to be another machine, kept for the operator to read
    /// ("node@unix-seconds" → step id → record); never used to skip a step.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set_aside: BTreeMap<String, BTreeMap<String, StepRecord>>,
}

/// Which machine a node is: its SSH host key and /etc/machine-id (either may be unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIdentity {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub machine_id: String,
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl State {
    pub fn path(dir: &Path, cluster: &str) -> PathBuf {
        dir.join(format!("{cluster}.state.json"))
    }

    /// Loads the state of `cluster`, or an empty one when there is none yet.
    pub fn load(dir: &Path, cluster: &str) -> std::io::Result<State> {
        match std::fs::read_to_string(Self::path(dir, cluster)) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", Self::path(dir, cluster).display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
                cluster: cluster.to_string(),
                ..State::default()
            }),
            Err(e) => Err(e),
        }
    }

    /// Writes atomically (temp file + rename), 0600, in a 0700 directory.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        create_private_dir(dir)?;
        let path = Self::path(dir, &self.cluster);
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(
                serde_json::to_string_pretty(self)
                    .expect("state serializes")
                    .as_bytes(),
            )?;
            // The data and what reading it needs (its size); not the times: half the wait of
            // `sync_all` here, and the scheduler waits for this save before each step.
            f.sync_data()?;
        }
        std::fs::rename(&tmp, &path)
    }

    pub fn is_done(&self, node: &str, step: &str) -> bool {
        self.record(node, step)
            .is_some_and(|r| r.status == StepStatus::Done)
    }

    pub fn record(&self, node: &str, step: &str) -> Option<&StepRecord> {
        self.steps.get(node).and_then(|m| m.get(step))
    }

    pub fn set(&mut self, node: &str, step: &str, rec: StepRecord) {
        self.steps
            .entry(node.to_string())
            .or_default()
            .insert(step.to_string(), rec);
    }

    /// Records that `node` is the machine `now`. When the state knew it as another machine
    /// (a known part differs), its step records are set aside and what differs is returned.
    pub fn identify(&mut self, node: &str, now: NodeIdentity) -> Option<String> {
        let before = self.machines.get(node).cloned().unwrap_or_default();
        let differs = identity_differences(&before, &now);
        let mut merged = now;
        if differs.is_empty() {
            // Keep what was known when a part cannot be read this time.
            if merged.host_key.is_empty() {
                merged.host_key = before.host_key;
            }
            if merged.machine_id.is_empty() {
                merged.machine_id = before.machine_id;
            }
        }
        self.machines.insert(node.to_string(), merged);
        if differs.is_empty() {
            return None;
        }
        if let Some(records) = self.steps.remove(node) {
            self.set_aside
                .insert(format!("{node}@{}", now_secs()), records);
        }
        Some(differs.join(", "))
    }

    /// What differs between the machine the state knew as `node` and `now` (a known part that
    /// changed), without recording anything; `None` when it is the same machine or unknown.
    pub fn identity_differs(&self, node: &str, now: &NodeIdentity) -> Option<String> {
        let before = self.machines.get(node).cloned().unwrap_or_default();
        let d = identity_differences(&before, now);
        (!d.is_empty()).then(|| d.join(", "))
    }

    /// Forgets the given steps of a node (for `--node N --from STEP`).
    pub fn forget(&mut self, node: &str, steps: &[String]) {
        if let Some(m) = self.steps.get_mut(node) {
            for s in steps {
                m.remove(s);
            }
        }
    }
}

/// Creates `dir` (and parents) with mode 0700 for the last component.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The parts of a node's identity that were known before and are different now.
fn identity_differences(before: &NodeIdentity, now: &NodeIdentity) -> Vec<String> {
    let mut differs = Vec::new();
    if !before.host_key.is_empty() && !now.host_key.is_empty() && before.host_key != now.host_key {
        differs.push(format!("host key {} was {}", now.host_key, before.host_key));
    }
    if !before.machine_id.is_empty()
        && !now.machine_id.is_empty()
        && before.machine_id != now.machine_id
    {
        differs.push(format!(
            "machine-id {} was {}",
            now.machine_id, before.machine_id
        ));
    }
    differs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn state_round_trips_privately() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("state");
        let mut s = State::load(&d, "prod").unwrap();
        assert!(!s.is_done("master1", "prepare"));
        s.set(
            "master1",
            "prepare",
            StepRecord {
                status: StepStatus::Done,
                at: 1,
                duration_ms: 5,
                reason: None,
            },
        );
        s.set(
            "worker2",
            "containerd",
            StepRecord {
                status: StepStatus::Failed,
                at: 2,
                duration_ms: 9,
                reason: Some("exit 1".into()),
            },
        );
        s.save(&d).unwrap();
        let again = State::load(&d, "prod").unwrap();
        assert_eq!(again, s);
        assert!(again.is_done("master1", "prepare"));
        assert!(!again.is_done("worker2", "containerd"));
        let meta = std::fs::metadata(State::path(&d, "prod")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let mut s2 = again;
        s2.forget("master1", &["prepare".to_string()]);
        assert!(!s2.is_done("master1", "prepare"));
    }
}
