//! The run itself. The main task owns the connections and walks the phases; node tasks of a
//! parallel phase get their connection moved in and hand it back. State is behind a plain
//! mutex that is never held across an await. Every event passes a pump that writes the
//! per-node logs, then goes to the viewer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::events::{CheckResult, Event, Failure, NodeInfo, PhaseInfo, RunSummary, StepOutcome};
use super::logs::NodeLogs;
use super::node::NodeConn;
use super::preflight::{self, Facts};
use super::secrets::{self, Redactor, RunValues};
use super::state::{State, StepRecord, StepStatus, now_secs};
use super::{Dirs, Options};
use crate::assets::scripts;
use crate::inventory::{Cluster, Node};
use crate::plan::{self, Mode, Plan, Step};
use crate::transport::{Auth, HostKeyQuestion, Session as _, Target, Transport};

type Conns<S> = HashMap<String, NodeConn<S>>;

/// How a step ended up in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// Ran now and succeeded.
    Now,
    /// Done in an earlier run; skipped.
    Before,
    /// Failed, or did not run.
    No,
}

impl Ran {
    fn done(self) -> bool {
        self != Ran::No
    }
}

/// What every step of a phase shares.
struct Ctx {
    values: RunValues,
    redactor: Redactor,
    tx: mpsc::Sender<Event>,
    state: Arc<Mutex<State>>,
    state_dir: std::path::PathBuf,
    stop: CancellationToken,
    opts: Options,
    /// Why the run stopped (first reason wins).
    stopped: Arc<Mutex<Option<String>>>,
    phase: String,
}

impl Ctx {
    fn stop_run(&self, why: String) {
        let mut s = self.stopped.lock().expect("lock");
        if s.is_none() {
            *s = Some(why);
        }
        drop(s);
        self.stop.cancel();
    }

    fn record(&self, node: &str, step: &str, rec: StepRecord) {
        let saved = {
            let mut st = self.state.lock().expect("lock");
            st.set(node, step, rec);
            st.save(&self.state_dir)
        };
        // Without a state file a later run could not resume: stop after what is running now,
        // and say why (never print: a viewer may own the terminal).
        if let Err(e) = saved {
            self.stop_run(format!(
                "cannot save state in {}: {e}",
                self.state_dir.display()
            ));
        }
    }

    fn is_done(&self, node: &str, step: &str) -> bool {
        self.state.lock().expect("lock").is_done(node, step)
    }

    async fn emit(&self, e: Event) {
        let _ = self.tx.send(e).await;
    }

    async fn not_run(&self, step: &Step, reason: String) {
        self.emit(Event::StepFinished {
            node: step.node.clone(),
            step: step.id.clone(),
            outcome: StepOutcome::NotRun { reason },
            duration: Duration::ZERO,
        })
        .await;
    }

    /// Asks the viewer (or `--yes`) whether a sensitive step may run.
    async fn confirm(&self, step: &Step, command: String) -> bool {
        let Some(why) = &step.confirm else {
            return true;
        };
        if self.opts.assume_yes {
            return true;
        }
        if !self.opts.interactive {
            self.stop_run(format!(
                "{} on {} needs confirmation ({why}); nothing was run there. Re-run with --yes to confirm, or run kha-tui in a terminal",
                step.id, step.node
            ));
            return false;
        }
        let (reply, answer) = oneshot::channel();
        self.emit(Event::ConfirmationNeeded {
            step: step.id.clone(),
            nodes: vec![step.node.clone()],
            title: step.title.clone(),
            detail: why.clone(),
            command,
            reply,
        })
        .await;
        let yes = tokio::select! {
            a = answer => a.unwrap_or(false),
            _ = self.stop.cancelled() => false,
        };
        if !yes {
            self.stop_run(format!(
                "the operator declined {} on {}",
                step.id, step.node
            ));
        }
        yes
    }

    /// Runs one step on its node (or says why not).
    async fn run_one<S: crate::transport::Session>(
        &self,
        conn: Option<&mut NodeConn<S>>,
        step: &Step,
        record: bool,
    ) -> Ran {
        if record && self.is_done(&step.node, &step.id) {
            self.emit(Event::StepFinished {
                node: step.node.clone(),
                step: step.id.clone(),
                outcome: StepOutcome::SkippedDone,
                duration: Duration::ZERO,
            })
            .await;
            return Ran::Before;
        }
        if self.stop.is_cancelled() {
            let why = self
                .stopped
                .lock()
                .expect("lock")
                .clone()
                .unwrap_or_else(|| "the run was stopped".into());
            self.not_run(step, why).await;
            return Ran::No;
        }
        // `--node` selects plan steps; the engine's own extra steps (fresh join secrets on the
        // first control plane) serve the selected node and always run.
        if let Some(only) = &self.opts.only_node
            && record
            && *only != step.node
        {
            self.not_run(step, format!("not selected (--node {only})"))
                .await;
            return Ran::No;
        }
        if let Some(dep) = step.after.iter().find(|d| {
            let (n, s) = d.split_once(':').unwrap_or((d, ""));
            !self.is_done(n, s)
        }) {
            self.not_run(step, format!("waits for {dep}, which has not succeeded"))
                .await;
            return Ran::No;
        }
        let Some(conn) = conn else {
            self.not_run(step, format!("{} is not connected", step.node))
                .await;
            return Ran::No;
        };
        if !self.confirm(step, conn.command_for(step)).await {
            self.not_run(step, "not confirmed".into()).await;
            return Ran::No;
        }
        self.emit(Event::StepStarted {
            node: step.node.clone(),
            step: step.id.clone(),
            title: step.title.clone(),
            phase: self.phase.clone(),
        })
        .await;
        let started = Instant::now();
        let result = conn
            .run_step(step, &self.values, &self.redactor, &self.tx)
            .await;
        let duration = started.elapsed();
        let outcome = match result {
            Ok((status, _)) if status.success() => StepOutcome::Succeeded,
            Ok((status, tail)) => StepOutcome::Failed {
                failure: status.0.into(),
                reason: tail,
            },
            Err(e) => StepOutcome::Failed {
                failure: e.failure(),
                reason: self.redactor.redact(&e.to_string()),
            },
        };
        let ok = outcome == StepOutcome::Succeeded;
        if record {
            let reason = match &outcome {
                StepOutcome::Failed { .. } => Some(outcome.to_string()),
                _ => None,
            };
            self.record(
                &step.node,
                &step.id,
                StepRecord {
                    status: if ok {
                        StepStatus::Done
                    } else {
                        StepStatus::Failed
                    },
                    at: now_secs(),
                    duration_ms: duration.as_millis() as u64,
                    reason,
                },
            );
        }
        self.emit(Event::StepFinished {
            node: step.node.clone(),
            step: step.id.clone(),
            outcome,
            duration,
        })
        .await;
        if ok { Ran::Now } else { Ran::No }
    }
}

/// How the engine reaches a node, from the inventory and the run's options.
pub fn target_for(n: &Node, opts: &Options) -> Target {
    let auth = if let Some(pw) = &opts.ssh_password {
        Auth::Password(pw.clone())
    } else if let Some(path) = &n.ssh.identity_file {
        Auth::KeyFile {
            path: path.clone(),
            passphrase: opts.key_passphrase.clone(),
        }
    } else {
        Auth::Agent
    };
    Target {
        node: n.name.clone(),
        host: n.address.to_string(),
        port: n.ssh.port,
        user: n.ssh.user.clone(),
        auth,
        timeouts: opts.timeouts,
    }
}

/// Writes every event's log lines to the node's log file, then passes the event on.
fn spawn_pump(
    mut rx: mpsc::Receiver<Event>,
    out: mpsc::Sender<Event>,
    mut logs: Option<NodeLogs>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Some(l) = logs.as_mut() {
                l.record(&ev);
                // Flushed whenever the pump has caught up, so a viewer paging the files sees
                // every line already shown.
                if rx.is_empty() {
                    l.flush();
                }
            }
            if out.send(ev).await.is_err() {
                // The viewer went away: keep draining so the engine never blocks.
            }
        }
        if let Some(l) = logs.as_mut() {
            l.flush();
        }
    })
}

struct Run<T: Transport> {
    transport: Arc<T>,
    cluster: Cluster,
    plan: Plan,
    opts: Options,
    tx: mpsc::Sender<Event>,
    stop: CancellationToken,
    state: Arc<Mutex<State>>,
    values: RunValues,
    stopped: Arc<Mutex<Option<String>>>,
    conns: Conns<T::Session>,
    certs_fresh_at: Option<Instant>,
    init_ran_now: bool,
}

impl<T: Transport> Run<T> {
    fn ctx(&self, phase: &str) -> Arc<Ctx> {
        let mut redactor = self.values.redactor();
        for s in [
            &self.opts.sudo_password,
            &self.opts.ssh_password,
            &self.opts.key_passphrase,
        ]
        .into_iter()
        .flatten()
        {
            redactor.add(s, "password");
        }
        Arc::new(Ctx {
            values: self.values.clone(),
            redactor,
            tx: self.tx.clone(),
            state: self.state.clone(),
            state_dir: self.opts.dirs.state.clone(),
            stop: self.stop.clone(),
            opts: self.opts.clone(),
            stopped: self.stopped.clone(),
            phase: phase.to_string(),
        })
    }

    async fn emit(&self, e: Event) {
        let _ = self.tx.send(e).await;
    }

    /// Connects to every host at once (bounded), sets up sudo and a work directory.
    async fn connect_all(&mut self) {
        let sem = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let hosts: Vec<Node> = self.cluster.all_hosts().cloned().collect();
        for n in hosts {
            let transport = self.transport.clone();
            let target = target_for(&n, &self.opts);
            let tx = self.tx.clone();
            let sem = sem.clone();
            let opts = self.opts.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let _ = tx
                    .send(Event::NodeConnecting {
                        node: n.name.clone(),
                    })
                    .await;
                let questions = if opts.interactive || opts.accept_new_host_keys {
                    let (qtx, mut qrx) = mpsc::channel::<HostKeyQuestion>(4);
                    let tx2 = tx.clone();
                    let accept = opts.accept_new_host_keys;
                    tokio::spawn(async move {
                        while let Some(q) = qrx.recv().await {
                            if accept {
                                let _ = q.answer.send(true);
                            } else {
                                let _ = tx2
                                    .send(Event::HostKeyQuestion {
                                        node: q.node,
                                        host: format!("{}:{}", q.host, q.port),
                                        algorithm: q.algorithm,
                                        fingerprint: q.fingerprint,
                                        reply: q.answer,
                                    })
                                    .await;
                            }
                        }
                    });
                    Some(qtx)
                } else {
                    None
                };
                let result = match transport.connect(&target, questions).await {
                    Ok(session) => NodeConn::setup(
                        &n.name,
                        session,
                        &target.user,
                        opts.sudo_password.as_deref(),
                    )
                    .await
                    .map_err(|e| (e.to_string(), e.failure())),
                    Err(e) => Err((e.to_string(), Failure::from(&e))),
                };
                (n.name.clone(), result)
            });
        }
        while let Some(joined) = set.join_next().await {
            let Ok((name, result)) = joined else { continue };
            match result {
                Ok(conn) => {
                    self.emit(Event::NodeConnected {
                        node: name.clone(),
                        detail: conn.os.clone(),
                    })
                    .await;
                    self.conns.insert(name, conn);
                }
                Err((error, failure)) => {
                    let error = self.ctx("connect").redactor.redact(&error);
                    self.emit(Event::NodeUnreachable {
                        node: name,
                        failure,
                        error,
                    })
                    .await;
                }
            }
        }
    }

    /// Gathers facts on every connected node and checks them. Returns all results.
    async fn preflight(&mut self) -> Vec<CheckResult> {
        let mut results = Vec::new();
        let mut facts = Vec::new();
        let names: Vec<String> = self.cluster.all_hosts().map(|n| n.name.clone()).collect();
        let mut set = tokio::task::JoinSet::new();
        for name in &names {
            let Some(mut conn) = self.conns.remove(name) else {
                continue;
            };
            let node = self.cluster.host(name).expect("host").clone();
            let lb = (
                self.cluster.lb.address.to_string(),
                self.cluster.api_port,
                self.cluster.lb.ssh.port,
            );
            let ports: Vec<String> = preflight::ports_for(node.role, self.cluster.api_port)
                .iter()
                .map(|p| p.to_string())
                .collect();
            set.spawn(async move {
                let script = format!("{}\n{}", scripts::LIB, scripts::PREFLIGHT);
                let path = format!("{}/preflight.sh", conn.workdir);
                let res = async {
                    conn.session.upload(&path, script.as_bytes(), 0o600).await?;
                    let before = std::time::SystemTime::now();
                    let c = conn
                        .root_collect(&format!(
                            "env KHA_PORTS={} KHA_LB_ADDR={} KHA_LB_PORT={} KHA_LB_SSH_PORT={} bash {}",
                            crate::shell::quote(&ports.join(" ")),
                            crate::shell::quote(&lb.0),
                            lb.1,
                            lb.2,
                            crate::shell::quote(&path)
                        ))
                        .await?;
                    let after = std::time::SystemTime::now();
                    Ok::<_, crate::transport::TransportError>((c, before, after))
                }
                .await;
                (node, res, conn)
            });
        }
        while let Some(j) = set.join_next().await {
            let Ok((node, res, conn)) = j else { continue };
            self.conns.insert(node.name.clone(), conn);
            match res {
                Ok((c, before, after)) if c.status.success() => {
                    let secs = |t: std::time::SystemTime| {
                        t.duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs_f64())
                            .unwrap_or(0.0)
                    };
                    let local_mid = (secs(before) + secs(after)) / 2.0;
                    let mut f = Facts::parse(&c.stdout, 0.0);
                    f.clock_offset = f
                        .get("time")
                        .parse::<f64>()
                        .map(|t| t - local_mid)
                        .unwrap_or(0.0);
                    let done = {
                        let st = self.state.lock().expect("lock");
                        st.is_done(&node.name, "kubeadm-init")
                            || st.is_done(&node.name, "kubeadm-join")
                    };
                    results.extend(preflight::check_node(
                        &self.cluster,
                        &node,
                        &f,
                        done || f.get("kubelet_conf") == "yes",
                    ));
                    facts.push((node.name.clone(), f));
                }
                Ok((c, _, _)) => results.push(CheckResult {
                    node: node.name.clone(),
                    check: "facts".into(),
                    status: super::CheckStatus::Fail,
                    found: format!("the preflight script failed: {}", c.stderr.trim()),
                    fix: "look at the message; the node may lack /etc/os-release, iproute2 or sudo"
                        .into(),
                    fixable: None,
                }),
                Err(e) => results.push(CheckResult {
                    node: node.name.clone(),
                    check: "facts".into(),
                    status: super::CheckStatus::Fail,
                    found: e.to_string(),
                    fix: "check the connection to the node".into(),
                    fixable: None,
                }),
            }
        }
        results.extend(preflight::check_fleet(&self.cluster, &facts));
        // Nodes that could not be reached fail preflight too.
        for name in &names {
            if !self.conns.contains_key(name) {
                results.push(CheckResult {
                    node: name.clone(),
                    check: "connect".into(),
                    status: super::CheckStatus::Fail,
                    found: "not connected (see the connection error)".into(),
                    fix: "make the node reachable over SSH with sudo, then run again".into(),
                    fixable: None,
                });
            }
        }
        let order = |n: &str| names.iter().position(|x| x == n).unwrap_or(usize::MAX);
        results.sort_by_key(|r| order(&r.node));
        for r in &results {
            self.emit(Event::PreflightResult(r.clone())).await;
        }
        results
    }

    /// Runs a step that is not part of the plan's phases (no state record).
    async fn run_extra(&mut self, step: &Step) -> bool {
        let ctx = self.ctx("secrets");
        let conn = self.conns.get_mut(&step.node);
        ctx.run_one(conn, step, false).await == Ran::Now
    }

    /// Before joins: a CA pin, and join secrets the cluster knows (fresh after a resume or once
    /// the upload window has passed).
    async fn prepare_joins(&mut self, control_plane: bool) -> Result<(), String> {
        let first = self.cluster.first_control_plane().name.clone();
        if !self
            .state
            .lock()
            .expect("lock")
            .is_done(&first, "kubeadm-init")
        {
            // No cluster yet: the joins will wait for init; nothing to prepare.
            return Ok(());
        }
        let window_over = self
            .certs_fresh_at
            .is_none_or(|t| t.elapsed() > self.opts.cert_upload_window);
        if !self.init_ran_now && self.certs_fresh_at.is_none() || control_plane && window_over {
            if self.init_ran_now || self.certs_fresh_at.is_some() {
                // The cluster already has this run's token: `kubeadm token create` refuses an
                // existing token ID, so a second upload in one run needs a new token.
                self.values.token = crate::engine::secrets::bootstrap_token();
            }
            let refresh = plan::refresh_join_secrets(&self.cluster);
            if !self.run_extra(&refresh).await {
                return Err(format!("new join secrets could not be made on {first}"));
            }
            self.certs_fresh_at = Some(Instant::now());
            let mut st = self.state.lock().expect("lock");
            st.certs_uploaded_at = Some(now_secs());
            let _ = st.save(&self.opts.dirs.state);
        }
        if self.values.ca_cert_hash.is_none() {
            let conn = self
                .conns
                .get_mut(&first)
                .ok_or(format!("{first} is not connected"))?;
            let pem = conn
                .read_root_file("/etc/kubernetes/pki/ca.crt")
                .await
                .map_err(|e| e.to_string())?;
            let hash = secrets::ca_cert_hash(&pem)
                .map_err(|e| format!("{first}:/etc/kubernetes/pki/ca.crt: {e}"))?;
            self.values.ca_cert_hash = Some(hash);
        }
        Ok(())
    }

    async fn fetch_admin_kubeconfig(&mut self) -> Result<(), String> {
        if self.values.admin_kubeconfig.is_some() {
            return Ok(());
        }
        let first = self.cluster.first_control_plane().name.clone();
        let conn = self
            .conns
            .get_mut(&first)
            .ok_or(format!("{first} is not connected"))?;
        let text = conn
            .read_root_file("/etc/kubernetes/admin.conf")
            .await
            .map_err(|e| e.to_string())?;
        self.values.admin_kubeconfig = Some(text);
        Ok(())
    }

    fn pending(&self, steps: &[Step], id: &str) -> bool {
        let st = self.state.lock().expect("lock");
        steps.iter().any(|s| {
            s.id == id
                && !st.is_done(&s.node, &s.id)
                && self.opts.only_node.as_ref().is_none_or(|o| *o == s.node)
        })
    }

    async fn run_phase(&mut self, index: usize) -> bool {
        let phase = self.plan.phases[index].clone();
        self.emit(Event::PhaseStarted {
            index,
            name: phase.name.clone(),
        })
        .await;
        let started = Instant::now();

        // Values this phase needs before its steps start.
        if self.pending(&phase.steps, "kubeadm-join")
            && phase.mode == Mode::Parallel
            && let Err(e) = self.prepare_joins(false).await
        {
            self.ctx(&phase.name).stop_run(e);
        }
        if self.pending(&phase.steps, "kubeconfig")
            && let Err(e) = self.fetch_admin_kubeconfig().await
        {
            self.ctx(&phase.name)
                .stop_run(format!("cannot read the admin kubeconfig: {e}"));
        }

        let mut ok = true;
        match phase.mode {
            Mode::Serial => {
                for step in &phase.steps {
                    if step.id == "kubeadm-join"
                        && self.pending(std::slice::from_ref(step), "kubeadm-join")
                        && self.plan.find(&step.node, &step.id).is_some()
                        && let Err(e) = self.prepare_joins(true).await
                    {
                        self.ctx(&phase.name).stop_run(e);
                    }
                    let ctx = self.ctx(&phase.name);
                    let conn = self.conns.get_mut(&step.node);
                    let ran = ctx.run_one(conn, step, true).await;
                    if ran == Ran::Now && step.id == "kubeadm-init" {
                        self.init_ran_now = true;
                        self.certs_fresh_at = Some(Instant::now());
                        let mut st = self.state.lock().expect("lock");
                        st.certs_uploaded_at = Some(now_secs());
                        let _ = st.save(&self.opts.dirs.state);
                    }
                    ok &= ran.done();
                }
            }
            Mode::Parallel => {
                let ctx = self.ctx(&phase.name);
                let sem = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
                let mut by_node: Vec<(String, Vec<Step>)> = Vec::new();
                for s in &phase.steps {
                    match by_node.iter_mut().find(|(n, _)| *n == s.node) {
                        Some((_, v)) => v.push(s.clone()),
                        None => by_node.push((s.node.clone(), vec![s.clone()])),
                    }
                }
                let mut set = tokio::task::JoinSet::new();
                for (node, steps) in by_node {
                    let mut conn = self.conns.remove(&node);
                    let ctx = ctx.clone();
                    let sem = sem.clone();
                    set.spawn(async move {
                        let _permit = sem.acquire_owned().await;
                        let mut all = true;
                        for s in &steps {
                            all &= ctx.run_one(conn.as_mut(), s, true).await.done();
                        }
                        (node, conn, all)
                    });
                }
                while let Some(j) = set.join_next().await {
                    match j {
                        Ok((node, conn, all)) => {
                            if let Some(c) = conn {
                                self.conns.insert(node, c);
                            }
                            ok &= all;
                        }
                        Err(_) => ok = false,
                    }
                }
            }
        }
        self.emit(Event::PhaseFinished {
            index,
            name: phase.name.clone(),
            ok,
            duration: started.elapsed(),
        })
        .await;
        ok
    }
}

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

/// Connects and checks every node; changes nothing. Results are also sent as events.
pub async fn run_preflight<T: Transport>(
    transport: Arc<T>,
    cluster: &Cluster,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> Vec<CheckResult> {
    let (tx, rx) = mpsc::channel(1024);
    let logs = NodeLogs::open(&opts.dirs.logs, &cluster.name).ok();
    let pump = spawn_pump(rx, events, logs);
    let plan = plan::build(cluster);
    let state = State::load(&opts.dirs.state, &cluster.name).unwrap_or_default();
    let mut run = Run {
        transport,
        cluster: cluster.clone(),
        plan,
        opts: opts.clone(),
        tx,
        stop,
        state: Arc::new(Mutex::new(state)),
        values: RunValues::default(),
        stopped: Default::default(),
        conns: HashMap::new(),
        certs_fresh_at: None,
        init_ran_now: false,
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
pub async fn apply<T: Transport>(
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
pub async fn apply_plan<T: Transport>(
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
    let (plan, state) = match prepare(&cluster, plan, &opts) {
        Ok(x) => x,
        Err(e) => {
            summary.stopped = Some(e);
            let _ = events.send(Event::RunFinished(summary.clone())).await;
            return summary;
        }
    };
    if let Err(e) = state.save(&dirs.state) {
        summary.stopped = Some(format!(
            "cannot write state in {}: {e}",
            dirs.state.display()
        ));
        let _ = events.send(Event::RunFinished(summary.clone())).await;
        return summary;
    }
    let (tx, rx) = mpsc::channel(1024);
    let logs = NodeLogs::open(&dirs.logs, &cluster.name).ok();
    let pump = spawn_pump(rx, events.clone(), logs);
    let mut run = Run {
        transport,
        plan: plan.clone(),
        opts: opts.clone(),
        tx,
        stop: stop.clone(),
        state: Arc::new(Mutex::new(state)),
        values: RunValues::generate(),
        stopped: Default::default(),
        conns: HashMap::new(),
        certs_fresh_at: None,
        init_ran_now: false,
        cluster,
    };
    run.emit(Event::RunStarted {
        cluster: run.cluster.name.clone(),
        nodes: node_infos(&run.cluster, &plan),
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

    run.connect_all().await;
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
            *run.stopped.lock().expect("lock") = Some(format!(
                "preflight failed, nothing was changed: {}. Fix them, or pass --ignore-preflight CHECK",
                list.join("; ")
            ));
            stop.cancel();
        }
    }
    for i in 0..plan.phases.len() {
        let t = Instant::now();
        run.run_phase(i).await;
        summary
            .phase_durations
            .push((plan.phases[i].name.clone(), t.elapsed()));
    }

    let st = run.state.lock().expect("lock").clone();
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
    summary.stopped = run.stopped.lock().expect("lock").clone();
    if !summary.ok && summary.stopped.is_none() && summary.failures.is_empty() {
        summary.stopped =
            Some("some steps did not run (see above); run apply again to resume".into());
    }
    summary.total = started.elapsed();
    {
        let mut st = run.state.lock().expect("lock");
        st.elapsed_ms_all_runs += summary.total.as_millis() as u64;
        summary.total_all_runs = Duration::from_millis(st.elapsed_ms_all_runs);
        if let Err(e) = st.save(&opts.dirs.state) {
            summary.ok = false;
            summary.stopped = Some(format!(
                "cannot save state in {}: {e}",
                opts.dirs.state.display()
            ));
        }
    }
    let conns: Vec<_> = run.conns.drain().map(|(_, c)| c).collect();
    futures_join_all(conns).await;
    run.emit(Event::RunFinished(summary.clone())).await;
    drop(run);
    let _ = pump.await;
    summary
}

async fn futures_join_all<S: crate::transport::Session>(conns: Vec<NodeConn<S>>) {
    let mut set = tokio::task::JoinSet::new();
    for c in conns {
        set.spawn(c.finish());
    }
    while set.join_next().await.is_some() {}
}
