//! The day-2 dialogs' keys (part of the one keymap). Letters go to the text field where there
//! is one, so the yes is Enter there (refused until the typed name matches); without a field,
//! y says yes and n no. Esc never changes anything.

use super::day2_wizard::Day2Dialog;
use super::keymap::*;
use crate::inventory::Role;

pub(super) fn bindings(d: &Day2Dialog) -> Vec<Binding> {
    let mut v = Vec::new();
    match d {
        Day2Dialog::Pick { .. } => {
            v.push(b(
                &[ENTER],
                "Enter",
                "remove this node…",
                Action::DialogEnter,
            ));
            v.push(b(&[UP, K], "↑↓", "node", Action::Up));
            v.push(b(&[DOWN, J], "", "next node", Action::Down));
            v.push(b(&[ESC, N], "Esc", "cancel", Action::DialogNo));
        }
        Day2Dialog::Remove { role, answers, .. } => {
            if *role == Role::ControlPlane {
                v.push(b(
                    &[ENTER],
                    "Enter",
                    "remove (name typed)",
                    Action::DialogEnter,
                ));
            } else {
                v.push(b(&[Y], "y", "remove it", Action::DialogYes));
                v.push(b(&[N], "n", "keep it", Action::DialogNo));
                v.push(b(&[ENTER], "", "(asks for y)", Action::DialogEnter));
            }
            if !*answers {
                v.push(b(
                    &[TAB, BACKTAB],
                    "Tab",
                    "unreachable on/off",
                    Action::DialogToggle,
                ));
            }
            v.push(b(&[ESC], "Esc", "cancel", Action::DialogNo));
            if *role == Role::ControlPlane {
                text_field(&mut v);
            }
        }
        Day2Dialog::Reset { .. } => {
            v.push(b(
                &[ENTER],
                "Enter",
                "reset (name typed)",
                Action::DialogEnter,
            ));
            v.push(b(&[ESC], "Esc", "cancel", Action::DialogNo));
            text_field(&mut v);
        }
        Day2Dialog::Add {
            confirm: Some(_), ..
        } => {
            v.push(b(&[Y, ENTER], "y", "add it", Action::DialogYes));
            v.push(b(&[N, ESC], "n/Esc", "back to the form", Action::DialogNo));
        }
        Day2Dialog::Add { focus, .. } => {
            v.push(b(&[ENTER], "Enter", "check & review", Action::DialogEnter));
            v.push(b(&[TAB, DOWN], "Tab/↓", "field", Action::FocusNext));
            v.push(b(&[BACKTAB, UP], "", "previous field", Action::FocusPrev));
            if *focus == 3 {
                v.push(b(
                    &[KeySpec::ch(' '), LEFT, RIGHT],
                    "Space",
                    "worker / control plane",
                    Action::ToggleRole,
                ));
            }
            v.push(b(&[ESC], "Esc", "cancel", Action::DialogNo));
            if *focus < 3 {
                text_field(&mut v);
            }
        }
        Day2Dialog::Upgrade(u) => upgrade(u, &mut v),
    }
    v
}

/// The upgrade dialog: the name typed and Enter once the preflight allows it; Tab looks at a
/// later minor (refused, with the path); PgUp/PgDn scroll kubeadm's plan.
fn upgrade(u: &super::upgrade_dialog::UpgradeDialog, v: &mut Vec<Binding>) {
    if u.targets.is_empty() {
        v.push(b(&[ESC, ENTER], "Esc", "close", Action::DialogNo));
        return;
    }
    v.push(b(
        &[ENTER],
        "Enter",
        "upgrade (name typed)",
        Action::DialogEnter,
    ));
    if u.targets.len() > 1 {
        v.push(b(&[TAB], "Tab", "another minor", Action::ChoiceNext));
        v.push(b(&[BACKTAB], "", "previous minor", Action::ChoicePrev));
    }
    v.push(b(&[PGDN], "PgDn", "kubeadm's plan", Action::PageDown));
    v.push(b(&[PGUP], "", "kubeadm's plan back", Action::PageUp));
    v.push(b(&[ESC], "Esc", "cancel", Action::DialogNo));
    text_field(v);
}
