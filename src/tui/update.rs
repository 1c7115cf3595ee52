//! `update(&mut Model, Msg) -> Vec<Command>`: every state change, synchronous, no I/O.

use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::form::{Field, Form, Page};
use super::keymap::{self, Action};
use super::logs::LineKind;
use super::model::*;
use crate::engine::events::{CheckStatus, Event, StepOutcome};
use crate::inventory::file::InventoryFile;
use crate::inventory::validate;
use crate::plan;

pub fn update(m: &mut Model, msg: Msg) -> Vec<Command> {
    if !matches!(msg, Msg::Tick(_)) {
        m.dirty = true;
    }
    match msg {
        Msg::Key(key) => on_key(m, key),
        Msg::Resize(..) => vec![],
        Msg::Tick(now) => {
            // Running clocks need a new frame; otherwise only what changed does.
            if m.busy() {
                m.dirty = true;
            }
            m.now = now;
            prune_popups(m);
            vec![]
        }
        Msg::Engine(ev) => on_event(m, ev),
        Msg::TaskEnded(task) => {
            match task {
                Task::Preflight => m.preflight.running = false,
                Task::Fix => m.preflight.fixing = None,
                Task::Apply => m.run.running = false,
            }
            vec![]
        }
        Msg::Saved(Ok(path)) => {
            info(m, format!("Saved {}", path.display()));
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
            m.status = Some((Level::Error, format!("Not saved: {e}")));
            vec![]
        }
        Msg::Loaded { path, result } => {
            match result.and_then(|t| parse(&t)) {
                Ok(file) => {
                    open_form(m, Form::from_file(&file));
                    info(m, format!("Loaded {}", path.display()));
                }
                Err(e) => m.welcome.error = Some(format!("{}: {e}", path.display())),
            }
            vec![]
        }
    }
}

/// Drops questions nobody waits for any more (the engine stopped or gave up on them).
fn prune_popups(m: &mut Model) {
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

fn info(m: &mut Model, s: String) {
    m.status = Some((Level::Info, s));
}

fn parse(text: &str) -> Result<InventoryFile, String> {
    crate::inventory::parse(text)
}

fn open_form(m: &mut Model, mut form: Form) {
    form.page = Page::Access;
    form.focus = 0;
    m.form = Some(form);
    m.welcome.error = None;
    m.screen = Screen::Form(Page::Access);
}

fn on_key(m: &mut Model, key: KeyEvent) -> Vec<Command> {
    if key.kind != KeyEventKind::Press {
        return vec![];
    }
    let map = keymap::bindings(m);
    if let Some(b) = map.iter().find(|b| b.matches(&key)) {
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
    if !m.popups.is_empty() {
        return vec![];
    }
    match m.screen {
        Screen::Form(_) => {
            if let Some(f) = m.form.as_mut() {
                f.input(key);
            }
        }
        Screen::Welcome if m.welcome_item() == WelcomeItem::LoadFile => {
            m.welcome.path.input(key);
        }
        _ => {}
    }
    vec![]
}

fn act(m: &mut Model, a: Action) -> Vec<Command> {
    if !m.popups.is_empty() {
        return popup_action(m, a);
    }
    match a {
        Action::Quit => {
            m.quit = true;
            vec![Command::Quit]
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
            Screen::Done => {
                if a == Action::Back {
                    m.screen = Screen::Run;
                }
                vec![]
            }
        },
    }
}

fn welcome_action(m: &mut Model, a: Action) -> Vec<Command> {
    let n = m.welcome_items().len();
    match a {
        Action::Up => m.welcome.selected = (m.welcome.selected + n - 1) % n,
        Action::Down => m.welcome.selected = (m.welcome.selected + 1) % n,
        Action::Next => match m.welcome_item() {
            WelcomeItem::Continue => {
                if let Some(f) = &m.form {
                    m.screen = Screen::Form(f.page);
                }
            }
            WelcomeItem::Source(i) => {
                let src = &m.welcome.sources[i];
                match src.text.clone().and_then(|t| parse(&t)) {
                    Ok(file) => open_form(m, Form::from_file(&file)),
                    Err(e) => {
                        let at = src
                            .path
                            .as_ref()
                            .map(|p| format!("{}: ", p.display()))
                            .unwrap_or_default();
                        m.welcome.error = Some(format!("{at}{e}"));
                    }
                }
            }
            WelcomeItem::LoadFile => {
                let p = m.welcome.path.text().trim().to_string();
                if p.is_empty() {
                    m.welcome.error = Some("type the path of an inventory file first".into());
                } else {
                    return vec![Command::Load {
                        path: validate::expand_home(&p),
                    }];
                }
            }
            WelcomeItem::New => open_form(m, Form::blank()),
        },
        _ => {}
    }
    vec![]
}

fn form_action(m: &mut Model, page: Page, a: Action) -> Vec<Command> {
    let Some(f) = m.form.as_mut() else {
        m.screen = Screen::Welcome;
        return vec![];
    };
    f.page = page;
    match a {
        Action::FocusNext => f.focus_vertical(1),
        Action::FocusPrev => f.focus_vertical(-1),
        Action::ChoiceNext | Action::ChoicePrev => {
            if let Some(id) = f.focused() {
                f.cycle(id, if a == Action::ChoiceNext { 1 } else { -1 });
                f.clamp_focus();
            }
        }
        Action::AddRow => {
            let role = f.focused_role();
            f.add_row(role);
        }
        Action::RemoveRow => f.remove_row(),
        Action::ToggleRole => f.toggle_role(),
        Action::Save => {
            let (file, _) = f.to_file();
            return vec![Command::Save {
                path: m.save_path.clone(),
                text: file.to_toml(),
            }];
        }
        Action::Back => {
            m.screen = match page {
                Page::Access => Screen::Welcome,
                Page::Nodes => Screen::Form(Page::Access),
                Page::Cluster => Screen::Form(Page::Nodes),
            };
            if let Screen::Form(p) = m.screen {
                f.page = p;
                f.focus = 0;
            }
            if m.screen == Screen::Welcome {
                m.welcome.selected = 0; // "continue editing"
            }
        }
        Action::Next => {
            let errors = f.errors_on(page);
            if errors > 0 {
                f.focus_first_error(page);
                m.status = Some((
                    Level::Error,
                    format!(
                        "{errors} error(s) on this page: fix them first (the reason is beside each red field)"
                    ),
                ));
                return vec![];
            }
            if page != Page::Cluster {
                let next = if page == Page::Access {
                    Page::Nodes
                } else {
                    Page::Cluster
                };
                f.page = next;
                f.focus = 0;
                m.screen = Screen::Form(next);
                return vec![];
            }
            // The last page: everything must be valid.
            if f.errors() > 0 {
                let first = Page::ALL.into_iter().find(|p| f.errors_on(*p) > 0);
                if let Some(p) = first {
                    f.focus_first_error(p);
                    m.screen = Screen::Form(p);
                }
                m.status = Some((
                    Level::Error,
                    format!("{} error(s) remain: fix them first", f.errors()),
                ));
                return vec![];
            }
            let (file, _) = f.to_file();
            let cluster = match validate::check(&file) {
                Ok((c, _)) => c,
                Err(issues) => {
                    m.status = Some((
                        Level::Error,
                        issues
                            .first()
                            .map(|i| i.to_string())
                            .unwrap_or_else(|| "the inventory is not valid".into()),
                    ));
                    return vec![];
                }
            };
            let text = file.to_toml();
            let mut cmds = vec![Command::Save {
                path: m.save_path.clone(),
                text: text.clone(),
            }];
            m.plan = PlanReview {
                plan: Some(plan::build(&cluster)),
                selected: 0,
                node: None,
            };
            m.screen = Screen::Preflight;
            // Run preflight again only when the inventory changed (or it never ran).
            if m.preflight.for_inventory.as_deref() != Some(text.as_str())
                || m.preflight.nodes.is_empty()
            {
                let ignored = std::mem::take(&mut m.preflight.ignored);
                m.preflight = Preflight::for_cluster(&cluster);
                m.preflight.ignored = ignored;
                m.preflight.for_inventory = Some(text);
                m.preflight.running = true;
                cmds.push(Command::Preflight {
                    cluster: Box::new(cluster.clone()),
                    ignore: m.preflight.ignored.clone(),
                    secrets: m.secrets.clone(),
                });
            }
            m.cluster = Some(cluster);
            return cmds;
        }
        _ => {}
    }
    vec![]
}

fn preflight_action(m: &mut Model, a: Action) -> Vec<Command> {
    let pf = &mut m.preflight;
    match a {
        Action::Up | Action::Down => {
            let d: isize = if a == Action::Up { -1 } else { 1 };
            if pf.on_checks {
                let n = pf
                    .nodes
                    .get(pf.selected)
                    .map(|n| n.checks.len())
                    .unwrap_or(0);
                if n > 0 {
                    pf.check = (pf.check as isize + d).clamp(0, n as isize - 1) as usize;
                }
            } else if !pf.nodes.is_empty() {
                pf.selected =
                    (pf.selected as isize + d).clamp(0, pf.nodes.len() as isize - 1) as usize;
                pf.check = 0;
            }
        }
        Action::SwitchPane => {
            pf.on_checks = !pf.on_checks;
            pf.check = 0;
        }
        Action::Ignore => {
            if let Some(c) = pf.selected_check() {
                let name = c.check.clone();
                if let Some(i) = pf.ignored.iter().position(|x| *x == name) {
                    pf.ignored.remove(i);
                } else {
                    pf.ignored.push(name);
                }
            }
        }
        Action::Fix => {
            let Some(cluster) = m.cluster.clone() else {
                return vec![];
            };
            let node = pf.nodes.get(pf.selected);
            let check = if pf.on_checks {
                pf.selected_check().cloned()
            } else {
                node.and_then(|n| {
                    n.checks
                        .iter()
                        .find(|c| c.status != CheckStatus::Pass && c.fixable.is_some())
                        .cloned()
                })
            };
            if let Some(c) = check
                && let Some(fix) = &c.fixable
            {
                pf.fixing = Some((c.node.clone(), fix.clone()));
                let msg = format!("Fixing {} on {}: {fix}…", c.check, c.node);
                let cmd = Command::Fix {
                    cluster: Box::new(cluster),
                    node: c.node.clone(),
                    fix: fix.clone(),
                    secrets: m.secrets.clone(),
                };
                info(m, msg);
                return vec![cmd];
            }
        }
        Action::Secrets => {
            let f = |v: &Option<String>| Field::new(v.as_deref().unwrap_or(""));
            let s = &m.secrets;
            m.popups.push_front(Popup::Secrets {
                fields: [
                    f(&s.sudo_password),
                    f(&s.key_passphrase),
                    f(&s.ssh_password),
                ],
                focus: 0,
            });
        }
        Action::Rerun => {
            if let Some(c) = m.cluster.clone() {
                let keep = std::mem::take(pf);
                *pf = Preflight::for_cluster(&c);
                pf.ignored = keep.ignored;
                pf.for_inventory = keep.for_inventory;
                pf.selected = keep.selected.min(pf.nodes.len().saturating_sub(1));
                pf.running = true;
                return vec![Command::Preflight {
                    cluster: Box::new(c),
                    ignore: pf.ignored.clone(),
                    secrets: m.secrets.clone(),
                }];
            }
        }
        Action::Back => {
            if let Some(f) = &m.form {
                m.screen = Screen::Form(f.page.max(Page::Cluster));
            }
        }
        Action::Next => {
            if pf.running || pf.fixing.is_some() {
                m.status = Some((Level::Warn, "Preflight is still running".into()));
                return vec![];
            }
            let blockers = pf.blockers();
            if !blockers.is_empty() {
                let more = if blockers.len() > 1 {
                    format!(" (+{} more)", blockers.len() - 1)
                } else {
                    String::new()
                };
                m.status = Some((
                    Level::Error,
                    format!(
                        "Blocked: {}{more} — fix (f), ignore (i) or re-run (r)",
                        blockers[0]
                    ),
                ));
                return vec![];
            }
            m.screen = Screen::Plan;
        }
        _ => {}
    }
    vec![]
}

fn plan_action(m: &mut Model, a: Action) -> Vec<Command> {
    let rows = m.plan.rows();
    let n = rows.len();
    let sel = &mut m.plan.selected;
    match a {
        Action::Up => *sel = sel.saturating_sub(1),
        Action::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
        Action::PageUp => *sel = sel.saturating_sub(10),
        Action::PageDown => *sel = (*sel + 10).min(n.saturating_sub(1)),
        Action::NodeFilter => {
            let nodes = m.plan.nodes();
            m.plan.node = match &m.plan.node {
                None => nodes.first().cloned(),
                Some(cur) => nodes
                    .iter()
                    .position(|x| x == cur)
                    .and_then(|i| nodes.get(i + 1))
                    .cloned(),
            };
            m.plan.selected = 0;
        }
        Action::ShowScript => {
            if let (Some(PlanRow::Step(i, j)), Some(p)) = (rows.get(*sel), &m.plan.plan) {
                let s = &p.phases[*i].steps[*j];
                m.popups.push_front(Popup::Script {
                    title: format!("{} · {} — {}", s.node, s.id, s.title),
                    lines: script_lines(s),
                    scroll: 0,
                });
            }
        }
        Action::Back => m.screen = Screen::Preflight,
        Action::Start => {
            let Some(c) = m.cluster.clone() else {
                return vec![];
            };
            m.screen = Screen::Run;
            start_dashboard(m);
            m.run.running = true;
            return vec![Command::Apply {
                cluster: Box::new(c),
                ignore: m.preflight.ignored.clone(),
                secrets: m.secrets.clone(),
            }];
        }
        _ => {}
    }
    vec![]
}

/// The text of the script popup: what runs, with its environment and files, exactly.
pub fn script_lines(s: &plan::Step) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(why) = &s.confirm {
        v.push(format!("# asks first: {why}"));
    }
    if s.sensitive {
        v.push("# sensitive: secrets are filled in on the node and redacted from logs".into());
    }
    for f in &s.files {
        v.push(format!(
            "# file {} (mode {:o}, {} lines)",
            f.path,
            f.mode,
            f.content.lines().count()
        ));
    }
    for (k, val) in &s.env {
        v.push(format!("{k}={}", crate::shell::quote(val)));
    }
    if !v.is_empty() {
        v.push(String::new());
    }
    v.extend(s.script.lines().map(|l| l.replace('\t', "    ")));
    for f in &s.files {
        v.push(String::new());
        v.push(format!("# ---- {} ----", f.path));
        v.extend(f.content.lines().map(str::to_string));
    }
    v
}

/// Cards and phases from the plan, so the dashboard has a shape before the engine's RunStarted.
fn start_dashboard(m: &mut Model) {
    let d = &mut m.run;
    d.runs += 1;
    d.running = true;
    d.stopping = false;
    d.summary = None;
    if d.started.is_none() {
        d.started = Some(m.now);
    }
    if d.nodes.is_empty()
        && let (Some(c), Some(p)) = (&m.cluster, &m.plan.plan)
    {
        let infos: Vec<crate::engine::events::NodeInfo> = c
            .all_hosts()
            .map(|n| crate::engine::events::NodeInfo {
                name: n.name.clone(),
                role: n.role,
                address: n.address.to_string(),
                steps: p.steps().filter(|(_, s)| s.node == n.name).count(),
            })
            .collect();
        let phases = p
            .phases
            .iter()
            .map(|ph| crate::engine::events::PhaseInfo {
                name: ph.name.clone(),
                title: ph.title.clone(),
            })
            .collect();
        set_shape(d, c.name.clone(), infos, phases);
    }
}

fn set_shape(
    d: &mut Dashboard,
    cluster: String,
    nodes: Vec<crate::engine::events::NodeInfo>,
    phases: Vec<crate::engine::events::PhaseInfo>,
) {
    let same = d.nodes.len() == nodes.len()
        && d.nodes
            .iter()
            .zip(&nodes)
            .all(|(c, n)| c.info.name == n.name);
    d.cluster = cluster;
    if same {
        for (c, n) in d.nodes.iter_mut().zip(nodes) {
            c.info = n;
            c.status = NodeStatus::Pending;
            c.done = 0;
            c.step = None;
            c.error = None;
            c.started = None;
            c.finished = None;
        }
    } else {
        d.nodes = nodes.into_iter().map(NodeCard::new).collect();
        d.index = d
            .nodes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.info.name.clone(), i))
            .collect();
        d.selected = d.selected.min(d.nodes.len().saturating_sub(1));
    }
    d.logs.ensure(d.nodes.len());
    d.phases = phases
        .into_iter()
        .map(|info| PhaseState {
            info,
            status: PhaseStatus::Pending,
            duration: None,
        })
        .collect();
}

fn run_action(m: &mut Model, a: Action) -> Vec<Command> {
    let d = &mut m.run;
    let page = 10u64;
    match a {
        Action::Up => d.selected = d.selected.saturating_sub(1),
        Action::Down => d.selected = (d.selected + 1).min(d.nodes.len().saturating_sub(1)),
        Action::ToggleAll => {
            d.all = !d.all;
            d.top = None;
        }
        Action::PageUp => {
            let ring = d.logs.ring(d.ring_index());
            let cur = d
                .top
                .unwrap_or_else(|| ring.window_start(None, page as usize));
            d.top = Some(cur.saturating_sub(page).max(ring.first()));
        }
        Action::PageDown => {
            if let Some(t) = d.top {
                let ring = d.logs.ring(d.ring_index());
                let t = t + page;
                // Paging past the end means follow again.
                d.top = if t + page >= ring.end() {
                    None
                } else {
                    Some(t)
                };
            }
        }
        Action::Home => d.top = Some(0),
        Action::End => d.top = None,
        Action::Retry => {
            let Some(c) = m.cluster.clone() else {
                return vec![];
            };
            let failed: Vec<String> = d
                .failed()
                .into_iter()
                .map(|i| d.nodes[i].info.name.clone())
                .collect();
            start_dashboard(m);
            let msg = format!("── run {} (resume; done steps are skipped) ──", m.run.runs);
            m.run
                .logs
                .push_all("kha-tui".into(), LineKind::Marker, &msg);
            if failed.is_empty() {
                info(m, "Resuming the run".into());
            } else {
                info(
                    m,
                    format!("Retrying {} — resuming the run", failed.join(", ")),
                );
            }
            return vec![Command::Apply {
                cluster: Box::new(c),
                ignore: m.preflight.ignored.clone(),
                secrets: m.secrets.clone(),
            }];
        }
        Action::Summary => m.screen = Screen::Done,
        _ => {}
    }
    vec![]
}

fn popup_action(m: &mut Model, a: Action) -> Vec<Command> {
    let Some(p) = m.popups.front_mut() else {
        return vec![];
    };
    match p {
        Popup::HostKey {
            yes,
            reply,
            node,
            fingerprint,
            ..
        } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo => {
                let answer = a == Action::DialogEnter && *yes;
                let reply = reply.take();
                if answer {
                    let key = (node.clone(), fingerprint.clone());
                    m.accepted_keys.push(key);
                }
                m.popups.pop_front();
                return reply
                    .map(|reply| Command::Answer { reply, yes: answer })
                    .into_iter()
                    .collect();
            }
            _ => {}
        },
        Popup::Confirm {
            yes,
            reply,
            typed,
            scroll,
            ..
        } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::Up => *scroll = scroll.saturating_sub(1),
            Action::Down => *scroll += 1,
            Action::PageUp => *scroll = scroll.saturating_sub(8),
            Action::PageDown => *scroll += 8,
            Action::DialogEnter | Action::DialogNo => {
                let mut answer = a == Action::DialogEnter && *yes;
                if answer
                    && let Some((want, got)) = typed
                    && got.text() != want.as_str()
                {
                    let want = want.clone();
                    m.status = Some((
                        Level::Error,
                        format!("Type the cluster name {want:?} to confirm, or choose No"),
                    ));
                    answer = false;
                    if a == Action::DialogEnter {
                        return vec![];
                    }
                }
                let reply = reply.take();
                m.popups.pop_front();
                m.status = None;
                return reply
                    .map(|reply| Command::Answer { reply, yes: answer })
                    .into_iter()
                    .collect();
            }
            _ => {}
        },
        Popup::Stop { yes } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo => {
                let stop = a == Action::DialogEnter && *yes;
                m.popups.pop_front();
                if stop {
                    m.run.stopping = true;
                    info(
                        m,
                        "Stopping: running steps are cancelled; a new run resumes".into(),
                    );
                    return vec![Command::Stop];
                }
            }
            _ => {}
        },
        Popup::Quit { yes } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo => {
                let quit = a == Action::DialogEnter && *yes;
                m.popups.pop_front();
                if quit {
                    m.quit = true;
                    let mut v = Vec::new();
                    if m.busy() {
                        v.push(Command::Stop);
                    }
                    v.push(Command::Quit);
                    return v;
                }
            }
            _ => {}
        },
        Popup::Secrets { fields, focus } => match a {
            Action::FocusNext => *focus = (*focus + 1) % 3,
            Action::FocusPrev => *focus = (*focus + 2) % 3,
            Action::DialogNo => {
                m.popups.pop_front();
            }
            Action::DialogEnter => {
                let v = |f: &Field| Some(f.text().to_string()).filter(|t| !t.is_empty());
                m.secrets = Secrets {
                    sudo_password: v(&fields[0]),
                    key_passphrase: v(&fields[1]),
                    ssh_password: v(&fields[2]),
                };
                m.popups.pop_front();
                info(
                    m,
                    "Passwords kept for this session (never written); checking again".into(),
                );
                return preflight_action(m, Action::Rerun);
            }
            _ => {}
        },
        Popup::Script { lines, scroll, .. } => {
            let max = lines.len().saturating_sub(1);
            match a {
                Action::Close => {
                    m.popups.pop_front();
                }
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::Down => *scroll = (*scroll + 1).min(max),
                Action::PageUp => *scroll = scroll.saturating_sub(15),
                Action::PageDown => *scroll = (*scroll + 15).min(max),
                Action::Home => *scroll = 0,
                Action::End => *scroll = max,
                _ => {}
            }
        }
    }
    vec![]
}

/// Steps whose confirmation must be typed: anything that resets or wipes.
pub fn is_destructive(step: &str, title: &str) -> bool {
    let s = format!("{step} {title}").to_ascii_lowercase();
    [
        "reset",
        "wipe",
        "destroy",
        "delete",
        "teardown",
        "remove-node",
    ]
    .iter()
    .any(|w| s.contains(w))
}

fn on_event(m: &mut Model, ev: Event) -> Vec<Command> {
    match ev {
        Event::RunStarted {
            cluster,
            nodes,
            phases,
            simulated,
        } => {
            m.simulated |= simulated;
            set_shape(&mut m.run, cluster, nodes, phases);
            m.run.running = true;
        }
        Event::NodeConnecting { node } => {
            if let Some(n) = m.preflight.node_mut(&node)
                && n.conn != Conn::KeyChanged
            {
                n.conn = Conn::Connecting;
            }
            if m.run.running
                && let Some(c) = card(m, &node)
                && c.status == NodeStatus::Pending
            {
                c.status = NodeStatus::Connecting;
            }
        }
        Event::NodeConnected { node, detail } => {
            if let Some(n) = m.preflight.node_mut(&node) {
                n.conn = Conn::Connected;
                if !detail.is_empty() {
                    n.detail = detail.clone();
                }
            }
            if let Some(c) = card(m, &node)
                && c.status == NodeStatus::Connecting
            {
                c.status = NodeStatus::Pending;
            }
        }
        Event::NodeUnreachable {
            node,
            error,
            host_key_changed,
        } => {
            let low = error.to_ascii_lowercase();
            if !host_key_changed
                && (low.contains("password")
                    || low.contains("passphrase")
                    || low.contains("encrypted"))
            {
                m.status = Some((
                    Level::Warn,
                    format!(
                        "{node}: a password is needed — press p on the Connect screen to give it"
                    ),
                ));
            }
            if let Some(n) = m.preflight.node_mut(&node) {
                n.conn = if host_key_changed {
                    Conn::KeyChanged
                } else {
                    Conn::Unreachable
                };
                n.detail = error.clone();
            }
            let now = m.now;
            if m.run.running
                && let Some(c) = card(m, &node)
            {
                c.status = if host_key_changed {
                    NodeStatus::KeyChanged
                } else {
                    NodeStatus::Unreachable
                };
                c.error = Some(error.clone());
                c.finished = Some(now);
            }
            if let Some(&i) = m.run.index.get(&node) {
                let name = m.run.nodes[i].name.clone();
                m.run
                    .logs
                    .push(i, name, LineKind::Failure, &format!("✗ {error}"));
            }
        }
        Event::HostKeyQuestion {
            node,
            host,
            algorithm,
            fingerprint,
            reply,
        } => {
            if m.accepted_keys
                .contains(&(node.clone(), fingerprint.clone()))
            {
                return vec![Command::Answer { reply, yes: true }];
            }
            m.popups.push_back(Popup::HostKey {
                node,
                host,
                algorithm,
                fingerprint,
                reply: Some(reply),
                yes: false,
            });
        }
        Event::PreflightResult(r) => {
            if let Some(n) = m.preflight.node_mut(&r.node) {
                match n.checks.iter_mut().find(|c| c.check == r.check) {
                    Some(c) => *c = r,
                    None => n.checks.push(r),
                }
            }
        }
        Event::PreflightDone { blocking } => {
            m.preflight.running = false;
            m.preflight.fixing = None;
            m.preflight.blocking = Some(blocking);
        }
        Event::PhaseStarted { index, .. } => {
            if let Some(p) = m.run.phases.get_mut(index) {
                p.status = PhaseStatus::Running;
            }
        }
        Event::StepStarted {
            node,
            step,
            title,
            phase,
        } => {
            let now = m.now;
            if let Some(&i) = m.run.index.get(&node) {
                let c = &mut m.run.nodes[i];
                c.status = NodeStatus::Running;
                c.started.get_or_insert(now);
                c.finished = None;
                c.step = Some((step.clone(), title.clone()));
                let name = c.name.clone();
                m.run.logs.push(
                    i,
                    name,
                    LineKind::Marker,
                    &format!("▶ [{phase}] {step}: {title}"),
                );
            }
        }
        Event::Log {
            node, line, stream, ..
        } => {
            let kind = match stream {
                crate::engine::events::Stream::Stdout => LineKind::Stdout,
                crate::engine::events::Stream::Stderr => LineKind::Stderr,
            };
            match m.run.index.get(&node) {
                Some(&i) => {
                    let name = m.run.nodes[i].name.clone();
                    m.run.logs.push(i, name, kind, &line);
                }
                None => m.run.logs.push_all(node.as_str().into(), kind, &line),
            }
        }
        Event::StepFinished {
            node,
            step,
            outcome,
            duration,
        } => {
            let now = m.now;
            if let Some(&i) = m.run.index.get(&node) {
                let c = &mut m.run.nodes[i];
                let (kind, text) = match &outcome {
                    StepOutcome::Succeeded => {
                        c.done += 1;
                        (LineKind::Marker, format!("✓ {step} ({})", clock(duration)))
                    }
                    StepOutcome::SkippedDone => {
                        c.done += 1;
                        (
                            LineKind::Marker,
                            format!("✓ {step}: done in an earlier run, skipped"),
                        )
                    }
                    StepOutcome::Failed { exit, reason } => {
                        c.status = NodeStatus::Failed;
                        c.error = Some(format!("{step}: {reason}"));
                        c.finished = Some(now);
                        let exit = exit
                            .map(|e| format!("exit {e}"))
                            .unwrap_or_else(|| "no exit status".into());
                        (
                            LineKind::Failure,
                            format!("✗ {step} failed ({exit}, {}): {reason}", clock(duration)),
                        )
                    }
                    StepOutcome::NotRun { reason } => {
                        if c.status != NodeStatus::Failed {
                            c.status = NodeStatus::Stopped;
                            c.error = Some(reason.clone());
                        }
                        (LineKind::Marker, format!("· {step} not run: {reason}"))
                    }
                };
                if c.done >= c.info.steps && c.status != NodeStatus::Failed {
                    c.status = NodeStatus::Done;
                    c.finished = Some(now);
                    c.error = None;
                } else if c.status == NodeStatus::Running
                    && matches!(outcome, StepOutcome::Succeeded | StepOutcome::SkippedDone)
                {
                    // Between steps a node waits (e.g. for the init on another node).
                    c.status = NodeStatus::Pending;
                }
                let name = c.name.clone();
                m.run.logs.push(i, name, kind, &text);
            }
        }
        Event::ConfirmationNeeded {
            step,
            nodes,
            title,
            detail,
            command,
            reply,
        } => {
            let typed = is_destructive(&step, &title).then(|| (m.cluster_name(), Field::new("")));
            // Under the engine's command line, what it runs: the step's own script from the plan
            // (after the shared node library) and the files it writes.
            let mut command = command;
            if let Some(p) = &m.plan.plan {
                for n in &nodes {
                    if let Some(s) = p.find(n, &step) {
                        for f in &s.files {
                            command.push_str(&format!("\n# writes {} (mode {:o})", f.path, f.mode));
                        }
                        let own = s
                            .script
                            .strip_prefix(crate::assets::scripts::LIB)
                            .unwrap_or(&s.script)
                            .trim_start_matches('\n');
                        command.push_str(&format!("\n# ---- the script of {step} on {n} ----\n"));
                        command.push_str(&own.replace('\t', "    "));
                        break;
                    }
                }
            }
            m.popups.push_back(Popup::Confirm {
                step,
                nodes,
                title,
                detail,
                command,
                reply: Some(reply),
                yes: false,
                typed,
                scroll: 0,
            });
        }
        Event::PhaseFinished {
            index,
            ok,
            duration,
            ..
        } => {
            if let Some(p) = m.run.phases.get_mut(index) {
                p.status = if ok {
                    PhaseStatus::Ok
                } else {
                    PhaseStatus::Failed
                };
                p.duration = Some(duration);
            }
        }
        Event::RunFinished(summary) => {
            prune_popups(m);
            let d = &mut m.run;
            d.running = false;
            d.stopping = false;
            let now = m.now;
            for c in &mut d.nodes {
                if matches!(
                    c.status,
                    NodeStatus::Running | NodeStatus::Connecting | NodeStatus::Pending
                ) {
                    c.status = if summary.ok {
                        NodeStatus::Done
                    } else {
                        NodeStatus::Stopped
                    };
                    if c.started.is_some() {
                        c.finished = Some(now);
                    }
                }
            }
            if summary.ok {
                for c in &mut d.nodes {
                    c.status = NodeStatus::Done;
                }
                if m.screen == Screen::Run {
                    m.screen = Screen::Done;
                }
            } else {
                let why = summary
                    .stopped
                    .clone()
                    .unwrap_or_else(|| "the run did not finish".into());
                m.status = Some((Level::Error, why));
            }
            d.summary = Some(summary);
        }
    }
    vec![]
}

fn card<'a>(m: &'a mut Model, node: &str) -> Option<&'a mut NodeCard> {
    let i = *m.run.index.get(node)?;
    m.run.nodes.get_mut(i)
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
