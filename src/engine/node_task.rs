//! One task per node owns that node's connection and runs its jobs one at a time: steps,
//! reading a file as root. Between steps a dead session is replaced (reconnect with backoff).
//! A step that is stopped (the operator), abandoned (its time limits) or whose session drops
//! has its remote process group ended — over a fresh session when the old one is gone — so
//! nothing keeps running on the node and a retry never waits behind an earlier attempt. When
//! the task ends it removes the run's work directories on the node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::events::{Event, Failure, StepOutcome};
use super::node::{NodeConn, NodeError, collect};
use super::secrets::{Redactor, RunValues};
use crate::plan::Step;
use crate::shell::quote;
use crate::transport::{Target, Timeouts, Transport};

/// How a step ended, as the node task saw it.
#[derive(Debug)]
pub struct StepDone {
    pub outcome: StepOutcome,
    pub duration: Duration,
    /// `kha-node` lines, for a step that reports cluster nodes.
    pub reported: Vec<String>,
}

impl StepDone {
    pub fn not_run(reason: String) -> StepDone {
        StepDone {
            outcome: StepOutcome::NotRun { reason },
            duration: Duration::ZERO,
            reported: vec![],
        }
    }
}

enum Job {
    Step {
        step: Box<Step>,
        values: RunValues,
        redactor: Redactor,
        phase: String,
        /// Not a plan step (the scheduler does not report it): the task reports its end.
        extra: bool,
        reply: oneshot::Sender<StepDone>,
    },
    Read {
        path: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Command {
        step: Box<Step>,
        reply: oneshot::Sender<String>,
    },
}

/// Sends jobs to a node's task.
#[derive(Clone)]
pub struct NodeHandle {
    pub name: String,
    tx: mpsc::Sender<Job>,
}

impl NodeHandle {
    pub async fn run_step(
        &self,
        step: Step,
        values: RunValues,
        redactor: Redactor,
        phase: String,
    ) -> StepDone {
        self.send_step(step, values, redactor, phase, false).await
    }

    /// Runs a step that is not in the plan (fresh join secrets), reporting its end too.
    pub async fn run_extra_step(
        &self,
        step: Step,
        values: RunValues,
        redactor: Redactor,
        phase: String,
    ) -> StepDone {
        self.send_step(step, values, redactor, phase, true).await
    }

    async fn send_step(
        &self,
        step: Step,
        values: RunValues,
        redactor: Redactor,
        phase: String,
        extra: bool,
    ) -> StepDone {
        let (reply, rx) = oneshot::channel();
        let job = Job::Step {
            step: Box::new(step),
            values,
            redactor,
            phase,
            extra,
            reply,
        };
        if self.tx.send(job).await.is_err() {
            return StepDone::not_run(format!("{} is not connected", self.name));
        }
        rx.await
            .unwrap_or_else(|_| StepDone::not_run(format!("the task of {} ended", self.name)))
    }

    /// A file's content read as root (not shown, not logged).
    pub async fn read_root_file(&self, path: &str) -> Result<String, String> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Read {
            path: path.into(),
            reply,
        };
        if self.tx.send(job).await.is_err() {
            return Err(format!("{} is not connected", self.name));
        }
        rx.await
            .unwrap_or_else(|_| Err(format!("the task of {} ended", self.name)))
    }

    /// The exact command line `step` runs with on this node (for confirmations).
    pub async fn command_for(&self, step: &Step) -> String {
        let (reply, rx) = oneshot::channel();
        let job = Job::Command {
            step: Box::new(step.clone()),
            reply,
        };
        if self.tx.send(job).await.is_err() {
            return String::new();
        }
        rx.await.unwrap_or_default()
    }
}

pub struct NodeTask<T: Transport> {
    pub conn: Option<NodeConn<T::Session>>,
    pub transport: Arc<T>,
    pub target: Target,
    pub sudo_password: Option<String>,
    pub events: mpsc::Sender<Event>,
    /// The operator's stop: running commands are ended.
    pub stop: CancellationToken,
    /// The redactor for connection errors (passwords).
    pub redactor: Redactor,
    /// Work directories of sessions that died; removed once the task ends.
    pub stale_workdirs: Vec<String>,
    /// Silence after which a running step is reported quiet (`Options::quiet_after`).
    pub quiet_after: Duration,
}

/// Waits between reconnect attempts.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// How long ending a remote process group may take before it is given up.
const KILL_LIMIT: Duration = Duration::from_secs(20);

impl<T: Transport> NodeTask<T> {
    pub fn spawn(self) -> (NodeHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(64);
        let handle = NodeHandle {
            name: self.target.node.clone(),
            tx,
        };
        (handle, tokio::spawn(self.run(rx)))
    }

    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Step {
                    step,
                    values,
                    redactor,
                    phase,
                    extra,
                    reply,
                } => {
                    let done = self.step(&step, &values, &redactor, phase).await;
                    if extra {
                        let _ = self
                            .events
                            .send(Event::StepFinished {
                                node: step.node.clone(),
                                step: step.id.clone(),
                                outcome: done.outcome.clone(),
                                duration: done.duration,
                            })
                            .await;
                    }
                    let _ = reply.send(done);
                }
                Job::Read { path, reply } => {
                    let r = match self.connected().await {
                        Ok(conn) => conn.read_root_file(&path).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = reply.send(r.map_err(|e| self.redactor.redact(&e)));
                }
                Job::Command { step, reply } => {
                    let c = match &self.conn {
                        Some(c) => c.command_for(&step),
                        None => String::new(),
                    };
                    let _ = reply.send(c);
                }
            }
        }
        self.finish().await;
    }

    /// The node's connection, made again (with backoff) when the last one died.
    async fn connected(&mut self) -> Result<&mut NodeConn<T::Session>, NodeError> {
        if self.conn.is_none() {
            let mut last = None;
            for wait in std::iter::once(Duration::ZERO).chain(BACKOFF) {
                if self.stop.is_cancelled() {
                    break;
                }
                tokio::time::sleep(wait).await;
                match self.connect().await {
                    Ok(c) => {
                        self.conn = Some(c);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if self.conn.is_none() {
                return Err(last.unwrap_or_else(|| {
                    NodeError::Remote(format!("{} is not connected", self.target.node))
                }));
            }
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// A new connection (set up: sudo, work directory). Owns what it needs, so that no borrow
    /// of the task (which holds a session) lives across the wait.
    fn connect(
        &self,
    ) -> impl std::future::Future<Output = Result<NodeConn<T::Session>, NodeError>> + Send + 'static
    {
        let transport = self.transport.clone();
        let target = self.target.clone();
        let password = self.sudo_password.clone();
        async move {
            let session = transport.connect(&target, None).await?;
            NodeConn::setup(&target.node, session, &target.user, password.as_deref()).await
        }
    }

    async fn step(
        &mut self,
        step: &Step,
        values: &RunValues,
        redactor: &Redactor,
        phase: String,
    ) -> StepDone {
        if self.stop.is_cancelled() {
            return StepDone::not_run("stopped by the operator".into());
        }
        let started = Instant::now();
        let failed = |failure: Failure, reason: String| StepDone {
            outcome: StepOutcome::Failed { failure, reason },
            duration: started.elapsed(),
            reported: vec![],
        };
        let events = self.events.clone();
        let stop = self.stop.clone();
        let defaults = self.target.timeouts;
        let quiet_after = self.quiet_after;
        let conn = match self.connected().await {
            Ok(c) => c,
            Err(e) => return failed(e.failure(), redactor.redact(&e.to_string())),
        };
        let _ = events
            .send(Event::StepStarted {
                node: step.node.clone(),
                step: step.id.clone(),
                title: step.title.clone(),
                phase,
            })
            .await;
        conn.set_timeouts(Timeouts {
            idle: step.limits.idle.unwrap_or(defaults.idle),
            command: step.limits.total.unwrap_or(defaults.command),
            ..defaults
        });
        let pgid_file = conn.pgid_path(step);
        let result = tokio::select! {
            r = conn.run_step(step, values, redactor, &events, quiet_after) => Some(r),
            _ = stop.cancelled() => None,
        };
        conn.set_timeouts(defaults);
        let duration = started.elapsed();
        let done = |outcome: StepOutcome, reported: Vec<String>| StepDone {
            outcome,
            duration,
            reported,
        };
        match result {
            None => {
                self.end_remote(step, &pgid_file, false).await;
                done(
                    StepOutcome::Interrupted {
                        reason: Failure::Cancelled.to_string(),
                    },
                    vec![],
                )
            }
            Some(Ok((status, out))) if status.success() => {
                done(StepOutcome::Succeeded, out.reported)
            }
            Some(Ok((status, out))) => {
                if status.0.is_none() {
                    // No exit status: the remote side may still be running it.
                    self.end_remote(step, &pgid_file, false).await;
                }
                done(
                    StepOutcome::Failed {
                        failure: status.0.into(),
                        reason: out.tail,
                    },
                    vec![],
                )
            }
            Some(Err(e)) => {
                let failure = e.failure();
                let lost = failure == Failure::ConnectionLost;
                if matches!(
                    failure,
                    Failure::TimedOut { .. } | Failure::ConnectionLost | Failure::Other
                ) {
                    self.end_remote(step, &pgid_file, lost).await;
                }
                done(
                    StepOutcome::Failed {
                        failure,
                        reason: redactor.redact(&e.to_string()),
                    },
                    vec![],
                )
            }
        }
    }

    /// Ends the step's remote process group: over the current session, or over a fresh one
    /// when that is gone (`lost`) or does not answer.
    async fn end_remote(&mut self, step: &Step, pgid_file: &str, lost: bool) {
        if !lost
            && let Some(conn) = self.conn.as_mut()
            && let Ok(Ok(())) =
                tokio::time::timeout(KILL_LIMIT, conn.kill_group(step, pgid_file)).await
        {
            return;
        }
        // The session is gone or stuck: drop it and end the group over a fresh one.
        if let Some(old) = self.conn.take() {
            self.stale_workdirs.push(old.workdir.clone());
            drop(old);
        }
        match tokio::time::timeout(KILL_LIMIT, self.connect()).await {
            Ok(Ok(mut conn)) => {
                let _ = tokio::time::timeout(KILL_LIMIT, conn.kill_group(step, pgid_file)).await;
                self.conn = Some(conn);
            }
            _ => {
                let _ = self
                    .events
                    .send(Event::Log {
                        node: step.node.clone(),
                        step: step.id.clone(),
                        stream: super::events::Stream::Stderr,
                        line: format!(
                            "kha-tui: could not reach {} to end {}; it may still be running there",
                            self.target.node, step.id
                        ),
                    })
                    .await;
            }
        }
    }

    /// Removes this run's work directories (also those of sessions that died) and closes.
    async fn finish(mut self) {
        if let Some(mut conn) = self.conn.take() {
            for dir in std::mem::take(&mut self.stale_workdirs) {
                let _ = collect(&mut conn.session, &format!("rm -rf {}", quote(&dir)), None).await;
            }
            conn.finish().await;
        }
    }
}
