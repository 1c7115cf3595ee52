//! The cluster view's state and updates: a status read (`Command::Status`, the status plan on
//! the engine) when the view opens, on `r`, and every [`REFRESH`] while it is shown; never two
//! at once. Synchronous, no I/O.

use std::time::Duration;

use super::keymap::Action;
use super::model::{Command, Model, Screen};
use crate::day2::ClusterStatus;

/// How often the view reads the cluster again by itself.
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub status: Option<Box<ClusterStatus>>,
    /// A read is under way.
    pub loading: bool,
    /// The last read failed as a whole (not a part of the cluster: those are problems).
    pub error: Option<String>,
    /// When the last read ended (`Model::now`).
    pub at: Option<Duration>,
    pub scroll: u16,
    /// The screen `Esc` goes back to.
    pub back: Option<Screen>,
}

fn read(m: &mut Model) -> Vec<Command> {
    let Some(c) = m.cluster.clone() else {
        m.cluster_view.error = Some("no inventory loaded: open one from the welcome screen".into());
        return vec![];
    };
    if m.cluster_view.loading {
        return vec![];
    }
    m.cluster_view.loading = true;
    vec![Command::Status {
        cluster: Box::new(c),
        config: super::day2_wizard::inventory_path(m).display().to_string(),
        secrets: m.secrets.clone(),
        accepted: m.accepted_keys.clone(),
    }]
}

/// Opens the view and reads the cluster.
pub fn open(m: &mut Model) -> Vec<Command> {
    if m.screen != Screen::Cluster {
        m.cluster_view.back = Some(m.screen);
    }
    m.screen = Screen::Cluster;
    read(m)
}

pub fn action(m: &mut Model, a: Action) -> Vec<Command> {
    match a {
        Action::Refresh => read(m),
        Action::Up => {
            m.cluster_view.scroll = m.cluster_view.scroll.saturating_sub(1);
            vec![]
        }
        Action::Down => {
            m.cluster_view.scroll = m.cluster_view.scroll.saturating_add(1);
            vec![]
        }
        Action::Back => {
            m.screen = m.cluster_view.back.unwrap_or(Screen::Welcome);
            vec![]
        }
        Action::AddNode => super::day2_wizard::open_add(m),
        Action::RemoveNode => super::day2_wizard::open_pick(m),
        Action::ResetCluster => super::day2_wizard::open_reset(m),
        Action::FixProblem => super::day2_wizard::fix_first(m),
        Action::UpgradeCluster => super::upgrade_dialog::open(m),
        _ => vec![],
    }
}

/// Every [`REFRESH`] while the view is shown, and at once when it was opened as the home screen
/// (before the runtime ran: nothing has been read yet).
pub fn tick(m: &mut Model) -> Vec<Command> {
    let v = &m.cluster_view;
    let due = match v.at {
        Some(at) => m.now.saturating_sub(at) >= REFRESH,
        None => v.error.is_none(),
    };
    if due && !m.cluster_view.loading {
        return read(m);
    }
    vec![]
}

pub fn arrived(m: &mut Model, r: Result<Box<ClusterStatus>, String>) -> Vec<Command> {
    let v = &mut m.cluster_view;
    v.loading = false;
    v.at = Some(m.now);
    match r {
        Ok(s) => {
            v.status = Some(s);
            v.error = None;
        }
        Err(e) => v.error = Some(e),
    }
    vec![]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    #[test]
    fn opens_reads_refreshes_and_never_twice_at_once() {
        let mut m = fixtures::done();
        let cmds = open(&mut m);
        assert!(matches!(cmds.as_slice(), [Command::Status { .. }]));
        assert_eq!(m.screen, Screen::Cluster);
        assert!(
            action(&mut m, Action::Refresh).is_empty(),
            "one read at a time"
        );
        m.now += Duration::from_secs(30);
        assert!(tick(&mut m).is_empty(), "still loading");
        arrived(&mut m, Err("boom".into()));
        assert_eq!(m.cluster_view.error.as_deref(), Some("boom"));
        m.now += Duration::from_secs(5);
        assert!(tick(&mut m).is_empty(), "not due yet");
        m.now += REFRESH;
        assert_eq!(tick(&mut m).len(), 1, "due");
        arrived(&mut m, Ok(Box::new(fixtures::cluster_status())));
        assert!(m.cluster_view.error.is_none());
        assert_eq!(action(&mut m, Action::Refresh).len(), 1, "r reads again");
        action(&mut m, Action::Back);
        assert_eq!(m.screen, Screen::Done);
    }
}
