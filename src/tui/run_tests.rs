//! Unit tests of the run and done screens: what `update` makes of the engine's events, read off
//! the drawn screen (a failure's cause, a quiet step, the cluster's own node count).

use std::time::Duration;

use ratatui::{Terminal, backend::TestBackend};

use super::fixtures::{self, ev, feed};
use super::model::*;
use crate::engine::events::{ClusterNode, Event, Failure, RunSummary, StepOutcome, Stream};

fn screen(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::view::view(m, f)).unwrap();
    let b = t.backend().buffer();
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// The screen's words in order, borders and line breaks gone: wrapped dialog text reads whole.
fn flat(s: &str) -> String {
    s.replace(['│', '┌', '┐', '└', '┘', '─'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_quiet_step_says_so_on_its_card_until_it_prints_again() {
    let mut m = fixtures::run_quiet();
    let s = screen(&m, 120, 36);
    assert!(s.contains("quiet 2:10"), "{s}");
    // The clock runs on between the engine's reminders.
    feed(&mut m, [Msg::Tick(Duration::from_secs(176))]);
    assert!(screen(&m, 120, 36).contains("quiet 2:15"));
    ev(
        &mut m,
        Event::Log {
            node: "master1".into(),
            step: "kubeadm-init".into(),
            stream: Stream::Stdout,
            line: "[apiclient] All control plane components are healthy".into(),
        },
    );
    assert!(!screen(&m, 120, 36).contains("quiet "));
}

#[test]
fn a_failed_steps_status_and_last_lines_stay_readable() {
    let m = fixtures::run_failed();
    for (w, h) in [(120, 36), (80, 24)] {
        let s = screen(&m, w, h);
        assert!(
            s.contains("kubeadm-join failed — exit status 1"),
            "{w}x{h}:\n{s}"
        );
        // The banner keeps the step's last line whole enough to read the cause.
        assert!(s.contains("│ To see the stack trace"), "{w}x{h}:\n{s}");
        assert!(
            s.contains("couldn't validate the identity"),
            "{w}x{h}:\n{s}"
        );
    }
    // The card says it too, from the typed failure (not guessed from text).
    let c = &m.run.nodes[m.run.index["worker2"]];
    assert_eq!(c.status, NodeStatus::Failed);
    let fs = c.failure.as_ref().unwrap();
    assert_eq!(
        (fs.step.as_str(), fs.what.as_str()),
        ("kubeadm-join", "exit status 1")
    );
    assert_eq!(fs.last_lines.len(), 3);
}

#[test]
fn a_changed_host_key_is_a_security_state_not_a_guess_from_words() {
    let mut m = fixtures::run_running();
    ev(
        &mut m,
        Event::NodeUnreachable {
            node: "worker3".into(),
            failure: Failure::HostKeyChanged,
            // Words that the old text-guessing would have taken for "a password is needed".
            error: "the host key of worker3 changed; password authentication not tried".into(),
        },
    );
    let c = &m.run.nodes[m.run.index["worker3"]];
    assert_eq!(c.status, NodeStatus::KeyChanged);
    assert!(
        !m.status
            .as_ref()
            .is_some_and(|(_, s)| s.contains("press p")),
        "{:?}",
        m.status
    );
    ev(
        &mut m,
        Event::NodeUnreachable {
            node: "worker2".into(),
            failure: Failure::AuthRefused,
            error: "Permission denied (publickey)".into(),
        },
    );
    assert_eq!(
        m.run.nodes[m.run.index["worker2"]].status,
        NodeStatus::Unreachable
    );
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .1
            .contains("authentication refused")
    );
}

#[test]
fn a_node_whose_identity_changed_is_flagged_on_its_card() {
    let mut m = fixtures::run_running();
    ev(
        &mut m,
        Event::NodeIdentityChanged {
            node: "worker1".into(),
            detail: "machine-id differs".into(),
        },
    );
    let s = screen(&m, 120, 36);
    assert!(s.contains("identity changed"), "{s}");
    assert!(m.status.as_ref().unwrap().1.contains("worker1"));
}

#[test]
fn done_counts_the_nodes_the_cluster_reports_and_every_runs_time() {
    let m = fixtures::done();
    let s = screen(&m, 120, 36);
    // Six Kubernetes nodes (the LB is not one), as kubectl reported them.
    assert!(s.contains("6 of 6 Kubernetes nodes Ready"), "{s}");
    assert!(!s.contains("lb Ready"), "{s}");
    // 1:47 of the failed first run plus 1:22 of this one.
    assert!(s.contains("3:09 over all runs (this run 1:22)"), "{s}");
}

#[test]
fn done_without_a_report_from_the_cluster_claims_nothing() {
    let mut m = fixtures::run_running();
    ev(
        &mut m,
        Event::RunFinished(RunSummary {
            ok: true,
            stopped: None,
            failures: vec![],
            phase_durations: vec![],
            total: Duration::from_secs(60),
            total_all_runs: Duration::from_secs(60),
            cluster_nodes: vec![],
            endpoint: "lb:6443".into(),
            kubeconfig: "~/.kube/config on lb".into(),
            log_dir: "/tmp/l".into(),
            state_file: "/tmp/s".into(),
        }),
    );
    let s = screen(&m, 120, 36);
    assert!(s.contains("the cluster did not report its nodes"), "{s}");
    assert!(!s.contains("Ready"), "{s}");
    // ClusterNodes before the summary is used when the summary has none.
    ev(
        &mut m,
        Event::ClusterNodes {
            nodes: vec![
                ClusterNode {
                    name: "master1".into(),
                    ready: true,
                    version: "v1.37.1".into(),
                    roles: "control-plane".into(),
                },
                ClusterNode {
                    name: "worker1".into(),
                    ready: false,
                    version: "v1.37.1".into(),
                    roles: "<none>".into(),
                },
            ],
        },
    );
    let s = screen(&m, 120, 36);
    assert!(s.contains("1 of 2 Kubernetes nodes Ready"), "{s}");
    assert!(s.contains("worker1 NotReady"), "{s}");
}

#[test]
fn a_long_log_line_wraps_with_a_continuation_marker() {
    let mut m = fixtures::run_running();
    let sel = m.run.nodes[m.run.selected].info.name.clone();
    let long = format!("START {} END", "abcdefghij".repeat(30));
    ev(
        &mut m,
        Event::Log {
            node: sel,
            step: "kubeadm-init".into(),
            stream: Stream::Stderr,
            line: long.clone(),
        },
    );
    for (w, h) in [(120, 36), (80, 24)] {
        let s = screen(&m, w, h);
        assert!(s.contains("START abcdefghij"), "{s}");
        assert!(s.contains("↪ "), "{s}");
        // Every character of the line is on screen, in order, across its rows.
        let pane: Vec<String> = s
            .lines()
            .filter_map(|l| l.split('│').nth(3).map(str::to_string))
            .collect();
        let first = pane.iter().position(|l| l.starts_with("START")).unwrap();
        let mut joined = pane[first].clone();
        for l in &pane[first + 1..] {
            match l.strip_prefix("↪ ") {
                Some(rest) => joined.push_str(rest),
                None => break,
            }
        }
        assert_eq!(joined.trim_end(), long, "{w}x{h}:\n{s}");
    }
}

#[test]
fn a_retried_run_clears_the_failure() {
    let mut m = fixtures::run_failed();
    feed(
        &mut m,
        [fixtures::key(crossterm::event::KeyCode::Char('r'))],
    );
    assert!(m.run.running);
    // While it runs again there is no banner; the engine's RunStarted resets the cards.
    assert!(!screen(&m, 120, 36).contains("r retries"));
    let nodes = m.run.nodes.iter().map(|c| c.info.clone()).collect();
    let phases = m.run.phases.iter().map(|p| p.info.clone()).collect();
    ev(
        &mut m,
        Event::RunStarted {
            cluster: "prod".into(),
            nodes,
            phases,
            simulated: true,
        },
    );
    let c = &m.run.nodes[m.run.index["worker2"]];
    assert!(c.failure.is_none() && c.error.is_none());
    let _ = StepOutcome::Succeeded;
}

fn summary_stopped() -> RunSummary {
    RunSummary {
        ok: false,
        stopped: Some("stopped by the operator".into()),
        failures: vec![],
        phase_durations: vec![],
        total: Duration::from_secs(40),
        total_all_runs: Duration::from_secs(40),
        cluster_nodes: vec![],
        endpoint: "lb:6443".into(),
        kubeconfig: "~/.kube/config on lb".into(),
        log_dir: "/tmp/l".into(),
        state_file: "/tmp/s".into(),
    }
}

#[test]
fn stop_says_what_happens_cancels_and_shows_stopping_until_the_engine_stopped() {
    use crossterm::event::KeyCode;
    let mut m = fixtures::stop_dialog();
    let s = screen(&m, 80, 24);
    assert!(
        s.contains("kha-tui ends the commands running on the "),
        "{s}"
    );
    assert!(s.contains(" nodes now and starts nothing new"), "{s}");
    assert!(s.contains("the screen says stopping"), "{s}");
    let cmds = super::update::update(&mut m, fixtures::key(KeyCode::Char('y')));
    assert!(matches!(cmds.as_slice(), [Command::Stop]), "{cmds:?}");
    assert!(m.run.stopping && m.run.running && !m.quit);
    assert!(screen(&m, 120, 36).contains("stopping…"));
    ev(
        &mut m,
        Event::Stopping {
            reason: "stopped by the operator".into(),
        },
    );
    let s = screen(&m, 120, 36);
    assert!(s.contains("stopping…"), "{s}");
    assert!(s.contains("waiting for every node to stop"), "{s}");
    ev(&mut m, Event::RunFinished(summary_stopped()));
    let s = screen(&m, 120, 36);
    assert!(!m.run.stopping && !m.run.running);
    assert!(!s.contains("stopping…"), "{s}");
    assert!(s.contains("r resumes"), "{s}");
}

#[test]
fn quit_while_busy_waits_for_the_engine_to_stop() {
    use crossterm::event::KeyCode;
    let mut m = fixtures::preflight_started();
    assert!(m.busy());
    super::update::update(&mut m, fixtures::key(KeyCode::Char('q')));
    assert!(matches!(m.popups.front(), Some(Popup::Quit { .. })));
    let s = screen(&m, 120, 36);
    assert!(
        flat(&s)
            .contains("The checks still running are stopped first; kha-tui exits once they have."),
        "{s}"
    );
    let cmds = super::update::update(&mut m, fixtures::key(KeyCode::Char('y')));
    // The engine is told to stop; kha-tui does not quit yet.
    assert!(matches!(cmds.as_slice(), [Command::Stop]), "{cmds:?}");
    assert!(!m.quit && m.quit_when_stopped);
    feed(&mut m, [Msg::Tick(Duration::from_secs(60))]);
    assert!(!m.quit, "a tick is not the engine stopping");
    // The engine's task ended: now it quits.
    let cmds = super::update::update(&mut m, Msg::TaskEnded(Task::Preflight));
    assert!(m.quit);
    assert!(cmds.iter().any(|c| matches!(c, Command::Quit)));
}

#[test]
fn quit_asked_again_while_waiting_quits_at_once() {
    use crossterm::event::KeyCode;
    let mut m = fixtures::preflight_started();
    for k in ['q', 'y'] {
        super::update::update(&mut m, fixtures::key(KeyCode::Char(k)));
    }
    assert!(m.quit_when_stopped && !m.quit);
    super::update::update(&mut m, fixtures::key(KeyCode::Char('q')));
    assert!(flat(&screen(&m, 120, 36)).contains(
        "waiting for the nodes to stop. Quit now without waiting? Commands may still be running on the nodes."
    ));
    let cmds = super::update::update(&mut m, fixtures::key(KeyCode::Char('y')));
    assert!(m.quit);
    assert!(matches!(cmds.as_slice(), [Command::Quit]), "{cmds:?}");
}

#[test]
fn the_first_enter_on_a_phase_header_folds_it_and_shows_where_the_cursor_is() {
    use crossterm::event::KeyCode;
    let mut m = fixtures::plan_review();
    // As the screen opens: the cursor on the first phase header.
    m.plan.selected = 0;
    let before = m.plan.rows().len();
    let s = screen(&m, 120, 36);
    assert!(s.contains("▶▾ 1 load-balancer"), "{s}");
    super::update::update(&mut m, fixtures::key(KeyCode::Enter));
    assert!(m.popups.is_empty());
    assert!(m.plan.rows().len() < before, "the phase folded");
    assert!(screen(&m, 120, 36).contains("▶▸ 1 load-balancer"));
    super::update::update(&mut m, fixtures::key(KeyCode::Enter));
    assert_eq!(m.plan.rows().len(), before, "and unfolded");
    // On a step, Enter shows its script.
    super::update::update(&mut m, fixtures::key(KeyCode::Down));
    super::update::update(&mut m, fixtures::key(KeyCode::Enter));
    assert!(matches!(m.popups.front(), Some(Popup::Script { .. })));
}

#[test]
fn a_phase_says_its_mode_once() {
    let m = fixtures::plan_review();
    for (w, h) in [(120, 36), (200, 60)] {
        let s = screen(&m, w, h);
        for l in s.lines() {
            assert!(
                l.matches("one at a time").count() <= 1,
                "repeated at {w}x{h}: {l}"
            );
        }
    }
}

#[test]
fn the_pair_shows_which_lb_holds_the_vip_live() {
    let mut m = fixtures::run_pair();
    for (w, h) in [(120, 36), (80, 24)] {
        let s = screen(&m, w, h);
        assert!(s.contains("VIP 10.0.0.5 on lb"), "{s}");
        assert!(s.contains("lb MASTER · lb2 BACKUP"), "{s}");
    }
    // The VIP moves: the screen follows keepalived's states.
    ev(
        &mut m,
        Event::LbPairState {
            vip: "10.0.0.5".into(),
            states: vec![
                ("lb".into(), Some("FAULT".into())),
                ("lb2".into(), Some("MASTER".into())),
            ],
        },
    );
    let s = screen(&m, 120, 36);
    assert!(s.contains("VIP 10.0.0.5 on lb2"), "{s}");
    assert!(s.contains("lb FAULT · lb2 MASTER"), "{s}");
    ev(
        &mut m,
        Event::LbPairState {
            vip: "10.0.0.5".into(),
            states: vec![
                ("lb".into(), Some("BACKUP".into())),
                ("lb2".into(), Some("BACKUP".into())),
            ],
        },
    );
    assert!(screen(&m, 120, 36).contains("VIP 10.0.0.5 on no load balancer"));
}

#[test]
fn done_names_the_lb_holding_the_vip() {
    let mut m = fixtures::done();
    let before = screen(&m, 120, 36);
    assert!(!before.contains("Virtual IP"), "no pair, no line");
    m.run.lb_pair = Some((
        "10.0.0.5".into(),
        vec![
            ("lb".into(), Some("BACKUP".into())),
            ("lb2".into(), Some("MASTER".into())),
        ],
    ));
    let s = screen(&m, 120, 36);
    assert!(
        s.contains("Virtual IP  10.0.0.5 on lb2 (lb BACKUP, lb2 MASTER)"),
        "{s}"
    );
}
