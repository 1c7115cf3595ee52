//! Runs the plan as a dependency graph: a step starts as soon as every step it waits for
//! (`Step::after`) has succeeded, no other step of its node runs, the exclusive resources it
//! holds are free, and fewer than `--concurrency` steps run. Phases are only the grouping the
//! viewer shows: a phase starts with its first step and finishes with its last. No step is
//! known here by name; what a step needs and makes is declared on it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::Options;
use super::events::{ClusterNode, Event, StepOutcome};
use super::node_task::{NodeHandle, StepDone};
use super::state::{StepRecord, StepStatus, now_secs};
use super::state_writer::StateWriter;
use super::values::Values;
use crate::plan::{Plan, Step, StepKey};

/// Stops the run from starting more work (a refused confirmation, a failed save, the operator);
/// the first reason given is the one reported.
#[derive(Clone, Default)]
pub struct Halt {
    token: CancellationToken,
    why: Arc<Mutex<Option<String>>>,
}

impl Halt {
    /// A halt that the operator's stop also triggers.
    pub fn under(stop: &CancellationToken) -> Halt {
        Halt {
            token: stop.child_token(),
            why: Arc::default(),
        }
    }

    pub fn stop(&self, why: String) {
        self.why.lock().expect("lock").get_or_insert(why);
        self.token.cancel();
    }

    pub fn is_halted(&self) -> bool {
        self.token.is_cancelled()
    }

    pub fn reason(&self) -> Option<String> {
        if !self.is_halted() {
            return None;
        }
        Some(
            self.why
                .lock()
                .expect("lock")
                .clone()
                .unwrap_or_else(|| "stopped by the operator".into()),
        )
    }
}

/// What the scheduler needs from the run.
pub struct Ctx {
    pub opts: Options,
    pub events: mpsc::Sender<Event>,
    /// The operator's stop (TUI Stop, Ctrl-C): running steps are ended.
    pub stop: CancellationToken,
    pub halt: Halt,
    pub state: StateWriter,
    /// The task of every connected node.
    pub nodes: HashMap<String, NodeHandle>,
    pub values: Arc<tokio::sync::Mutex<Values>>,
    /// The node the values are read from (`plan::ValueSources::node`).
    pub values_node: Option<String>,
}

/// What the run learned besides the state.
#[derive(Debug, Default)]
pub struct Finished {
    pub phase_durations: Vec<(String, Duration)>,
    pub cluster_nodes: Vec<ClusterNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Closed { ok: bool },
}

struct PhaseTrack {
    name: String,
    left: usize,
    ok: bool,
    started: Option<Instant>,
    duration: Duration,
}

struct Graph<'a> {
    ctx: &'a Ctx,
    steps: Vec<(usize, &'a Step)>,
    deps: Vec<Vec<usize>>,
    status: Vec<Status>,
    phases: Vec<PhaseTrack>,
}

impl<'a> Graph<'a> {
    fn new(plan: &'a Plan, ctx: &'a Ctx) -> Graph<'a> {
        let steps: Vec<(usize, &Step)> = plan
            .phases
            .iter()
            .enumerate()
            .flat_map(|(i, ph)| ph.steps.iter().map(move |s| (i, s)))
            .collect();
        let index: HashMap<StepKey, usize> = steps
            .iter()
            .enumerate()
            .map(|(i, (_, s))| (s.key(), i))
            .collect();
        let deps = steps
            .iter()
            .map(|(_, s)| {
                s.after
                    .iter()
                    .filter_map(|d| index.get(&StepKey::parse(d)).copied())
                    .collect()
            })
            .collect();
        let phases = plan
            .phases
            .iter()
            .map(|ph| PhaseTrack {
                name: ph.name.clone(),
                left: ph.steps.len(),
                ok: true,
                started: None,
                duration: Duration::ZERO,
            })
            .collect();
        Graph {
            ctx,
            status: vec![Status::Pending; steps.len()],
            steps,
            deps,
            phases,
        }
    }

    async fn emit(&self, e: Event) {
        let _ = self.ctx.events.send(e).await;
    }

    async fn touch_phase(&mut self, p: usize) {
        if self.phases[p].started.is_none() {
            self.phases[p].started = Some(Instant::now());
            let name = self.phases[p].name.clone();
            self.emit(Event::PhaseStarted { index: p, name }).await;
        }
    }

    /// Marks step `i` finished with `outcome` and tells the viewer.
    async fn close(&mut self, i: usize, outcome: StepOutcome, duration: Duration) {
        let (p, step) = self.steps[i];
        let ok = matches!(outcome, StepOutcome::Succeeded | StepOutcome::SkippedDone);
        self.status[i] = Status::Closed { ok };
        self.touch_phase(p).await;
        self.emit(Event::StepFinished {
            node: step.node.clone(),
            step: step.id.clone(),
            outcome,
            duration,
        })
        .await;
        let ph = &mut self.phases[p];
        ph.left -= 1;
        ph.ok &= ok;
        if ph.left == 0 {
            ph.duration = ph.started.map(|t| t.elapsed()).unwrap_or_default();
            let (name, ok, duration) = (ph.name.clone(), ph.ok, ph.duration);
            self.emit(Event::PhaseFinished {
                index: p,
                name,
                ok,
                duration,
            })
            .await;
        }
    }

    fn pending(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.steps.len()).filter(|&i| self.status[i] == Status::Pending)
    }

    /// Closes pending steps that can no longer run: something they wait for did not succeed,
    /// or the run was halted. Repeats until nothing changes (failures travel down the graph).
    async fn close_blocked(&mut self) {
        loop {
            let mut closed = false;
            for i in self.pending().collect::<Vec<_>>() {
                let failed_dep = self.deps[i]
                    .iter()
                    .copied()
                    .find(|&d| self.status[d] == Status::Closed { ok: false });
                let reason = if let Some(d) = failed_dep {
                    Some(format!(
                        "waits for {}, which has not succeeded",
                        self.steps[d].1.key()
                    ))
                } else {
                    self.ctx.halt.reason()
                };
                if let Some(reason) = reason {
                    self.close(i, StepOutcome::NotRun { reason }, Duration::ZERO)
                        .await;
                    closed = true;
                }
            }
            if !closed {
                return;
            }
        }
    }

    fn ready(&self, i: usize) -> bool {
        self.deps[i]
            .iter()
            .all(|&d| self.status[d] == Status::Closed { ok: true })
    }
}

/// Runs every step of `plan` that is not done yet; returns once every started step has ended.
pub async fn run(plan: &Plan, ctx: &Ctx) -> Finished {
    let mut g = Graph::new(plan, ctx);
    let concurrency = ctx.opts.concurrency.max(1);

    // Done in an earlier run (on the same machine), or not selected: closed before anything runs.
    for i in 0..g.steps.len() {
        let step = g.steps[i].1;
        if ctx.state.is_done(&step.node, &step.id) {
            g.close(i, StepOutcome::SkippedDone, Duration::ZERO).await;
        } else if let Some(only) = &ctx.opts.only_node
            && *only != step.node
        {
            let reason = format!("not selected (--node {only})");
            g.close(i, StepOutcome::NotRun { reason }, Duration::ZERO)
                .await;
        }
    }

    let mut busy_nodes: HashSet<String> = HashSet::new();
    let mut held: HashSet<String> = HashSet::new();
    let mut running = tokio::task::JoinSet::new();
    let mut stopping_sent = false;
    let mut cluster_nodes = Vec::new();
    loop {
        // No step starts before what is done so far is on disk: when that save fails, the
        // run halts here (the writer's failure halts it before `saved` answers) and nothing
        // more starts; a resume then knows exactly what ran. A save that hangs (a stuck disk)
        // does not hold up the operator's stop.
        tokio::select! {
            _ = ctx.state.saved() => {}
            _ = ctx.stop.cancelled() => {}
        }
        g.close_blocked().await;
        // Start what can start, in plan order.
        for i in g.pending().collect::<Vec<_>>() {
            if running.len() >= concurrency {
                break;
            }
            let (p, step) = g.steps[i];
            if !g.ready(i)
                || busy_nodes.contains(&step.node)
                || step.holds.iter().any(|h| held.contains(h))
            {
                continue;
            }
            g.status[i] = Status::Running;
            g.touch_phase(p).await;
            busy_nodes.insert(step.node.clone());
            held.extend(step.holds.iter().cloned());
            let d = driver(ctx, step);
            running.spawn(drive(i, step.clone(), plan.phases[p].name.clone(), d));
        }
        if running.is_empty() {
            // Nothing runs and nothing could start: what is left waits for something that
            // never ran (e.g. a step outside the plan).
            for i in g.pending().collect::<Vec<_>>() {
                let reason = "what it waits for did not run".to_string();
                g.close(i, StepOutcome::NotRun { reason }, Duration::ZERO)
                    .await;
            }
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { continue };
                let (i, done) = match joined {
                    Ok(x) => x,
                    Err(e) => {
                        // A panicking step driver: the run cannot trust its bookkeeping.
                        ctx.halt.stop(format!("internal error while running a step: {e}"));
                        continue;
                    }
                };
                let step = g.steps[i].1;
                busy_nodes.remove(&step.node);
                for h in &step.holds {
                    held.remove(h);
                }
                let record = |status: StepStatus, reason: Option<String>| StepRecord {
                    status,
                    at: now_secs(),
                    duration_ms: done.duration.as_millis() as u64,
                    reason,
                };
                match &done.outcome {
                    StepOutcome::Succeeded => {
                        ctx.state.record(&step.node, &step.id, record(StepStatus::Done, None))
                    }
                    o @ StepOutcome::Failed { .. } => ctx.state.record(
                        &step.node,
                        &step.id,
                        record(StepStatus::Failed, Some(o.to_string())),
                    ),
                    o @ StepOutcome::Interrupted { .. } => ctx.state.record(
                        &step.node,
                        &step.id,
                        record(StepStatus::Interrupted, Some(o.to_string())),
                    ),
                    _ => {}
                }
                if !done.reported.is_empty() {
                    cluster_nodes = parse_cluster_nodes(&done.reported);
                    g.emit(Event::ClusterNodes { nodes: cluster_nodes.clone() }).await;
                }
                g.close(i, done.outcome, done.duration).await;
            }
            _ = ctx.stop.cancelled(), if !stopping_sent => {
                stopping_sent = true;
                g.emit(Event::Stopping {
                    reason: "stopped by the operator".into(),
                })
                .await;
            }
        }
    }
    // Join secrets this run put into the cluster and did not take out again (a `--node` run,
    // or one that failed before the plan's cleanup) are taken out now: a resumed run makes
    // fresh ones anyway. Not after the operator's stop: stop means stop.
    if !ctx.stop.is_cancelled() {
        let source = ctx.values_node.as_ref().and_then(|n| ctx.nodes.get(n));
        if let Some(done) = ctx.values.lock().await.take_out_secrets(source).await
            && done.outcome != StepOutcome::Succeeded
        {
            ctx.halt.stop(format!(
                "the join secrets this run made are still valid in the cluster: cleaning them up failed ({}); run apply again, or delete them with `kubeadm token delete` on {}",
                done.outcome,
                ctx.values_node.as_deref().unwrap_or("the first control plane")
            ));
        }
    }
    Finished {
        phase_durations: g
            .phases
            .iter()
            .map(|p| (p.name.clone(), p.duration))
            .collect(),
        cluster_nodes,
    }
}

/// What a step's driver takes from the run (owned: it runs as its own task).
struct Driver {
    opts: Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
    halt: Halt,
    state: StateWriter,
    node: Option<NodeHandle>,
    source: Option<NodeHandle>,
    values: Arc<tokio::sync::Mutex<Values>>,
}

fn driver(ctx: &Ctx, step: &Step) -> Driver {
    Driver {
        opts: ctx.opts.clone(),
        events: ctx.events.clone(),
        stop: ctx.stop.clone(),
        halt: ctx.halt.clone(),
        state: ctx.state.clone(),
        node: ctx.nodes.get(&step.node).cloned(),
        source: ctx
            .values_node
            .as_ref()
            .and_then(|n| ctx.nodes.get(n).cloned()),
        values: ctx.values.clone(),
    }
}

/// One step from start to end: the values it needs, the operator's yes, then its node's task.
async fn drive(i: usize, step: Step, phase: String, d: Driver) -> (usize, StepDone) {
    let Some(node) = d.node.clone() else {
        return (
            i,
            StepDone::not_run(format!("{} is not connected", step.node)),
        );
    };
    let (values, redactor) = {
        let mut v = d.values.lock().await;
        if let Err(why) = v.ensure(&step, d.source.as_ref(), &d.state).await {
            let why = v.redactor.redact(&why);
            return (
                i,
                StepDone {
                    outcome: StepOutcome::Failed {
                        failure: super::Failure::Other,
                        reason: why,
                    },
                    duration: Duration::ZERO,
                    reported: vec![],
                },
            );
        }
        (v.values.clone(), v.redactor.clone())
    };
    if let Some(why) = &step.confirm
        && !confirm(&d, &node, &step, why).await
    {
        return (i, StepDone::not_run("not confirmed".into()));
    }
    let done = node.run_step(step.clone(), values, redactor, phase).await;
    d.values.lock().await.ran(&step, &done.outcome);
    if done.outcome == StepOutcome::Succeeded && !step.makes.is_empty() {
        d.state.certs_uploaded();
    }
    (i, done)
}

/// Asks the viewer (or `--yes`) whether a sensitive step may run; a no halts the run.
async fn confirm(d: &Driver, node: &NodeHandle, step: &Step, why: &str) -> bool {
    if d.opts.assume_yes {
        return true;
    }
    if !d.opts.interactive {
        d.halt.stop(format!(
            "{} on {} needs confirmation ({why}); nothing was run there. Re-run with --yes to confirm, or run kha-tui in a terminal",
            step.id, step.node
        ));
        return false;
    }
    let (reply, answer) = oneshot::channel();
    let _ = d
        .events
        .send(Event::ConfirmationNeeded {
            step: step.id.clone(),
            nodes: vec![step.node.clone()],
            title: step.title.clone(),
            detail: why.to_string(),
            command: node.command_for(step).await,
            reply,
        })
        .await;
    let yes = tokio::select! {
        a = answer => a.unwrap_or(false),
        _ = d.stop.cancelled() => false,
    };
    if !yes {
        d.halt.stop(format!(
            "the operator declined {} on {}",
            step.id, step.node
        ));
    }
    yes
}

/// `kha-node name=NAME ready=true|false version=V roles=R` lines, as a step that reports
/// cluster nodes prints them.
pub fn parse_cluster_nodes(lines: &[String]) -> Vec<ClusterNode> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("kha-node ")?;
            let mut n = ClusterNode {
                name: String::new(),
                ready: false,
                version: String::new(),
                roles: String::new(),
            };
            for field in rest.split_whitespace() {
                match field.split_once('=') {
                    Some(("name", v)) => n.name = v.into(),
                    Some(("ready", v)) => n.ready = v == "true",
                    Some(("version", v)) => n.version = v.into(),
                    Some(("roles", v)) => n.roles = v.into(),
                    _ => {}
                }
            }
            (!n.name.is_empty()).then_some(n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_node_lines_parse() {
        let n = parse_cluster_nodes(&[
            "kha-node name=master1 ready=true version=v1.37.1 roles=control-plane".into(),
            "noise".into(),
            "kha-node name=worker1 ready=false version=v1.37.1 roles=<none>".into(),
        ]);
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].name, "master1");
        assert!(n[0].ready);
        assert_eq!(n[0].roles, "control-plane");
        assert!(!n[1].ready);
    }
}
