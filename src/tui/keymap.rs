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
    /// `y` in a yes/no dialog.
    DialogYes,
    Close,
    /// The help overlay: every key of this screen.
    Help,
    /// Make the focused control plane the one that runs `kubeadm init`.
    MakeFirst,
    /// Go to the next field with an error (any page).
    NextError,
    /// Line editing in the text field that has the cursor ([`super::field::Field`] does it).
    EditText,
    /// Open the failover drill (Done) or run it again.
    Drill,
    /// End the running drill: what it stopped is restored, then it reports.
    DrillStop,
    /// Open the cluster view (`Screen::Cluster`).
    ClusterView,
    /// Read the cluster's status again.
    Refresh,
    /// Cluster view: add a node (a form, then the add-node plan).
    AddNode,
    /// Cluster view: remove a node (pick, confirm, then the remove-node plan).
    RemoveNode,
    /// Cluster view: reset the whole cluster (the name typed, then the reset plan).
    ResetCluster,
    /// Cluster view: the action that fixes the first problem.
    FixProblem,
    /// Cluster view: upgrade to the next Kubernetes minor (preflight, name typed, the plan).
    UpgradeCluster,
    /// Connect screen: install kha-tui's key with a password on the nodes that refused it.
    InstallKey,
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
    /// What it does (the footer and the help overlay).
    pub label: &'static str,
    pub action: Action,
}

impl Binding {
    pub fn matches(&self, key: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(key))
    }
}

pub(super) fn b(
    keys: &[KeySpec],
    hint: &'static str,
    label: &'static str,
    action: Action,
) -> Binding {
    Binding {
        keys: keys.to_vec(),
        hint,
        label,
        action,
    }
}

pub(super) const UP: KeySpec = KeySpec::plain(KeyCode::Up);
pub(super) const DOWN: KeySpec = KeySpec::plain(KeyCode::Down);
pub(super) const LEFT: KeySpec = KeySpec::plain(KeyCode::Left);
pub(super) const RIGHT: KeySpec = KeySpec::plain(KeyCode::Right);
pub(super) const ENTER: KeySpec = KeySpec::plain(KeyCode::Enter);
pub(super) const ESC: KeySpec = KeySpec::plain(KeyCode::Esc);
pub(super) const TAB: KeySpec = KeySpec::plain(KeyCode::Tab);
pub(super) const BACKTAB: KeySpec = KeySpec::plain(KeyCode::BackTab);
pub(super) const PGUP: KeySpec = KeySpec::plain(KeyCode::PageUp);
pub(super) const PGDN: KeySpec = KeySpec::plain(KeyCode::PageDown);
pub(super) const HOME: KeySpec = KeySpec::plain(KeyCode::Home);
pub(super) const END: KeySpec = KeySpec::plain(KeyCode::End);
pub(super) const CTRL_C: KeySpec = KeySpec::ctrl('c');

/// `?` and F1 open the help overlay (where `?` would be typed, F1 alone).
pub(super) const F1: KeySpec = KeySpec::plain(KeyCode::F(1));
pub(super) const HELP_KEYS: [KeySpec; 2] = [KeySpec::ch('?'), F1];
pub(super) const J: KeySpec = KeySpec::ch('j');
pub(super) const K: KeySpec = KeySpec::ch('k');
pub(super) const Y: KeySpec = KeySpec::ch('y');
pub(super) const N: KeySpec = KeySpec::ch('n');
pub(super) const Q: KeySpec = KeySpec::ch('q');

/// The line editing of a text field (readline's basics, as `Field::input` does them). Added last
/// wherever a text field has the cursor, so the `?` overlay and README list them; a key that an
/// earlier binding of the same state takes is left out.
pub(super) fn text_field(v: &mut Vec<Binding>) {
    const EDITS: [(&[KeySpec], &str); 9] = [
        (&[KeySpec::ctrl('a'), HOME], "to the start of the line"),
        (&[KeySpec::ctrl('e'), END], "to the end of the line"),
        (&[KeySpec::ctrl('b'), LEFT], "one character back"),
        (&[KeySpec::ctrl('f'), RIGHT], "one character forward"),
        (
            &[KeySpec::plain(KeyCode::Backspace), KeySpec::ctrl('h')],
            "delete the character before the cursor",
        ),
        (
            &[KeySpec::plain(KeyCode::Delete)],
            "delete the character under the cursor",
        ),
        (&[KeySpec::ctrl('w')], "delete the word before the cursor"),
        (&[KeySpec::ctrl('u')], "delete to the start of the line"),
        (&[KeySpec::ctrl('k')], "delete to the end of the line"),
    ];
    for (keys, label) in EDITS {
        let free: Vec<KeySpec> = keys
            .iter()
            .filter(|k| !v.iter().any(|b| b.keys.contains(k)))
            .copied()
            .collect();
        if !free.is_empty() {
            v.push(b(&free, "", label, Action::EditText));
        }
    }
}

fn help(v: &mut Vec<Binding>) {
    v.push(b(&HELP_KEYS, "?", "all keys", Action::Help));
}

/// The keys that work right now, most important first. A popup takes all keys.
pub fn bindings(m: &Model) -> Vec<Binding> {
    if let Some(p) = m.popups.front() {
        return super::keymap_dialogs::bindings(p);
    }
    let mut v = Vec::new();
    match m.screen {
        Screen::Welcome => {
            let typing = m.welcome_item() == WelcomeItem::LoadFile && m.welcome.typing_path;
            if typing {
                // Letters go to the path field.
                v.push(b(&[ENTER], "Enter", "load this file", Action::Next));
                v.push(b(&[ESC], "Esc", "stop typing", Action::Back));
                v.push(b(&[UP], "↑↓", "select", Action::Up));
                v.push(b(&[DOWN], "", "select the next item", Action::Down));
                v.push(b(&[F1], "F1", "all keys", Action::Help));
                v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
                text_field(&mut v);
            } else {
                v.push(b(&[ENTER], "Enter", "choose", Action::Next));
                v.push(b(&[UP, K], "↑↓", "select", Action::Up));
                v.push(b(&[DOWN, J], "", "select the next item", Action::Down));
                help(&mut v);
                v.push(b(
                    &[Q],
                    "q",
                    "quit (asks when edits are not saved)",
                    Action::Quit,
                ));
                v.push(b(&[CTRL_C], "", "quit", Action::QuitAsk));
            }
        }
        Screen::Form(page) => {
            let form = m.form.as_ref();
            let focused = form.and_then(|f| f.focused());
            let last = page == Page::Cluster;
            let on_node = matches!(focused, Some(FieldId::Node { .. }));
            v.push(b(
                &[ENTER],
                "Enter",
                if last {
                    "save & connect"
                } else if on_node {
                    "next cell (next page after the last)"
                } else {
                    "next page"
                },
                Action::Next,
            ));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(
                &[TAB],
                "Tab",
                if page == Page::Nodes { "cell" } else { "field" },
                Action::FocusNext,
            ));
            v.push(b(
                &[BACKTAB],
                "",
                "previous cell or field",
                Action::FocusPrev,
            ));
            v.push(b(
                &[UP],
                "↑↓",
                if page == Page::Nodes { "row" } else { "field" },
                Action::Up,
            ));
            v.push(b(&[DOWN], "", "next row or field", Action::Down));
            if focused.is_some_and(FieldId::is_choice) {
                v.push(b(
                    &[RIGHT, KeySpec::ch(' ')],
                    "←→",
                    "change",
                    Action::ChoiceNext,
                ));
                v.push(b(&[LEFT], "", "previous choice", Action::ChoicePrev));
            }
            if page == Page::Nodes {
                v.push(b(
                    &[KeySpec::ctrl('n')],
                    "Ctrl-N",
                    "add node",
                    Action::AddRow,
                ));
                if on_node {
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
                    if form.is_some_and(|f| f.focused_role() == super::form::Role::ControlPlane) {
                        v.push(b(
                            // Not Ctrl-F: that moves the cursor in the cell's text.
                            &[KeySpec::ctrl('p')],
                            "Ctrl-P",
                            "runs kubeadm init",
                            Action::MakeFirst,
                        ));
                    }
                }
            }
            if form.is_some_and(|f| f.errors() > 0) {
                v.push(b(
                    &[KeySpec::ctrl('g')],
                    "Ctrl-G",
                    "next error",
                    Action::NextError,
                ));
            }
            v.push(b(&[KeySpec::ctrl('s')], "Ctrl-S", "save", Action::Save));
            // In a text field `?` is typed like any letter; F1 opens the help there.
            let typing = focused.is_some_and(|f| !f.is_choice());
            let help_keys: &[KeySpec] = if typing { &[F1] } else { &HELP_KEYS };
            v.push(b(help_keys, "F1", "all keys", Action::Help));
            v.push(b(&[CTRL_C], "Ctrl-C", "quit", Action::QuitAsk));
            if typing {
                text_field(&mut v);
            }
        }
        Screen::Preflight => {
            let pf = &m.preflight;
            v.push(b(&[ENTER], "Enter", "plan", Action::Next));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(&[UP, K], "↑↓", "select", Action::Up));
            v.push(b(&[DOWN, J], "", "select the next item", Action::Down));
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
                if !m.key_setup.refused.is_empty() && !m.key_setup.running {
                    v.push(b(
                        &[KeySpec::ch('K')],
                        "K",
                        "install key (password)",
                        Action::InstallKey,
                    ));
                }
            }
            help(&mut v);
            v.push(b(&[Q], "q", "quit (asks)", Action::QuitAsk));
            v.push(b(&[CTRL_C], "", "quit (asks)", Action::QuitAsk));
        }
        Screen::Plan => {
            v.push(b(&[KeySpec::ch('s')], "s", "start the run", Action::Start));
            // Enter on a step shows its script; on a phase header it folds or unfolds the phase.
            v.push(b(
                &[ENTER],
                "Enter",
                "script (a phase: fold)",
                Action::ShowScript,
            ));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            v.push(b(&[UP, K], "↑↓", "select", Action::Up));
            v.push(b(&[DOWN, J], "", "select the next item", Action::Down));
            v.push(b(&[PGUP], "", "a page up", Action::PageUp));
            v.push(b(&[PGDN], "", "a page down", Action::PageDown));
            v.push(b(&[HOME], "", "first step", Action::Home));
            v.push(b(&[END], "", "last step", Action::End));
            v.push(b(&[N], "n", "node filter", Action::NodeFilter));
            help(&mut v);
            v.push(b(&[Q], "q", "quit (asks)", Action::QuitAsk));
            v.push(b(&[CTRL_C], "", "quit (asks)", Action::QuitAsk));
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
            v.push(b(&[UP, K], "↑↓", "node", Action::Up));
            v.push(b(&[DOWN, J], "", "next node", Action::Down));
            v.push(b(
                &[KeySpec::ch('a')],
                "a",
                if d.all { "one node" } else { "all nodes" },
                Action::ToggleAll,
            ));
            v.push(b(&[PGUP], "PgUp/Dn", "scroll a page", Action::PageUp));
            v.push(b(&[PGDN], "", "a page down", Action::PageDown));
            v.push(b(&[HOME], "", "first line", Action::Home));
            v.push(b(&[END, KeySpec::ch('f')], "End", "follow", Action::End));
            help(&mut v);
            if d.running {
                v.push(b(&[CTRL_C], "Ctrl-C", "stop", Action::StopAsk));
            } else {
                v.push(b(&[Q], "q", "quit", Action::Quit));
                v.push(b(&[CTRL_C], "", "quit (asks)", Action::QuitAsk));
            }
        }
        Screen::Done => {
            v.push(b(&[KeySpec::ch('d')], "d", "failover drill", Action::Drill));
            v.push(b(&[Q], "q", "quit", Action::Quit));
            v.push(b(&[ESC], "Esc", "run & logs", Action::Back));
            if m.run.summary.as_ref().is_some_and(|s| s.ok) {
                v.push(b(
                    &[KeySpec::ch('c')],
                    "c",
                    "cluster view",
                    Action::ClusterView,
                ));
            }
            help(&mut v);
            v.push(b(&[CTRL_C], "", "quit", Action::Quit));
        }
        Screen::Drill => super::keymap_drill::bindings(m, &mut v),
        Screen::Cluster => {
            v.push(b(&[KeySpec::ch('r')], "r", "refresh", Action::Refresh));
            v.push(b(&[KeySpec::ch('a')], "a", "add a node", Action::AddNode));
            v.push(b(
                &[KeySpec::ch('x')],
                "x",
                "remove a node",
                Action::RemoveNode,
            ));
            v.push(b(
                &[KeySpec::ch('R')],
                "R",
                "reset the cluster",
                Action::ResetCluster,
            ));
            v.push(b(
                &[KeySpec::ch('u')],
                "u",
                "upgrade…",
                Action::UpgradeCluster,
            ));
            if !super::day2_wizard::offers(m).is_empty() {
                v.push(b(
                    &[KeySpec::ch('f')],
                    "f",
                    "fix the first problem",
                    Action::FixProblem,
                ));
            }
            v.push(b(&[KeySpec::ch('d')], "d", "failover drill", Action::Drill));
            v.push(b(&[UP, K], "↑↓", "scroll", Action::Up));
            v.push(b(&[DOWN, J], "", "scroll down", Action::Down));
            v.push(b(&[ESC], "Esc", "back", Action::Back));
            help(&mut v);
            v.push(b(&[Q], "q", "quit", Action::Quit));
            v.push(b(&[CTRL_C], "", "quit", Action::Quit));
        }
    }
    v
}

impl KeySpec {
    /// How the help overlay and README name this key.
    pub fn name(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            c => format!("{c:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_ascii_uppercase())
        } else {
            base
        }
    }
}

impl Binding {
    /// Every key of this binding, as the help overlay lists it: "↑ / k".
    pub fn key_names(&self) -> String {
        self.keys
            .iter()
            .map(KeySpec::name)
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// The help overlay's rows for the state the operator is in: every binding (footer or not).
pub fn help_rows(m: &Model) -> Vec<(String, &'static str)> {
    let mut rows = Vec::new();
    // The overlay describes the screen under it, not itself.
    let list = match m.popups.front() {
        Some(Popup::Help { under, .. }) => under.clone(),
        _ => bindings(m),
    };
    let (text, keys): (Vec<Binding>, Vec<Binding>) =
        list.into_iter().partition(|b| b.action == Action::EditText);
    for b in keys {
        let row = (b.key_names(), b.label);
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    if !text.is_empty() {
        rows.push((String::new(), ""));
        rows.push((String::new(), TEXT_FIELD_HEADING));
        rows.extend(text.into_iter().map(|b| (b.key_names(), b.label)));
    }
    rows
}

/// Above the text field's keys in the `?` overlay, and README's section of them.
pub const TEXT_FIELD_HEADING: &str = "In the text field:";

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
