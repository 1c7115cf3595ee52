//! One run per cluster at a time. Two runs writing one state file would lose each other's
//! records, and each would take the other's join tokens out of the cluster at its end. The
//! lock is an flock on a file next to the state, held for the whole run; the kernel releases
//! it when kha-tui ends, however it ends.

use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Held while a run of one cluster goes on; dropping it lets the next run start.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Takes the lock of `cluster` under the state directory `dir`, or says who holds it.
    pub fn take(dir: &Path, cluster: &str) -> Result<RunLock, String> {
        let path = dir.join(format!("{cluster}.lock"));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot make the state directory {}: {e}", dir.display()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            return Err(if err.kind() == std::io::ErrorKind::WouldBlock {
                format!(
                    "another kha-tui run of cluster {cluster} is going on (it holds {}); wait for it to end, or stop it, then run again",
                    path.display()
                )
            } else {
                format!("cannot lock {}: {err}", path.display())
            });
        }
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::RunLock;

    #[test]
    fn a_second_run_of_the_same_cluster_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::take(dir.path(), "prod").unwrap();
        let refused = RunLock::take(dir.path(), "prod").unwrap_err();
        assert!(
            refused.contains("another kha-tui run of cluster prod"),
            "{refused}"
        );
        // Another cluster is not held up.
        let _other = RunLock::take(dir.path(), "staging").unwrap();
        drop(first);
        RunLock::take(dir.path(), "prod").unwrap();
    }
}
