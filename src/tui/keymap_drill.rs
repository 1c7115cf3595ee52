//! The drill screen's keys (part of the one keymap): the question defaults to No.

use super::keymap::{Action, Binding, KeySpec, b};
use super::model::Model;
use super::model_drill::DrillPhase;

pub(super) fn bindings(m: &Model, v: &mut Vec<Binding>) {
    use super::keymap::{CTRL_C, ENTER, ESC, HELP_KEYS, N, Q, Y};
    match &m.drill.phase {
        DrillPhase::Confirm { .. } => {
            v.push(b(&[Y], "y", "yes, run the drill", Action::DialogYes));
            v.push(b(
                &[N, ENTER, ESC],
                "n/Enter",
                "no (default)",
                Action::DialogNo,
            ));
        }
        DrillPhase::Preparing | DrillPhase::Running => {
            v.push(b(
                &[CTRL_C],
                "Ctrl-C",
                "stop (restores first)",
                Action::DrillStop,
            ));
        }
        DrillPhase::Idle | DrillPhase::Finished | DrillPhase::NotRun { .. } => {
            v.push(b(&[KeySpec::ch('d')], "d", "drill again", Action::Drill));
            v.push(b(&[ESC], "Esc", "summary", Action::Back));
            v.push(b(&[Q], "q", "quit", Action::Quit));
            v.push(b(&[CTRL_C], "", "quit", Action::Quit));
        }
    }
    v.push(b(&HELP_KEYS, "?", "all keys", Action::Help));
}
