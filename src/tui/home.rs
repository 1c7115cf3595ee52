//! The wizard's home screen: when the inventory it starts with is a cluster kha-tui installed —
//! its state file says every step of the install plan is done, on the machines it recorded for
//! each host (SSH host key or machine-id) — it opens on the cluster view instead of the welcome
//! screen. The status read that follows connects to those machines and checks their host keys.

use std::path::{Path, PathBuf};

use super::form::Form;
use super::model::{Model, Screen};
use crate::engine::state::State;
use crate::inventory::Cluster;

/// Why `cluster` does not count as installed, or `Ok` when it does.
pub fn installed(state_dir: &Path, c: &Cluster) -> Result<(), String> {
    let st = State::load(state_dir, &c.name).map_err(|e| e.to_string())?;
    let plan = crate::plan::build(c);
    if let Some((_, s)) = plan.steps().find(|(_, s)| !st.is_done(&s.node, &s.id)) {
        return Err(format!("{} on {} is not done", s.id, s.node));
    }
    for h in c.all_hosts() {
        let known = st
            .machines
            .get(&h.name)
            .is_some_and(|m| !m.host_key.is_empty() || !m.machine_id.is_empty());
        if !known {
            return Err(format!("no machine identity recorded for {}", h.name));
        }
    }
    Ok(())
}

/// The inventory at `path`, checked as `kha-tui check` does, when it is installed.
pub fn installed_inventory(state_dir: &Path, path: &Path) -> Option<(String, Cluster)> {
    let text = std::fs::read_to_string(path).ok()?;
    let file = crate::inventory::parse(&text).ok()?;
    let (c, _) = crate::inventory::ssh_effective::check(&file).ok()?;
    installed(state_dir, &c).ok()?;
    Some((text, c))
}

/// Opens the model on the cluster view of `c` (its inventory `text` read from `path`); the
/// first tick reads the cluster.
pub fn open(m: &mut Model, text: String, path: PathBuf, c: Cluster) {
    m.form = Form::from_text(&text, Some(path.clone())).ok();
    m.inventory.path = Some(path);
    m.inventory.text = Some(text);
    m.cluster = Some(c);
    m.cluster_view.back = Some(Screen::Welcome);
    m.screen = Screen::Cluster;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::{NodeIdentity, StepRecord, StepStatus};

    fn cluster() -> Cluster {
        let f = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        crate::inventory::validate::check(&f).unwrap().0
    }

    #[test]
    fn installed_needs_every_step_done_and_every_machine_known() {
        let dir = tempfile::tempdir().unwrap();
        let c = cluster();
        assert!(installed(dir.path(), &c).unwrap_err().contains("not done"));
        let mut st = State {
            cluster: c.name.clone(),
            ..Default::default()
        };
        let done = StepRecord {
            status: StepStatus::Done,
            at: 1,
            duration_ms: 1,
            reason: None,
        };
        for (_, s) in crate::plan::build(&c).steps() {
            st.set(&s.node, &s.id, done.clone());
        }
        st.save(dir.path()).unwrap();
        let e = installed(dir.path(), &c).unwrap_err();
        assert!(e.contains("no machine identity"), "{e}");
        for h in c.all_hosts() {
            st.machines.insert(
                h.name.clone(),
                NodeIdentity {
                    host_key: String::new(),
                    machine_id: format!("id-{}", h.name),
                },
            );
        }
        st.save(dir.path()).unwrap();
        assert_eq!(installed(dir.path(), &c), Ok(()));
        // One step failed since (a resumed run): not installed.
        let (_, last) = crate::plan::build(&c)
            .steps()
            .last()
            .map(|(i, s)| (i, s.clone()))
            .unwrap();
        st.set(
            &last.node,
            &last.id,
            StepRecord {
                status: StepStatus::Failed,
                ..done
            },
        );
        st.save(dir.path()).unwrap();
        assert!(installed(dir.path(), &c).is_err());
    }

    #[test]
    fn opened_as_home_the_first_tick_reads_the_cluster() {
        let mut m = crate::tui::fixtures::welcome();
        let c = cluster();
        open(
            &mut m,
            crate::inventory::EXAMPLE.into(),
            "/tmp/c.toml".into(),
            c,
        );
        assert_eq!(m.screen, Screen::Cluster);
        let cmds = crate::tui::update(
            &mut m,
            crate::tui::Msg::Tick(std::time::Duration::from_millis(50)),
        );
        assert!(
            matches!(cmds.as_slice(), [crate::tui::Command::Status { config, .. }] if config == "/tmp/c.toml"),
            "{cmds:?}"
        );
        // Esc goes to the welcome screen (another inventory, or a new one).
        let esc = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Esc);
        crate::tui::update(&mut m, crate::tui::Msg::Key(esc));
        assert_eq!(m.screen, Screen::Welcome);
    }
}
