//! The inventory forms: the TOML's text fields as single-line editors, validated on every
//! keystroke with the same rules as `kha-tui check` (`validate::issues`).

use crossterm::event::KeyEvent;

pub use super::field::{Field, is_edit_key};
pub use super::form_ids::{Col, FieldId, Page};

use crate::inventory::file::InventoryFile;
use crate::inventory::validate;
use crate::inventory::{Issue, NodeEntry, Severity};
use crate::versions::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Worker,
}

#[derive(Debug, Clone)]
pub struct NodeRow {
    pub role: Role,
    pub name: Field,
    pub address: Field,
    pub user: Field,
    pub port: Field,
    /// Not edited here; kept from the loaded file.
    pub identity_file: Option<String>,
}

impl NodeRow {
    pub fn cell(&self, col: Col) -> &Field {
        match col {
            Col::Name => &self.name,
            Col::Address => &self.address,
            Col::User => &self.user,
            Col::Port => &self.port,
        }
    }
    fn cell_mut(&mut self, col: Col) -> &mut Field {
        match col {
            Col::Name => &mut self.name,
            Col::Address => &mut self.address,
            Col::User => &mut self.user,
            Col::Port => &mut self.port,
        }
    }
}

/// The three form pages' state. `base` keeps every key the forms do not edit (known_hosts,
/// per-node key files …) so that saving loses nothing.
#[derive(Debug, Clone)]
pub struct Form {
    pub base: InventoryFile,
    pub page: Page,
    /// Index into `focusables(page)`.
    pub focus: usize,
    pub lb_name: Field,
    pub lb_address: Field,
    pub lb_endpoint: Field,
    pub lb_port: Field,
    pub lb_vip: Field,
    pub lb_router_id: Field,
    pub backup_name: Field,
    pub backup_address: Field,
    pub ssh_user: Field,
    pub ssh_port: Field,
    pub use_agent: bool,
    pub identity_file: Field,
    /// Control planes first, then workers (kept in that order).
    pub rows: Vec<NodeRow>,
    pub cluster_name: Field,
    pub kubernetes: String,
    pub calico: String,
    pub pod_subnet: Field,
    pub service_subnet: Field,
    pub containerd: String,
    pub package_mirror: Field,
    pub package_mirror_key: Field,
    pub containerd_mirror: Field,
    pub containerd_mirror_key: Field,
    pub manifest_mirror: Field,
    /// Every issue of the current values: the form's own (numbers) then `kha-tui check`'s on
    /// exactly the text that would be written ([`Form::render`]).
    pub issues: Vec<Issue>,
    /// The same errors shown again on the other field they name ("10.0.0.10 is already used by
    /// load_balancer.address" also on the LB address), so an error shows on the page of every
    /// field it is about. Shown, not counted.
    pub related: Vec<Issue>,
    /// The text this inventory was loaded from (or last saved as): saving edits it in place,
    /// keeping the operator's comments and order. `None` for a new inventory.
    pub original: Option<String>,
    /// The file it came from or was last saved to; `None` = ask where before saving.
    pub path: Option<std::path::PathBuf>,
    /// A save under way: (where, what); it becomes `path` and `original` once written.
    pub saving: Option<(std::path::PathBuf, String)>,
}

fn opt_field(v: &Option<impl ToString>) -> Field {
    Field::new(&v.as_ref().map(|v| v.to_string()).unwrap_or_default())
}

impl Form {
    pub fn from_file(file: &InventoryFile) -> Form {
        let lb = &file.load_balancer;
        let mut rows: Vec<NodeRow> = Vec::new();
        let row = |n: &NodeEntry, role| NodeRow {
            role,
            name: Field::new(&n.name),
            address: Field::new(&n.address),
            user: opt_field(&n.user),
            port: opt_field(&n.port),
            identity_file: n.identity_file.clone(),
        };
        // Control planes first, then workers (nodes with another role count as workers here; the
        // validator reports the role).
        for n in file.nodes.iter().filter(|n| n.role == "control-plane") {
            rows.push(row(n, Role::ControlPlane));
        }
        for n in file.nodes.iter().filter(|n| n.role != "control-plane") {
            rows.push(row(n, Role::Worker));
        }
        let mut f = Form {
            base: file.clone(),
            page: Page::Access,
            focus: 0,
            lb_name: Field::new(&lb.name),
            lb_address: Field::new(&lb.address),
            lb_endpoint: Field::new(&lb.endpoint),
            lb_port: Field::new(&lb.port.to_string()),
            lb_vip: Field::new(&lb.vip),
            lb_router_id: opt_field(&lb.virtual_router_id),
            backup_name: Field::new(&lb.backup_name),
            backup_address: Field::new(&lb.backup_address),
            // Empty when the inventory leaves them to the ssh config (or the defaults).
            ssh_user: Field::new(file.ssh.user.as_deref().unwrap_or("")),
            ssh_port: Field::new(&file.ssh.port.map(|p| p.to_string()).unwrap_or_default()),
            use_agent: file.ssh.use_agent && file.ssh.identity_file.is_none(),
            // Never a key file nobody chose: empty until the operator gives one.
            identity_file: Field::new(file.ssh.identity_file.as_deref().unwrap_or("")),
            rows,
            cluster_name: Field::new(&file.cluster.name),
            kubernetes: file.cluster.kubernetes_version.clone(),
            calico: file.cluster.calico_version.clone(),
            pod_subnet: Field::new(&file.cluster.pod_subnet),
            service_subnet: Field::new(&file.cluster.service_subnet),
            containerd: file.cluster.containerd_source.clone(),
            package_mirror: Field::new(&file.cluster.package_mirror),
            package_mirror_key: Field::new(&file.cluster.package_mirror_key),
            containerd_mirror: Field::new(&file.cluster.containerd_mirror),
            containerd_mirror_key: Field::new(&file.cluster.containerd_mirror_key),
            manifest_mirror: Field::new(&file.cluster.manifest_mirror),
            issues: Vec::new(),
            related: Vec::new(),
            original: None,
            path: None,
            saving: None,
        };
        let table = Table::get();
        if f.kubernetes.is_empty() {
            f.kubernetes = table.default_minor().minor.clone();
        }
        if f.calico.is_empty()
            && let Some(m) = table.find(&f.kubernetes)
        {
            f.calico = m.default_calico().to_string();
        }
        f.revalidate();
        f
    }

    /// An inventory loaded from `text` (read from `path`, if any): saving edits that text.
    pub fn from_text(text: &str, path: Option<std::path::PathBuf>) -> Result<Form, String> {
        let file = crate::inventory::parse(text)?;
        let mut f = Form::from_file(&file);
        f.original = Some(text.to_string());
        f.path = path;
        f.revalidate();
        Ok(f)
    }

    /// A new inventory: today's defaults, three control planes and one worker to fill in. The
    /// addresses and the key file are left empty: nothing is chosen for the operator.
    pub fn blank() -> Form {
        let text = format!(
            "[cluster]\nname = \"cluster\"\nkubernetes_version = \"{}\"\n[load_balancer]\naddress = \"\"\n",
            Table::get().default_minor().minor
        );
        let mut file = InventoryFile::from_toml(&text).expect("blank inventory parses");
        for (name, role) in [
            ("master1", "control-plane"),
            ("master2", "control-plane"),
            ("master3", "control-plane"),
            ("worker1", "worker"),
        ] {
            file.nodes.push(NodeEntry {
                name: name.into(),
                address: String::new(),
                role: role.into(),
                user: None,
                port: None,
                identity_file: None,
                jump: None,
            });
        }
        Form::from_file(&file)
    }

    /// What can have the focus on a page, in Tab order.
    pub fn focusables(&self, page: Page) -> Vec<FieldId> {
        match page {
            Page::Access => {
                let mut v = vec![
                    FieldId::LbName,
                    FieldId::LbAddress,
                    FieldId::LbEndpoint,
                    FieldId::LbPort,
                    FieldId::SshUser,
                    FieldId::SshPort,
                    FieldId::Auth,
                ];
                if !self.use_agent {
                    v.push(FieldId::IdentityFile);
                }
                // The pair last: optional, and a single LB needs none of it.
                v.extend([
                    FieldId::LbVip,
                    FieldId::LbRouterId,
                    FieldId::BackupName,
                    FieldId::BackupAddress,
                ]);
                v
            }
            Page::Nodes => (0..self.rows.len())
                .flat_map(|row| {
                    Col::ALL
                        .into_iter()
                        .map(move |col| FieldId::Node { row, col })
                })
                .collect(),
            Page::Cluster => vec![
                FieldId::ClusterName,
                FieldId::Kubernetes,
                FieldId::Calico,
                FieldId::PodSubnet,
                FieldId::ServiceSubnet,
                FieldId::Containerd,
                FieldId::PackageMirror,
                FieldId::PackageMirrorKey,
                FieldId::ContainerdMirror,
                FieldId::ContainerdMirrorKey,
                FieldId::ManifestMirror,
            ],
        }
    }

    pub fn focused(&self) -> Option<FieldId> {
        self.focusables(self.page).get(self.focus).copied()
    }

    pub fn field(&self, id: FieldId) -> Option<&Field> {
        Some(match id {
            FieldId::LbName => &self.lb_name,
            FieldId::LbAddress => &self.lb_address,
            FieldId::LbEndpoint => &self.lb_endpoint,
            FieldId::LbPort => &self.lb_port,
            FieldId::LbVip => &self.lb_vip,
            FieldId::LbRouterId => &self.lb_router_id,
            FieldId::BackupName => &self.backup_name,
            FieldId::BackupAddress => &self.backup_address,
            FieldId::SshUser => &self.ssh_user,
            FieldId::SshPort => &self.ssh_port,
            FieldId::IdentityFile => &self.identity_file,
            FieldId::Node { row, col } => self.rows.get(row)?.cell(col),
            FieldId::ClusterName => &self.cluster_name,
            FieldId::PodSubnet => &self.pod_subnet,
            FieldId::ServiceSubnet => &self.service_subnet,
            FieldId::PackageMirror => &self.package_mirror,
            FieldId::PackageMirrorKey => &self.package_mirror_key,
            FieldId::ContainerdMirror => &self.containerd_mirror,
            FieldId::ContainerdMirrorKey => &self.containerd_mirror_key,
            FieldId::ManifestMirror => &self.manifest_mirror,
            FieldId::Auth | FieldId::Kubernetes | FieldId::Calico | FieldId::Containerd => {
                return None;
            }
        })
    }

    fn field_mut(&mut self, id: FieldId) -> Option<&mut Field> {
        Some(match id {
            FieldId::LbName => &mut self.lb_name,
            FieldId::LbAddress => &mut self.lb_address,
            FieldId::LbEndpoint => &mut self.lb_endpoint,
            FieldId::LbPort => &mut self.lb_port,
            FieldId::LbVip => &mut self.lb_vip,
            FieldId::LbRouterId => &mut self.lb_router_id,
            FieldId::BackupName => &mut self.backup_name,
            FieldId::BackupAddress => &mut self.backup_address,
            FieldId::SshUser => &mut self.ssh_user,
            FieldId::SshPort => &mut self.ssh_port,
            FieldId::IdentityFile => &mut self.identity_file,
            FieldId::Node { row, col } => self.rows.get_mut(row)?.cell_mut(col),
            FieldId::ClusterName => &mut self.cluster_name,
            FieldId::PodSubnet => &mut self.pod_subnet,
            FieldId::ServiceSubnet => &mut self.service_subnet,
            FieldId::PackageMirror => &mut self.package_mirror,
            FieldId::PackageMirrorKey => &mut self.package_mirror_key,
            FieldId::ContainerdMirror => &mut self.containerd_mirror,
            FieldId::ContainerdMirrorKey => &mut self.containerd_mirror_key,
            FieldId::ManifestMirror => &mut self.manifest_mirror,
            FieldId::Auth | FieldId::Kubernetes | FieldId::Calico | FieldId::Containerd => {
                return None;
            }
        })
    }

    /// The text shown for a choice field.
    pub fn choice(&self, id: FieldId) -> Option<String> {
        match id {
            FieldId::Auth => Some(
                if self.use_agent {
                    "ssh-agent"
                } else {
                    "key file"
                }
                .into(),
            ),
            FieldId::Kubernetes => Some(self.kubernetes.clone()),
            FieldId::Calico => Some(self.calico.clone()),
            FieldId::Containerd => Some(self.containerd.clone()),
            _ => None,
        }
    }

    /// Types a key into the focused field; revalidates when the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let Some(id) = self.focused() else {
            return false;
        };
        let changed = self.field_mut(id).is_some_and(|f| f.input(key));
        if changed {
            self.revalidate();
        }
        changed
    }

    /// Sets a text field (tests, and loading).
    pub fn set(&mut self, id: FieldId, text: &str) {
        if let Some(f) = self.field_mut(id) {
            f.set(text);
        }
        self.revalidate();
    }

    /// Moves a choice field to the next (`+1`) or previous (`-1`) value.
    pub fn cycle(&mut self, id: FieldId, step: isize) {
        fn next(list: &[String], cur: &str, step: isize) -> String {
            if list.is_empty() {
                return cur.to_string();
            }
            let n = list.len() as isize;
            let i = match list.iter().position(|v| v == cur) {
                Some(i) => (i as isize + step).rem_euclid(n),
                None => 0,
            };
            list[i as usize].clone()
        }
        let table = Table::get();
        match id {
            FieldId::Auth => self.use_agent = !self.use_agent,
            FieldId::Kubernetes => {
                let minors: Vec<String> =
                    table.kubernetes.iter().map(|m| m.minor.clone()).collect();
                self.kubernetes = next(&minors, &self.kubernetes, step);
                // Keep the Calico choice when the new minor allows it, else take its preferred one.
                if let Some(m) = table.find(&self.kubernetes)
                    && !m.calico.contains(&self.calico)
                {
                    self.calico = m.default_calico().to_string();
                }
            }
            FieldId::Calico => {
                if let Some(m) = table.find(&self.kubernetes) {
                    self.calico = next(&m.calico, &self.calico, step);
                }
            }
            FieldId::Containerd => {
                let list = ["auto", "distro", "docker"].map(String::from);
                self.containerd = next(&list, &self.containerd, step);
            }
            _ => return,
        }
        self.revalidate();
    }

    pub fn control_planes(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.role == Role::ControlPlane)
            .count()
    }

    /// The inventory these fields describe, and the form's own problems (ports that are not numbers).
    pub fn to_file(&self) -> (InventoryFile, Vec<Issue>) {
        let mut local = Vec::new();
        let mut number = |key: String, f: &Field, default: i64| -> i64 {
            match f.text().trim().parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    local.push(Issue {
                        severity: Severity::Error,
                        key,
                        message: format!("{:?} is not a number", f.text()),
                        fix: "give a port number between 1 and 65535".into(),
                    });
                    default
                }
            }
        };
        let mut file = self.base.clone();
        file.load_balancer.name = self.lb_name.text().to_string();
        file.load_balancer.address = self.lb_address.text().to_string();
        file.load_balancer.endpoint = self.lb_endpoint.text().to_string();
        file.load_balancer.port = number("load_balancer.port".into(), &self.lb_port, 6443);
        file.load_balancer.vip = self.lb_vip.text().trim().to_string();
        let router_id = self.lb_router_id.text().trim();
        file.load_balancer.virtual_router_id = router_id.parse::<i64>().ok();
        file.load_balancer.backup_name = self.backup_name.text().trim().to_string();
        file.load_balancer.backup_address = self.backup_address.text().trim().to_string();
        file.ssh.user = Some(self.ssh_user.text().trim().to_string()).filter(|u| !u.is_empty());
        file.ssh.port = (!self.ssh_port.text().trim().is_empty())
            .then(|| number("ssh.port".into(), &self.ssh_port, 22));
        file.ssh.use_agent = self.use_agent;
        file.ssh.identity_file = if self.use_agent {
            None
        } else {
            Some(self.identity_file.text().to_string())
        };
        file.nodes = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| NodeEntry {
                name: r.name.text().to_string(),
                address: r.address.text().to_string(),
                role: match r.role {
                    Role::ControlPlane => "control-plane".into(),
                    Role::Worker => "worker".into(),
                },
                user: Some(r.user.text().to_string()).filter(|u| !u.is_empty()),
                port: if r.port.text().trim().is_empty() {
                    None
                } else {
                    Some(number(format!("nodes[{i}].port"), &r.port, 22))
                },
                identity_file: r.identity_file.clone(),
                // The form has no field for it: a node's jump from the file is kept.
                jump: self
                    .base
                    .nodes
                    .iter()
                    .find(|b| b.name == r.name.text())
                    .and_then(|b| b.jump.clone()),
            })
            .collect();
        file.cluster.name = self.cluster_name.text().to_string();
        // A version the file left to the default stays unwritten while it is that default: the
        // form shows it, but nothing is filled in that the operator did not choose.
        let table = Table::get();
        file.cluster.kubernetes_version = if self.base.cluster.kubernetes_version.is_empty()
            && self.kubernetes == table.default_minor().minor
        {
            String::new()
        } else {
            self.kubernetes.clone()
        };
        file.cluster.calico_version = if self.base.cluster.calico_version.is_empty()
            && table
                .find(&self.kubernetes)
                .is_some_and(|m| m.default_calico() == self.calico)
        {
            String::new()
        } else {
            self.calico.clone()
        };
        file.cluster.pod_subnet = self.pod_subnet.text().to_string();
        file.cluster.service_subnet = self.service_subnet.text().to_string();
        file.cluster.containerd_source = self.containerd.clone();
        file.cluster.package_mirror = self.package_mirror.text().to_string();
        file.cluster.package_mirror_key = self.package_mirror_key.text().to_string();
        file.cluster.containerd_mirror = self.containerd_mirror.text().to_string();
        file.cluster.containerd_mirror_key = self.containerd_mirror_key.text().to_string();
        file.cluster.manifest_mirror = self.manifest_mirror.text().to_string();
        if !router_id.is_empty() && file.load_balancer.virtual_router_id.is_none() {
            local.push(Issue {
                severity: Severity::Error,
                key: "load_balancer.virtual_router_id".into(),
                message: format!("{router_id:?} is not a number"),
                fix: "give a VRRP router id from 1 to 255, or leave it empty for one derived from the cluster name".into(),
            });
        }
        (file, local)
    }

    /// Edits not yet written: the text to write differs from what was loaded or saved.
    pub fn unsaved(&self) -> bool {
        self.original.as_deref() != Some(self.render().as_str())
    }

    /// The exact text Ctrl-S writes: the original file edited in place, or a new file.
    pub fn render(&self) -> String {
        let (file, _) = self.to_file();
        match &self.original {
            Some(orig) => file
                .to_toml_keeping(orig)
                .unwrap_or_else(|_| file.to_toml()),
            None => file.to_toml(),
        }
    }

    /// Runs `kha-tui check`'s validation on the text that would be written, so "valid" on the
    /// form means `check` accepts the saved file.
    pub fn revalidate(&mut self) {
        let (_, local) = self.to_file();
        let mut all = local.clone();
        match crate::inventory::parse(&self.render()) {
            Ok(file) => all.extend(
                validate::issues(&file)
                    .into_iter()
                    .filter(|i| !local.iter().any(|l| l.key == i.key)),
            ),
            Err(e) => all.push(Issue {
                severity: Severity::Error,
                key: "inventory".into(),
                message: e,
                fix: "the form cannot write this inventory; report it".into(),
            }),
        }
        all.sort_by_key(|i| i.severity);
        self.related = related_issues(&all);
        self.issues = all;
    }

    /// Issues of one field (errors first).
    pub fn issues_of(&self, id: FieldId) -> impl Iterator<Item = &Issue> {
        let key = id.key();
        self.issues
            .iter()
            .chain(&self.related)
            .filter(move |i| i.key == key)
    }

    /// Issues whose key no field on the page shows (e.g. `nodes`, `cluster.cni`).
    pub fn other_issues(&self, page: Page) -> Vec<&Issue> {
        let keys: Vec<String> = self
            .focusables(page)
            .into_iter()
            .map(FieldId::key)
            .collect();
        // Node fields of rows are listed even when not focusable (roles), and identity_file shows
        // on the key-file field only when it is visible.
        self.issues
            .iter()
            .filter(|i| Page::of_key(&i.key) == page && !keys.contains(&i.key))
            .collect()
    }

    pub fn errors_on(&self, page: Page) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error && Page::of_key(&i.key) == page)
            .count()
    }

    pub fn errors(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
            .count()
    }

    /// Focuses the first field of `page` with an error; false when there is none.
    pub fn focus_first_error(&mut self, page: Page) -> bool {
        let fields = self.focusables(page);
        for (i, id) in fields.iter().enumerate() {
            if self.issues_of(*id).any(|is| is.severity == Severity::Error) {
                self.page = page;
                self.focus = i;
                return true;
            }
        }
        false
    }

    /// Clamps the focus after the focusable set changed (e.g. agent on hides the key file).
    pub fn clamp_focus(&mut self) {
        let n = self.focusables(self.page).len();
        if self.focus >= n {
            self.focus = n.saturating_sub(1);
        }
    }
}

/// For every issue whose message names another field's key (`load_balancer.address`,
/// `nodes[3].address` …), the same issue keyed to that field, saying where it comes from.
fn related_issues(issues: &[Issue]) -> Vec<Issue> {
    let mut out = Vec::new();
    for i in issues {
        for other in keys_in(&i.message) {
            if other != i.key {
                out.push(Issue {
                    severity: i.severity,
                    key: other,
                    message: format!("{} (at {})", i.message, i.key),
                    fix: i.fix.clone(),
                });
            }
        }
    }
    out
}

/// Field keys mentioned in a message: `load_balancer.*`, `ssh.*`, `cluster.*`, `nodes[N].*`.
fn keys_in(message: &str) -> Vec<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | ':'))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| {
            let section = ["load_balancer.", "ssh.", "cluster.", "nodes["]
                .iter()
                .any(|p| w.starts_with(p));
            section
                && w.contains('.')
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c))
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::EXAMPLE;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn example() -> Form {
        Form::from_file(&InventoryFile::from_toml(EXAMPLE).unwrap())
    }

    #[test]
    fn the_example_round_trips_without_issues() {
        let f = example();
        assert_eq!(f.errors(), 0, "{:?}", f.issues);
        let (file, local) = f.to_file();
        assert!(local.is_empty());
        assert_eq!(file, InventoryFile::from_toml(EXAMPLE).unwrap());
    }

    #[test]
    fn a_bad_pod_subnet_is_an_error_on_its_field() {
        let mut f = example();
        f.set(FieldId::PodSubnet, "10.0.0.0/8");
        let msgs: Vec<_> = f
            .issues_of(FieldId::PodSubnet)
            .map(|i| i.message.clone())
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("contains master1 10.0.0.11")),
            "{msgs:?}"
        );
        assert!(f.errors_on(Page::Cluster) > 0);
        assert_eq!(f.errors_on(Page::Access), 0);
    }

    #[test]
    fn an_error_shows_on_every_field_it_names() {
        let mut f = example();
        // The LB takes a node's address: the error is the node's, and shows on the LB too.
        f.set(FieldId::LbAddress, "10.0.0.21");
        let on_lb: Vec<_> = f.issues_of(FieldId::LbAddress).collect();
        assert!(
            on_lb
                .iter()
                .any(|i| i.message.contains("already used by load_balancer.address")),
            "{on_lb:?}"
        );
        assert_eq!(f.errors_on(Page::Access), 0, "shown, not counted twice");
        // A node inside the pod subnet: on the pod subnet and on the node's address.
        let mut f = example();
        f.set(FieldId::PodSubnet, "10.0.0.0/16");
        let cell = FieldId::Node {
            row: 0,
            col: Col::Address,
        };
        assert!(
            f.issues_of(cell).any(|i| i.message.contains("pod subnet")),
            "{:?}",
            f.issues
        );
    }

    #[test]
    fn the_pair_is_typed_checked_by_checks_rules_and_saved_keeping_comments() {
        let mut f = example();
        f.original = Some(EXAMPLE.to_string());
        f.set(FieldId::LbEndpoint, "");
        f.set(FieldId::LbVip, "10.0.0.5");
        let on_vip: Vec<_> = f.issues_of(FieldId::LbVip).collect();
        assert!(
            on_vip
                .iter()
                .any(|i| i.message.contains("needs a second load balancer")),
            "{on_vip:?}"
        );
        f.set(FieldId::BackupAddress, "10.0.0.9");
        assert_eq!(f.errors(), 0, "{:?}", f.issues);
        f.set(FieldId::LbRouterId, "300");
        assert!(
            f.issues_of(FieldId::LbRouterId)
                .any(|i| i.message.contains("300"))
        );
        f.set(FieldId::LbRouterId, "x");
        assert!(
            f.issues_of(FieldId::LbRouterId)
                .any(|i| i.message == "\"x\" is not a number")
        );
        f.set(FieldId::LbRouterId, "42");
        f.set(FieldId::LbVip, "10.0.0.11");
        assert!(
            f.issues_of(FieldId::LbVip)
                .any(|i| i.message.contains("already used by nodes[0].address"))
        );
        f.set(FieldId::LbVip, "10.0.0.5");
        assert_eq!(f.errors(), 0, "{:?}", f.issues);
        let text = f.render();
        let back = InventoryFile::from_toml(&text).unwrap();
        assert_eq!(back.load_balancer.vip, "10.0.0.5");
        assert_eq!(back.load_balancer.backup_address, "10.0.0.9");
        assert_eq!(back.load_balancer.virtual_router_id, Some(42));
        assert!(
            text.contains("# The seed topology"),
            "comments stay:\n{text}"
        );
        assert!(
            text.contains("# A load-balancer pair (optional"),
            "the example's pair comment stays:\n{text}"
        );
        let (c, _) = crate::inventory::validate::check(&back).unwrap();
        assert_eq!(c.endpoint_host, "10.0.0.5");
    }

    #[test]
    fn typing_revalidates() {
        let mut f = example();
        f.page = Page::Cluster;
        f.focus = 3; // pod subnet
        for _ in 0..20 {
            f.input(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        }
        for c in "10.244.0.0/33".chars() {
            f.input(key(c));
        }
        assert_eq!(f.pod_subnet.text(), "10.244.0.0/33");
        assert!(f.issues_of(FieldId::PodSubnet).next().is_some());
    }

    #[test]
    fn a_port_that_is_not_a_number_is_refused() {
        let mut f = example();
        f.set(FieldId::LbPort, "64x3");
        let i = f.issues_of(FieldId::LbPort).next().unwrap();
        assert!(i.message.contains("not a number"));
        assert_eq!(f.issues_of(FieldId::LbPort).count(), 1);
    }

    #[test]
    fn rows_can_be_added_moved_and_removed() {
        let mut f = example();
        f.page = Page::Nodes;
        f.add_row(Role::Worker);
        assert_eq!(f.rows.len(), 7);
        assert_eq!(f.rows[6].name.text(), "worker4");
        // The new row has no address yet: an error on that cell.
        assert!(
            f.issues_of(FieldId::Node {
                row: 6,
                col: Col::Address
            })
            .next()
            .is_some()
        );
        f.toggle_role().unwrap();
        assert_eq!(f.rows[3].role, Role::ControlPlane);
        assert_eq!(f.control_planes(), 4);
        f.remove_row();
        assert_eq!(f.rows.len(), 6);
        assert_eq!(f.control_planes(), 3);
    }

    #[test]
    fn changing_the_minor_keeps_calico_valid() {
        let mut f = example();
        f.kubernetes = "1.35".into();
        f.calico = "v3.31.3".into();
        f.cycle(FieldId::Kubernetes, -1); // 1.35 → 1.36
        assert_eq!(f.kubernetes, "1.36");
        assert_eq!(f.calico, "v3.33.0");
        assert_eq!(f.errors(), 0, "{:?}", f.issues);
    }

    #[test]
    fn an_http_mirror_needs_its_key_on_the_key_field_as_check_says() {
        let mut f = example();
        f.set(FieldId::PackageMirror, "http://192.168.50.1/k8s");
        // The form's issue is check's own, word for word, on the key's field.
        let (file, _) = f.to_file();
        let checked = validate::issues(&file);
        let want = checked
            .iter()
            .find(|i| i.key == "cluster.package_mirror_key")
            .expect("check refuses an http mirror without a key");
        let shown: Vec<_> = f.issues_of(FieldId::PackageMirrorKey).collect();
        assert_eq!(shown, [want]);
        assert!(want.message.contains("plain http"), "{want:?}");
        assert!(want.fix.contains("package_mirror_key = "), "{want:?}");
        assert_eq!(f.errors_on(Page::Cluster), 1);
        // Not a fingerprint: refused on the same field.
        f.set(FieldId::PackageMirrorKey, "abc");
        assert!(
            f.issues_of(FieldId::PackageMirrorKey)
                .any(|i| i.message.contains("not an OpenPGP key fingerprint"))
        );
        // The key given: valid, and the text written has both keys, the comments kept.
        let fpr = "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567";
        f.set(FieldId::PackageMirrorKey, fpr);
        f.set(FieldId::ContainerdMirror, "https://192.168.50.1/docker");
        assert_eq!(f.errors(), 0, "{:?}", f.issues);
        f.original = Some(EXAMPLE.to_string());
        let text = f.render();
        assert!(
            text.contains(&format!("package_mirror_key = \"{fpr}\"")),
            "{text}"
        );
        assert!(text.contains("package_mirror = \"http://192.168.50.1/k8s\""));
        assert!(text.contains("containerd_mirror = \"https://192.168.50.1/docker\""));
        assert!(text.contains("# optional: replaces https://pkgs.k8s.io, same layout"));
        let back = crate::inventory::parse(&text).unwrap();
        assert!(validate::check(&back).is_ok());
        assert_eq!(Form::from_file(&back).package_mirror_key.text(), fpr);
        // Emptied again: the key is gone from the file.
        f.set(FieldId::PackageMirror, "");
        f.set(FieldId::PackageMirrorKey, "");
        let text = f.render();
        assert!(
            !text.lines().any(|l| l.starts_with("package_mirror_key")),
            "{text}"
        );
    }

    #[test]
    fn enter_and_tab_never_reach_a_field() {
        let mut f = example();
        assert!(!f.input(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
        assert!(!f.input(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
        assert!(!f.input(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::CONTROL)));
    }
}
