//! Per-node log files (0600), every line redacted before it is written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::state::{create_private_dir, now_secs};

pub struct NodeLogs {
    dir: PathBuf,
    files: HashMap<String, BufWriter<File>>,
}

impl NodeLogs {
    /// Logs of one run go to `<logs>/<cluster>/<node>.log`, appended across runs.
    pub fn open(logs: &Path, cluster: &str) -> std::io::Result<NodeLogs> {
        let dir = logs.join(cluster);
        create_private_dir(logs)?;
        create_private_dir(&dir)?;
        Ok(NodeLogs {
            dir,
            files: HashMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends an already-redacted line for `node`.
    pub fn write(&mut self, node: &str, step: &str, line: &str) {
        if !self.files.contains_key(node) {
            let path = self.dir.join(format!("{node}.log"));
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(f) => {
                    self.files.insert(node.to_string(), BufWriter::new(f));
                }
                Err(_) => return, // a log that cannot be written must not stop the install
            }
        }
        if let Some(f) = self.files.get_mut(node) {
            let _ = writeln!(f, "{} [{step}] {line}", now_secs());
        }
    }

    pub fn flush(&mut self) {
        for f in self.files.values_mut() {
            let _ = f.flush();
        }
    }
}

impl Drop for NodeLogs {
    fn drop(&mut self) {
        self.flush();
    }
}
