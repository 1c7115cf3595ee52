//! `kha-tui reset`: runs the reset plan on the engine (resuming an interrupted reset: done steps
//! are skipped), gathers what each host said it removed, and once every step is done archives
//! kha-tui's state for the cluster so that the next `apply` installs from scratch.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::reset_plan::reset_plan;
use crate::engine::{self, Event, Options, RunSummary, events::Stream, state::State};
use crate::inventory::Cluster;
use crate::transport::Transport;

pub struct ResetOutcome {
    pub summary: RunSummary,
    /// host → what its step said it removed (or that it was clean).
    pub report: BTreeMap<String, Vec<String>>,
    /// Where the state went.
    pub archived: Option<PathBuf>,
}

/// Moves the cluster's state file to `state/archive/CLUSTER-UNIXSECONDS.json`.
pub fn archive_state(dir: &std::path::Path, cluster: &str) -> std::io::Result<Option<PathBuf>> {
    let from = State::path(dir, cluster);
    if !from.exists() {
        return Ok(None);
    }
    let archive = dir.join("archive");
    engine::state::create_private_dir(&archive)?;
    let to = archive.join(format!("{cluster}-{}.json", engine::state::now_secs()));
    std::fs::rename(&from, &to)?;
    Ok(Some(to))
}

pub async fn run_reset<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    purge: bool,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> anyhow::Result<ResetOutcome> {
    let plan = reset_plan(c, purge);
    let mut o = opts.clone();
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    // An address that leads to another machine than the one installed gets no reset.
    o.other_machine_stops = true;
    // What each host says it removed is taken from the events on their way to the viewer.
    let (tx, mut rx) = mpsc::channel(1024);
    let forward = tokio::spawn(async move {
        let mut report: BTreeMap<String, Vec<String>> = BTreeMap::new();
        while let Some(ev) = rx.recv().await {
            if let Event::Log {
                node,
                stream: Stream::Stdout,
                line,
                ..
            } = &ev
                && (line.starts_with("removed ") || line.starts_with("nothing left to remove"))
            {
                report.entry(node.clone()).or_default().push(line.clone());
            }
            if events.send(ev).await.is_err() {
                break;
            }
        }
        report
    });
    let summary = engine::apply_plan(t, c.clone(), plan, o, tx, stop).await;
    let mut report = forward.await?;
    let archived = if summary.ok {
        // The pair's VRRP password went with keepalived's config on both LBs. A file that cannot
        // be removed does not undo the reset: it is said, with the way out.
        if let Err(e) = engine::vrrp_secret::forget(&opts.dirs.state, &c.name) {
            let path = engine::vrrp_secret::path(&opts.dirs.state, &c.name);
            report.entry("kha-tui".into()).or_default().push(format!(
                "could not remove the VRRP password {}: {e}; remove it by hand",
                path.display()
            ));
        }
        archive_state(&opts.dirs.state, &c.name)?
    } else {
        None
    };
    Ok(ResetOutcome {
        summary,
        report,
        archived,
    })
}
