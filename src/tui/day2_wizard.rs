//! Day 2 from the wizard: the dialogs that add a node, remove one and reset the cluster (opened
//! from the cluster view), and what they hand to the runtime — the same plans as `kha-tui
//! add-node`, `remove-node` and `reset` (src/day2), run on the same engine and shown on the same
//! run dashboard. Synchronous, no I/O: the runtime writes the inventory and runs the plan
//! (`day2_task`).

use std::path::PathBuf;

use super::field::Field;
use super::keymap::Action;
use super::model::{Command, Dashboard, Level, Model, Popup, Screen, Secrets};
use crate::day2::inventory_edit;
use crate::inventory::{Cluster, Role};

/// The inventory the day-2 operations edit: its file and the text last read or written.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub path: Option<PathBuf>,
    pub text: Option<String>,
}

/// A day-2 dialog over the cluster view (one at a time, boxed in its popup).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Day2Dialog {
    /// Which node to remove (↑↓, Enter). `answers`: the last status read reached it.
    Pick {
        nodes: Vec<(String, Role, bool)>,
        selected: usize,
    },
    /// Remove `node`: a control plane needs its name typed; a node that does not answer can be
    /// removed as `--unreachable` (its member and Node object go, its own reset is skipped).
    Remove {
        node: String,
        role: Role,
        answers: bool,
        typed: Field,
        unreachable: bool,
        error: Option<String>,
    },
    /// Reset the whole cluster: its name typed.
    Reset {
        cluster: String,
        hosts: Vec<String>,
        typed: Field,
        error: Option<String>,
    },
    /// A new node: name, address, SSH user (empty = the inventory's default), and role. Once
    /// valid, `confirm` shows what will run and waits for y.
    Add {
        fields: [Field; 3],
        role: Role,
        /// 0..3 = the text fields, 3 = the role.
        focus: usize,
        error: Option<String>,
        /// The field the error is about.
        error_at: Option<usize>,
        /// The inventory text with the node added, validated; waiting for the yes.
        confirm: Option<Box<(String, Cluster)>>,
    },
    /// Upgrade to the next Kubernetes minor (see [`super::upgrade_dialog`]).
    Upgrade(Box<super::upgrade_dialog::UpgradeDialog>),
}

pub const ADD_FIELDS: [&str; 3] = ["name", "address", "user"];

/// What the runtime runs.
#[derive(Debug, Clone)]
pub enum Day2Job {
    /// Write `text` (the inventory with the new node) to `config`, then the addition.
    Add {
        cluster: Cluster,
        config: PathBuf,
        text: String,
    },
    Remove {
        cluster: Cluster,
        config: PathBuf,
        node: String,
        unreachable: bool,
    },
    Reset {
        cluster: Cluster,
    },
    /// A backup, then the upgrade plan (`kha-tui upgrade`'s), on the engine.
    Upgrade {
        cluster: Cluster,
        upgrade: Box<crate::day2::upgrade_plan::Upgrade>,
    },
}

impl Day2Job {
    pub fn title(&self) -> String {
        match self {
            Day2Job::Add { cluster, text, .. } => {
                let new = crate::inventory::parse(text)
                    .ok()
                    .and_then(|f| f.nodes.last().map(|n| n.name.clone()))
                    .unwrap_or_default();
                format!("add {new} to {}", cluster.name)
            }
            Day2Job::Remove { node, cluster, .. } => format!("remove {node} from {}", cluster.name),
            Day2Job::Reset { cluster } => format!("reset of {}", cluster.name),
            Day2Job::Upgrade { cluster, upgrade } => {
                format!("upgrade of {} to {}", cluster.name, upgrade.to)
            }
        }
    }
}

/// How a day-2 job ended, for the report dialog and the cluster view.
#[derive(Debug, Clone)]
pub struct Day2Report {
    pub ok: bool,
    pub title: String,
    pub lines: Vec<String>,
    /// The inventory after it (add, remove), re-read from the file.
    pub inventory: Option<(String, Cluster)>,
    /// The cluster is gone (a finished reset).
    pub reset: bool,
}

/// The day-2 job on the dashboard now (or last), for resume and for where a finished run goes.
#[derive(Debug, Clone, Default)]
pub struct Day2Run {
    pub job: Option<Day2Job>,
    pub running: bool,
    /// The run dashboard shows a day-2 job (not the install).
    pub on_dashboard: bool,
}

/// The inventory file day-2 operations edit and the status's fixes name.
pub fn inventory_path(m: &Model) -> PathBuf {
    m.inventory
        .path
        .clone()
        .or_else(|| m.form.as_ref().and_then(|f| f.path.clone()))
        .unwrap_or_else(|| m.save_path.clone())
}

fn inventory_text(m: &Model) -> Option<String> {
    m.inventory
        .text
        .clone()
        .or_else(|| m.form.as_ref().and_then(|f| f.original.clone()))
}

fn push(m: &mut Model, d: Day2Dialog) -> Vec<Command> {
    m.popups.push_front(Popup::Day2(Box::new(d)));
    vec![]
}

/// `a` on the cluster view.
pub fn open_add(m: &mut Model) -> Vec<Command> {
    if inventory_text(m).is_none() {
        m.status = Some((Level::Error, "no inventory file to add the node to".into()));
        return vec![];
    }
    push(
        m,
        Day2Dialog::Add {
            fields: [Field::new(""), Field::new(""), Field::new("")],
            role: Role::Worker,
            focus: 0,
            error: None,
            error_at: None,
            confirm: None,
        },
    )
}

/// The inventory's nodes: those the last status read could not reach or saw not Ready first,
/// then those a problem names.
fn removable(m: &Model) -> Vec<(String, Role, bool)> {
    let Some(c) = &m.cluster else { return vec![] };
    let s = m.cluster_view.status.as_deref();
    let answers = |n: &str| {
        s.is_none_or(|s| {
            !s.unreachable.iter().any(|u| u.node == n)
                && s.nodes.iter().all(|k| k.name != n || k.ready)
        })
    };
    let mut v: Vec<(String, Role, bool)> = c
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.role, answers(&n.name)))
        .collect();
    let offered = offers(m);
    v.sort_by_key(|(n, _, a)| (*a, !offered.contains(&Offer::Remove(n.clone()))));
    v
}

/// `x` on the cluster view: pick the node, then confirm.
pub fn open_pick(m: &mut Model) -> Vec<Command> {
    let nodes = removable(m);
    if nodes.is_empty() {
        m.status = Some((Level::Error, "no inventory loaded".into()));
        return vec![];
    }
    push(m, Day2Dialog::Pick { nodes, selected: 0 })
}

/// The removal dialog for `node` (from the picker, or a problem's offer).
pub fn open_remove(m: &mut Model, node: &str) -> Vec<Command> {
    let Some((name, role, answers)) = removable(m).into_iter().find(|(n, _, _)| n == node) else {
        m.status = Some((Level::Error, format!("{node} is not in the inventory")));
        return vec![];
    };
    push(
        m,
        Day2Dialog::Remove {
            node: name,
            role,
            answers,
            typed: Field::new(""),
            unreachable: !answers,
            error: None,
        },
    )
}

/// `R` on the cluster view.
pub fn open_reset(m: &mut Model) -> Vec<Command> {
    let Some(c) = &m.cluster else {
        m.status = Some((Level::Error, "no inventory loaded".into()));
        return vec![];
    };
    let d = Day2Dialog::Reset {
        cluster: c.name.clone(),
        hosts: c.all_hosts().map(|n| n.name.clone()).collect(),
        typed: Field::new(""),
        error: None,
    };
    push(m, d)
}

/// What fixes a problem of the last status read, when the wizard has it: (label, action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Open the removal dialog for this node.
    Remove(String),
    /// A command to run in a shell (another part of kha-tui does it).
    Command(String),
}

/// The actions the cluster view offers for what is wrong now, in the order of its problems:
/// a node that is not Ready or does not answer, or whose HAProxy backend is DOWN, or whose etcd
/// member is unhealthy → remove it (or re-add it: the problem's own fix says how); a certificate
/// under 30 days → `kha-tui certs renew`.
pub fn offers(m: &Model) -> Vec<Offer> {
    let mut v: Vec<Offer> = Vec::new();
    let Some(s) = m.cluster_view.status.as_deref() else {
        return v;
    };
    let in_inventory = |n: &str| {
        m.cluster
            .as_ref()
            .is_some_and(|c| c.nodes.iter().any(|x| x.name == n))
    };
    let mut add = |o: Offer| {
        if !v.contains(&o) {
            v.push(o);
        }
    };
    for u in &s.unreachable {
        if in_inventory(&u.node) {
            add(Offer::Remove(u.node.clone()));
        }
    }
    for n in s.nodes.iter().filter(|n| !n.ready) {
        if in_inventory(&n.name) {
            add(Offer::Remove(n.name.clone()));
        }
    }
    for e in &s.etcd_members {
        if e.healthy != Some(true) && in_inventory(&e.name) {
            add(Offer::Remove(e.name.clone()));
        }
    }
    for lb in &s.load_balancers {
        for b in lb.backends.iter().filter(|b| !b.up) {
            if in_inventory(&b.name) {
                add(Offer::Remove(b.name.clone()));
            }
        }
    }
    if s.certificates
        .iter()
        .any(|c| !c.authority && c.residual_days < crate::day2::status_checks::CERT_WARN_DAYS)
    {
        add(Offer::Command(format!(
            "kha-tui certs renew --config {}",
            crate::shell::quote(&inventory_path(m).display().to_string())
        )));
    }
    v
}

/// `f` on the cluster view: the first offer that the wizard runs itself.
pub fn fix_first(m: &mut Model) -> Vec<Command> {
    let o = offers(m);
    match o.iter().find(|o| matches!(o, Offer::Remove(_))) {
        Some(Offer::Remove(n)) => {
            let n = n.clone();
            open_remove(m, &n)
        }
        _ => {
            let text = match o.first() {
                Some(Offer::Command(c)) => format!("run in a shell: {c}"),
                _ => "nothing to fix from here".into(),
            };
            m.status = Some((Level::Info, text));
            vec![]
        }
    }
}

/// The inventory text with the new node, validated as `kha-tui check` would: `Err` = (field, why).
pub fn added_text(
    text: &str,
    fields: &[Field; 3],
    role: Role,
) -> Result<(String, Cluster), (usize, String)> {
    let name = fields[0].text().trim();
    let address = fields[1].text().trim();
    let user = fields[2].text().trim();
    if name.is_empty() {
        return Err((
            0,
            "name: type the new node's name (a DNS label, e.g. worker4)".into(),
        ));
    }
    if address.is_empty() {
        return Err((1, "address: type the address kha-tui reaches it at".into()));
    }
    let role_s = match role {
        Role::ControlPlane => "control-plane",
        _ => "worker",
    };
    let mut new =
        inventory_edit::with_node_added(text, name, address, role_s).map_err(|e| (0, e))?;
    if !user.is_empty() {
        let mut doc: toml_edit::DocumentMut = new.parse().map_err(|e| (2, format!("{e}")))?;
        if let Some(t) = doc
            .get_mut("nodes")
            .and_then(|n| n.as_array_of_tables_mut())
            .and_then(|a| a.iter_mut().last())
        {
            t.insert("user", toml_edit::value(user));
        }
        new = doc.to_string();
    }
    let file = crate::inventory::parse(&new).map_err(|e| (0, e.to_string()))?;
    let index = file.nodes.len().saturating_sub(1);
    match crate::inventory::ssh_effective::check(&file) {
        Ok((c, _)) => Ok((new, c)),
        Err(issues) => {
            let first = issues
                .iter()
                .find(|i| i.severity == crate::inventory::Severity::Error)
                .or(issues.first());
            let Some(i) = first else {
                return Err((0, "the inventory is not valid with this node".into()));
            };
            let at = ADD_FIELDS
                .iter()
                .position(|f| i.key == format!("nodes[{index}].{f}"))
                .or_else(|| i.message.contains(address).then_some(1))
                .unwrap_or(0);
            Err((at, format!("{}: {} — {}", i.key, i.message, i.fix)))
        }
    }
}

/// Puts the job on a fresh run dashboard and asks the runtime to run it.
pub(super) fn start(m: &mut Model, job: Day2Job) -> Vec<Command> {
    let root = m.run.log_root.clone();
    m.run = Dashboard {
        log_root: root,
        running: true,
        runs: 1,
        started: Some(m.now),
        ..Default::default()
    };
    m.run.logs.push_all(
        "kha-tui".into(),
        super::logs::LineKind::Marker,
        &format!("── {} ──", job.title()),
    );
    m.day2 = Day2Run {
        job: Some(job.clone()),
        running: true,
        on_dashboard: true,
    };
    m.screen = Screen::Run;
    vec![Command::Day2 {
        job: Box::new(job),
        secrets: m.secrets.clone(),
    }]
}

/// The dialog's keys.
pub fn action(m: &mut Model, a: Action) -> Vec<Command> {
    let config = inventory_path(m);
    let text = inventory_text(m);
    let cluster = m.cluster.clone();
    let Some(Popup::Day2(d)) = m.popups.front_mut() else {
        return vec![];
    };
    if a != Action::DialogNo && matches!(d.as_ref(), Day2Dialog::Upgrade(_)) {
        return super::upgrade_dialog::action(m, a);
    }
    if a == Action::DialogNo {
        if let Day2Dialog::Add { confirm, .. } = d.as_mut()
            && confirm.is_some()
        {
            *confirm = None;
            return vec![];
        }
        m.popups.pop_front();
        m.status = Some((Level::Info, "nothing was changed".into()));
        return vec![];
    }
    match d.as_mut() {
        Day2Dialog::Pick { nodes, selected } => match a {
            Action::Up => *selected = selected.saturating_sub(1),
            Action::Down => *selected = (*selected + 1).min(nodes.len().saturating_sub(1)),
            Action::DialogEnter => {
                let n = nodes[*selected].0.clone();
                m.popups.pop_front();
                return open_remove(m, &n);
            }
            _ => {}
        },
        Day2Dialog::Remove {
            node,
            role,
            answers,
            typed,
            unreachable,
            error,
        } => match a {
            Action::DialogToggle if !*answers => *unreachable = !*unreachable,
            Action::DialogEnter | Action::DialogYes => {
                if *role == Role::ControlPlane && typed.text().trim() != node.as_str() {
                    *error = Some(format!(
                        "type {node} to remove this control plane (its etcd member goes too)"
                    ));
                    return vec![];
                }
                if *role != Role::ControlPlane && a == Action::DialogEnter {
                    *error = Some("y removes it, n or Esc does not".into());
                    return vec![];
                }
                let Some(c) = cluster else { return vec![] };
                let job = Day2Job::Remove {
                    cluster: c,
                    config,
                    node: node.clone(),
                    unreachable: *unreachable,
                };
                m.popups.pop_front();
                return start(m, job);
            }
            _ => {}
        },
        Day2Dialog::Reset {
            cluster: name,
            typed,
            error,
            ..
        } => {
            if a == Action::DialogEnter {
                if typed.text().trim() != name.as_str() {
                    *error = Some(format!("type the cluster's name, {name}, to reset it"));
                    return vec![];
                }
                let Some(c) = cluster else { return vec![] };
                m.popups.pop_front();
                return start(m, Day2Job::Reset { cluster: c });
            }
        }
        Day2Dialog::Add {
            fields,
            role,
            focus,
            error,
            error_at,
            confirm,
        } => {
            if let Some(ok) = confirm {
                if matches!(a, Action::DialogYes | Action::DialogEnter) {
                    let (text, c) = (**ok).clone();
                    m.popups.pop_front();
                    return start(
                        m,
                        Day2Job::Add {
                            cluster: c,
                            config,
                            text,
                        },
                    );
                }
                return vec![];
            }
            match a {
                Action::FocusNext => *focus = (*focus + 1) % 4,
                Action::FocusPrev => *focus = (*focus + 3) % 4,
                Action::ToggleRole | Action::DialogToggle if *focus == 3 => {
                    *role = if *role == Role::Worker {
                        Role::ControlPlane
                    } else {
                        Role::Worker
                    };
                }
                Action::DialogEnter => {
                    let Some(text) = text else { return vec![] };
                    match added_text(&text, fields, *role) {
                        Ok(ok) => {
                            *error = None;
                            *error_at = None;
                            *confirm = Some(Box::new(ok));
                        }
                        Err((at, e)) => {
                            *error = Some(e);
                            *error_at = Some(at);
                            *focus = at;
                        }
                    }
                }
                _ => {}
            }
        }
        Day2Dialog::Upgrade(_) => {}
    }
    vec![]
}

/// The text field keys go to, in the dialog on top.
pub fn field_mut(d: &mut Day2Dialog) -> Option<&mut Field> {
    match d {
        Day2Dialog::Remove {
            typed, role, error, ..
        } if *role == Role::ControlPlane => {
            *error = None;
            Some(typed)
        }
        Day2Dialog::Reset { typed, error, .. } => {
            *error = None;
            Some(typed)
        }
        Day2Dialog::Add {
            fields,
            focus,
            confirm: None,
            ..
        } if *focus < 3 => Some(&mut fields[*focus]),
        Day2Dialog::Upgrade(u) => super::upgrade_dialog::field_mut(u),
        _ => None,
    }
}

/// The job ended (after its run and the inventory/state updates).
pub fn ended(m: &mut Model, r: Day2Report) -> Vec<Command> {
    m.day2.running = false;
    m.run.running = false;
    if let Some((text, c)) = &r.inventory {
        m.inventory.text = Some(text.clone());
        m.cluster = Some(c.clone());
        m.form = super::form::Form::from_text(text, Some(inventory_path(m))).ok();
    }
    m.status = Some(if r.ok {
        (Level::Info, format!("{}: done", r.title))
    } else {
        (
            Level::Error,
            format!(
                "{}: did not finish (r on the dashboard runs it again)",
                r.title
            ),
        )
    });
    let title = format!(" {} ", r.title);
    m.popups.push_front(Popup::Script {
        title,
        lines: r.lines.clone(),
        scroll: 0,
    });
    let mut cmds = vec![];
    if r.ok && !r.reset {
        m.day2.job = None;
        m.cluster_view.status = None;
        let under = m.popups.pop_front();
        cmds = super::cluster_view::open(m);
        if let Some(p) = under {
            m.popups.push_front(p);
        }
    } else if r.reset && r.ok {
        m.day2.job = None;
        m.cluster_view = Default::default();
    }
    cmds
}

/// `r` on the dashboard after a day-2 run that did not finish: the same job again (every step is
/// idempotent; done steps are skipped where the operation resumes).
pub fn retry(m: &mut Model) -> Option<Vec<Command>> {
    if !m.day2.on_dashboard {
        return None;
    }
    let job = m.day2.job.clone()?;
    if m.day2.running {
        return Some(vec![]);
    }
    Some(start(m, job))
}

/// Which secrets a job's command carries (for the log line: never their values).
pub fn describe(job: &Day2Job, s: &Secrets) -> String {
    format!("{} ({s:?})", job.title())
}
