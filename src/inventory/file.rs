//! The inventory file exactly as an operator writes it (TOML). Values stay as text here so that
//! validation can name the key and the fix for every bad one; `validate` turns this into a typed
//! [`super::Cluster`].

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryFile {
    pub cluster: ClusterSection,
    pub load_balancer: LoadBalancerSection,
    #[serde(default)]
    pub ssh: SshSection,
    #[serde(default)]
    pub nodes: Vec<NodeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    pub name: String,
    /// "1.NN"; empty = the newest supported minor of the versions table.
    #[serde(default)]
    pub kubernetes_version: String,
    #[serde(default = "default_pod_subnet")]
    pub pod_subnet: String,
    #[serde(default = "default_service_subnet")]
    pub service_subnet: String,
    #[serde(default = "default_cni")]
    pub cni: String,
    /// Empty = the preferred Calico of the chosen minor.
    #[serde(default)]
    pub calico_version: String,
    #[serde(default)]
    pub package_mirror: String,
    #[serde(default = "default_containerd_source")]
    pub containerd_source: String,
    #[serde(default)]
    pub containerd_mirror: String,
    #[serde(default)]
    pub manifest_mirror: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSection {
    /// Name the LB node goes by in plans, logs and state; must differ from every node's.
    #[serde(default = "default_lb_name")]
    pub name: String,
    pub address: String,
    /// DNS name for controlPlaneEndpoint; empty = address.
    #[serde(default)]
    pub endpoint: String,
    #[serde(default = "default_api_port")]
    pub port: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSection {
    #[serde(default = "default_ssh_user")]
    pub user: String,
    #[serde(default = "default_ssh_port")]
    pub port: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
    #[serde(default)]
    pub use_agent: bool,
    /// An extra known_hosts file to trust (e.g. one the operator pinned); read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
}

impl Default for SshSection {
    fn default() -> Self {
        SshSection {
            user: default_ssh_user(),
            port: default_ssh_port(),
            identity_file: None,
            use_agent: false,
            known_hosts: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub name: String,
    pub address: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
}

fn default_pod_subnet() -> String {
    "10.244.0.0/16".into()
}
fn default_service_subnet() -> String {
    "10.96.0.0/12".into()
}
fn default_cni() -> String {
    "calico".into()
}
fn default_containerd_source() -> String {
    "auto".into()
}
fn default_lb_name() -> String {
    "lb".into()
}
fn default_api_port() -> i64 {
    6443
}
fn default_ssh_user() -> String {
    "root".into()
}
fn default_ssh_port() -> i64 {
    22
}

impl InventoryFile {
    pub fn from_toml(text: &str) -> Result<InventoryFile, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("inventory serializes")
    }
}
