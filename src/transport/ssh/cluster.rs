//! The SSH settings and transport for a cluster's hosts, for the CLI and the wizard alike: what
//! every run trusts is OpenSSH's known_hosts files, kha-tui's own (where keys it is told to
//! accept are learned), the inventory's `[ssh] known_hosts`, and the ssh config's
//! `UserKnownHostsFile`s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{SshConfig, SshTransport};
use crate::inventory::Cluster;

/// The SSH settings for an inventory whose `[ssh] known_hosts` is `inventory_known_hosts`.
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
pub fn add_config_known_hosts(cfg: &mut SshConfig, cluster: &Cluster) {
    for f in cluster
        .all_hosts()
        .flat_map(|n| n.ssh.known_hosts_files.iter())
    {
        if !cfg.known_hosts.contains(f) {
            cfg.known_hosts.push(f.clone());
        }
    }
}
