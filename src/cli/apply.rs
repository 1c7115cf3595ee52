//! `kha-tui apply` and `preflight` headless: the engine run against SSH or the simulated fleet,
//! its events printed, Ctrl-C ending the remote commands; and what such a run would need a
//! yes for.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::args::RunArgs;
use super::headless;
use crate::engine::{self, Options};
use crate::inventory;
use crate::plan;
use crate::transport::sim::{SimFleet, SimOptions};

/// Refuses `--fail NODE` when the inventory has no such node, listing the ones it has.
pub fn check_fail_node(fail: Option<&str>, names: &[String]) -> anyhow::Result<()> {
    match fail {
        Some(n) if !names.iter().any(|m| m == n) => anyhow::bail!(
            "--fail {n}: the inventory has no node named {n:?}; its nodes are {}",
            names.join(", ")
        ),
        _ => Ok(()),
    }
}

/// Runs the engine (apply or preflight) headless against SSH or the simulated fleet.
pub async fn run_headless(
    cluster: inventory::Cluster,
    args: &RunArgs,
    opts: Options,
    preflight_only: bool,
) -> anyhow::Result<ExitCode> {
    let (tx, rx) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let ask = opts.interactive;
    let printer = tokio::spawn(headless::print_events(rx, ask, stop.clone()));
    let ctrl_c = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "kha-tui: stopping: ending the commands now running on the nodes (Ctrl-C again quits at once and may leave them running)"
                );
                stop.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let ok = if args.simulate {
        let fleet = Arc::new(SimFleet::new(SimOptions {
            fail_node: args.fail.clone(),
            speed: args.speed.max(0.01),
            unknown_host_key: None,
        }));
        run_engine(fleet, cluster, opts, tx, stop, preflight_only).await
    } else {
        // The same trust sources as the wizard (transport::ssh::cluster).
        run_engine(
            crate::transport::ssh::cluster_transport(&cluster, opts.dirs.known_hosts.clone()),
            cluster,
            opts,
            tx,
            stop,
            preflight_only,
        )
        .await
    };
    let _ = printer.await;
    ctrl_c.abort();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_engine<T: crate::transport::Transport>(
    t: Arc<T>,
    cluster: inventory::Cluster,
    opts: Options,
    tx: mpsc::Sender<engine::Event>,
    stop: CancellationToken,
    preflight_only: bool,
) -> bool {
    if preflight_only {
        let results = engine::run_preflight(t, &cluster, &opts, tx, stop).await;
        engine::preflight::blocking(&results, &opts.ignore_preflight).is_empty()
    } else {
        engine::apply(t, cluster, opts, tx, stop).await.ok
    }
}

/// The steps this apply would run that need the operator's yes (kubeadm init), as sentences;
/// steps the state records as done are not run again and need none.
pub fn needs_confirmation(c: &inventory::Cluster, opts: &Options) -> Vec<String> {
    let state = engine::state::State::load(&opts.dirs.state, &c.name).unwrap_or_default();
    let mut p = plan::build(c);
    if let Some(n) = &opts.only_node {
        p = p.for_node(n);
    }
    p.phases
        .iter()
        .flat_map(|ph| &ph.steps)
        .filter_map(|s| {
            let redo =
                opts.only_node.as_deref() == Some(s.node.as_str()) && opts.from_step.is_some();
            let why = s.confirm.as_ref()?;
            (redo || !state.is_done(&s.node, &s.id))
                .then(|| format!("{} on {} needs a yes: {why}", s.id, s.node))
        })
        .collect()
}

/// Every host of the inventory by name: the load balancer, then the nodes.
pub fn host_names(c: &inventory::Cluster) -> Vec<String> {
    std::iter::once(c.lb.name.clone())
        .chain(c.nodes.iter().map(|n| n.name.clone()))
        .collect()
}
