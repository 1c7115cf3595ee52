//! Runs the status plan on the engine and turns what its steps printed into a report.
//!
//! The run keeps no state and no logs of its own (a throw-away directory; the status is read
//! again each time, and a refresh every few seconds must not fill the logs or mark steps
//! "done"); host keys are the operator's known_hosts as for every run.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::status::{self, ClusterStatus, HostError, Reported};
use super::status_checks;
use super::status_plan::{LINE_PREFIX, status_plan};
use crate::engine::{self, Dirs, Event, Options, StepOutcome};
use crate::inventory::Cluster;
use crate::transport::Transport;

/// A private directory removed when dropped: the state and logs of a read-only run.
pub(super) struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `kha-tui-WHAT-PID-N` under the temporary directory, 0700.
    pub(super) fn create(what: &str) -> anyhow::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt as _;
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kha-tui-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `opts` for a read-only plan (status, the upgrade's read): state and logs in `scratch`, so
/// a read leaves nothing in kha-tui's state and marks no step done; the operator's known_hosts;
/// the whole plan from its start, without the preflight.
pub(super) fn read_only_options(opts: &Options, scratch: &Scratch) -> Options {
    let mut o = opts.clone();
    o.dirs = Dirs {
        known_hosts: opts.dirs.known_hosts.clone(),
        ..Dirs::under(&scratch.0)
    };
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    o
}

/// Gathers the cluster's status. `opts` gives the known_hosts, passwords and timeouts; its
/// state and log directories are not used. `config`: the inventory's path, for the fixes offered.
pub async fn gather_status<T: Transport>(
    transport: Arc<T>,
    cluster: &Cluster,
    opts: &Options,
    config: &str,
    stop: CancellationToken,
) -> anyhow::Result<ClusterStatus> {
    gather_status_trusting(transport, cluster, opts, config, &[], stop).await
}

/// As [`gather_status`], answering yes to a host-key question only for a (node, fingerprint)
/// the operator accepted earlier in this session (the wizard's `accepted_keys`); every other
/// unknown key is refused, as in any run that cannot ask.
pub async fn gather_status_trusting<T: Transport>(
    transport: Arc<T>,
    cluster: &Cluster,
    opts: &Options,
    config: &str,
    accepted: &[(String, String)],
    stop: CancellationToken,
) -> anyhow::Result<ClusterStatus> {
    let scratch = Scratch::create("status")?;
    let mut o = read_only_options(opts, &scratch);
    o.interactive = !accepted.is_empty();
    let accepted = accepted.to_vec();
    let plan = status_plan(cluster);
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut reported = Vec::new();
        let mut unreachable = Vec::new();
        let mut failed = Vec::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Log {
                    node,
                    step,
                    stream: engine::events::Stream::Stdout,
                    line,
                } => {
                    if let Some(rest) = line.strip_prefix(LINE_PREFIX) {
                        reported.push(Reported {
                            node,
                            step,
                            line: rest.to_string(),
                        });
                    }
                }
                Event::HostKeyQuestion {
                    node,
                    fingerprint,
                    reply,
                    ..
                } => {
                    let _ = reply.send(accepted.contains(&(node, fingerprint)));
                }
                Event::NodeUnreachable { node, error, .. } => {
                    unreachable.push(HostError { node, error })
                }
                Event::StepFinished {
                    node,
                    step,
                    outcome: o @ StepOutcome::Failed { .. },
                    ..
                } => failed.push(HostError {
                    node,
                    error: format!("{step} {o}"),
                }),
                _ => {}
            }
        }
        (reported, unreachable, failed)
    });
    let _summary = engine::apply_plan(transport, cluster.clone(), plan, o, tx, stop).await;
    let (reported, unreachable, failed) = collect.await?;
    let mut s = status::build(cluster, &reported, &unreachable, &failed);
    s.last_backup = super::backup_store::read_last(&opts.dirs, &cluster.name);
    status_checks::check(cluster, &mut s, config);
    Ok(s)
}
