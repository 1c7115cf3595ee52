//! The wizard's SSH transport trusts what the CLI trusts: OpenSSH's known_hosts files, kha-tui's
//! own, and the inventory's `[ssh] known_hosts`. The inventory is chosen after the wizard starts,
//! so the transport is rebuilt whenever it names another file; a key pinned there that changed is
//! refused, never offered as "unknown".

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::inventory::Cluster;
use crate::transport::ssh::{SshConfig, SshTransport};
use crate::transport::{HostKeyQuestion, Target, Transport, TransportError};

/// The SSH settings for an inventory, for the CLI and the wizard alike.
pub fn ssh_config(learned_known_hosts: PathBuf, inventory_known_hosts: Option<&Path>) -> SshConfig {
    let mut cfg = SshConfig::with_openssh_defaults(learned_known_hosts);
    if let Some(k) = inventory_known_hosts {
        cfg.known_hosts.push(k.to_path_buf());
    }
    cfg
}

/// The SSH transport for a cluster's commands run outside the wizard (apply, fix, drill,
/// day 2): the same trust sources as every run, host keys learned in `learned_known_hosts`.
pub fn cluster_transport(cluster: &Cluster, learned_known_hosts: PathBuf) -> Arc<SshTransport> {
    let mut cfg = ssh_config(learned_known_hosts, cluster.known_hosts.as_deref());
    add_config_known_hosts(&mut cfg, cluster);
    Arc::new(SshTransport::new(cfg))
}

/// Adds the ssh config's `UserKnownHostsFile`s of every node. They are consulted besides
/// OpenSSH's defaults (not instead): a key changed in any of them is refused.
pub fn add_config_known_hosts(cfg: &mut SshConfig, cluster: &crate::inventory::Cluster) {
    for f in cluster
        .all_hosts()
        .flat_map(|n| n.ssh.known_hosts_files.iter())
    {
        if !cfg.known_hosts.contains(f) {
            cfg.known_hosts.push(f.clone());
        }
    }
}

pub struct WizardSsh {
    learned: PathBuf,
    /// The inventory's known_hosts this transport was built with, the transport, and all the
    /// known_hosts files it reads.
    current: Mutex<(Option<PathBuf>, Arc<SshTransport>, Vec<PathBuf>)>,
}

impl WizardSsh {
    pub fn new(learned_known_hosts: PathBuf) -> WizardSsh {
        let t = SshTransport::new(ssh_config(learned_known_hosts.clone(), None));
        WizardSsh {
            learned: learned_known_hosts,
            current: Mutex::new((None, Arc::new(t), Vec::new())),
        }
    }

    fn transport(&self) -> Arc<SshTransport> {
        self.current.lock().expect("not poisoned").1.clone()
    }

    /// The inventory known_hosts file now trusted (tests).
    pub fn inventory_known_hosts(&self) -> Option<PathBuf> {
        self.current.lock().expect("not poisoned").0.clone()
    }
}

impl Transport for WizardSsh {
    type Session = <SshTransport as Transport>::Session;

    fn connect(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> impl Future<Output = Result<Self::Session, TransportError>> + Send {
        let t = self.transport();
        let target = target.clone();
        async move { t.connect(&target, questions).await }
    }

    fn use_inventory(&self, cluster: &Cluster) {
        let mut cfg = ssh_config(self.learned.clone(), cluster.known_hosts.as_deref());
        add_config_known_hosts(&mut cfg, cluster);
        let mut cur = self.current.lock().expect("not poisoned");
        if cur.0 != cluster.known_hosts || cur.2 != cfg.known_hosts {
            let files = cfg.known_hosts.clone();
            *cur = (
                cluster.known_hosts.clone(),
                Arc::new(SshTransport::new(cfg)),
                files,
            );
        }
    }
}
