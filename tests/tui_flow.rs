//! The wizard end to end without a terminal: the real engine on the simulated fleet, driven by
//! keys through `update`, exactly as the terminal loop does (`runtime::Headless`).

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kha_tui::engine::{Dirs, Options};
use kha_tui::inventory::EXAMPLE;
use kha_tui::transport::sim::{SimFleet, SimOptions};
use kha_tui::tui::model::{Level, NodeStatus, Popup, Screen};
use kha_tui::tui::runtime::{Headless, Logger};
use kha_tui::tui::{Model, Msg, Setup, Source};

const WAIT: Duration = Duration::from_secs(60);

fn headless(dir: &std::path::Path, sim: SimOptions) -> Headless<SimFleet> {
    let dirs = Dirs::under(dir);
    let mut opts = Options::new(dirs.clone());
    opts.interactive = true;
    opts.simulated = true;
    let model = Model::new(Setup {
        simulated: true,
        save_path: dir.join("config/cluster.toml"),
        sources: vec![Source {
            label: "seed".into(),
            path: None,
            text: Ok(EXAMPLE.to_string()),
        }],
    });
    Headless::new(
        Arc::new(SimFleet::new(sim)),
        model,
        opts,
        Logger::open(&dirs.logs.join("tui.log")),
    )
}

fn key<T: kha_tui::transport::Transport>(h: &mut Headless<T>, code: KeyCode)
where
    T::Session: Sync,
{
    h.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn ctrl(h: &mut Headless<SimFleet>, c: char) {
    h.send(Msg::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )));
}

fn typed(h: &mut Headless<SimFleet>, s: &str) {
    for c in s.chars() {
        key(h, KeyCode::Char(c));
    }
}

/// Presses Enter until `done` holds (the node table takes Enter cell by cell); at most 60 times.
fn enter_until<T: kha_tui::transport::Transport>(h: &mut Headless<T>, done: impl Fn(&Model) -> bool)
where
    T::Session: Sync,
{
    for _ in 0..60 {
        if done(&h.model) {
            return;
        }
        key(h, KeyCode::Enter);
    }
    assert!(done(&h.model), "{:?} {:?}", h.model.screen, h.model.status);
}

/// Waits out the moment a question that just opened ignores keys.
async fn settle(h: &mut Headless<SimFleet>) {
    assert!(h.until(WAIT, |m| m.now >= m.keys_ignored_until).await);
}

/// Welcome → the three form pages (with one refused CIDR) → preflight (accepting the unknown
/// host key) → plan.
async fn to_plan(h: &mut Headless<SimFleet>, dir: &std::path::Path) {
    key(h, KeyCode::Enter); // the seed
    assert_eq!(
        h.model.screen,
        Screen::Form(kha_tui::tui::form::Page::Access)
    );
    enter_until(h, |m| {
        m.screen == Screen::Form(kha_tui::tui::form::Page::Cluster)
    });
    for _ in 0..3 {
        key(h, KeyCode::Tab);
    }
    key(h, KeyCode::End);
    for _ in 0..20 {
        key(h, KeyCode::Backspace);
    }
    typed(h, "10.0.0.0/8");
    key(h, KeyCode::Enter);
    assert_eq!(
        h.model.screen,
        Screen::Form(kha_tui::tui::form::Page::Cluster),
        "refused"
    );
    assert!(matches!(h.model.status, Some((Level::Error, _))));
    for _ in 0..20 {
        key(h, KeyCode::Backspace);
    }
    typed(h, "10.244.0.0/16");
    key(h, KeyCode::Enter);
    // A new inventory: asked where to save it (the default is kept).
    assert!(matches!(h.model.popups.front(), Some(Popup::SaveAs { .. })));
    key(h, KeyCode::Enter);
    assert_eq!(h.model.screen, Screen::Preflight, "{:?}", h.model.status);
    let saved = std::fs::read_to_string(dir.join("config/cluster.toml")).expect("saved");
    assert!(
        kha_tui::inventory::load(&dir.join("config/cluster.toml")).is_ok(),
        "{saved}"
    );

    assert!(
        h.until(WAIT, |m| matches!(
            m.popups.front(),
            Some(Popup::HostKey { .. })
        ))
        .await,
        "host key question"
    );
    settle(h).await;
    key(h, KeyCode::Char('y'));
    assert!(
        h.until(WAIT, |m| !m.preflight.running
            && m.preflight.blocking.is_some())
            .await,
        "preflight finished"
    );
    key(h, KeyCode::Enter);
    assert_eq!(h.model.screen, Screen::Plan, "{:?}", h.model.status);
}

/// Answers every confirmation with yes until the run finishes.
async fn run_to_end(h: &mut Headless<SimFleet>) {
    loop {
        let ok = h
            .until(WAIT, |m| {
                matches!(m.popups.front(), Some(Popup::Confirm { .. }))
                    || (!m.run.running && m.run.summary.is_some())
            })
            .await;
        assert!(ok, "stuck: {:?}", h.model.status);
        if matches!(h.model.popups.front(), Some(Popup::Confirm { .. })) {
            settle(h).await;
            key(h, KeyCode::Char('y'));
            continue;
        }
        break;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_wizard_on_the_simulated_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = headless(
        dir.path(),
        SimOptions {
            speed: 25.0,
            unknown_host_key: Some("worker3".into()),
            ..Default::default()
        },
    );
    to_plan(&mut h, dir.path()).await;
    key(&mut h, KeyCode::Char('s'));
    assert_eq!(h.model.screen, Screen::Run);
    run_to_end(&mut h).await;
    let s = h.model.run.summary.clone().unwrap();
    assert!(s.ok, "{s:?}");
    assert_eq!(h.model.screen, Screen::Done);
    assert!(
        h.model
            .run
            .nodes
            .iter()
            .all(|c| c.status == NodeStatus::Done)
    );
    assert_eq!(h.model.run.done_steps(), h.model.run.total_steps());
    assert!(h.model.run.logs.all.len() > 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_node_is_retried_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = headless(
        dir.path(),
        SimOptions {
            speed: 25.0,
            fail_node: Some("worker2".into()),
            unknown_host_key: None,
        },
    );
    to_plan_without_question(&mut h).await;
    key(&mut h, KeyCode::Char('s'));
    run_to_end(&mut h).await;
    let s = h.model.run.summary.clone().unwrap();
    assert!(!s.ok);
    let w2 = h.model.run.index["worker2"];
    assert_eq!(h.model.run.nodes[w2].status, NodeStatus::Failed);
    assert_eq!(h.model.screen, Screen::Run);
    key(&mut h, KeyCode::Char('r'));
    assert!(h.model.run.running);
    run_to_end(&mut h).await;
    let s = h.model.run.summary.clone().unwrap();
    assert!(s.ok, "{s:?}");
    assert_eq!(h.model.screen, Screen::Done);
    assert_eq!(h.model.run.runs, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_run_and_r_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = headless(
        dir.path(),
        SimOptions {
            speed: 10.0,
            ..SimOptions::default()
        },
    );
    to_plan_without_question(&mut h).await;
    key(&mut h, KeyCode::Char('s'));
    assert!(h.until(WAIT, |m| m.run.done_steps() >= 3).await);
    ctrl(&mut h, 'c');
    key(&mut h, KeyCode::Right);
    key(&mut h, KeyCode::Enter);
    assert!(
        h.until(WAIT, |m| !m.run.running && m.run.summary.is_some())
            .await
    );
    let s = h.model.run.summary.clone().unwrap();
    assert!(!s.ok && s.stopped.is_some(), "{s:?}");
    key(&mut h, KeyCode::Char('r'));
    run_to_end(&mut h).await;
    let s = h.model.run.summary.clone().unwrap();
    if !s.ok {
        let all = &h.model.run.logs.all;
        for l in all.window(all.first(), all.len()) {
            if l.kind != kha_tui::tui::logs::LineKind::Stdout {
                eprintln!("{} {}", l.node, l.text);
            }
        }
    }
    assert!(s.ok, "{s:?}");
}

async fn to_plan_without_question(h: &mut Headless<SimFleet>) {
    enter_until(h, |m| m.screen == Screen::Preflight);
    assert!(
        h.until(WAIT, |m| !m.preflight.running
            && m.preflight.blocking.is_some())
            .await
    );
    key(h, KeyCode::Enter);
    assert_eq!(h.model.screen, Screen::Plan, "{:?}", h.model.status);
}

/// The wizard's real transport: nodes that refuse SSH show as unreachable and block the plan.
#[tokio::test(flavor = "multi_thread")]
async fn over_real_ssh_unreachable_nodes_block_the_plan() {
    use kha_tui::transport::ssh::{SshConfig, SshTransport};
    let dir = tempfile::tempdir().unwrap();
    let dirs = Dirs::under(dir.path());
    let mut opts = Options::new(dirs.clone());
    opts.interactive = true;
    opts.timeouts.connect = Duration::from_secs(3);
    // Loopback addresses on a port nothing listens on: every connection is refused at once.
    let inventory = EXAMPLE
        .replace("10.0.0.", "127.0.0.")
        .replace("port = 22", "port = 9");
    let model = Model::new(Setup {
        simulated: false,
        save_path: dir.path().join("cluster.toml"),
        sources: vec![Source {
            label: "loopback".into(),
            path: None,
            text: Ok(inventory),
        }],
    });
    let mut h = Headless::new(
        Arc::new(SshTransport::new(SshConfig::with_openssh_defaults(
            dirs.known_hosts.clone(),
        ))),
        model,
        opts,
        Logger::none(),
    );
    assert!(!h.model.simulated);
    enter_until(&mut h, |m| m.screen == Screen::Preflight);
    assert!(
        h.until(WAIT, |m| !m.preflight.running
            && m.preflight.blocking.is_some())
            .await
    );
    use kha_tui::tui::model::Conn;
    assert!(
        h.model
            .preflight
            .nodes
            .iter()
            .all(|n| n.conn == Conn::Unreachable),
        "{:?}",
        h.model
            .preflight
            .nodes
            .iter()
            .map(|n| (&n.name, n.conn, &n.detail))
            .collect::<Vec<_>>()
    );
    key(&mut h, KeyCode::Enter);
    assert_eq!(h.model.screen, Screen::Preflight);
    assert!(h.model.status.as_ref().unwrap().1.contains("unreachable"));
}
