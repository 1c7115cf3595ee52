//! The drill screen's updates: start (prepare, then ask, default No), the answer, the
//! per-second counts and steps as they come, the report.

use super::super::keymap::Action;
use super::super::model::{Command, Model, Screen};
use super::super::model_drill::{DrillMsg, DrillPhase, DrillScreen};
use crate::drill::DrillEvent;

/// Opens the drill screen and asks the runtime to prepare it (nothing is stopped yet).
pub(super) fn start(m: &mut Model) -> Vec<Command> {
    m.screen = Screen::Drill;
    if m.simulated {
        // The drill measures real requests against real hosts; a simulated fleet has neither.
        m.drill = DrillScreen {
            phase: DrillPhase::NotRun {
                why: "the drill measures a real cluster, and this one is simulated: run it after a real install (kha-tui wizard, or kha-tui drill --config FILE)".into(),
            },
            ..Default::default()
        };
        return vec![];
    }
    let Some(cluster) = m.cluster.clone() else {
        m.drill = DrillScreen {
            phase: DrillPhase::NotRun {
                why: "no cluster: finish the inventory and the install first".into(),
            },
            ..Default::default()
        };
        return vec![];
    };
    m.drill = DrillScreen {
        phase: DrillPhase::Preparing,
        ..Default::default()
    };
    vec![Command::DrillPrepare {
        cluster: Box::new(cluster),
        secrets: m.secrets.clone(),
    }]
}

pub(super) fn drill_action(m: &mut Model, a: Action) -> Vec<Command> {
    match (&m.drill.phase, a) {
        (DrillPhase::Confirm { .. }, Action::DialogYes) => {
            m.drill.phase = DrillPhase::Running;
            vec![Command::DrillAnswer { yes: true }]
        }
        (DrillPhase::Confirm { .. }, Action::DialogNo) => {
            m.drill.phase = DrillPhase::NotRun {
                why: "you said no: nothing was stopped".into(),
            };
            vec![Command::DrillAnswer { yes: false }]
        }
        (DrillPhase::Preparing | DrillPhase::Running, Action::DrillStop) => vec![Command::Stop],
        (_, Action::Drill) if !m.drill.running() => start(m),
        (_, Action::Back) if !m.drill.running() => {
            // Opened from the cluster view as home (no install in this session): back there.
            m.screen = if m.run.summary.is_none() {
                Screen::Cluster
            } else {
                Screen::Done
            };
            vec![]
        }
        _ => vec![],
    }
}

pub(super) fn on_drill(m: &mut Model, msg: DrillMsg) -> Vec<Command> {
    let d = &mut m.drill;
    match msg {
        DrillMsg::Ready { what } => d.phase = DrillPhase::Confirm { what },
        DrillMsg::Failed(why) => d.phase = DrillPhase::NotRun { why },
        DrillMsg::Saved(p) => d.saved = p,
        DrillMsg::Event(DrillEvent::Second(s)) => d.seconds.push(s),
        DrillMsg::Event(DrillEvent::Step { scenario, text }) => d.steps.push((scenario, text)),
        DrillMsg::Event(DrillEvent::ScenarioDone(s)) => d.scenarios.push(*s),
        DrillMsg::Event(DrillEvent::Finished(r)) => {
            d.report = Some(*r);
            d.phase = DrillPhase::Finished;
        }
    }
    vec![]
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use super::super::super::fixtures::{done, key};
    use super::super::super::fixtures_drill::drill_confirm;
    use super::super::super::model::{Command, Msg, Screen};
    use super::super::super::model_drill::DrillPhase;
    use super::super::update;

    #[test]
    fn a_simulated_cluster_has_no_drill() {
        let mut m = done();
        assert!(m.simulated);
        let cmds = update(&mut m, key(KeyCode::Char('d')));
        assert!(cmds.is_empty(), "{cmds:?}");
        assert!(matches!(m.drill.phase, DrillPhase::NotRun { .. }));
    }

    #[test]
    fn d_on_done_prepares_the_drill_and_stops_nothing_yet() {
        let mut m = done();
        m.simulated = false;
        let cmds = update(&mut m, key(KeyCode::Char('d')));
        assert_eq!(m.screen, Screen::Drill);
        assert_eq!(m.drill.phase, DrillPhase::Preparing);
        assert!(
            matches!(cmds.as_slice(), [Command::DrillPrepare { .. }]),
            "{cmds:?}"
        );
    }

    #[test]
    fn the_question_defaults_to_no() {
        for k in [KeyCode::Enter, KeyCode::Esc, KeyCode::Char('n')] {
            let mut m = drill_confirm();
            let cmds = update(&mut m, key(k));
            assert!(
                matches!(cmds.as_slice(), [Command::DrillAnswer { yes: false }]),
                "{k:?}: {cmds:?}"
            );
            assert!(matches!(m.drill.phase, DrillPhase::NotRun { .. }), "{k:?}");
        }
        let mut m = drill_confirm();
        let cmds = update(&mut m, key(KeyCode::Char('y')));
        assert!(matches!(
            cmds.as_slice(),
            [Command::DrillAnswer { yes: true }]
        ));
        assert_eq!(m.drill.phase, DrillPhase::Running);
        // While it runs, Ctrl-C stops it (the drill restores before it reports).
        let cmds = update(
            &mut m,
            Msg::Key(crossterm::event::KeyEvent::new(
                KeyCode::Char('c'),
                crossterm::event::KeyModifiers::CONTROL,
            )),
        );
        assert!(matches!(cmds.as_slice(), [Command::Stop]), "{cmds:?}");
    }
}
