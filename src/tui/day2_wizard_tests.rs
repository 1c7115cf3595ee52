//! The wizard's day-2 dialogs: what each refuses, what it hands to the runtime, and where the
//! finished job leaves the operator.

use crossterm::event::KeyCode;

use super::Msg;
use super::day2_wizard::{Day2Dialog, Day2Job, Day2Report, Offer, offers};
use super::fixtures::{feed, key};
use super::fixtures_day2::*;
use super::model::{Command, Model, Popup, Screen};
use super::update;

fn typed(m: &mut Model, s: &str) -> Vec<Command> {
    let mut out = vec![];
    for c in s.chars() {
        out.extend(update(m, key(KeyCode::Char(c))));
    }
    out
}

fn dialog(m: &Model) -> &Day2Dialog {
    match m.popups.front() {
        Some(Popup::Day2(d)) => d,
        p => panic!("no day-2 dialog on top: {p:?}"),
    }
}

fn job(cmds: &[Command]) -> &Day2Job {
    match cmds {
        [Command::Day2 { job, .. }] => job,
        _ => panic!("expected one day-2 job, got {cmds:?}"),
    }
}

#[test]
fn add_checks_the_node_like_the_inventory_and_runs_only_after_yes() {
    let mut m = day2_add();
    let Day2Dialog::Add {
        error,
        error_at,
        confirm,
        ..
    } = dialog(&m)
    else {
        panic!()
    };
    let e = error.as_deref().unwrap_or_default();
    assert!(e.contains("10.0.0.21"), "{e}");
    assert_eq!(*error_at, Some(1), "the address field is marked");
    assert!(confirm.is_none());

    let mut m2 = day2_add_review();
    assert!(matches!(
        dialog(&m2),
        Day2Dialog::Add {
            confirm: Some(_),
            ..
        }
    ));
    // n goes back to the form; nothing ran.
    assert!(update(&mut m2, key(KeyCode::Char('n'))).is_empty());
    assert!(matches!(dialog(&m2), Day2Dialog::Add { confirm: None, .. }));
    update(&mut m2, key(KeyCode::Enter));
    let cmds = update(&mut m2, key(KeyCode::Char('y')));
    let Day2Job::Add {
        cluster,
        config,
        text,
    } = job(&cmds)
    else {
        panic!()
    };
    assert_eq!(
        config.to_str(),
        Some("/home/op/.config/kha-tui/cluster.toml")
    );
    assert!(cluster.nodes.iter().any(|n| n.name == "worker4"));
    assert!(text.contains("# RFC 1123 label"), "comments kept");
    assert!(
        text.ends_with("name = \"worker4\"\naddress = \"10.0.0.24\"\nrole = \"worker\"\n"),
        "{text}"
    );
    assert_eq!(m2.screen, Screen::Run, "on the run dashboard");
    assert!(m2.popups.is_empty());
    assert!(m2.busy());
    // Esc on the first form leaves without a change.
    feed(&mut m, [key(KeyCode::Esc)]);
    assert!(m.popups.is_empty());
}

#[test]
fn a_control_plane_is_removed_only_once_its_name_is_typed() {
    let mut m = day2_remove_cp();
    let Day2Dialog::Remove { node, error, .. } = dialog(&m) else {
        panic!()
    };
    assert_eq!(node, "master2");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("type master2")
    );
    assert!(typed(&mut m, "er2").is_empty());
    let cmds = update(&mut m, key(KeyCode::Enter));
    let Day2Job::Remove {
        node, unreachable, ..
    } = job(&cmds)
    else {
        panic!()
    };
    assert_eq!((node.as_str(), *unreachable), ("master2", false));
}

#[test]
fn a_worker_needs_y_and_a_dead_node_offers_unreachable() {
    let mut m = home(false);
    feed(&mut m, [key(KeyCode::Char('x'))]);
    for _ in 0..3 {
        feed(&mut m, [key(KeyCode::Down)]);
    }
    feed(&mut m, [key(KeyCode::Enter)]);
    assert!(matches!(dialog(&m), Day2Dialog::Remove { node, .. } if node == "worker1"));
    assert!(
        update(&mut m, key(KeyCode::Enter)).is_empty(),
        "Enter asks for y"
    );
    let cmds = update(&mut m, key(KeyCode::Char('y')));
    assert!(
        matches!(job(&cmds), Day2Job::Remove { node, unreachable: false, .. } if node == "worker1")
    );

    // master3 does not answer: listed first, unreachable preselected, Tab takes it back.
    let mut m = home(false);
    let s = m.cluster_view.status.as_mut().unwrap();
    s.unreachable.push(crate::day2::status::HostError {
        node: "master3".into(),
        error: "connection refused".into(),
    });
    feed(&mut m, [key(KeyCode::Char('x'))]);
    let Day2Dialog::Pick { nodes, .. } = dialog(&m) else {
        panic!()
    };
    assert_eq!(nodes[0].0, "master3");
    feed(&mut m, [key(KeyCode::Enter)]);
    assert!(matches!(
        dialog(&m),
        Day2Dialog::Remove {
            unreachable: true,
            answers: false,
            ..
        }
    ));
    feed(&mut m, [key(KeyCode::Tab)]);
    assert!(matches!(
        dialog(&m),
        Day2Dialog::Remove {
            unreachable: false,
            ..
        }
    ));
    feed(&mut m, [key(KeyCode::Tab)]);
    typed(&mut m, "master3");
    let cmds = update(&mut m, key(KeyCode::Enter));
    assert!(matches!(
        job(&cmds),
        Day2Job::Remove {
            unreachable: true,
            ..
        }
    ));
}

#[test]
fn reset_needs_the_cluster_name_and_ends_with_the_report() {
    let mut m = day2_reset();
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    assert!(matches!(
        dialog(&m),
        Day2Dialog::Reset { error: Some(_), .. }
    ));
    typed(&mut m, "prod");
    let cmds = update(&mut m, key(KeyCode::Enter));
    assert!(matches!(job(&cmds), Day2Job::Reset { cluster } if cluster.name == "prod"));
    // The run's end does not claim "cluster ready"; the report shows per node.
    let summary = crate::engine::events::RunSummary {
        ok: true,
        stopped: None,
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
        Msg::Engine(crate::engine::Event::RunFinished(summary)),
    );
    assert_eq!(m.screen, Screen::Run);
    update(
        &mut m,
        Msg::Day2Ended(Box::new(Day2Report {
            ok: true,
            title: "reset of prod".into(),
            lines: vec!["master1: removed /etc/kubernetes".into()],
            inventory: None,
            reset: true,
        })),
    );
    assert!(!m.busy());
    assert!(
        matches!(m.popups.front(), Some(Popup::Script { lines, .. }) if lines[0].contains("master1"))
    );
}

#[test]
fn each_problem_offers_its_fix_and_f_opens_it() {
    let mut m = home(true);
    let o = offers(&m);
    assert!(o.contains(&Offer::Remove("master3".into())), "{o:?}");
    assert!(o.contains(&Offer::Remove("master2".into())), "{o:?}");
    assert!(
        o.iter().any(
            |x| matches!(x, Offer::Command(c) if c.starts_with("kha-tui certs renew --config "))
        ),
        "{o:?}"
    );
    assert!(offers(&home(false)).is_empty());
    feed(&mut m, [key(KeyCode::Char('f'))]);
    assert!(matches!(dialog(&m), Day2Dialog::Remove { .. }));
}

#[test]
fn a_finished_addition_reads_the_cluster_again_with_the_new_inventory() {
    let mut m = day2_add_review();
    let cmds = update(&mut m, key(KeyCode::Char('y')));
    let Day2Job::Add { cluster, text, .. } = job(&cmds).clone() else {
        panic!()
    };
    let cmds = update(
        &mut m,
        Msg::Day2Ended(Box::new(Day2Report {
            ok: true,
            title: "add worker4 to prod".into(),
            lines: vec!["added".into()],
            inventory: Some((text, cluster)),
            reset: false,
        })),
    );
    assert_eq!(m.screen, Screen::Cluster);
    assert!(
        matches!(cmds.as_slice(), [Command::Status { cluster, .. }] if cluster.nodes.iter().any(|n| n.name == "worker4"))
    );
    assert!(matches!(m.popups.front(), Some(Popup::Script { .. })));
}

fn summary(ok: bool) -> crate::engine::events::RunSummary {
    crate::engine::events::RunSummary {
        ok,
        stopped: (!ok).then(|| "worker1: drain failed".to_string()),
        failures: vec![],
        phase_durations: vec![],
        total: Default::default(),
        total_all_runs: Default::default(),
        cluster_nodes: vec![],
        endpoint: String::new(),
        kubeconfig: String::new(),
        log_dir: String::new(),
        state_file: String::new(),
    }
}

#[test]
fn a_day2_job_that_did_not_finish_runs_again_as_itself_on_r() {
    let mut m = home(false);
    feed(&mut m, [key(KeyCode::Char('x'))]);
    for _ in 0..3 {
        feed(&mut m, [key(KeyCode::Down)]);
    }
    feed(&mut m, [key(KeyCode::Enter)]);
    let first = job(&update(&mut m, key(KeyCode::Char('y')))).clone();
    update(
        &mut m,
        Msg::Engine(crate::engine::Event::RunFinished(summary(false))),
    );
    update(
        &mut m,
        Msg::Day2Ended(Box::new(Day2Report {
            ok: false,
            title: first.title(),
            lines: vec!["stopped: worker1: drain failed".into()],
            inventory: None,
            reset: false,
        })),
    );
    assert_eq!(
        m.screen,
        Screen::Run,
        "the dashboard stays, with the report over it"
    );
    feed(&mut m, [key(KeyCode::Esc)]);
    let again = update(&mut m, key(KeyCode::Char('r')));
    assert!(
        matches!(job(&again), Day2Job::Remove { node, .. } if node == "worker1"),
        "{again:?}"
    );
}
