//! Unit tests of `update`: the wizard's flow, the dialogs' answers, retry and the log window.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::fixtures::{self, ctrl, ev, key};
use super::form::{FieldId, Page};
use super::logs::LineKind;
use super::model::*;
use super::update::update;
use crate::engine::events::{CheckResult, CheckStatus, Event, RunSummary, StepOutcome, Stream};

fn press(m: &mut Model, code: KeyCode) -> Vec<Command> {
    update(m, key(code))
}

fn typed(m: &mut Model, s: &str) {
    for c in s.chars() {
        update(m, key(KeyCode::Char(c)));
    }
}

/// Lets time pass beyond a new dialog's grace period (keys right after it opens are ignored).
pub(super) fn settle(m: &mut Model) {
    let t = m.now + Duration::from_secs(1);
    update(m, Msg::Tick(t));
}

fn answer(cmds: &[Command]) -> Option<bool> {
    cmds.iter().find_map(|c| match c {
        Command::Answer { yes, .. } => Some(*yes),
        _ => None,
    })
}

#[test]
fn esc_goes_back_and_nothing_is_lost() {
    let mut m = fixtures::welcome();
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Access));
    // Edit the LB name, go forward, then all the way back to the welcome screen.
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Backspace);
    typed(&mut m, "edge");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Nodes));
    press(&mut m, KeyCode::Esc);
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Welcome);
    assert_eq!(m.welcome_item(), WelcomeItem::Continue);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Access));
    assert_eq!(m.form.as_ref().unwrap().lb_name.text(), "edge");
}

#[test]
fn next_is_refused_while_an_error_stands() {
    let mut m = fixtures::form(Page::Cluster);
    m.form.as_mut().unwrap().focus = 3;
    for _ in 0..20 {
        press(&mut m, KeyCode::Backspace);
    }
    typed(&mut m, "10.0.0.0/8");
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty());
    assert_eq!(m.screen, Screen::Form(Page::Cluster));
    let f = m.form.as_ref().unwrap();
    assert_eq!(f.focused(), Some(FieldId::PodSubnet));
    assert!(f.issues_of(FieldId::PodSubnet).any(|i| {
        i.message
            .contains("pod subnet 10.0.0.0/8 contains master1 10.0.0.11")
    }));
    assert!(matches!(m.status, Some((Level::Error, _))));
    // Fixed: saved, and preflight starts.
    for _ in 0..20 {
        press(&mut m, KeyCode::Backspace);
    }
    typed(&mut m, "10.244.0.0/16");
    assert_eq!(
        m.status, None,
        "no stale error message once the value changed"
    );
    // A new inventory (the seed has no file): asked where, the default prefilled.
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(matches!(m.popups.front(), Some(Popup::SaveAs { .. })));
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Preflight);
    assert!(
        matches!(&cmds[0], Command::Save { path, .. } if path == &m.save_path),
        "{cmds:?}"
    );
    assert!(
        m.status.as_ref().is_some_and(|s| s.1.contains("demo.toml")),
        "says where: {:?}",
        m.status
    );
    assert!(
        matches!(&cmds[0], Command::Save { text, .. } if text.contains("pod_subnet = \"10.244.0.0/16\""))
    );
    assert!(matches!(&cmds[1], Command::Preflight { .. }));
    // The saved text is what `apply --config` reads.
    if let Command::Save { text, .. } = &cmds[0] {
        let file = crate::inventory::parse(text).unwrap();
        assert!(crate::inventory::validate::check(&file).is_ok());
    }
}

#[test]
fn an_error_on_an_earlier_page_is_shown_when_leaving_the_last() {
    let mut m = fixtures::form(Page::Access);
    m.form
        .as_mut()
        .unwrap()
        .set(FieldId::LbAddress, "10.0.0.300");
    m.screen = Screen::Form(Page::Cluster);
    m.form.as_mut().unwrap().page = Page::Cluster;
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Access));
    assert_eq!(m.form.as_ref().unwrap().focused(), Some(FieldId::LbAddress));
}

#[test]
fn release_events_are_ignored() {
    let mut m = fixtures::welcome();
    let mut k = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    update(&mut m, Msg::Key(k));
    assert_eq!(m.screen, Screen::Welcome);
}

#[test]
fn host_key_dialog_defaults_to_reject_and_remembers_an_accept() {
    let mut m = fixtures::preflight_host_key();
    assert!(matches!(m.popups.front(), Some(Popup::HostKey { .. })));
    // A key typed as the dialog opens is not taken as its answer.
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(!m.popups.is_empty());
    settle(&mut m);
    // Keys go to the dialog, not the screen below.
    press(&mut m, KeyCode::Down);
    assert_eq!(m.preflight.selected, 0);
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(answer(&cmds), Some(false));
    assert!(m.popups.is_empty());

    let q = |m: &mut Model| {
        update(
            m,
            Msg::Engine(Event::HostKeyQuestion {
                node: "worker3".into(),
                host: "10.0.0.23:22".into(),
                algorithm: "ssh-ed25519".into(),
                fingerprint: "SHA256:abc".into(),
                reply: fixtures::reply(),
            }),
        )
    };
    q(&mut m);
    settle(&mut m);
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert_eq!(answer(&cmds), Some(true), "y accepts");
    // The same key on the next connection (apply after preflight) is not asked again.
    let cmds = q(&mut m);
    assert_eq!(answer(&cmds), Some(true));
    assert!(m.popups.is_empty());
}

#[test]
fn confirmation_defaults_to_no() {
    let mut m = fixtures::confirm_init();
    // A stray Enter (the operator was scrolling the screen below) answers nothing: not while
    // the dialog has just opened, and not later before a choice was made.
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    settle(&mut m);
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(matches!(m.popups.front(), Some(Popup::Confirm { .. })));
    let cmds = press(&mut m, KeyCode::Char('n'));
    assert_eq!(answer(&cmds), Some(false));
    let mut m = fixtures::confirm_init();
    settle(&mut m);
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert_eq!(answer(&cmds), Some(true));
    let mut m = fixtures::confirm_init();
    settle(&mut m);
    assert!(
        press(&mut m, KeyCode::Esc)
            .iter()
            .any(|c| matches!(c, Command::Answer { yes: false, .. }))
    );
    let mut m = fixtures::confirm_init();
    settle(&mut m);
    press(&mut m, KeyCode::Tab);
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(answer(&cmds), Some(true));
}

#[test]
fn a_reset_needs_the_cluster_name_typed() {
    let mut m = fixtures::confirm_reset(); // "pro" typed so far
    settle(&mut m);
    press(&mut m, KeyCode::Tab);
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty(), "refused until the name matches");
    assert!(!m.popups.is_empty());
    typed(&mut m, "d");
    let cmds = press(&mut m, KeyCode::Enter);
    assert_eq!(answer(&cmds), Some(true));
}

#[test]
fn ctrl_c_asks_before_stopping() {
    let mut m = fixtures::stop_dialog();
    assert!(
        press(&mut m, KeyCode::Enter).is_empty(),
        "default: keep running"
    );
    assert!(m.popups.is_empty());
    update(&mut m, ctrl('c'));
    press(&mut m, KeyCode::Left);
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(matches!(cmds[..], [Command::Stop]));
    assert!(m.run.stopping);
}

#[test]
fn a_second_ctrl_c_in_the_dialog_is_no() {
    let mut m = fixtures::stop_dialog();
    assert!(update(&mut m, ctrl('c')).is_empty());
    assert!(m.popups.is_empty());
}

#[test]
fn retry_resumes_and_progress_counts_skipped_steps() {
    let mut m = fixtures::run_failed();
    assert!(!m.run.running);
    let cmds = press(&mut m, KeyCode::Char('r'));
    assert!(matches!(cmds[..], [Command::Apply { .. }]));
    assert!(m.run.running);
    let nodes: Vec<_> = m.run.nodes.iter().map(|c| c.info.clone()).collect();
    let phases: Vec<_> = m.run.phases.iter().map(|p| p.info.clone()).collect();
    ev(
        &mut m,
        Event::RunStarted {
            cluster: "prod".into(),
            nodes,
            phases,
            simulated: true,
        },
    );
    assert_eq!(m.run.done_steps(), 0);
    assert!(m.run.failed().is_empty());
    ev(
        &mut m,
        Event::StepFinished {
            node: "worker2".into(),
            step: "prepare".into(),
            outcome: StepOutcome::SkippedDone,
            duration: Duration::ZERO,
        },
    );
    assert_eq!(m.run.nodes[5].done, 1);
    // The logs of the first run are kept.
    assert!(m.run.logs.ring(Some(5)).len() > 5);
}

#[test]
fn a_successful_run_shows_the_summary() {
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
            kubeconfig: "~/.kube/config".into(),
            log_dir: "/tmp/l".into(),
            state_file: "/tmp/s".into(),
        }),
    );
    assert_eq!(m.screen, Screen::Done);
    assert!(m.run.nodes.iter().all(|c| c.status == NodeStatus::Done));
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Run);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Done);
    let cmds = press(&mut m, KeyCode::Char('q'));
    assert!(matches!(cmds[..], [Command::Quit]));
    assert!(m.quit);
}

#[test]
fn preflight_failures_block_until_ignored() {
    let mut m = fixtures::preflight_done();
    ev(
        &mut m,
        Event::PreflightResult(CheckResult {
            node: "worker1".into(),
            check: "memory".into(),
            status: CheckStatus::Fail,
            found: "1.0 GB".into(),
            fix: "needs 2 GB".into(),
            fixable: None,
        }),
    );
    m.preflight.selected = 4;
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Preflight);
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .1
            .contains("worker1: memory failed")
    );
    press(&mut m, KeyCode::Tab);
    let i = m.preflight.nodes[4]
        .checks
        .iter()
        .position(|c| c.check == "memory")
        .unwrap();
    m.preflight.check = i;
    press(&mut m, KeyCode::Char('i'));
    assert_eq!(m.preflight.ignored, ["memory"]);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Plan);
    // The ignore list reaches the engine.
    let cmds = press(&mut m, KeyCode::Char('s'));
    assert!(matches!(&cmds[0], Command::Apply { ignore, .. } if ignore == &["memory".to_string()]));
}

#[test]
fn a_changed_host_key_blocks_the_node() {
    let mut m = fixtures::preflight_key_changed();
    assert_eq!(m.preflight.nodes[2].conn, Conn::KeyChanged);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Preflight);
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .1
            .contains("master2 is unreachable")
    );
}

#[test]
fn plan_enter_shows_the_exact_script() {
    let mut m = fixtures::plan_script();
    match m.popups.front() {
        Some(Popup::Script { title, lines, .. }) => {
            assert!(title.contains("kubeadm-init"));
            let p = m.plan.plan.as_ref().unwrap();
            let s = p.find("master1", "kubeadm-init").unwrap();
            // Every line of the script is there, in order.
            let body: Vec<&str> = lines.iter().map(String::as_str).collect();
            let script: Vec<String> = s.script.lines().map(|l| l.replace('\t', "    ")).collect();
            assert!(body.windows(script.len()).any(|w| w == script.as_slice()));
        }
        other => panic!("{other:?}"),
    }
    press(&mut m, KeyCode::PageDown);
    press(&mut m, KeyCode::Esc);
    assert!(m.popups.is_empty());
    // Node filter.
    press(&mut m, KeyCode::Char('n'));
    assert_eq!(m.plan.node.as_deref(), Some("lb"));
    assert!(m.plan.rows().iter().all(|r| match r {
        PlanRow::Step(i, j) => m.plan.plan.as_ref().unwrap().phases[*i].steps[*j].node == "lb",
        PlanRow::Phase(_) => true,
    }));
}

#[test]
fn log_window_follows_and_pauses() {
    let mut m = fixtures::run_running();
    for i in 0..500 {
        ev(
            &mut m,
            Event::Log {
                node: "master1".into(),
                step: "kubeadm-init".into(),
                stream: Stream::Stdout,
                line: format!("line {i}"),
            },
        );
    }
    assert_eq!(m.run.top, None);
    press(&mut m, KeyCode::PageUp);
    let top = m.run.top.expect("paused");
    // New lines do not move a paused window.
    ev(
        &mut m,
        Event::Log {
            node: "master1".into(),
            step: "x".into(),
            stream: Stream::Stdout,
            line: "new".into(),
        },
    );
    assert_eq!(m.run.top, Some(top));
    press(&mut m, KeyCode::End);
    assert_eq!(m.run.top, None);
    press(&mut m, KeyCode::Char('a'));
    assert!(m.run.all);
    assert_eq!(m.run.logs.ring(None).end() as usize, m.run.logs.all.len());
}

#[test]
fn unknown_nodes_and_control_characters_do_not_break_the_logs() {
    let mut m = fixtures::run_running();
    ev(
        &mut m,
        Event::Log {
            node: "ghost".into(),
            step: "x".into(),
            stream: Stream::Stderr,
            line: "\x1b[2J\x1b[Hboo\x07".into(),
        },
    );
    let last = m
        .run
        .logs
        .all
        .window(m.run.logs.all.end() - 1, 1)
        .next()
        .unwrap();
    assert_eq!(&*last.text, "boo");
    assert_eq!(last.kind, LineKind::Stderr);
}

#[test]
fn the_footer_lists_only_keys_that_do_something() {
    for (name, make) in fixtures::all() {
        let m = make();
        let footer = super::keymap::footer(&m);
        assert!(!footer.is_empty(), "{name}");
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &footer {
            assert!(seen.insert(*k), "{name}: {k} twice in the footer");
        }
    }
}

#[test]
fn a_frame_costs_what_is_visible_not_what_is_buffered() {
    use ratatui::{Terminal, backend::TestBackend};
    let mut m = fixtures::run_running();
    m.run.logs = super::logs::Logs::with_caps(1_000_000, 1_000_000);
    m.run.logs.ensure(m.run.nodes.len());
    let name = m.run.nodes[1].name.clone();
    let line = "Get:4 https://pkgs.k8s.io/core:/stable:/v1.37/deb  kubeadm 1.37.1-1.1 [12.4 MB]";
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let time = |m: &Model, term: &mut Terminal<TestBackend>| {
        let t = Instant::now();
        for _ in 0..5 {
            term.draw(|f| super::view::view(m, f)).unwrap();
        }
        t.elapsed() / 5
    };
    for _ in 0..100 {
        m.run.logs.push(1, name.clone(), LineKind::Stdout, line);
    }
    let small = time(&m, &mut term);
    for _ in 0..1_000_000 {
        m.run.logs.push(1, name.clone(), LineKind::Stdout, line);
    }
    m.run.all = true;
    let big_all = time(&m, &mut term);
    m.run.all = false;
    m.run.top = Some(500_000);
    let big_paused = time(&m, &mut term);
    // Generous bounds for debug builds on a busy machine: the point is "no O(buffered)".
    let bound = small * 20 + Duration::from_millis(20);
    assert!(big_all < bound, "all: {big_all:?} vs {small:?}");
    assert!(big_paused < bound, "paused: {big_paused:?} vs {small:?}");
}

#[test]
fn a_tick_never_hides_a_change_not_yet_drawn() {
    let mut m = fixtures::run_failed(); // nothing running
    m.dirty = false;
    ev(
        &mut m,
        Event::Log {
            node: "lb".into(),
            step: "x".into(),
            stream: Stream::Stdout,
            line: "late".into(),
        },
    );
    update(&mut m, Msg::Tick(Duration::from_secs(200)));
    assert!(m.dirty, "the new line must still be drawn");
    m.dirty = false;
    update(&mut m, Msg::Tick(Duration::from_secs(201)));
    assert!(!m.dirty, "an idle tick draws nothing");
}

#[test]
fn passwords_are_masked_redacted_and_reach_the_engine_options() {
    let mut m = fixtures::preflight_passwords();
    // Drawn as bullets only.
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    t.draw(|f| super::view::view(&m, f)).unwrap();
    let screen = format!("{}", t.backend());
    assert!(!screen.contains("s3cret"), "{screen}");
    assert!(screen.contains("••••••"), "{screen}");
    let cmds = press(&mut m, KeyCode::Enter);
    match &cmds[..] {
        [Command::Preflight { secrets, .. }] => {
            assert_eq!(secrets.sudo_password.as_deref(), Some("s3cret"));
            assert_eq!(secrets.key_passphrase, None);
            let dbg = format!("{cmds:?}");
            assert!(!dbg.contains("s3cret"), "{dbg}");
        }
        other => panic!("{other:?}"),
    }
    // Kept for the run too.
    m.preflight.running = false;
    m.preflight.blocking = Some(vec![]);
    press(&mut m, KeyCode::Enter);
    let cmds = press(&mut m, KeyCode::Char('s'));
    assert!(
        matches!(&cmds[..], [Command::Apply { secrets, .. }] if secrets.sudo_password.is_some())
    );
}

#[test]
fn load_a_file_or_start_new() {
    let mut m = fixtures::welcome();
    // Items: seed, load a file, new.
    press(&mut m, KeyCode::Down);
    assert_eq!(m.welcome_item(), WelcomeItem::LoadFile);
    // Enter starts typing the path; then letters go to the field (q does not quit here).
    press(&mut m, KeyCode::Enter);
    typed(&mut m, "~/q.toml");
    assert!(!m.quit);
    let cmds = press(&mut m, KeyCode::Enter);
    let path = match &cmds[..] {
        [Command::Load { path }] => path.clone(),
        other => panic!("{other:?}"),
    };
    assert!(path.ends_with("q.toml") && !path.starts_with("~"));
    update(
        &mut m,
        Msg::Loaded {
            path: path.clone(),
            result: Ok("[cluster]\nnme = 1".into()),
        },
    );
    assert_eq!(m.screen, Screen::Welcome);
    assert!(m.welcome.error.as_ref().unwrap().contains("q.toml"));
    update(
        &mut m,
        Msg::Loaded {
            path,
            result: Ok(crate::inventory::EXAMPLE.into()),
        },
    );
    assert_eq!(m.screen, Screen::Form(Page::Access));

    let mut m = fixtures::welcome();
    press(&mut m, KeyCode::Up); // wraps to "new"
    assert_eq!(m.welcome_item(), WelcomeItem::New);
    press(&mut m, KeyCode::Enter);
    let f = m.form.as_ref().unwrap();
    assert_eq!(f.rows.len(), 4);
    assert!(f.errors() > 0, "addresses to fill in");
    assert_eq!(
        f.kubernetes,
        crate::versions::Table::get().default_minor().minor
    );
    // Next is refused on the first page until the LB address is given.
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Access));
    assert_eq!(m.form.as_ref().unwrap().focused(), Some(FieldId::LbAddress));
    typed(&mut m, "192.0.2.10");
    // No key file was chosen for the operator: it is an error until one is given.
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Access));
    assert_eq!(
        m.form.as_ref().unwrap().focused(),
        Some(FieldId::IdentityFile)
    );
    typed(&mut m, "~/.ssh/lab");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Nodes));
}

#[test]
fn a_one_key_fix_runs_then_preflight_runs_again() {
    let mut m = fixtures::preflight_done();
    ev(
        &mut m,
        Event::PreflightResult(CheckResult {
            node: "worker1".into(),
            check: "swap".into(),
            status: CheckStatus::Warn,
            found: "swap is on (2048 MB)".into(),
            fix: "the prepare step turns it off".into(),
            fixable: Some("swap-off".into()),
        }),
    );
    m.preflight.selected = 4;
    let cmds = press(&mut m, KeyCode::Char('f'));
    assert!(
        matches!(&cmds[..], [Command::Fix { node, fix, .. }] if node == "worker1" && fix == "swap-off"),
        "{cmds:?}"
    );
    assert_eq!(
        m.preflight.fixing,
        Some(("worker1".into(), "swap-off".into()))
    );
    // Done: every node is checked again, from a clean slate.
    let cmds = update(
        &mut m,
        Msg::FixDone {
            node: "worker1".into(),
            fix: "swap-off".into(),
            result: Ok(()),
        },
    );
    assert!(matches!(&cmds[..], [Command::Preflight { .. }]), "{cmds:?}");
    assert!(m.preflight.running);
    assert!(m.preflight.nodes.iter().all(|n| n.checks.is_empty()));
    // A failed fix says why and checks nothing again.
    let cmds = update(
        &mut m,
        Msg::FixDone {
            node: "worker1".into(),
            fix: "swap-off".into(),
            result: Err("sudo refused".into()),
        },
    );
    assert!(cmds.is_empty());
    let (level, text) = m.status.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(text.contains("sudo refused"));
}
