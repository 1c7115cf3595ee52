//! `kha-tui remove-node`: read the cluster (the status plan), check and plan the removal, run
//! it on the engine, then update the inventory (comments kept) and kha-tui's state: the node's
//! records are dropped, and when it was the first control plane, what kha-tui keeps about "the
//! first" (the init and the finishing steps) moves to the new first one.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::gather_status;
use super::inventory_edit;
use super::remove_plan::{Removal, RemoveOptions, plan_removal};
use crate::engine::{self, Event, Options, RunSummary, state::State};
use crate::inventory::Cluster;
use crate::plan;
use crate::transport::Transport;

pub async fn prepare_removal<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    config: &str,
    target: &str,
    o: &RemoveOptions,
    stop: CancellationToken,
) -> anyhow::Result<Result<Removal, String>> {
    let status = gather_status(t, c, opts, config, stop).await?;
    Ok(plan_removal(c, &status, target, o))
}

/// Moves kha-tui's records about "the first control plane" from `old` to the inventory's new
/// first one: the steps only the first control plane has in the install plan (init, Calico,
/// the readiness wait, the cleanup) count as done there when `old` did them; kubeadm init counts
/// as done when the new one joined. Its own steps (prepare, …) stay its own.
pub fn move_first(st: &mut State, after: &Cluster, old: &str) {
    let new = after.first_control_plane().name.clone();
    if new == old {
        return;
    }
    let p = plan::build(after);
    // The first control plane's own steps: no other control plane has a step of that id.
    let others: std::collections::HashSet<&str> = p
        .steps()
        .filter(|(_, s)| s.node != new && after.control_planes().any(|n| n.name == s.node))
        .map(|(_, s)| s.id.as_str())
        .collect();
    for (_, s) in p
        .steps()
        .filter(|(_, s)| s.node == new && !others.contains(s.id.as_str()))
    {
        if st.is_done(&new, &s.id) {
            continue;
        }
        let from = if st.is_done(old, &s.id) {
            st.record(old, &s.id).cloned()
        } else if s.id == "kubeadm-init" && st.is_done(&new, "kubeadm-join") {
            st.record(&new, "kubeadm-join").cloned()
        } else {
            None
        };
        if let Some(r) = from {
            st.set(&new, &s.id, r);
        }
    }
}

/// Runs the removal; on success updates the inventory file and the state.
pub async fn run_removal<T: Transport>(
    t: Arc<T>,
    r: &Removal,
    config: &Path,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<RunSummary> {
    // Every step is idempotent (a second drain, reset or member removal finds nothing to do):
    // an interrupted removal simply runs whole again.
    let mut st = State::load(&opts.dirs.state, &r.run_cluster.name)?;
    for (_, s) in r.plan.steps() {
        st.forget(&s.node, std::slice::from_ref(&s.id));
    }
    st.save(&opts.dirs.state)?;
    let mut o = opts.clone();
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    // An address that leads to another machine than the one installed gets no reset.
    o.other_machine_stops = true;
    let summary =
        engine::apply_plan(t, r.run_cluster.clone(), r.plan.clone(), o, events, stop).await;
    if !summary.ok {
        return Ok(summary);
    }
    inventory_edit::edit_file(config, |text| {
        inventory_edit::with_node_removed(text, &r.target)
    })
    .map_err(anyhow::Error::msg)?;
    let mut st = State::load(&opts.dirs.state, &r.run_cluster.name)?;
    if r.was_first {
        move_first(&mut st, &r.after, &r.target);
    }
    st.steps.remove(&r.target);
    st.machines.remove(&r.target);
    st.save(&opts.dirs.state)?;
    Ok(summary)
}
