//! The dialogs' keys (part of the one keymap): every yes/no dialog takes y and n, Enter answers
//! the highlighted button, Esc says no.

use super::keymap::*;
use super::model::Popup;

pub(super) fn bindings(p: &Popup) -> Vec<Binding> {
    match p {
        Popup::HostKey { yes, .. } => vec![
            b(&[Y], "y", "accept", Action::DialogYes),
            b(&[ESC, N], "n/Esc", "reject", Action::DialogNo),
            b(
                &[ENTER],
                "Enter",
                if *yes { "accept" } else { "reject" },
                Action::DialogEnter,
            ),
            b(
                &[LEFT, RIGHT, TAB, BACKTAB],
                "←→",
                "choose",
                Action::DialogToggle,
            ),
        ],
        Popup::Confirm {
            yes, typed, chosen, ..
        } => {
            let mut v = Vec::new();
            if typed.is_none() {
                v.push(b(&[Y], "y", "run it", Action::DialogYes));
                v.push(b(&[N], "n", "don't run", Action::DialogNo));
            }
            v.push(b(
                &[ENTER],
                "Enter",
                match (*chosen || typed.is_some(), *yes) {
                    (false, _) => "(choose first)",
                    (true, true) => "run it",
                    (true, false) => "don't run",
                },
                Action::DialogEnter,
            ));
            v.push(b(&[TAB, BACKTAB], "Tab", "choose", Action::DialogToggle));
            v.push(b(&[ESC], "Esc", "don't run", Action::DialogNo));
            v.push(b(&[UP], "↑↓", "scroll", Action::Up));
            v.push(b(&[DOWN], "", "scroll down", Action::Down));
            v.push(b(&[PGUP], "", "a page up", Action::PageUp));
            v.push(b(&[PGDN], "", "a page down", Action::PageDown));
            if typed.is_none() {
                // With a typed confirmation, letters and ←→ go to the text field.
                v.push(b(&[LEFT, RIGHT], "", "choose", Action::DialogToggle));
            } else {
                text_field(&mut v);
            }
            v
        }
        Popup::Stop { yes } | Popup::Quit { yes } => {
            let stop = matches!(p, Popup::Stop { .. });
            vec![
                b(
                    &[Y],
                    "y",
                    if stop { "stop" } else { "quit" },
                    Action::DialogYes,
                ),
                b(
                    &[ESC, N],
                    "n/Esc",
                    if stop { "keep running" } else { "stay" },
                    Action::DialogNo,
                ),
                b(
                    &[ENTER],
                    "Enter",
                    match (stop, *yes) {
                        (true, true) => "stop",
                        (true, false) => "keep running",
                        (false, true) => "quit",
                        (false, false) => "stay",
                    },
                    Action::DialogEnter,
                ),
                b(
                    &[LEFT, RIGHT, TAB, BACKTAB],
                    "←→",
                    "choose",
                    Action::DialogToggle,
                ),
                // A second Ctrl-C while asked: treat as "no" (never an accidental yes).
                b(&[CTRL_C], "", "no", Action::DialogNo),
            ]
        }
        Popup::Secrets { .. } => {
            let mut v = vec![
                b(&[ENTER], "Enter", "use & check again", Action::DialogEnter),
                b(&[TAB, DOWN], "Tab/↓", "field", Action::FocusNext),
                b(&[BACKTAB, UP], "", "previous field", Action::FocusPrev),
                b(&[ESC], "Esc", "cancel", Action::DialogNo),
            ];
            text_field(&mut v);
            v
        }
        Popup::SaveAs { .. } => {
            let mut v = vec![
                b(&[ENTER], "Enter", "save here", Action::DialogEnter),
                b(&[ESC], "Esc", "cancel", Action::DialogNo),
            ];
            text_field(&mut v);
            v
        }
        Popup::Overwrite { yes, .. } => vec![
            b(&[Y], "y", "replace it", Action::DialogYes),
            b(&[ESC, N], "n/Esc", "keep it", Action::DialogNo),
            b(
                &[ENTER],
                "Enter",
                if *yes { "replace it" } else { "keep it" },
                Action::DialogEnter,
            ),
            b(
                &[LEFT, RIGHT, TAB, BACKTAB],
                "←→",
                "choose",
                Action::DialogToggle,
            ),
        ],
        Popup::Day2(d) => super::keymap_day2::bindings(d),
        Popup::KeyPassword { .. } => {
            let mut v = vec![
                b(&[ENTER], "Enter", "install the key", Action::DialogEnter),
                b(&[ESC], "Esc", "cancel", Action::DialogNo),
            ];
            text_field(&mut v);
            v
        }
        Popup::Script { .. } | Popup::Help { .. } => vec![
            b(&[ESC, ENTER, Q], "Esc", "close", Action::Close),
            b(&[UP, K], "↑↓", "scroll", Action::Up),
            b(&[DOWN, J], "", "scroll down", Action::Down),
            b(&[PGUP], "PgUp/Dn", "page up/down", Action::PageUp),
            b(&[PGDN], "", "a page down", Action::PageDown),
            b(&[HOME], "Home/End", "top/end", Action::Home),
            b(&[END], "", "the end", Action::End),
        ],
    }
}
