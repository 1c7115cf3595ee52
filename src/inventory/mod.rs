//! The cluster model: what the operator asked for (`file`), the rules it must satisfy
//! (`validate`), and the typed, validated result (`Cluster`) the plan is built from.

pub mod file;
pub mod pair;
pub mod ssh_config;
pub mod ssh_effective;
pub mod ssh_jump;
pub mod validate;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

pub use file::{InventoryFile, NodeEntry};
pub use validate::{Issue, Severity};

use crate::versions::Minor;

pub const DEFAULT_PACKAGE_BASE: &str = "https://pkgs.k8s.io";
pub const DEFAULT_DOCKER_BASE: &str = "https://download.docker.com/linux";
pub const DEFAULT_MANIFEST_BASE: &str = "https://raw.githubusercontent.com/projectcalico/calico";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    LoadBalancer,
    ControlPlane,
    Worker,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::LoadBalancer => "load-balancer",
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerdSource {
    Auto,
    Distro,
    Docker,
}

impl ContainerdSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerdSource::Auto => "auto",
            ContainerdSource::Distro => "distro",
            ContainerdSource::Docker => "docker",
        }
    }
}

/// How to reach one node over SSH: the inventory's values, then the ssh config's, then
/// kha-tui's defaults (see [`ssh_effective`]); `sources` says which gave each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    pub user: String,
    pub port: u16,
    pub identity_file: Option<PathBuf>,
    /// The ssh config's other IdentityFiles that exist, in order: tried after `identity_file`
    /// when the server refuses it, as ssh tries each in turn.
    pub more_identity_files: Vec<PathBuf>,
    pub use_agent: bool,
    /// `IdentitiesOnly` (kha-tui offers an identity file alone whenever it has one).
    pub identities_only: bool,
    /// The jump host(s) on the way (the inventory's `jump`, else the ssh config's `ProxyJump`);
    /// `None` = dialled directly. A `ProxyCommand` is kept only to be refused when connecting.
    pub jump: Option<ssh_jump::Jump>,
    /// `UserKnownHostsFile` (expanded); empty = OpenSSH's defaults.
    pub known_hosts_files: Vec<PathBuf>,
    pub strict_host_keys: Option<ssh_config::StrictHostKeys>,
    pub connect_timeout: Option<std::time::Duration>,
    pub keepalive: Option<std::time::Duration>,
    pub sources: SshSources,
}

impl SshSettings {
    /// Settings given directly (benchmarks, tools): no ssh config, every source "default".
    pub fn direct(user: &str, port: u16, identity_file: Option<PathBuf>) -> SshSettings {
        SshSettings {
            user: user.into(),
            port,
            identity_file,
            more_identity_files: Vec::new(),
            use_agent: false,
            identities_only: false,
            jump: None,
            known_hosts_files: Vec::new(),
            strict_host_keys: None,
            connect_timeout: None,
            keepalive: None,
            sources: SshSources {
                host: Source::Default,
                user: Source::Default,
                port: Source::Default,
                identity: Source::Default,
            },
        }
    }
}

/// Where an effective SSH setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The inventory key that set it (e.g. `nodes[1].user`, `ssh.port`).
    Inventory(String),
    /// An ssh config line.
    SshConfig(ssh_config::At),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Inventory(key) => write!(f, "inventory {key}"),
            Source::SshConfig(at) => write!(f, "ssh config {at}"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// The source of each effective setting shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSources {
    pub host: Source,
    pub user: Source,
    pub port: Source,
    /// Of the identity file, or of `use_agent` when there is none.
    pub identity: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub address: IpAddr,
    pub role: Role,
    pub ssh: SshSettings,
}

/// Two load balancers sharing a virtual address (keepalived, unicast VRRP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbPair {
    /// The second HAProxy node; `Cluster::lb` is the first.
    pub backup: Node,
    /// The address clients use; keepalived holds it on one LB at a time.
    pub vip: IpAddr,
    /// VRRP's `virtual_router_id` (1–255), one per segment and pair.
    pub virtual_router_id: u8,
}

/// A validated inventory. Every value here passed `validate`.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub versions: Minor,
    pub pod_subnet: IpNet,
    pub service_subnet: IpNet,
    pub calico_version: String,
    /// Base URL replacing https://pkgs.k8s.io (no trailing slash).
    pub package_base: String,
    /// Fingerprint (40 uppercase hex) the package repository's signing key must have; empty
    /// when not pinned (only allowed over https).
    pub package_key: String,
    pub containerd_source: ContainerdSource,
    /// Base URL replacing https://download.docker.com/linux (no trailing slash).
    pub docker_base: String,
    /// As `package_key`, for the containerd repository.
    pub docker_key: String,
    /// Base URL replacing https://raw.githubusercontent.com/projectcalico/calico.
    pub manifest_base: String,
    /// The sha256 the Calico manifests must have: the inventory's pins, else the versions
    /// table's; `None` when neither knows them (applied unchecked, with a warning).
    pub calico_sums: Option<crate::versions::CalicoSums>,
    /// The load balancer kha-tui runs on (HAProxy; the admin kubeconfig lands here).
    pub lb: Node,
    /// A second load balancer and the virtual address keepalived moves between the two;
    /// `None` is the seed's single-LB topology.
    pub lb_pair: Option<LbPair>,
    /// controlPlaneEndpoint host (DNS name or address).
    pub endpoint_host: String,
    pub api_port: u16,
    /// Control planes first (in file order), then workers.
    pub nodes: Vec<Node>,
    pub known_hosts: Option<PathBuf>,
}

impl Cluster {
    pub fn control_planes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.role == Role::ControlPlane)
    }
    pub fn workers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.role == Role::Worker)
    }
    /// The node that runs `kubeadm init`.
    pub fn first_control_plane(&self) -> &Node {
        self.control_planes()
            .next()
            .expect("validated: at least one control plane")
    }
    /// The load balancers: `lb`, then the pair's backup when there is one.
    pub fn load_balancers(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.lb).chain(self.lb_pair.iter().map(|p| &p.backup))
    }
    /// Load balancers first, then control planes, then workers.
    pub fn all_hosts(&self) -> impl Iterator<Item = &Node> {
        self.load_balancers().chain(self.nodes.iter())
    }
    pub fn host(&self, name: &str) -> Option<&Node> {
        self.all_hosts().find(|n| n.name == name)
    }
    /// "host:port" for kubeadm's controlPlaneEndpoint, with IPv6 bracketed.
    pub fn control_plane_endpoint(&self) -> String {
        match self.endpoint_host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.endpoint_host, self.api_port),
            Err(_) => format!("{}:{}", self.endpoint_host, self.api_port),
        }
    }
}

/// Why an inventory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {} problem(s) found", .issues.iter().filter(|i| i.severity == Severity::Error).count())]
    Invalid { path: String, issues: Vec<Issue> },
}

/// Parses TOML text, with errors that name the line and the key.
pub fn parse(text: &str) -> Result<InventoryFile, String> {
    InventoryFile::from_toml(text).map_err(|e| {
        let mut msg = e.message().trim().to_string();
        if let Some(span) = e.span() {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            msg = format!("line {line}: {msg}");
        }
        msg
    })
}

/// Reads, parses and validates an inventory file. On success returns the cluster and its warnings.
pub fn load(path: &Path) -> Result<(Cluster, Vec<Issue>), LoadError> {
    load_with(path, None)
}

/// As [`load`], reading the ssh config `ssh_config` (`-F FILE`) instead of the inventory's.
pub fn load_with(
    path: &Path,
    ssh_config: Option<&Path>,
) -> Result<(Cluster, Vec<Issue>), LoadError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: p.clone(),
        source,
    })?;
    let mut file = parse(&text).map_err(|message| LoadError::Parse {
        path: p.clone(),
        message,
    })?;
    if let Some(cfg) = ssh_config {
        file.ssh.config = Some(cfg.display().to_string());
    }
    ssh_effective::check(&file).map_err(|issues| LoadError::Invalid { path: p, issues })
}

/// The seed topology shipped as an example (never a target of tests: its addresses are examples).
pub const EXAMPLE: &str = include_str!("../../assets/examples/cluster.toml");

/// The example with a load-balancer pair (VIP 10.0.0.5, the backup LB lb2 at 10.0.0.9), for the
/// pair's fixtures and unit tests; they set what else they need (endpoint, router id) on it.
pub fn example_pair() -> InventoryFile {
    let mut f = InventoryFile::from_toml(EXAMPLE).expect("the example parses");
    f.load_balancer.vip = "10.0.0.5".into();
    f.load_balancer.backup_address = "10.0.0.9".into();
    f
}
