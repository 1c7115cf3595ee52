//! `u` on the cluster view: upgrade the cluster to the next Kubernetes minor from the wizard.
//! The dialog offers the minors of the versions table above the one the cluster runs (the
//! lowest kubelet: an interrupted upgrade is continued), and only the next one runs — a later
//! one is refused with kubeadm's path, one minor at a time. For the next minor it runs the same
//! preflight as `kha-tui upgrade` (the status plan, containerd's version on every node,
//! `kubeadm upgrade plan` on the first control plane), shows kubeadm's output and kha-tui's
//! notes, and asks for the cluster's name typed; then the same upgrade (a backup first, then
//! the upgrade plan) runs as a day-2 job on the run dashboard, resumable with `r` there.
//! Synchronous, no I/O: the runtime reads (`Command::UpgradePrepare`) and runs.

use super::day2_wizard::{self, Day2Dialog, Day2Job};
use super::field::Field;
use super::keymap::Action;
use super::model::{Command, Level, Model, Popup};
use crate::day2::upgrade_plan::{Upgrade, check_target, current_minor};
use crate::versions::Table;

/// What the preflight read found (the runtime's answer to `Command::UpgradePrepare`).
#[derive(Debug, Clone)]
pub struct UpgradeRead {
    /// The minor it was read for.
    pub to: String,
    /// `kubeadm upgrade plan` on the first control plane, as it printed it.
    pub kubeadm_plan: Vec<String>,
    /// The plan, or why nothing may run (unhealthy, a skipped minor, ...).
    pub upgrade: Result<Box<Upgrade>, String>,
}

#[derive(Debug, Clone)]
pub enum Stage {
    /// The cluster runs the newest minor of the versions table.
    Newest,
    /// The preflight for the next minor is under way.
    Reading,
    /// The preflight read failed as a whole.
    Failed(String),
    /// The preflight's answer.
    Read(Box<UpgradeRead>),
}

#[derive(Debug, Clone)]
pub struct UpgradeDialog {
    pub cluster: String,
    /// The minor the cluster runs ("1.36").
    pub from: String,
    /// The minors of the versions table above `from`, oldest first (empty: at the newest).
    pub targets: Vec<String>,
    /// Index into `targets`; 0 = the next minor, the only one that can run now.
    pub selected: usize,
    pub stage: Stage,
    pub typed: Field,
    pub error: Option<String>,
    /// Lines of kubeadm's output scrolled past.
    pub scroll: usize,
}

impl UpgradeDialog {
    pub fn target(&self) -> Option<&str> {
        self.targets.get(self.selected).map(String::as_str)
    }

    /// Why the selected target cannot run (the rule `kha-tui upgrade --to` applies: the next
    /// minor only), with the path; `None` for the next minor.
    pub fn refusal(&self) -> Option<String> {
        let to = self.target()?;
        let from = crate::versions::minor_number(&self.from)?;
        check_target(Table::get(), from, to).err()?;
        let n = crate::versions::minor_number(to)?;
        let path: Vec<String> = (from..=n).map(|k| format!("1.{k}")).collect();
        Some(format!(
            "{to} is more than one minor ahead, and kubeadm upgrades one minor at a time. The path is {}: upgrade to 1.{} now (Tab back to it), then u again for each next minor",
            path.join(" → "),
            from + 1
        ))
    }

    /// The plan, when the preflight read allows one for the selected (next) minor.
    pub fn ready(&self) -> Option<&Upgrade> {
        if self.selected != 0 {
            return None;
        }
        match &self.stage {
            Stage::Read(r) => r.upgrade.as_deref().ok(),
            _ => None,
        }
    }
}

/// `u` on the cluster view.
pub fn open(m: &mut Model) -> Vec<Command> {
    let Some(c) = m.cluster.clone() else {
        m.status = Some((Level::Error, "no inventory loaded".into()));
        return vec![];
    };
    let Some(from_n) = m.cluster_view.status.as_deref().and_then(current_minor) else {
        m.status = Some((
            Level::Error,
            "upgrade: the nodes' versions are not read yet (r reads the cluster again)".into(),
        ));
        return vec![];
    };
    let mut targets: Vec<String> = Table::get()
        .kubernetes
        .iter()
        .filter(|k| k.minor_number() > from_n)
        .map(|k| k.minor.clone())
        .collect();
    targets.sort_by_key(|t| crate::versions::minor_number(t));
    let d = UpgradeDialog {
        cluster: c.name.clone(),
        from: format!("1.{from_n}"),
        stage: if targets.is_empty() {
            Stage::Newest
        } else {
            Stage::Reading
        },
        targets,
        selected: 0,
        typed: Field::new(""),
        error: None,
        scroll: 0,
    };
    let cmds = match d.target() {
        Some(to) => vec![Command::UpgradePrepare {
            cluster: Box::new(c),
            config: day2_wizard::inventory_path(m).display().to_string(),
            to: to.to_string(),
            secrets: m.secrets.clone(),
        }],
        None => vec![],
    };
    m.popups
        .push_front(Popup::Day2(Box::new(Day2Dialog::Upgrade(Box::new(d)))));
    cmds
}

/// The preflight's answer; kept only while its dialog is open (Esc before it came: dropped).
pub fn read(m: &mut Model, r: Result<Box<UpgradeRead>, String>) -> Vec<Command> {
    if let Some(Popup::Day2(d)) = m.popups.front_mut()
        && let Day2Dialog::Upgrade(u) = d.as_mut()
        && matches!(u.stage, Stage::Reading)
    {
        u.stage = match r {
            Ok(r) if Some(r.to.as_str()) == u.targets.first().map(String::as_str) => Stage::Read(r),
            Ok(r) => Stage::Failed(format!("the read was for {}, not this dialog's", r.to)),
            Err(e) => Stage::Failed(e),
        };
    }
    vec![]
}

/// The dialog's keys (Esc is handled by `day2_wizard::action`).
pub fn action(m: &mut Model, a: Action) -> Vec<Command> {
    let cluster = m.cluster.clone();
    let page = m.page_rows();
    let Some(Popup::Day2(d)) = m.popups.front_mut() else {
        return vec![];
    };
    let Day2Dialog::Upgrade(u) = d.as_mut() else {
        return vec![];
    };
    let n = u.targets.len().max(1);
    match a {
        Action::ChoiceNext => {
            u.selected = (u.selected + 1) % n;
            u.error = None;
        }
        Action::ChoicePrev => {
            u.selected = (u.selected + n - 1) % n;
            u.error = None;
        }
        Action::PageDown => {
            // The body is kha-tui's notes and phases and kubeadm's lines: no further than that.
            let max = match &u.stage {
                Stage::Read(r) => r.kubeadm_plan.len() + 40,
                _ => 0,
            };
            u.scroll = (u.scroll + page.max(1)).min(max);
        }
        Action::PageUp => u.scroll = u.scroll.saturating_sub(page.max(1)),
        Action::DialogEnter => {
            if let Some(why) = u.refusal() {
                u.error = Some(why);
                return vec![];
            }
            let Some(up) = u.ready().cloned() else {
                u.error = Some(match &u.stage {
                    Stage::Newest => "nothing to upgrade: Esc closes".into(),
                    Stage::Reading => {
                        "the preflight is still reading the cluster; wait for kubeadm's plan".into()
                    }
                    Stage::Failed(e) => format!("the preflight failed, nothing runs: {e}"),
                    Stage::Read(r) => match &r.upgrade {
                        Err(e) => format!("refused, nothing runs: {e}"),
                        Ok(_) => String::new(),
                    },
                });
                return vec![];
            };
            if u.typed.text().trim() != u.cluster {
                u.error = Some(format!(
                    "type the cluster's name, {}, to upgrade it to {}",
                    u.cluster, up.to
                ));
                return vec![];
            }
            let Some(c) = cluster else { return vec![] };
            m.popups.pop_front();
            return day2_wizard::start(
                m,
                Day2Job::Upgrade {
                    cluster: c,
                    upgrade: Box::new(up),
                },
            );
        }
        _ => {}
    }
    vec![]
}

/// The text field keys go to: the name, once there is something to confirm.
pub fn field_mut(u: &mut UpgradeDialog) -> Option<&mut Field> {
    u.error = None;
    Some(&mut u.typed)
}
