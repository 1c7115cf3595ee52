//! Plan screen: the reviewed plan, its scripts, and starting the run.

use super::*;

pub(super) fn plan_action(m: &mut Model, a: Action) -> Vec<Command> {
    let rows = m.plan.rows();
    let n = rows.len();
    let page = m.page_rows();
    let sel = &mut m.plan.selected;
    match a {
        Action::Up => *sel = sel.saturating_sub(1),
        Action::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
        // A page is what the screen shows.
        Action::PageUp => *sel = sel.saturating_sub(page),
        Action::PageDown => *sel = (*sel + page).min(n.saturating_sub(1)),
        Action::Home => *sel = 0,
        Action::End => *sel = n.saturating_sub(1),
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
        // Enter on a phase header folds it to its header, or unfolds it.
        Action::ShowScript if matches!(rows.get(*sel), Some(PlanRow::Phase(_))) => {
            if let Some(PlanRow::Phase(i)) = rows.get(*sel) {
                let folded = &mut m.plan.folded;
                match folded.iter().position(|f| f == i) {
                    Some(k) => {
                        folded.remove(k);
                    }
                    None => folded.push(*i),
                }
            }
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
pub fn script_lines(s: &crate::plan::Step) -> Vec<String> {
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
