//! The status plan through the engine against the simulated fleet: before the install nothing
//! answers for the cluster (and says so), after it the report is healthy and matches the
//! simulated cluster; the state and logs of the install are not touched by status reads.

use std::sync::Arc;
use std::time::Duration;

use kha_tui::day2::gather_status;
use kha_tui::engine::{self, Dirs, Options};
use kha_tui::inventory::{self, Cluster, EXAMPLE, validate};
use kha_tui::transport::sim::{SimFleet, SimOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn cluster() -> Cluster {
    validate::check(&inventory::parse(EXAMPLE).unwrap())
        .unwrap()
        .0
}

#[tokio::test]
async fn status_before_and_after_a_simulated_install() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(Dirs::under(dir.path()));
    o.assume_yes = true;
    let fleet = Arc::new(SimFleet::new(SimOptions {
        fail_node: None,
        speed: 400.0,
        unknown_host_key: None,
    }));
    let c = cluster();

    let before = gather_status(
        fleet.clone(),
        &c,
        &o,
        "cluster.toml",
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(!before.healthy);
    assert!(before.nodes_reported_by.is_none(), "{before:?}");
    assert!(
        before
            .problems
            .iter()
            .any(|p| p.what.contains("no control plane answered")),
        "{:?}",
        before.problems
    );

    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        engine::apply(
            fleet.clone(),
            c.clone(),
            o.clone(),
            tx,
            CancellationToken::new(),
        ),
    )
    .await
    .unwrap();
    drain.await.unwrap();
    assert!(summary.ok, "{summary:?}");
    let state_before = std::fs::read_to_string(&summary.state_file).unwrap();

    let s = gather_status(fleet, &c, &o, "cluster.toml", CancellationToken::new())
        .await
        .unwrap();
    assert!(s.healthy, "{:?}", s.problems);
    assert_eq!(s.nodes.len(), 6);
    assert!(s.nodes.iter().all(|n| n.ready && n.in_inventory));
    assert_eq!(s.etcd_members.len(), 3);
    assert_eq!(s.etcd_members.iter().filter(|m| m.leader).count(), 1);
    assert_eq!(s.load_balancers[0].backends.len(), 3);
    assert!(s.tokens.is_empty(), "the install took its tokens out");
    assert_eq!(
        std::fs::read_to_string(&summary.state_file).unwrap(),
        state_before,
        "a status read leaves the install's state alone"
    );
}

/// `kha-tui reset` on a cluster where one node's address now leads to another machine (a new
/// /etc/machine-id, as after a reinstall or an address given to another host): the run stops
/// before anything runs anywhere, says which node and why, keeps the state, and a second try
/// stops the same way (the other machine is not learnt). With the same machines the reset runs.
#[tokio::test]
async fn reset_refuses_a_node_that_is_another_machine() {
    use kha_tui::day2::reset_run::run_reset;
    use kha_tui::engine::{Event, StepOutcome};

    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::new(Dirs::under(dir.path()));
    o.assume_yes = true;
    let sim = || SimOptions {
        fail_node: None,
        speed: 400.0,
        unknown_host_key: None,
    };
    let fleet = Arc::new(SimFleet::new(sim()));
    let c = cluster();
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let summary = engine::apply(
        fleet.clone(),
        c.clone(),
        o.clone(),
        tx,
        CancellationToken::new(),
    )
    .await;
    drain.await.unwrap();
    assert!(summary.ok, "{summary:?}");

    fleet.replace_machine("worker1");
    for attempt in 1..=2 {
        let f = Arc::new(fleet.again(sim()));
        let (tx, mut rx) = mpsc::channel(64);
        let seen = tokio::spawn(async move {
            let mut ran = Vec::new();
            while let Some(ev) = rx.recv().await {
                if let Event::StepFinished {
                    node,
                    step,
                    outcome,
                    ..
                } = ev
                    && !matches!(outcome, StepOutcome::NotRun { .. })
                {
                    ran.push(format!("{node}/{step}"));
                }
            }
            ran
        });
        let out = run_reset(f, &c, false, &o, tx, CancellationToken::new())
            .await
            .unwrap();
        let ran = seen.await.unwrap();
        assert!(!out.summary.ok, "attempt {attempt}");
        let why = out.summary.stopped.clone().unwrap_or_default();
        assert!(
            why.contains("worker1 is another machine") && why.contains("machine-id"),
            "attempt {attempt}: {why}"
        );
        assert!(
            ran.is_empty(),
            "attempt {attempt}: nothing runs, ran {ran:?}"
        );
        assert!(out.archived.is_none());
        assert!(
            std::path::Path::new(&summary.state_file).exists(),
            "the state stays"
        );
    }

    // The same machines: the reset runs everywhere, the LB last, and the state is archived.
    let fresh = Arc::new(SimFleet::new(sim()));
    let dir2 = tempfile::tempdir().unwrap();
    let mut o2 = Options::new(Dirs::under(dir2.path()));
    o2.assume_yes = true;
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    assert!(
        engine::apply(
            fresh.clone(),
            c.clone(),
            o2.clone(),
            tx,
            CancellationToken::new()
        )
        .await
        .ok
    );
    drain.await.unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let order = tokio::spawn(async move {
        let mut done = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let Event::StepFinished {
                node,
                outcome: StepOutcome::Succeeded,
                ..
            } = ev
            {
                done.push(node);
            }
        }
        done
    });
    let out = run_reset(fresh, &c, false, &o2, tx, CancellationToken::new())
        .await
        .unwrap();
    let done = order.await.unwrap();
    assert!(out.summary.ok, "{:?}", out.summary);
    assert!(out.archived.is_some());
    assert_eq!(done.len(), 7, "{done:?}");
    assert_eq!(done.last().map(String::as_str), Some("lb"), "{done:?}");
}
