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
