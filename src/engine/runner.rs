//! The run from start to end: connect, check who each node is, preflight, then the plan as a
//! dependency graph (`scheduler`), each node's work in its own task (`node_task`), run values
//! made when first needed (`values`), the state written by one task (`state_writer`). Every
//! event passes the pump that writes the per-node logs, then goes to the viewer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connect::Run;
use super::events::{CheckResult, Event, NodeInfo, PhaseInfo, RunSummary};
use super::logs::NodeLogs;
use super::node_task::NodeTask;
use super::preflight;
use super::pump::spawn_pump;
use super::scheduler::{self, Halt};
use super::secrets::Redactor;
use super::state::{NodeIdentity, State, StepStatus};
use super::state_writer::StateWriter;
use super::values::Values;
use super::{Dirs, Options};
use crate::inventory::Cluster;
use crate::plan::{self, Plan};

pub use super::connect::target_for;

fn node_infos(c: &Cluster, p: &Plan) -> Vec<NodeInfo> {
    c.all_hosts()
        .map(|n| NodeInfo {
            name: n.name.clone(),
            role: n.role,
            address: n.address.to_string(),
            steps: p.steps().filter(|(_, s)| s.node == n.name).count(),
        })
        .collect()
}

fn prepare(cluster: &Cluster, plan: Plan, opts: &Options) -> Result<(Plan, State), String> {
    let mut state = State::load(&opts.dirs.state, &cluster.name)
        .map_err(|e| format!("cannot read state: {e}"))?;
    if let Some(from) = &opts.from_step {
        let node = opts.only_node.as_ref().ok_or("--from needs --node")?;
        let steps: Vec<String> = plan
            .steps()
            .filter(|(_, s)| s.node == *node)
            .map(|(_, s)| s.id.clone())
            .collect();
        let at = steps.iter().position(|s| s == from).ok_or_else(|| {
            format!(
                "{node} has no step {from:?}; its steps are {}",
                steps.join(", ")
            )
        })?;
        state.forget(node, &steps[at..]);
    }
    if let Some(n) = &opts.only_node
        && cluster.host(n).is_none()
    {
        return Err(format!("no node named {n:?} in the inventory"));
    }
    Ok((plan, state))
}

fn passwords(opts: &Options) -> Vec<&str> {
    [
        &opts.sudo_password,
        &opts.ssh_password,
        &opts.key_passphrase,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect()
}

fn redactor_for(opts: &Options) -> Redactor {
    let mut r = Redactor::default();
    for p in passwords(opts) {
        r.add(p, "password");
    }
    r
}

/// Nodes the state says are in the cluster already: a sensitive step (init, join) is done there.
fn in_cluster(plan: &Plan, state: &State) -> HashSet<String> {
    plan.steps()
        .filter(|(_, s)| s.sensitive && state.is_done(&s.node, &s.id))
        .map(|(_, s)| s.node.clone())
        .collect()
}

/// Connects and checks every node; changes nothing. Results are also sent as events.
pub async fn run_preflight<T: crate::transport::Transport>(
    transport: Arc<T>,
    cluster: &Cluster,
    opts: &Options,
    events: mpsc::Sender<Event>,
    _stop: CancellationToken,
) -> Vec<CheckResult> {
    let (tx, rx) = mpsc::channel(1024);
    let logs = NodeLogs::open(&opts.dirs.logs, &cluster.name).ok();
    let pump = spawn_pump(rx, events, logs);
    let plan = plan::build(cluster);
    let state = State::load(&opts.dirs.state, &cluster.name).unwrap_or_default();
    let mut run = Run {
        transport,
        cluster: cluster.clone(),
        opts: opts.clone(),
        tx,
        conns: HashMap::new(),
        redactor: redactor_for(opts),
        in_cluster: in_cluster(&plan, &state),
    };
    run.connect_all().await;
    let results = run.preflight().await;
    let blocking = preflight::blocking(&results, &opts.ignore_preflight);
    run.emit(Event::PreflightDone { blocking }).await;
    for (_, c) in run.conns.drain() {
        c.finish().await;
    }
    drop(run);
    let _ = pump.await;
    results
}

/// Runs the whole install (resuming what an earlier run left), returning its summary; the
/// same summary ends the event stream as `RunFinished`.
pub async fn apply<T: crate::transport::Transport>(
    transport: Arc<T>,
    cluster: Cluster,
    opts: Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> RunSummary {
    let plan = plan::build(&cluster);
    apply_plan(transport, cluster, plan, opts, events, stop).await
}

/// `apply` with a given plan (benchmarks replace the scripts with fixed-duration ones).
pub async fn apply_plan<T: crate::transport::Transport>(
    transport: Arc<T>,
    cluster: Cluster,
    plan: Plan,
    opts: Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let dirs: Dirs = opts.dirs.clone();
    let mut summary = RunSummary {
        ok: false,
        stopped: None,
        failures: vec![],
        phase_durations: vec![],
        total: Duration::ZERO,
        total_all_runs: Duration::ZERO,
        cluster_nodes: vec![],
        endpoint: cluster.control_plane_endpoint(),
        kubeconfig: format!(
            "~/.kube/config on {} ({})",
            cluster.lb.name, cluster.lb.address
        ),
        log_dir: dirs.logs.join(&cluster.name).display().to_string(),
        state_file: State::path(&dirs.state, &cluster.name)
            .display()
            .to_string(),
    };
    // Held until the last state save; released before RunFinished, so that a viewer may start
    // the next run (a resume) the moment it hears the end of this one.
    let lock = match super::run_lock::RunLock::take(&dirs.state, &cluster.name) {
        Ok(l) => l,
        Err(e) => {
            summary.stopped = Some(e);
            let _ = events.send(Event::RunFinished(summary.clone())).await;
            return summary;
        }
    };
    let (plan, state) = match prepare(&cluster, plan, &opts) {
        Ok(x) => x,
        Err(e) => {
            summary.stopped = Some(e);
            drop(lock);
            let _ = events.send(Event::RunFinished(summary.clone())).await;
            return summary;
        }
    };
    if let Err(e) = state.save(&dirs.state) {
        summary.stopped = Some(format!(
            "cannot write state in {}: {e}",
            dirs.state.display()
        ));
        drop(lock);
        let _ = events.send(Event::RunFinished(summary.clone())).await;
        return summary;
    }
    // The pair's VRRP password, when a step needs it: kept across runs (see vrrp_secret).
    let vrrp_password = if plan
        .steps()
        .any(|(_, s)| plan::pair::needs_vrrp_password(s))
    {
        match super::vrrp_secret::load_or_create(&dirs.state, &cluster.name) {
            Ok(pw) => Some(pw),
            Err(e) => {
                summary.stopped = Some(e);
                drop(lock);
                let _ = events.send(Event::RunFinished(summary.clone())).await;
                return summary;
            }
        }
    } else {
        None
    };
    let (tx, rx) = mpsc::channel(1024);
    let logs = NodeLogs::open(&dirs.logs, &cluster.name).ok();
    let pump = spawn_pump(rx, events.clone(), logs);
    let halt = Halt::under(&stop);
    let on_fail = {
        let halt = halt.clone();
        Box::new(move |why: String| halt.stop(why))
    };
    let (state, writer) = StateWriter::spawn(state, dirs.state.clone(), on_fail);
    let _ = tx
        .send(Event::RunStarted {
            cluster: cluster.name.clone(),
            nodes: node_infos(&cluster, &plan),
            phases: plan
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    name: p.name.clone(),
                    title: p.title.clone(),
                })
                .collect(),
            simulated: opts.simulated,
        })
        .await;

    let mut run = Run {
        transport: transport.clone(),
        cluster: cluster.clone(),
        opts: opts.clone(),
        tx: tx.clone(),
        conns: HashMap::new(),
        redactor: redactor_for(&opts),
        in_cluster: HashSet::new(),
    };
    run.connect_all().await;
    // A node that is another machine than the one the state knew: nothing done there counts.
    let mut names: Vec<String> = run.conns.keys().cloned().collect();
    names.sort();
    for name in names {
        let conn = &run.conns[&name];
        let now = NodeIdentity {
            host_key: conn.session_host_key(),
            machine_id: conn.machine_id.clone(),
        };
        if opts.other_machine_stops
            && let Some(detail) = state.snapshot().identity_differs(&name, &now)
        {
            // Not recorded: the next run must find the same difference.
            halt.stop(format!(
                "{name} is another machine than the one kha-tui worked on ({detail}), nothing was changed: check the inventory's address for {name}"
            ));
            run.emit(Event::NodeIdentityChanged { node: name, detail })
                .await;
            continue;
        }
        if let Some(detail) = state.identify(&name, now) {
            run.emit(Event::NodeIdentityChanged { node: name, detail })
                .await;
        }
    }
    run.in_cluster = in_cluster(&plan, &state.snapshot());
    if !opts.skip_preflight {
        let results = run.preflight().await;
        let blocking = preflight::blocking(&results, &opts.ignore_preflight);
        let n = blocking.len();
        run.emit(Event::PreflightDone {
            blocking: blocking.clone(),
        })
        .await;
        if n > 0 {
            let list: Vec<String> = blocking
                .iter()
                .map(|b| format!("{}: {} ({})", b.node, b.check, b.found))
                .collect();
            halt.stop(format!(
                "preflight failed, nothing was changed: {}. Fix them, or pass --ignore-preflight CHECK",
                list.join("; ")
            ));
        }
    }

    // Every connected node gets its task, which owns its connection from now on.
    let mut nodes = HashMap::new();
    let mut tasks = Vec::new();
    for (name, conn) in run.conns.drain() {
        let host = cluster.host(&name).expect("host of the inventory");
        let (handle, task) = NodeTask {
            conn: Some(conn),
            transport: transport.clone(),
            target: target_for(host, &opts),
            sudo_password: opts.sudo_password.clone(),
            events: tx.clone(),
            stop: stop.clone(),
            redactor: redactor_for(&opts),
            stale_workdirs: vec![],
            quiet_after: opts.quiet_after,
        }
        .spawn();
        nodes.insert(name, handle);
        tasks.push(task);
    }
    let mut values = Values::new(
        plan.values.clone(),
        opts.cert_upload_window,
        &passwords(&opts),
    );
    if let Some(pw) = vrrp_password {
        values.set_vrrp_password(pw);
    }
    let ctx = scheduler::Ctx {
        opts: opts.clone(),
        events: tx.clone(),
        stop: stop.clone(),
        halt: halt.clone(),
        state: state.clone(),
        nodes,
        values: Arc::new(tokio::sync::Mutex::new(values)),
        values_node: plan.values.as_ref().map(|v| v.node.clone()),
    };
    // The pair's VRRP states, live (see vrrp_watch); one last read once the plan is done.
    let watch_stop = CancellationToken::new();
    let watch = cluster.lb_pair.as_ref().map(|p| {
        let lbs = cluster
            .load_balancers()
            .filter_map(|n| ctx.nodes.get(&n.name).cloned())
            .collect();
        super::vrrp_watch::spawn(p.vip.to_string(), lbs, tx.clone(), watch_stop.clone())
    });
    let finished = scheduler::run(&plan, &ctx).await;
    watch_stop.cancel();
    if let Some(w) = watch {
        let _ = w.await;
    }
    drop(ctx);
    // Every node task removes its work directory and closes; only then is the run over.
    for t in tasks {
        if t.await.is_err() {
            halt.stop("internal error in a node's task".into());
        }
    }

    summary.phase_durations = finished.phase_durations;
    summary.cluster_nodes = finished.cluster_nodes;
    summary.total = started.elapsed();
    summary.total_all_runs =
        Duration::from_millis(state.add_elapsed(summary.total.as_millis() as u64));
    let st = state.snapshot();
    drop(state);
    let (_, saved) = writer
        .await
        .unwrap_or_else(|e| (st.clone(), Err(e.to_string())));
    for (_, s) in plan.steps() {
        if let Some(r) = st.record(&s.node, &s.id)
            && r.status == StepStatus::Failed
        {
            summary.failures.push((
                s.node.clone(),
                s.id.clone(),
                r.reason.clone().unwrap_or_default(),
            ));
        }
    }
    summary.ok = plan.steps().all(|(_, s)| st.is_done(&s.node, &s.id));
    summary.stopped = halt.reason();
    if let Err(e) = saved {
        summary.ok = false;
        summary.stopped.get_or_insert(e);
    }
    if !summary.ok && summary.stopped.is_none() && summary.failures.is_empty() {
        summary.stopped =
            Some("some steps did not run (see above); run apply again to resume".into());
    }
    drop(lock);
    let _ = tx.send(Event::RunFinished(summary.clone())).await;
    drop(tx);
    drop(run);
    let _ = pump.await;
    summary
}
