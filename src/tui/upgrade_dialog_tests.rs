//! The upgrade dialog: which minor it offers, what it refuses, what it hands to the runtime
//! (the preflight read, then the same upgrade plan as a day-2 job) and only after the name.

use crossterm::event::KeyCode;

use super::day2_wizard::{Day2Dialog, Day2Job};
use super::fixtures::key;
use super::fixtures_upgrade::*;
use super::model::{Command, Level, Model, Msg, Popup, Screen};
use super::update;
use super::upgrade_dialog::{Stage, UpgradeDialog, UpgradeRead};

fn dialog(m: &Model) -> &UpgradeDialog {
    match m.popups.front() {
        Some(Popup::Day2(d)) => match d.as_ref() {
            Day2Dialog::Upgrade(u) => u,
            d => panic!("another day-2 dialog on top: {d:?}"),
        },
        p => panic!("no upgrade dialog on top: {p:?}"),
    }
}

fn typed(m: &mut Model, s: &str) -> Vec<Command> {
    let mut out = vec![];
    for c in s.chars() {
        out.extend(update(m, key(KeyCode::Char(c))));
    }
    out
}

fn press(m: &mut Model, k: KeyCode) -> Vec<Command> {
    update(m, key(k))
}

#[test]
fn u_reads_the_next_minor_and_runs_the_same_plan_only_after_the_name() {
    let mut m = home_at("v1.36.4");
    let cmds = press(&mut m, KeyCode::Char('u'));
    match cmds.as_slice() {
        [Command::UpgradePrepare { to, config, .. }] => {
            assert_eq!(to, "1.37");
            assert_eq!(config, "/home/op/.config/kha-tui/cluster.toml");
        }
        c => panic!("expected the preflight read, got {c:?}"),
    }
    let u = dialog(&m);
    assert_eq!(
        (u.from.as_str(), u.targets.clone()),
        ("1.36", vec!["1.37".to_string()])
    );
    assert!(matches!(u.stage, Stage::Reading));
    // Enter while reading: nothing runs.
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(
        dialog(&m)
            .error
            .as_deref()
            .unwrap()
            .contains("still reading")
    );

    let r = read_for(&m, "1.37", "2.1.4");
    let expected_steps: Vec<String> = r
        .upgrade
        .as_ref()
        .unwrap()
        .plan
        .steps()
        .map(|(_, s)| format!("{}@{}", s.id, s.node))
        .collect();
    update(&mut m, Msg::UpgradeRead(Ok(Box::new(r))));
    assert!(dialog(&m).ready().is_some());
    // The name is required, and must be the cluster's.
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(
        dialog(&m)
            .error
            .as_deref()
            .unwrap()
            .contains("type the cluster's name, prod, to upgrade it to 1.37")
    );
    assert!(typed(&mut m, "prad").is_empty());
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    for _ in 0..4 {
        press(&mut m, KeyCode::Backspace);
    }
    assert!(typed(&mut m, "prod").is_empty());
    let cmds = press(&mut m, KeyCode::Enter);
    let job = match cmds.as_slice() {
        [Command::Day2 { job, .. }] => job,
        c => panic!("expected the upgrade job, got {c:?}"),
    };
    let Day2Job::Upgrade { cluster, upgrade } = job.as_ref() else {
        panic!("{job:?}")
    };
    assert_eq!(cluster.name, "prod");
    assert_eq!(
        (upgrade.from.as_str(), upgrade.to.as_str()),
        ("1.36", "1.37")
    );
    // Exactly the plan the planner made for the read: the one `kha-tui upgrade` runs.
    let steps: Vec<String> = upgrade
        .plan
        .steps()
        .map(|(_, s)| format!("{}@{}", s.id, s.node))
        .collect();
    assert_eq!(steps, expected_steps);
    assert!(
        steps.iter().any(|s| s == "upgrade-1.37-mark@master1"),
        "{steps:?}"
    );
    assert!(m.popups.is_empty());
    assert_eq!(m.screen, Screen::Run);
    assert!(m.day2.running && m.day2.on_dashboard);
}

#[test]
fn a_later_minor_is_refused_with_the_path_and_tab_comes_back() {
    let mut m = upgrade_skip();
    let u = dialog(&m);
    assert_eq!(u.target(), Some("1.37"));
    let why = u.refusal().expect("1.37 from 1.35 is refused");
    assert!(
        why.contains("The path is 1.35 → 1.36 → 1.37: upgrade to 1.36 now"),
        "{why}"
    );
    // The read was for the next minor, and it stays the only one that can run.
    let r = read_for(&m, "1.36", "2.1.4");
    update(&mut m, Msg::UpgradeRead(Ok(Box::new(r))));
    typed(&mut m, "prod");
    assert!(press(&mut m, KeyCode::Enter).is_empty(), "refused");
    assert!(
        dialog(&m)
            .error
            .as_deref()
            .unwrap()
            .contains("1.35 → 1.36 → 1.37")
    );
    press(&mut m, KeyCode::Tab);
    assert_eq!(dialog(&m).target(), Some("1.36"));
    assert!(dialog(&m).refusal().is_none());
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(
        matches!(cmds.as_slice(), [Command::Day2 { .. }]),
        "{cmds:?}"
    );
}

#[test]
fn at_the_newest_minor_nothing_is_read_or_run() {
    let mut m = home_at("v1.37.1");
    assert!(press(&mut m, KeyCode::Char('u')).is_empty(), "no preflight");
    let u = dialog(&m);
    assert!(u.targets.is_empty() && matches!(u.stage, Stage::Newest));
    assert!(press(&mut m, KeyCode::Esc).is_empty());
    assert!(m.popups.is_empty());
    assert_eq!(m.screen, Screen::Cluster);
}

#[test]
fn a_refused_preflight_runs_nothing_and_says_why() {
    let mut m = home_at("v1.36.4");
    press(&mut m, KeyCode::Char('u'));
    let r = UpgradeRead {
        to: "1.37".into(),
        kubeadm_plan: vec![],
        upgrade: Err("the cluster is not healthy, and an upgrade starts only on a healthy one: node worker2 is NotReady".into()),
    };
    update(&mut m, Msg::UpgradeRead(Ok(Box::new(r))));
    typed(&mut m, "prod");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
    assert!(
        dialog(&m)
            .error
            .as_deref()
            .unwrap()
            .starts_with("refused, nothing runs: the cluster is not healthy")
    );
    // A read that failed as a whole, likewise.
    let mut m = home_at("v1.36.4");
    press(&mut m, KeyCode::Char('u'));
    update(&mut m, Msg::UpgradeRead(Err("cannot connect".into())));
    assert!(matches!(dialog(&m).stage, Stage::Failed(_)));
    typed(&mut m, "prod");
    assert!(press(&mut m, KeyCode::Enter).is_empty());
}

#[test]
fn a_read_that_comes_after_esc_is_dropped_and_without_versions_u_explains() {
    let mut m = home_at("v1.36.4");
    press(&mut m, KeyCode::Char('u'));
    press(&mut m, KeyCode::Esc);
    assert!(m.popups.is_empty());
    let r = read_for(&m, "1.37", "2.1.4");
    assert!(update(&mut m, Msg::UpgradeRead(Ok(Box::new(r)))).is_empty());
    assert!(m.popups.is_empty());

    let mut m = home_at("v1.36.4");
    m.cluster_view.status = None;
    assert!(press(&mut m, KeyCode::Char('u')).is_empty());
    assert!(m.popups.is_empty());
    assert!(matches!(&m.status, Some((Level::Error, s)) if s.contains("not read yet")));
}

#[test]
fn the_dialog_shows_kubeadms_plan_and_the_notes() {
    let m = upgrade_ready();
    let u = dialog(&m);
    let up = u.ready().expect("ready");
    assert!(
        up.notes.iter().any(|n| n.contains("containerd >= 2.0")),
        "{:?}",
        up.notes
    );
    assert_eq!(u.typed.text(), "pro");
}

#[test]
fn an_upgrade_that_stopped_runs_again_as_the_same_plan_on_r() {
    let mut m = home_at("v1.36.4");
    press(&mut m, KeyCode::Char('u'));
    let r = read_for(&m, "1.37", "2.1.4");
    update(&mut m, Msg::UpgradeRead(Ok(Box::new(r))));
    typed(&mut m, "prod");
    let first = match press(&mut m, KeyCode::Enter).as_slice() {
        [Command::Day2 { job, .. }] => job.as_ref().clone(),
        c => panic!("{c:?}"),
    };
    let stopped = crate::engine::events::RunSummary {
        ok: false,
        stopped: Some("worker1: upgrade-1.37-drain-worker1 failed".into()),
        failures: vec![],
        phase_durations: vec![],
        total: Default::default(),
        total_all_runs: Default::default(),
        cluster_nodes: vec![],
        endpoint: String::new(),
        kubeconfig: String::new(),
        log_dir: String::new(),
        state_file: String::new(),
    };
    update(
        &mut m,
        Msg::Engine(crate::engine::Event::RunFinished(stopped)),
    );
    update(
        &mut m,
        Msg::Day2Ended(Box::new(super::day2_wizard::Day2Report {
            ok: false,
            title: first.title(),
            lines: vec!["the upgrade to 1.37 did not finish".into()],
            inventory: None,
            reset: false,
        })),
    );
    assert_eq!(m.screen, Screen::Run);
    update(&mut m, key(KeyCode::Esc));
    let again = update(&mut m, key(KeyCode::Char('r')));
    let steps = |j: &Day2Job| match j {
        Day2Job::Upgrade { upgrade, .. } => upgrade
            .plan
            .steps()
            .map(|(_, s)| format!("{}@{}", s.id, s.node))
            .collect::<Vec<_>>(),
        j => panic!("{j:?}"),
    };
    match again.as_slice() {
        // The same steps: the engine's state skips those the first run finished.
        [Command::Day2 { job, .. }] => assert_eq!(steps(job), steps(&first)),
        c => panic!("r runs the upgrade again: {c:?}"),
    }
}
