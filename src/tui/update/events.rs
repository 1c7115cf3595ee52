//! The engine's events: preflight results, run progress, questions.

use super::*;

pub(super) fn on_event(m: &mut Model, ev: Event) -> Vec<Command> {
    log_pane::take_event(m, &ev);
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
            crate::tui::key_setup::on_connected(m, &node);
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
            failure,
            error,
        } => {
            use crate::engine::Failure as F;
            crate::tui::key_setup::on_unreachable(m, &node, &failure);
            let host_key_changed = failure == F::HostKeyChanged;
            if failure == F::AuthRefused && !m.run.running {
                m.status = Some((
                    Level::Warn,
                    format!(
                        "{node}: {failure} — K installs kha-tui's key with the nodes' login password; p gives a password or passphrase"
                    ),
                ));
            } else if matches!(failure, F::AuthRefused | F::KeyUnusable | F::SudoRefused) {
                m.status = Some((
                    Level::Warn,
                    format!(
                        "{node}: {failure} — if a password or passphrase is needed, press p on the Connect screen to give it"
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
                c.error = Some(failure.to_string());
                c.failure = Some(FailedStep {
                    step: "connect".into(),
                    what: failure.to_string(),
                    last_lines: last_lines(&error),
                });
                c.quiet = None;
                c.finished = Some(now);
            }
        }
        Event::NodeIdentityChanged { node, detail } => {
            let text = format!(
                "{node} is not the machine the state recorded ({detail}): its steps run again there"
            );
            if let Some(c) = card(m, &node) {
                c.warning = Some(format!("⚠ identity changed: {detail}"));
            }
            m.status = Some((Level::Warn, text));
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
                c.step = Some((step, title));
                c.quiet = None;
                let _ = phase;
            }
        }
        // Its lines went to the pane in `take_event`; a line ends a quiet spell.
        Event::Log { node, .. } => {
            if let Some(c) = card(m, &node) {
                c.quiet = None;
            }
        }
        Event::StepQuiet {
            node, quiet_for, ..
        } => {
            let now = m.now;
            if let Some(c) = card(m, &node)
                && c.status == NodeStatus::Running
            {
                c.quiet = Some((quiet_for, now));
            }
        }
        Event::ClusterNodes { nodes } => m.run.cluster_nodes = Some(nodes),
        Event::LbPairState { vip, states } => m.run.lb_pair = Some((vip, states)),
        Event::StepFinished {
            node,
            step,
            outcome,
            duration,
        } => {
            let now = m.now;
            if let Some(&i) = m.run.index.get(&node) {
                let c = &mut m.run.nodes[i];
                c.quiet = None;
                match &outcome {
                    StepOutcome::Succeeded | StepOutcome::SkippedDone => c.done += 1,
                    StepOutcome::Failed { failure, reason } => {
                        c.status = NodeStatus::Failed;
                        c.error = Some(format!("{step}: {failure}"));
                        c.failure = Some(FailedStep {
                            step: step.clone(),
                            what: failure.to_string(),
                            last_lines: last_lines(reason),
                        });
                        c.finished = Some(now);
                    }
                    StepOutcome::Interrupted { reason } => {
                        c.status = NodeStatus::Stopped;
                        c.error = Some(format!("{step} interrupted: {reason}"));
                        c.finished = Some(now);
                    }
                    StepOutcome::NotRun { reason } => {
                        if c.status != NodeStatus::Failed {
                            c.status = NodeStatus::Stopped;
                            c.error = Some(reason.clone());
                        }
                    }
                }
                if c.done >= c.info.steps && c.status != NodeStatus::Failed {
                    c.status = NodeStatus::Done;
                    c.finished = Some(now);
                    c.error = None;
                    c.failure = None;
                } else if c.status == NodeStatus::Running
                    && matches!(outcome, StepOutcome::Succeeded | StepOutcome::SkippedDone)
                {
                    // Between steps a node waits (e.g. for the init on another node).
                    c.status = NodeStatus::Pending;
                }
                let _ = duration;
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
                chosen: false,
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
        Event::Stopping { reason } => {
            m.run.stopping = true;
            m.status = Some((
                Level::Warn,
                format!("Stopping: {reason} — waiting for every node to stop"),
            ));
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
                // A day-2 run ends with its report, not "cluster ready".
                if m.screen == Screen::Run && !m.day2.running {
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

/// The non-empty last lines of a failed step's output (at most 5), for the banner and card.
fn last_lines(reason: &str) -> Vec<String> {
    let v: Vec<String> = reason
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(crate::tui::logs::sanitize)
        .collect();
    v[v.len().saturating_sub(5)..].to_vec()
}

pub(super) fn card<'a>(m: &'a mut Model, node: &str) -> Option<&'a mut NodeCard> {
    let i = *m.run.index.get(node)?;
    m.run.nodes.get_mut(i)
}
