//! `update(&mut Model, Msg) -> Vec<Command>`: every state change, synchronous, no I/O.

use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::form::{Field, FieldId, Form, Page};
use super::keymap::{self, Action};
use super::log_pane;
use super::logs::LineKind;
use super::model::*;
use crate::engine::events::{CheckStatus, Event, StepOutcome};
use crate::inventory::validate;

mod drill;
mod events;
mod form;
mod plan;
mod popup;
mod preflight;
mod run;
mod welcome;

use events::on_event;
use form::form_action;
use plan::plan_action;
pub use plan::script_lines;
pub use popup::is_destructive;
use popup::popup_action;
use preflight::preflight_action;
use run::{run_action, set_shape, start_dashboard};
use welcome::welcome_action;

/// How long a question that opens by itself (host key, confirmation) ignores keys.
pub const DIALOG_GRACE: Duration = Duration::from_millis(400);

pub fn update(m: &mut Model, msg: Msg) -> Vec<Command> {
    if !matches!(msg, Msg::Tick(_)) {
        m.dirty = true;
    }
    let front = question_on_top(m);
    let mut cmds = dispatch(m, msg);
    // A quit that waited for the engine to stop happens once it has.
    if m.quit_when_stopped && !m.busy() && !m.quit {
        m.quit = true;
        cmds.push(Command::Quit);
    }
    let now_front = question_on_top(m);
    if now_front.is_some() && now_front != front {
        m.keys_ignored_until = m.now + DIALOG_GRACE;
    }
    cmds
}

/// Which engine question is on top, if any: one that opens by itself, while the operator may be
/// typing for the screen below.
fn question_on_top(m: &Model) -> Option<String> {
    match m.popups.front()? {
        Popup::HostKey {
            node, fingerprint, ..
        } => Some(format!("hostkey {node} {fingerprint}")),
        Popup::Confirm { step, nodes, .. } => Some(format!("confirm {step} {nodes:?}")),
        _ => None,
    }
}

fn dispatch(m: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) => on_key(m, key),
        Msg::Resize(w, h) => {
            m.size = (w, h);
            if m.screen == Screen::Run {
                log_pane::refresh(m);
            }
            vec![]
        }
        Msg::Tick(now) => {
            // Running clocks need a new frame; otherwise only what changed does.
            if m.busy() {
                m.dirty = true;
            }
            m.now = now;
            prune_popups(m);
            if m.screen == Screen::Run {
                let before = m.run.window.clone();
                log_pane::refresh(m);
                if m.run.window != before {
                    m.dirty = true;
                }
            }
            if m.screen == Screen::Cluster {
                return super::cluster_view::tick(m);
            }
            vec![]
        }
        Msg::ClusterStatus(r) => super::cluster_view::arrived(m, r),
        Msg::Day2Ended(r) => super::day2_wizard::ended(m, *r),
        Msg::UpgradeRead(r) => super::upgrade_dialog::read(m, r),
        Msg::KeyInstalled(r) => super::key_setup::done(m, r),
        Msg::Engine(ev) => on_event(m, ev),
        Msg::Drill(d) => drill::on_drill(m, d),
        Msg::TaskEnded(task) => {
            match task {
                Task::Preflight => m.preflight.running = false,
                Task::Fix => m.preflight.fixing = None,
                Task::Apply => m.run.running = false,
            }
            vec![]
        }
        Msg::Saved(Ok(path)) => {
            if let Some(f) = m.form.as_mut()
                && let Some((to, text)) = f.saving.take()
                && to == path
            {
                f.original = Some(text);
                f.path = Some(path.clone());
            }
            info(m, format!("Saved to {}", path.display()));
            vec![]
        }
        Msg::FixDone { node, fix, result } => match (result, m.cluster.clone()) {
            (Ok(()), Some(cluster)) => {
                m.status = Some((
                    Level::Info,
                    format!("{fix} done on {node}; checking every node again"),
                ));
                let ignored = std::mem::take(&mut m.preflight.ignored);
                let for_inventory = m.preflight.for_inventory.take();
                m.preflight = Preflight::for_cluster(&cluster);
                m.preflight.ignored = ignored;
                m.preflight.for_inventory = for_inventory;
                m.preflight.running = true;
                vec![Command::Preflight {
                    cluster: Box::new(cluster),
                    ignore: m.preflight.ignored.clone(),
                    secrets: m.secrets.clone(),
                }]
            }
            (Ok(()), None) => vec![],
            (Err(e), _) => {
                m.status = Some((Level::Error, format!("{fix} on {node} failed: {e}")));
                vec![]
            }
        },
        Msg::Saved(Err(e)) => {
            if let Some(f) = m.form.as_mut() {
                f.saving = None;
            }
            m.status = Some((Level::Error, format!("Not saved: {e}")));
            vec![]
        }
        Msg::Loaded { path, result } => {
            match result.and_then(|t| Form::from_text(&t, Some(path.clone()))) {
                Ok(form) => {
                    open_form(m, form);
                    info(m, format!("Loaded {}", path.display()));
                }
                Err(e) => m.welcome.error = Some(format!("{}: {e}", path.display())),
            }
            vec![]
        }
    }
}

/// Drops questions nobody waits for any more (the engine stopped or gave up on them).
pub(super) fn prune_popups(m: &mut Model) {
    let before = m.popups.len();
    m.popups.retain(|p| match p {
        Popup::HostKey { reply, .. } | Popup::Confirm { reply, .. } => {
            reply.as_ref().is_some_and(|r| !r.is_closed())
        }
        _ => true,
    });
    if m.popups.len() != before {
        m.dirty = true;
    }
}

/// Connect and preflight again, as `r` on the Connect screen does.
pub(super) fn rerun_preflight(m: &mut Model) -> Vec<Command> {
    preflight_action(m, Action::Rerun)
}

pub(super) fn info(m: &mut Model, s: String) {
    m.status = Some((Level::Info, s));
}

pub(super) fn open_form(m: &mut Model, mut form: Form) {
    form.page = Page::Access;
    form.focus = 0;
    m.form = Some(form);
    m.welcome.error = None;
    m.screen = Screen::Form(Page::Access);
}

pub(super) fn on_key(m: &mut Model, key: KeyEvent) -> Vec<Command> {
    if key.kind != KeyEventKind::Press {
        return vec![];
    }
    if m.now < m.keys_ignored_until {
        // A question just opened: this key was meant for the screen below it.
        return vec![];
    }
    let map = keymap::bindings(m);
    // Line-editing keys are listed in the keymap and go on to the focused field below.
    if let Some(b) = map
        .iter()
        .find(|b| b.matches(&key) && b.action != Action::EditText)
    {
        let action = b.action;
        if !matches!(
            action,
            Action::Up | Action::Down | Action::PageUp | Action::PageDown
        ) {
            m.status = None;
        }
        return act(m, action);
    }
    // Keys no binding claims go to the focused text field, if any.
    if let Some(Popup::Confirm {
        typed: Some((_, field)),
        ..
    }) = m.popups.front_mut()
    {
        field.input(key);
        return vec![];
    }
    if let Some(Popup::Secrets { fields, focus }) = m.popups.front_mut() {
        fields[*focus].input(key);
        return vec![];
    }
    if let Some(Popup::Day2(d)) = m.popups.front_mut() {
        if let Some(field) = super::day2_wizard::field_mut(d) {
            field.input(key);
        }
        return vec![];
    }
    if let Some(Popup::SaveAs { field, .. }) = m.popups.front_mut() {
        field.input(key);
        return vec![];
    }
    if let Some(Popup::KeyPassword { field, .. }) = m.popups.front_mut() {
        field.0.input(key);
        return vec![];
    }
    if !m.popups.is_empty() {
        return vec![];
    }
    match m.screen {
        Screen::Form(_) => {
            if let Some(f) = m.form.as_mut()
                && f.input(key)
                && matches!(m.status, Some((Level::Error, _)))
            {
                // The message was about the values before this edit; the form shows the new ones.
                m.status = None;
            }
        }
        Screen::Welcome if m.welcome_item() == WelcomeItem::LoadFile && m.welcome.typing_path => {
            m.welcome.path.input(key);
        }
        _ => {}
    }
    vec![]
}

pub(super) fn act(m: &mut Model, a: Action) -> Vec<Command> {
    if !m.popups.is_empty() {
        return popup_action(m, a);
    }
    match a {
        Action::Quit if m.unsaved_edits() && m.screen == Screen::Welcome => {
            m.popups.push_front(Popup::Quit { yes: false });
            vec![]
        }
        Action::Quit => {
            m.quit = true;
            vec![Command::Quit]
        }
        Action::Help => {
            m.popups.push_front(Popup::Help {
                under: keymap::bindings(m),
                scroll: 0,
            });
            vec![]
        }
        Action::QuitAsk => {
            m.popups.push_front(Popup::Quit { yes: false });
            vec![]
        }
        Action::StopAsk => {
            m.popups.push_front(Popup::Stop { yes: false });
            vec![]
        }
        _ => match m.screen {
            Screen::Welcome => welcome_action(m, a),
            Screen::Form(page) => form_action(m, page, a),
            Screen::Preflight => preflight_action(m, a),
            Screen::Plan => plan_action(m, a),
            Screen::Run => run_action(m, a),
            Screen::Done => match a {
                Action::Back => {
                    m.screen = Screen::Run;
                    vec![]
                }
                Action::Drill => drill::start(m),
                Action::ClusterView => super::cluster_view::open(m),
                _ => vec![],
            },
            Screen::Drill => drill::drill_action(m, a),
            Screen::Cluster if a == Action::Drill => drill::start(m),
            Screen::Cluster => super::cluster_view::action(m, a),
        },
    }
}

/// `m:ss`, or `h:mm:ss` from an hour.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
