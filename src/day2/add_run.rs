//! `kha-tui add-node`: read the cluster (the status plan), plan the addition, preflight the new
//! nodes (and their uniqueness against the existing ones), then run the addition's plan on the
//! engine. Every part is a plan on the same engine as the install; events go to one viewer.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::add_plan::{Addition, plan_addition};
use super::gather_status;
use crate::engine::{self, CheckResult, Event, Options, RunSummary, state::State};
use crate::inventory::Cluster;
use crate::transport::Transport;

/// Why an addition stopped before it changed anything.
#[derive(Debug)]
pub enum Refused {
    /// The cluster or the inventory does not allow it (no new node, no healthy source).
    Plan(String),
    /// The preflight found blocking problems on the new nodes.
    Preflight(Vec<CheckResult>),
    Other(anyhow::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Plan(e) => f.write_str(e),
            Refused::Preflight(b) => {
                let list: Vec<String> = b
                    .iter()
                    .map(|b| format!("{}: {} ({}) — {}", b.node, b.check, b.found, b.fix))
                    .collect();
                write!(
                    f,
                    "preflight failed on the new nodes, nothing was changed: {}. Fix them, or pass --ignore-preflight CHECK",
                    list.join("; ")
                )
            }
            Refused::Other(e) => write!(f, "{e:#}"),
        }
    }
}

/// Blocking preflight results that concern the new nodes: their own checks, and uniqueness
/// clashes with an existing node (reported on whichever of the two came second).
pub fn blocking_for_new(blocking: &[CheckResult], new: &[String]) -> Vec<CheckResult> {
    blocking
        .iter()
        .filter(|b| {
            new.contains(&b.node)
                || new
                    .iter()
                    .any(|n| b.found.contains(&format!("is also {n}'s")))
        })
        .cloned()
        .collect()
}

/// Plans the addition (after reading the cluster), for a caller that shows it before running.
pub async fn prepare_addition<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    config: &str,
    stop: CancellationToken,
) -> Result<Addition, Refused> {
    let status = gather_status(t, c, opts, config, stop)
        .await
        .map_err(Refused::Other)?;
    plan_addition(c, &status, config).map_err(Refused::Plan)
}

/// Preflight on every host (facts for the uniqueness checks), judged on the new nodes only;
/// then the addition's plan. `Ok` carries the run's summary.
pub async fn run_addition<T: Transport>(
    t: Arc<T>,
    a: &Addition,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> Result<RunSummary, Refused> {
    if !opts.skip_preflight {
        let results =
            engine::run_preflight(t.clone(), &a.cluster, opts, events.clone(), stop.clone()).await;
        let blocking = engine::preflight::blocking(&results, &opts.ignore_preflight);
        let mine = blocking_for_new(&blocking, &a.new_nodes);
        if !mine.is_empty() {
            return Err(Refused::Preflight(mine));
        }
    }
    // The steps on existing hosts run again (HAProxy's config, the readiness wait, the
    // cleanup): what an earlier run recorded for them is forgotten. The new nodes' steps keep
    // theirs, so an interrupted addition resumes.
    let mut st = State::load(&opts.dirs.state, &a.cluster.name)
        .map_err(|e| Refused::Other(anyhow::anyhow!("cannot read state: {e}")))?;
    for (node, step) in &a.rerun {
        st.forget(node, std::slice::from_ref(step));
    }
    st.save(&opts.dirs.state)
        .map_err(|e| Refused::Other(anyhow::anyhow!("cannot write state: {e}")))?;
    let mut o = opts.clone();
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    Ok(engine::apply_plan(t, a.cluster.clone(), a.plan.clone(), o, events, stop).await)
}
