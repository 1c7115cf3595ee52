//! The one keymap: what each key does on the current screen. `update` dispatches through it and
//! the footer is drawn from it, so the footer never lists a key that does nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::form::{FieldId, Page};
use super::model::{Model, Popup, Screen, WelcomeItem};
use crate::engine::events::CheckStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Quit now.
    Quit,
    /// Ask before quitting.
    QuitAsk,
    /// Ask before stopping the run.
    StopAsk,
    Next,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    FocusNext,
    FocusPrev,
    ChoiceNext,
    ChoicePrev,
    AddRow,
    RemoveRow,
    ToggleRole,
    Save,
    SwitchPane,
    Fix,
    Ignore,
    Rerun,
    ShowScript,
    NodeFilter,
    Start,
    ToggleAll,
    Retry,
    Summary,
    /// Give passwords for this session (sudo, key passphrase, SSH).
    Secrets,
    DialogToggle,
    DialogEnter,
    DialogNo,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeySpec {
    pub const fn plain(code: KeyCode) -> KeySpec {
        KeySpec {
            code,
            mods: KeyModifiers::NONE,
        }
    }
    pub const fn ch(c: char) -> KeySpec {
        KeySpec::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> KeySpec {
        KeySpec {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    pub fn matches(&self, key: &KeyEvent) -> bool {
        // Shift is part of the character (and of BackTab) already.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        let code = match key.code {
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            c => c,
        };
        code == self.code && mods == self.mods
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<KeySpec>,
    /// How the footer names the key(s); empty = not in the footer (a variant of another entry).
    pub hint: &'static str,
    pub label: &'static str,
    pub action: Action,
}

impl Binding {
    pub fn matches(&self, key: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(key))
    }
}

fn b(keys: &[KeySpec], hint: &'static str, label: &'static str, action: Action) -> Binding {
    Binding {
        keys: keys.to_vec(),
        hint,
        label,
        action,
    }
}

const UP: KeySpec = KeySpec::plain(KeyCode::Up);
const DOWN: KeySpec = KeySpec::plain(KeyCode::Down);
const LEFT: KeySpec = KeySpec::plain(KeyCode::Left);
const RIGHT: KeySpec = KeySpec::plain(KeyCode::Right);
const ENTER: KeySpec = KeySpec::plain(KeyCode::Enter);
const ESC: KeySpec = KeySpec::plain(KeyCode::Esc);
const TAB: KeySpec = KeySpec::plain(KeyCode::Tab);
const BACKTAB: KeySpec = KeySpec::plain(KeyCode::BackTab);
const PGUP: KeySpec = KeySpec::plain(KeyCode::PageUp);
const PGDN: KeySpec = KeySpec::plain(KeyCode::PageDown);
const HOME: KeySpec = KeySpec::plain(KeyCode::Home);
const END: KeySpec = KeySpec::plain(KeyCode::End);
const CTRL_C: KeySpec = KeySpec::ctrl('c');

/// The keys that work right now, most important first. A popup takes all keys.
pub fn bindings(m: &Model) -> Vec<Binding> {
    if let Some(p) = m.popups.front() {
        return popup_bindings(p);
    }
    let mut v = Vec::new();
    match m.screen {
        Screen::Welcome => {
            v.push(b(&[ENTER], "Enter", "choose", Action::Next));
            v.push(b(&[UP], "↑↓", "select", Action::Up));
            v.push(b(&[DOWN], "", "", Action::Down));
            if m.welcome_item() != WelcomeItem::LoadFile {
                v.push(b(&[KeySpec::ch('q')], "q", "quit", Action::Quit));
                v.push(b(&[CTRL_C], "", "", Action::QuitAsk));
            } else {
                v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
            }
        }
        Screen::Form(page) => {
            let form = m.form.as_ref();
            let focused = form.and_then(|f| f.focused());
            let last = page == Page::Cluster;
            v.push(b(
                &[ENTER],
                "Enter",
                if last { "save & connect" } else { "next" },
                Action::Next,
            ));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(&[TAB, DOWN], "Tab/↓", "field", Action::FocusNext));
            v.push(b(&[BACKTAB, UP], "", "", Action::FocusPrev));
            if focused.is_some_and(FieldId::is_choice) {
                v.push(b(
                    &[RIGHT, KeySpec::ch(' ')],
                    "←→",
                    "change",
                    Action::ChoiceNext,
                ));
                v.push(b(&[LEFT], "", "", Action::ChoicePrev));
            }
            if page == Page::Nodes {
                v.push(b(
                    &[KeySpec::ctrl('n')],
                    "Ctrl-N",
                    "add node",
                    Action::AddRow,
                ));
                if matches!(focused, Some(FieldId::Node { .. })) {
                    v.push(b(
                        &[KeySpec::ctrl('d')],
                        "Ctrl-D",
                        "remove",
                        Action::RemoveRow,
                    ));
                    v.push(b(
                        &[KeySpec::ctrl('t')],
                        "Ctrl-T",
                        "cp⇄worker",
                        Action::ToggleRole,
                    ));
                }
            }
            v.push(b(&[KeySpec::ctrl('s')], "Ctrl-S", "save", Action::Save));
            v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
        }
        Screen::Preflight => {
            let pf = &m.preflight;
            v.push(b(&[ENTER], "Enter", "plan", Action::Next));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(&[UP], "↑↓", "select", Action::Up));
            v.push(b(&[DOWN], "", "", Action::Down));
            v.push(b(
                &[TAB],
                "Tab",
                if pf.on_checks { "nodes" } else { "checks" },
                Action::SwitchPane,
            ));
            let check = pf.on_checks.then(|| pf.selected_check()).flatten();
            let node_fixable = pf.nodes.get(pf.selected).is_some_and(|n| {
                n.checks
                    .iter()
                    .any(|c| c.status != CheckStatus::Pass && c.fixable.is_some())
            });
            let can_fix = match check {
                Some(c) => c.status != CheckStatus::Pass && c.fixable.is_some(),
                None => !pf.on_checks && node_fixable,
            };
            if can_fix && !m.busy() {
                v.push(b(&[KeySpec::ch('f')], "f", "fix", Action::Fix));
            }
            if let Some(c) = check
                && c.status != CheckStatus::Pass
            {
                v.push(b(
                    &[KeySpec::ch('i')],
                    "i",
                    if pf.ignored.contains(&c.check) {
                        "don't ignore"
                    } else {
                        "ignore"
                    },
                    Action::Ignore,
                ));
            }
            if !m.busy() {
                v.push(b(&[KeySpec::ch('r')], "r", "re-run", Action::Rerun));
                v.push(b(&[KeySpec::ch('p')], "p", "passwords", Action::Secrets));
            }
            v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
        }
        Screen::Plan => {
            v.push(b(&[KeySpec::ch('s')], "s", "start the run", Action::Start));
            v.push(b(&[ENTER], "Enter", "script", Action::ShowScript));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(&[UP], "↑↓", "select", Action::Up));
            v.push(b(&[DOWN], "", "", Action::Down));
            v.push(b(&[PGUP], "", "", Action::PageUp));
            v.push(b(&[PGDN], "", "", Action::PageDown));
            v.push(b(
                &[KeySpec::ch('n')],
                "n",
                "node filter",
                Action::NodeFilter,
            ));
            v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
        }
        Screen::Run => {
            let d = &m.run;
            if !d.running && d.summary.as_ref().is_some_and(|s| s.ok) {
                v.push(b(&[ENTER], "Enter", "summary", Action::Summary));
            }
            if !d.running && d.summary.as_ref().is_some_and(|s| !s.ok) {
                let label = if d.failed().is_empty() {
                    "resume"
                } else {
                    "retry"
                };
                v.push(b(&[KeySpec::ch('r')], "r", label, Action::Retry));
            }
            v.push(b(&[UP], "↑↓", "node", Action::Up));
            v.push(b(&[DOWN], "", "", Action::Down));
            v.push(b(
                &[KeySpec::ch('a')],
                "a",
                if d.all { "one node" } else { "all nodes" },
                Action::ToggleAll,
            ));
            v.push(b(&[PGUP], "PgUp/Dn", "scroll", Action::PageUp));
            v.push(b(&[PGDN], "", "", Action::PageDown));
            v.push(b(&[HOME], "", "", Action::Home));
            v.push(b(&[END, KeySpec::ch('f')], "End", "follow", Action::End));
            if d.running {
                v.push(b(&[CTRL_C], "Ctrl-C", "stop", Action::StopAsk));
            } else {
                v.push(b(&[KeySpec::ch('q')], "q", "quit", Action::Quit));
                v.push(b(&[CTRL_C], "", "", Action::QuitAsk));
            }
        }
        Screen::Done => {
            v.push(b(&[KeySpec::ch('q')], "q", "quit", Action::Quit));
            v.push(b(&[ESC], "Esc", "run & logs", Action::Back));
            v.push(b(&[CTRL_C], "", "", Action::Quit));
        }
    }
    v
}

fn popup_bindings(p: &Popup) -> Vec<Binding> {
    match p {
        Popup::HostKey { yes, .. } => vec![
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
            b(&[ESC, KeySpec::ch('n')], "Esc", "reject", Action::DialogNo),
        ],
        Popup::Confirm { yes, typed, .. } => {
            let mut v = vec![
                b(
                    &[ENTER],
                    "Enter",
                    if *yes { "run it" } else { "don't run" },
                    Action::DialogEnter,
                ),
                b(&[TAB, BACKTAB], "Tab", "choose", Action::DialogToggle),
                b(&[ESC], "Esc", "don't run", Action::DialogNo),
                b(&[UP], "↑↓", "scroll", Action::Up),
                b(&[DOWN], "", "", Action::Down),
                b(&[PGUP], "", "", Action::PageUp),
                b(&[PGDN], "", "", Action::PageDown),
            ];
            if typed.is_none() {
                // With a typed confirmation, letters and ←→ go to the text field.
                v.push(b(&[LEFT, RIGHT], "", "", Action::DialogToggle));
                v.push(b(&[KeySpec::ch('n')], "", "", Action::DialogNo));
            }
            v
        }
        Popup::Stop { yes } | Popup::Quit { yes } => vec![
            b(
                &[ENTER],
                "Enter",
                match (matches!(p, Popup::Stop { .. }), *yes) {
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
            b(&[ESC, KeySpec::ch('n')], "Esc", "cancel", Action::DialogNo),
            // A second Ctrl-C while asked: treat as "no" (never an accidental yes).
            b(&[CTRL_C], "", "", Action::DialogNo),
        ],
        Popup::Secrets { .. } => vec![
            b(&[ENTER], "Enter", "use & check again", Action::DialogEnter),
            b(&[TAB, DOWN], "Tab/↓", "field", Action::FocusNext),
            b(&[BACKTAB, UP], "", "", Action::FocusPrev),
            b(&[ESC], "Esc", "cancel", Action::DialogNo),
        ],
        Popup::Script { .. } => vec![
            b(
                &[ESC, ENTER, KeySpec::ch('q')],
                "Esc",
                "close",
                Action::Close,
            ),
            b(&[UP], "↑↓", "scroll", Action::Up),
            b(&[DOWN], "", "", Action::Down),
            b(&[PGUP], "PgUp/Dn", "page", Action::PageUp),
            b(&[PGDN], "", "", Action::PageDown),
            b(&[HOME], "Home/End", "top/end", Action::Home),
            b(&[END], "", "", Action::End),
        ],
    }
}

/// The footer's entries: (keys, what they do).
pub fn footer(m: &Model) -> Vec<(&'static str, &'static str)> {
    bindings(m)
        .into_iter()
        .filter(|b| !b.hint.is_empty())
        .map(|b| (b.hint, b.label))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_letters_match_regardless_of_case_and_shift() {
        let k = KeySpec::ctrl('n');
        assert!(k.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
        assert!(k.matches(&KeyEvent::new(
            KeyCode::Char('N'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT
        )));
        assert!(!k.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)));
        assert!(BACKTAB.matches(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
        assert!(!KeySpec::ch('q').matches(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT)));
    }
}
