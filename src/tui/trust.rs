//! The wizard's SSH transport trusts what the CLI trusts: OpenSSH's known_hosts files, kha-tui's
//! own, and the inventory's `[ssh] known_hosts`. The inventory is chosen after the wizard starts,
//! so the transport is rebuilt whenever it names another file; a key pinned there that changed is
//! refused, never offered as "unknown".

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::inventory::Cluster;
use crate::transport::ssh::{SshTransport, add_config_known_hosts, ssh_config};
use crate::transport::{HostKeyQuestion, Target, Transport, TransportError};

/// The wizard's transport, rebuilt with the trust sources of each inventory it is given.
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
        // A new run: a bastion that failed in the last one is tried again.
        cur.1.forget_failed_bastions();
    }
}
