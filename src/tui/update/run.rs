//! Run screen: the dashboard's shape, log paging, retry and resume.

use super::*;

/// Cards and phases from the plan, so the dashboard has a shape before the engine's RunStarted.
pub(super) fn start_dashboard(m: &mut Model) {
    m.day2.on_dashboard = false;
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

pub(super) fn set_shape(
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
            c.failure = None;
            c.quiet = None;
            c.warning = None;
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
    d.logs
        .set_nodes(d.nodes.iter().map(|c| c.name.clone()).collect());
    if let Some(root) = &d.log_root {
        d.logs.set_files(root.clone(), &d.cluster);
    }
    d.window = None;
    d.phases = phases
        .into_iter()
        .map(|info| PhaseState {
            info,
            status: PhaseStatus::Pending,
            duration: None,
        })
        .collect();
}

pub(super) fn run_action(m: &mut Model, a: Action) -> Vec<Command> {
    // A day-2 job that did not finish runs again as itself, not as the install.
    if a == Action::Retry
        && let Some(cmds) = crate::tui::day2_wizard::retry(m)
    {
        return cmds;
    }
    let d = &mut m.run;
    match a {
        Action::Up | Action::Down => {
            d.selected = if a == Action::Up {
                d.selected.saturating_sub(1)
            } else {
                (d.selected + 1).min(d.nodes.len().saturating_sub(1))
            };
            if !d.all {
                log_pane::follow(m);
            }
        }
        Action::ToggleAll => {
            d.all = !d.all;
            log_pane::follow(m);
        }
        Action::PageUp => log_pane::page_up(m),
        Action::PageDown => log_pane::page_down(m),
        Action::Home => log_pane::home(m),
        Action::End => log_pane::follow(m),
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
        Action::Summary if m.day2.on_dashboard => {
            return crate::tui::cluster_view::open(m);
        }
        Action::Summary => m.screen = Screen::Done,
        _ => {}
    }
    vec![]
}
