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
    /// Fingerprint of the key the package mirror signs with (its `Release.key`); needed when the
    /// mirror is plain http, where the key itself could be swapped on the way.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package_mirror_key: String,
    #[serde(default = "default_containerd_source")]
    pub containerd_source: String,
    #[serde(default)]
    pub containerd_mirror: String,
    /// As `package_mirror_key`, for the containerd mirror's `gpg` key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub containerd_mirror_key: String,
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

impl InventoryFile {
    /// This inventory written over `original` (the text it was loaded from): the operator's
    /// comments, blank lines, key order and quoting stay; only values that changed are replaced,
    /// keys that are gone are removed, and a key the original left to its default is added only
    /// when its value is no longer that default. Fails only when `original` is not TOML.
    pub fn to_toml_keeping(&self, original: &str) -> Result<String, String> {
        use toml_edit::{DocumentMut, Item};
        let mut doc: DocumentMut = original.parse().map_err(|e| format!("{e}"))?;
        let new: DocumentMut = self.to_toml().parse().expect("our own TOML parses");
        // What the original means once defaults are filled in: a key it does not spell out is
        // added only when the new value differs from this.
        let implied: Option<DocumentMut> = InventoryFile::from_toml(original)
            .ok()
            .and_then(|f| f.to_toml().parse().ok());
        for (section, item) in new.iter() {
            let implied_section = implied.as_ref().and_then(|d| d.get(section));
            match item {
                Item::Table(t) => {
                    if doc.get(section).and_then(Item::as_table).is_none() {
                        doc.insert(section, Item::Table(toml_edit::Table::new()));
                    }
                    let target = doc[section].as_table_mut().expect("a table");
                    merge_table(target, t, implied_section.and_then(Item::as_table));
                }
                Item::ArrayOfTables(new_rows) => {
                    if doc
                        .get(section)
                        .and_then(Item::as_array_of_tables)
                        .is_none()
                    {
                        doc.insert(
                            section,
                            Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
                        );
                    }
                    let rows = doc[section].as_array_of_tables_mut().expect("tables");
                    let implied_rows = implied_section.and_then(Item::as_array_of_tables);
                    for (i, nt) in new_rows.iter().enumerate() {
                        match rows.get_mut(i) {
                            Some(t) => merge_table(t, nt, implied_rows.and_then(|r| r.get(i))),
                            None => rows.push(nt.clone()),
                        }
                    }
                    while rows.len() > new_rows.len() {
                        rows.remove(rows.len() - 1);
                    }
                }
                _ => {}
            }
        }
        Ok(doc.to_string())
    }
}

/// Same value, whatever its quoting or decoration.
fn same_value(a: &toml_edit::Item, b: &toml_edit::Item) -> bool {
    match (a.as_value(), b.as_value()) {
        (Some(x), Some(y)) => {
            x.as_str() == y.as_str()
                && x.as_integer() == y.as_integer()
                && x.as_bool() == y.as_bool()
                && x.type_name() == y.type_name()
        }
        _ => false,
    }
}

fn merge_table(
    target: &mut toml_edit::Table,
    new: &toml_edit::Table,
    implied: Option<&toml_edit::Table>,
) {
    for (k, v) in new.iter() {
        match target.get_mut(k) {
            Some(old) if same_value(old, v) => {}
            Some(old) => {
                if let (Some(o), Some(nv)) = (old.as_value_mut(), v.as_value()) {
                    let decor = o.decor().clone();
                    *o = nv.clone();
                    *o.decor_mut() = decor;
                } else {
                    *old = v.clone();
                }
            }
            None => {
                let default = implied.and_then(|t| t.get(k));
                if !default.is_some_and(|d| same_value(d, v)) {
                    target.insert(k, v.clone());
                }
            }
        }
    }
    let gone: Vec<String> = target
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    // Only optional keys that are now unset are left out of `new`.
    for k in gone {
        target.remove(&k);
    }
}

#[cfg(test)]
mod keeping_tests {
    use super::*;

    const COMMENTED: &str = r#"# Our lab cluster — keep this comment
[cluster]
name = "lab"   # the cluster's name
kubernetes_version = "1.36"

# the LB runs on this machine
[load_balancer]
address = "192.168.50.10"

[ssh]
user = "ubuntu"
identity_file = "~/.ssh/lab"

# first control plane
[[nodes]]
name = "cp1"
address = "192.168.50.11"
role = "control-plane"

[[nodes]]
name = "w1"
address = "192.168.50.21"
role = "worker"
"#;

    #[test]
    fn an_edit_keeps_comments_order_and_unspelled_defaults() {
        let mut f = InventoryFile::from_toml(COMMENTED).unwrap();
        f.nodes[1].address = "192.168.50.22".into();
        let out = f.to_toml_keeping(COMMENTED).unwrap();
        assert_eq!(
            out,
            COMMENTED.replace("192.168.50.21", "192.168.50.22"),
            "only the changed value differs"
        );
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), f);
    }

    #[test]
    fn added_removed_and_changed_keys_and_rows() {
        let mut f = InventoryFile::from_toml(COMMENTED).unwrap();
        f.ssh.identity_file = None;
        f.ssh.use_agent = true;
        f.cluster.pod_subnet = "172.16.0.0/16".into();
        f.nodes.pop();
        f.nodes.push(NodeEntry {
            name: "cp2".into(),
            address: "192.168.50.12".into(),
            role: "control-plane".into(),
            user: None,
            port: Some(2222),
            identity_file: None,
        });
        let out = f.to_toml_keeping(COMMENTED).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), f);
        assert!(out.contains("# Our lab cluster — keep this comment"));
        assert!(out.contains("name = \"lab\"   # the cluster's name"));
        assert!(out.contains("# first control plane"));
        assert!(!out.contains("identity_file"), "{out}");
        assert!(!out.contains("192.168.50.21"));
    }
}
