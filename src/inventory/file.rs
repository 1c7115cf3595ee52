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
    /// sha256 of `operator-crds.yaml` as the manifest source serves it, replacing the versions
    /// table's (a mirror with manifests of its own, or a release the table has no sums for).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest_crds_sha256: String,
    /// As `manifest_crds_sha256`, for `tigera-operator.yaml`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest_operator_sha256: String,
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
    /// The pair's virtual address (keepalived moves it between this LB and the backup); empty
    /// = one LB, no keepalived. With it, the control-plane endpoint is the VIP unless
    /// `endpoint` names a DNS name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vip: String,
    /// VRRP's router id (1-255), unique per segment; unset = derived from the cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_router_id: Option<i64>,
    /// The second load balancer's name; empty = "lb2".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backup_name: String,
    /// The second load balancer's SSH address; empty = no pair.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backup_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_ssh_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_identity_file: Option<String>,
}

impl LoadBalancerSection {
    /// The backup's name as the inventory means it (`backup_name`, else "lb2").
    pub fn backup_name_or_default(&self) -> &str {
        if self.backup_name.is_empty() {
            DEFAULT_BACKUP_NAME
        } else {
            &self.backup_name
        }
    }
}

/// The backup load balancer's name when `backup_name` is not set.
pub const DEFAULT_BACKUP_NAME: &str = "lb2";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSection {
    /// Unset: the ssh config's `User`, else "root".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unset: the ssh config's `Port`, else 22.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
    #[serde(default)]
    pub use_agent: bool,
    /// An extra known_hosts file to trust (e.g. one the operator pinned); read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
    /// The OpenSSH client config to read (`ssh -F`); unset: `~/.ssh/config` when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Jump host(s) for every node of `[[nodes]]` ("user@bastion:22", "a,b"; "none" = none),
    /// as ProxyJump writes them; a node's own `jump` wins. Overrides the ssh config's ProxyJump.
    /// The load balancers are not included: kha-tui runs on the LB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
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
    /// This node's jump host(s), as `[ssh] jump`; "none" = dialled directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
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
                    *rows = merge_rows(rows, new_rows, implied_rows);
                }
                _ => {}
            }
        }
        Ok(doc.to_string())
    }
}

/// The `[[nodes]]` tables of `new`, each merged into the original table of the same node (found
/// by name, so its comments and the keys the form does not write follow the node whatever was
/// deleted, reordered or retyped around it). A renamed node keeps the table it had at the same
/// place when no other node took that table; a node with none gets a fresh one.
fn merge_rows(
    old: &toml_edit::ArrayOfTables,
    new: &toml_edit::ArrayOfTables,
    implied: Option<&toml_edit::ArrayOfTables>,
) -> toml_edit::ArrayOfTables {
    let name = |t: &toml_edit::Table| t.get("name").and_then(|v| v.as_str()).map(str::to_string);
    let new_names: Vec<Option<String>> = new.iter().map(name).collect();
    let old_names: Vec<Option<String>> = old.iter().map(name).collect();
    let mut used = vec![false; old.len()];
    let mut matched: Vec<Option<usize>> = new_names
        .iter()
        .map(|n| {
            let j = (0..old.len()).find(|&j| !used[j] && n.is_some() && old_names[j] == *n)?;
            used[j] = true;
            Some(j)
        })
        .collect();
    // Renamed: the table at the same place, if its node is gone.
    for (i, m) in matched.iter_mut().enumerate() {
        if m.is_none() && i < old.len() && !used[i] && !new_names.contains(&old_names[i]) {
            used[i] = true;
            *m = Some(i);
        }
    }
    // Written in the new order where the first node table was; the rest follow it.
    let first_position = old.iter().filter_map(|t| t.position()).min();
    let mut out = toml_edit::ArrayOfTables::new();
    for (i, nt) in new.iter().enumerate() {
        let mut t = match matched[i] {
            Some(j) => {
                let mut t = old.get(j).expect("an old row").clone();
                merge_table(&mut t, nt, implied.and_then(|r| r.get(j)));
                t
            }
            None => nt.clone(),
        };
        t.set_position(if i == 0 { first_position } else { None });
        out.push(t);
    }
    out
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
    let mut added: Vec<String> = Vec::new();
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
                    added.push(k.to_string());
                }
            }
        }
    }
    let keys: Vec<String> = target.iter().map(|(k, _)| k.to_string()).collect();
    let gone: Vec<String> = keys
        .iter()
        .filter(|k| !new.contains_key(k))
        .cloned()
        .collect();
    // Only optional keys that are now unset are left out of `new`. Their comments stay: on the
    // key that replaced them (identity_file -> use_agent), else on the key after them.
    for k in &gone {
        let comment = comment_of(target, k);
        target.remove(k);
        if comment.is_empty() {
            continue;
        }
        let after = keys
            .iter()
            .skip_while(|x| *x != k)
            .find(|x| !gone.contains(x) && !added.contains(x));
        if let Some(to) = added.first().or(after)
            && let Some(mut key) = target.key_mut(to)
        {
            let decor = key.leaf_decor_mut();
            let prefix = decor.prefix().and_then(|p| p.as_str()).unwrap_or("");
            decor.set_prefix(format!("{comment}{prefix}"));
        }
    }
}

/// The comment lines above key `k` and the comment after its value, as lines to put above
/// another key ("" when it has none).
fn comment_of(t: &toml_edit::Table, k: &str) -> String {
    let mut out = String::new();
    if let Some(key) = t.key(k)
        && let Some(p) = key.leaf_decor().prefix().and_then(|p| p.as_str())
    {
        for l in p.lines().filter(|l| l.trim_start().starts_with('#')) {
            out.push_str(l.trim_start());
            out.push('\n');
        }
    }
    if let Some(v) = t.get(k).and_then(|i| i.as_value())
        && let Some(sfx) = v.decor().suffix().and_then(|p| p.as_str())
        && let Some(c) = sfx.trim().strip_prefix('#')
    {
        out.push_str(&format!("#{c}\n"));
    }
    out
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
            jump: None,
        });
        let out = f.to_toml_keeping(COMMENTED).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), f);
        assert!(out.contains("# Our lab cluster — keep this comment"));
        assert!(out.contains("name = \"lab\"   # the cluster's name"));
        assert!(out.contains("# first control plane"));
        assert!(!out.contains("identity_file"), "{out}");
        assert!(!out.contains("192.168.50.21"));
    }

    const THREE: &str = r#"[cluster]
name = "lab"

[load_balancer]
address = "192.168.50.10"

# master1 is the first
[[nodes]]
name = "master1"
address = "192.168.50.11"
role = "control-plane"

# old disk
[[nodes]]
name = "master2"
address = "192.168.50.12"
role = "control-plane"
port = 2222

# spare rack
[[nodes]]
name = "master3"
address = "192.168.50.13"
role = "control-plane"
"#;

    /// The comment right above `name = "{node}"`'s table, in `out`.
    fn comment_above(out: &str, node: &str) -> String {
        let at = out.find(&format!("name = \"{node}\"")).expect(node);
        let before: Vec<&str> = out[..at].lines().collect();
        before[before.len() - 2].to_string()
    }

    #[test]
    fn node_tables_follow_their_node_not_their_place() {
        let f = InventoryFile::from_toml(THREE).unwrap();
        // Reordered (as Ctrl-P makes master3 the first).
        let mut g = f.clone();
        g.nodes.rotate_right(1);
        let out = g.to_toml_keeping(THREE).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), g, "{out}");
        assert_eq!(comment_above(&out, "master3"), "# spare rack", "{out}");
        assert_eq!(comment_above(&out, "master2"), "# old disk", "{out}");
        assert_eq!(comment_above(&out, "master1"), "# master1 is the first");
        assert!(out.find("master3").unwrap() < out.find("master1").unwrap());
        // A middle node deleted: the last keeps its comment, the deleted one's goes with it.
        let mut g = f.clone();
        g.nodes.remove(1);
        let out = g.to_toml_keeping(THREE).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), g, "{out}");
        assert_eq!(comment_above(&out, "master3"), "# spare rack", "{out}");
        assert!(!out.contains("# old disk"), "{out}");
        // A role toggle moves the node among the workers; its key and comment go with it.
        let mut g = f.clone();
        g.nodes[1].role = "worker".into();
        let w = g.nodes.remove(1);
        g.nodes.push(w);
        let out = g.to_toml_keeping(THREE).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), g, "{out}");
        assert_eq!(comment_above(&out, "master2"), "# old disk", "{out}");
        // A renamed node keeps its table.
        let mut g = f.clone();
        g.nodes[1].name = "cp2".into();
        let out = g.to_toml_keeping(THREE).unwrap();
        assert_eq!(comment_above(&out, "cp2"), "# old disk", "{out}");
    }

    #[test]
    fn switching_to_the_agent_keeps_the_key_files_comment() {
        let text = "[cluster]\nname = \"lab\"\n\n[load_balancer]\naddress = \"192.168.50.10\"\n\n[ssh]\nuser = \"ubuntu\"\n# the lab's deploy key, see the wiki\nidentity_file = \"~/.ssh/lab\" # rotated monthly\n";
        let mut f = InventoryFile::from_toml(text).unwrap();
        f.ssh.identity_file = None;
        f.ssh.use_agent = true;
        let out = f.to_toml_keeping(text).unwrap();
        assert_eq!(InventoryFile::from_toml(&out).unwrap(), f, "{out}");
        assert!(!out.contains("identity_file"), "{out}");
        assert!(
            out.contains("# the lab's deploy key, see the wiki\n"),
            "{out}"
        );
        assert!(out.contains("# rotated monthly\n"), "{out}");
    }
}
