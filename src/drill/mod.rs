//! The failover drill: proves the cluster survives losing an apiserver (scenario A) and, with a
//! load-balancer pair, the LB holding the virtual address (scenario B), while a steady stream of
//! real API requests is counted per second. Files: `record` (requests and their sums), `readyz`
//! (kha-tui's own TLS requests), `steps` (the remote actions as engine steps), `report` (the
//! tables), `local` (is kha-tui on one of the LBs), `print` (the headless viewer),
//! `scenario_apiserver` and `scenario_lb` (the two scenarios).
//!
//! Every remote action is an engine step run by that node's engine task (`NodeTask`): the same
//! host-key checks, sudo, logs and cleanup as an install. Two tasks per touched node: one for the
//! scenario's work, stopped by the operator's Ctrl-C, and one for restores, never stopped, so the
//! restore runs even when a scenario fails midway or is interrupted. The drill's steps are not
//! recorded in the install's state: a drill is repeatable, its restores idempotent.

pub mod local;
pub mod print;
pub mod readyz;
pub mod record;
pub mod report;
mod scenario_apiserver;
mod scenario_lb;
pub mod steps;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::logs::{NodeLogs, local_timestamp};
use crate::engine::node_task::{NodeHandle, NodeTask, StepDone};
use crate::engine::secrets::{Redactor, RunValues};
use crate::engine::{Event, Options, StepOutcome, target_for};
use crate::inventory::{Cluster, Node};
use crate::plan::Step;
use crate::transport::Transport;
use record::{Kind, Recorder, Sample, Second};
use report::{Report, ScenarioResult};

/// How long a stopped part stays stopped while the load is counted.
pub const HOLD: Duration = Duration::from_secs(5);
/// Load before the first scenario and after each restore.
const SETTLE: Duration = Duration::from_secs(3);
/// Scenario A passes with no failed `kubectl get nodes`, or a failure window below this.
pub const APISERVER_WINDOW_LIMIT_MS: u64 = 3000;
/// Scenario B: the other LB holds the virtual address within this.
pub const VIP_MOVE_LIMIT_MS: u64 = 5000;

/// What a viewer (the headless printer, the wizard's drill screen) is told.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillEvent {
    /// The requests that ended in one second.
    Second(Second),
    /// A scenario step, e.g. "+3012 ms  HAProxy on lb shows master3 DOWN".
    Step {
        scenario: String,
        text: String,
    },
    /// A scenario's table.
    ScenarioDone(Box<ScenarioResult>),
    Finished(Box<Report>),
}

/// Found out before anything is stopped: who is who, and what the operator is asked about.
pub struct Prepared<T: Transport> {
    drill: Drill<T>,
    /// What the drill will stop, on which node, in words (the confirmation).
    pub what: Vec<String>,
}

struct Drill<T: Transport> {
    cluster: Cluster,
    opts: Options,
    transport: Arc<T>,
    redactor: Redactor,
    events: mpsc::Sender<Event>,
    pump: Option<tokio::task::JoinHandle<()>>,
    /// Stopped by the operator.
    stop: CancellationToken,
    work: HashMap<String, NodeHandle>,
    keep: HashMap<String, NodeHandle>,
    lines: Arc<Mutex<Vec<(String, String)>>>,
    rec: Arc<Mutex<Recorder>>,
    t0: Instant,
    started: SystemTime,
    /// The control plane whose apiserver stops.
    cp: Node,
    /// With a pair: the LB holding the virtual address, and the other one.
    holder: Option<Node>,
    other: Option<Node>,
    ca_pem: Vec<u8>,
    /// The LB kha-tui runs on, if any.
    here: Option<String>,
    ui: Option<mpsc::Sender<DrillEvent>>,
    logs_dir: std::path::PathBuf,
    /// When the on-node restores fire by themselves (steps::restore_after).
    restore_after: Duration,
}

fn succeeded(d: &StepDone) -> bool {
    matches!(d.outcome, StepOutcome::Succeeded)
}

fn why(d: &StepDone) -> String {
    match &d.outcome {
        StepOutcome::Failed { reason, .. } => reason.trim().to_string(),
        StepOutcome::Interrupted { reason } => reason.clone(),
        StepOutcome::NotRun { reason } => reason.clone(),
        o => format!("{o:?}"),
    }
}

/// The control plane scenario A stops: the last one (the first is where kubeadm init ran; any
/// works, the last keeps the first untouched).
pub fn apiserver_target(c: &Cluster) -> Option<&Node> {
    c.control_planes().last()
}

/// Connects to the hosts the drill touches, reads the cluster CA and (with a pair) who holds
/// the virtual address. Stops nothing.
pub async fn prepare<T: Transport>(
    transport: Arc<T>,
    cluster: Cluster,
    opts: Options,
    stop: CancellationToken,
) -> anyhow::Result<Prepared<T>> {
    let cp = apiserver_target(&cluster)
        .ok_or_else(|| anyhow::anyhow!("the inventory has no control plane"))?
        .clone();
    let restore_after = steps::restore_after().map_err(|e| anyhow::anyhow!(e))?;
    let mut redactor = Redactor::default();
    for p in [
        &opts.sudo_password,
        &opts.ssh_password,
        &opts.key_passphrase,
    ]
    .into_iter()
    .flatten()
    {
        redactor.add(p, "password");
    }
    let (etx, erx) = mpsc::channel::<Event>(1024);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let t0 = Instant::now();
    let logs = NodeLogs::open(&opts.dirs.logs, &cluster.name).ok();
    let logs_dir = opts.dirs.logs.join(&cluster.name);
    let pump = tokio::spawn(pump(erx, logs, lines.clone(), rec.clone(), t0));
    let mine = local::addresses();
    let lbs: Vec<(&str, std::net::IpAddr)> = cluster
        .load_balancers()
        .map(|n| (n.name.as_str(), n.address))
        .collect();
    let here = local::which_is_here(&lbs, &mine).map(str::to_string);
    let mut d = Drill {
        transport,
        redactor,
        events: etx,
        pump: Some(pump),
        stop,
        work: HashMap::new(),
        keep: HashMap::new(),
        lines,
        rec,
        t0,
        started: SystemTime::now(),
        cp,
        holder: None,
        other: None,
        ca_pem: vec![],
        here,
        ui: None,
        logs_dir,
        restore_after,
        opts,
        cluster,
    };
    let touched: Vec<Node> = d
        .cluster
        .load_balancers()
        .cloned()
        .chain(std::iter::once(d.cp.clone()))
        .collect();
    for n in &touched {
        let w = d.spawn_task(n, d.stop.clone());
        d.work.insert(n.name.clone(), w);
        let k = d.spawn_task(n, CancellationToken::new());
        d.keep.insert(n.name.clone(), k);
    }
    let lb = d.cluster.lb.clone();
    let ca = d.keep_step(steps::ca(&lb)).await;
    anyhow::ensure!(
        succeeded(&ca),
        "cannot read the cluster CA on {}: {}",
        lb.name,
        why(&ca)
    );
    let b64 = d
        .wait_line(&lb.name, "kha-drill ca ")
        .await
        .ok_or_else(|| anyhow::anyhow!("{} printed no CA", lb.name))?;
    use base64::Engine as _;
    d.ca_pem = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            anyhow::anyhow!("the CA in the kubeconfig on {} is not base64: {e}", lb.name)
        })?;
    readyz::client_config(&d.ca_pem)?;
    let mut what = vec![format!(
        "scenario A: stop kube-apiserver on {} ({}) by moving {} to {} for about {} s, then put it back and wait until HAProxy shows it UP (should kha-tui die, the timer {}.timer on {} puts it back after {} s)",
        d.cp.name,
        d.cp.address,
        steps::MANIFEST,
        steps::PARKED_MANIFEST,
        HOLD.as_secs(),
        steps::APISERVER_RESTORE_UNIT,
        d.cp.name,
        d.restore_after.as_secs()
    )];
    if let Some(pair) = d.cluster.lb_pair.clone() {
        let vip = pair.vip.to_string();
        let mut holders = vec![];
        for n in [d.cluster.lb.clone(), pair.backup.clone()] {
            if d.lb_holds_vip(&n, &vip).await? {
                holders.push(n);
            }
        }
        anyhow::ensure!(
            holders.len() == 1,
            "the virtual address {vip} is held by {} load balancers ({}): the pair is not healthy, so the drill does not start",
            holders.len(),
            holders
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let holder = holders.remove(0);
        let other = if holder.name == d.cluster.lb.name {
            pair.backup.clone()
        } else {
            d.cluster.lb.clone()
        };
        let mut s = format!(
            "scenario B: stop HAProxy on {} ({}), which holds the virtual address {vip}, for about {} s; keepalived should move {vip} to {}; then start HAProxy again (should kha-tui die, the timer {}.timer on {} starts it after {} s)",
            holder.name,
            holder.address,
            HOLD.as_secs(),
            other.name,
            steps::HAPROXY_RESTORE_UNIT,
            holder.name,
            d.restore_after.as_secs()
        );
        if d.here.as_deref() == Some(holder.name.as_str()) {
            s.push_str(&format!(
                " -- kha-tui runs on {}: only HAProxy stops there, this process keeps running and keeps counting through {vip}",
                holder.name
            ));
        }
        what.push(s);
        d.holder = Some(holder);
        d.other = Some(other);
    } else {
        what.push(
            "scenario B (stop the LB holding the virtual address) is skipped: the inventory has one load balancer".into(),
        );
    }
    Ok(Prepared { drill: d, what })
}

/// Writes every engine event to the node logs; keeps the drill's own `kha-drill` lines, and
/// counts `kubectl` ones as requests.
async fn pump(
    mut rx: mpsc::Receiver<Event>,
    mut logs: Option<NodeLogs>,
    lines: Arc<Mutex<Vec<(String, String)>>>,
    rec: Arc<Mutex<Recorder>>,
    t0: Instant,
) {
    while let Some(ev) = rx.recv().await {
        if let Some(l) = logs.as_mut() {
            l.record(&ev);
            if rx.is_empty() {
                l.flush();
            }
        }
        if let Event::Log { node, line, .. } = &ev
            && let Some(rest) = line.strip_prefix("kha-drill ")
        {
            if let Some(k) = rest.strip_prefix("kubectl ") {
                let mut f = k.splitn(3, ' ');
                let ok = f.next() == Some("ok");
                let took: u64 = f.next().and_then(|m| m.parse().ok()).unwrap_or(0);
                let end = t0.elapsed().as_millis() as u64;
                let mut r = rec.lock().expect("recorder");
                if !ok {
                    r.last_error = Some(format!("kubectl: {}", f.next().unwrap_or("").trim()));
                }
                r.push(Sample {
                    kind: Kind::Kubectl,
                    start_ms: end.saturating_sub(took),
                    end_ms: end,
                    ok,
                });
            } else {
                lines
                    .lock()
                    .expect("lines")
                    .push((node.clone(), line.clone()));
            }
        }
    }
}

impl<T: Transport> Drill<T> {
    fn spawn_task(&self, n: &Node, stop: CancellationToken) -> NodeHandle {
        let task = NodeTask {
            conn: None,
            transport: self.transport.clone(),
            target: target_for(n, &self.opts),
            sudo_password: self.opts.sudo_password.clone(),
            events: self.events.clone(),
            stop,
            redactor: self.redactor.clone(),
            stale_workdirs: vec![],
            quiet_after: self.opts.quiet_after,
        };
        task.spawn().0
    }

    fn now_ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    fn wall(&self, ms: u64) -> String {
        local_timestamp(self.started + Duration::from_millis(ms))
    }

    async fn run_on(&self, keep: bool, step: Step) -> StepDone {
        let tasks = if keep { &self.keep } else { &self.work };
        match tasks.get(&step.node) {
            Some(h) => {
                h.run_extra_step(
                    step,
                    RunValues::default(),
                    self.redactor.clone(),
                    "drill".into(),
                )
                .await
            }
            None => StepDone::not_run(format!("{} is not part of the drill", step.node)),
        }
    }

    async fn work_step(&self, step: Step) -> StepDone {
        self.run_on(false, step).await
    }

    async fn keep_step(&self, step: Step) -> StepDone {
        self.run_on(true, step).await
    }

    /// The newest `kha-drill` line of `node` starting with `prefix`, without it; waits a
    /// moment for the log pump to catch up with a step that just ended.
    async fn wait_line(&self, node: &str, prefix: &str) -> Option<String> {
        for _ in 0..50 {
            let found = self
                .lines
                .lock()
                .expect("lines")
                .iter()
                .rev()
                .find(|(n, l)| n == node && l.starts_with(prefix))
                .map(|(_, l)| l[prefix.len()..].to_string());
            if found.is_some() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    fn forget_lines(&self, node: &str, prefix: &str) {
        self.lines
            .lock()
            .expect("lines")
            .retain(|(n, l)| !(n == node && l.starts_with(prefix)));
    }

    /// `ip addr` and keepalived on `lb`: the state line, and whether it holds `vip`.
    async fn lb_state(&self, lb: &Node, vip: &str) -> anyhow::Result<String> {
        self.forget_lines(&lb.name, "kha-drill lb ");
        let d = self.keep_step(steps::lb_state(lb, vip)).await;
        anyhow::ensure!(
            succeeded(&d),
            "cannot read the state of {}: {}",
            lb.name,
            why(&d)
        );
        self.wait_line(&lb.name, "kha-drill lb ")
            .await
            .ok_or_else(|| anyhow::anyhow!("{} printed no state", lb.name))
    }

    async fn lb_holds_vip(&self, lb: &Node, vip: &str) -> anyhow::Result<bool> {
        Ok(self.lb_state(lb, vip).await?.contains("VIP=yes"))
    }

    async fn say(&self, r: &mut ScenarioResult, text: String) {
        let line = format!("+{} ms  {text}", self.now_ms());
        r.timeline.push(line.clone());
        if let Some(ui) = &self.ui {
            let _ = ui
                .send(DrillEvent::Step {
                    scenario: r.id.clone(),
                    text: line,
                })
                .await;
        }
    }

    /// Counts the load for `d`, or less when the operator stops.
    async fn hold(&self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.stop.cancelled() => {}
        }
    }

    /// The LB whose HAProxy serves the endpoint now.
    fn serving_lb(&self) -> Node {
        self.holder
            .clone()
            .unwrap_or_else(|| self.cluster.lb.clone())
    }

    fn finish_scenario(&self, r: &mut ScenarioResult) {
        r.ended_ms = self.now_ms();
        r.stopped_at = self.wall(r.stopped_ms);
        r.restored_at = self.wall(r.restored_ms);
        r.totals = self
            .rec
            .lock()
            .expect("recorder")
            .totals(r.stopped_ms, r.ended_ms);
    }

    /// After the drill: every apiserver backend UP on every LB, HAProxy running.
    async fn check_restored(&self, notes: &mut Vec<String>) -> bool {
        let mut ok = true;
        for lb in self.cluster.load_balancers() {
            for cp in self.cluster.control_planes() {
                let d = self
                    .keep_step(steps::haproxy_watch(
                        lb,
                        &cp.name,
                        "UP",
                        Duration::from_secs(120),
                    ))
                    .await;
                if !succeeded(&d) {
                    ok = false;
                    notes.push(format!(
                        "after the drill HAProxy on {} does not show {} UP: {}",
                        lb.name,
                        cp.name,
                        why(&d)
                    ));
                }
            }
        }
        ok
    }
}

impl<T: Transport> Prepared<T> {
    /// Runs the scenarios with the load counted throughout, restores, checks, reports. The
    /// report is saved next to the logs (`drill-<time>.txt` and `.json`).
    pub async fn run(self, ui: mpsc::Sender<DrillEvent>) -> (Report, Option<std::path::PathBuf>) {
        let mut d = self.drill;
        d.ui = Some(ui.clone());
        let endpoint = d.cluster.control_plane_endpoint();
        let mut report = Report {
            cluster: d.cluster.name.clone(),
            endpoint: endpoint.clone(),
            readyz_per_second: readyz::RATE,
            ..Default::default()
        };
        d.started = SystemTime::now();
        d.t0 = Instant::now();
        report.started_at = local_timestamp(d.started);
        let load_stop = CancellationToken::new();
        // kha-tui's own TLS requests.
        let readyz = match (
            readyz::client_config(&d.ca_pem),
            readyz::split_endpoint(&endpoint),
        ) {
            (Ok(cfg), Ok((host, port))) => Some(tokio::spawn(readyz::stream(
                cfg,
                host,
                port,
                d.t0,
                d.rec.clone(),
                load_stop.clone(),
            ))),
            (Err(e), _) | (_, Err(e)) => {
                report.notes.push(format!("no readyz requests: {e}"));
                None
            }
        };
        // kubectl on the first LB, in a task of its own that only the end of the drill stops.
        let lb = d.cluster.lb.clone();
        let kubectl_task = d.spawn_task(&lb, load_stop.clone());
        let kubectl = tokio::spawn({
            let redactor = d.redactor.clone();
            async move {
                kubectl_task
                    .run_extra_step(
                        steps::kubectl_loop(&lb, Duration::from_secs(1800)),
                        RunValues::default(),
                        redactor,
                        "drill".into(),
                    )
                    .await
            }
        });
        // One line a second for the viewer.
        let ticker = tokio::spawn({
            let (rec, ui, t0) = (d.rec.clone(), ui.clone(), d.t0);
            let stop = load_stop.clone();
            async move {
                let mut at = 0u64;
                loop {
                    let next = t0 + Duration::from_millis((at + 1) * 1000 + 300);
                    tokio::select! {
                        _ = tokio::time::sleep_until(next.into()) => {}
                        _ = stop.cancelled() => break,
                    }
                    let s = rec.lock().expect("recorder").second(at);
                    let _ = ui.send(DrillEvent::Second(s)).await;
                    at += 1;
                }
            }
        });
        d.hold(SETTLE).await;
        let a = d.scenario_apiserver().await;
        let _ = ui.send(DrillEvent::ScenarioDone(Box::new(a.clone()))).await;
        report.scenarios.push(a);
        if !d.stop.is_cancelled()
            && let Some(b) = d.scenario_lb().await
        {
            let _ = ui.send(DrillEvent::ScenarioDone(Box::new(b.clone()))).await;
            report.scenarios.push(b);
        }
        let mut notes = vec![];
        report.restored = d.check_restored(&mut notes).await;
        report.notes.extend(notes);
        load_stop.cancel();
        if let Some(r) = readyz {
            let _ = r.await;
        }
        let _ = kubectl.await;
        let _ = ticker.await;
        {
            let rec = d.rec.lock().expect("recorder");
            let last = d.now_ms() / 1000;
            report.seconds = (0..=last).map(|s| rec.second(s)).collect();
            if let Some(e) = &rec.last_error {
                report.notes.push(format!("last failed request: {e}"));
            }
        }
        if d.stop.is_cancelled() {
            report
                .notes
                .push("stopped by the operator (Ctrl-C); restores ran".into());
        }
        if !report.seconds.iter().any(|s| s.kubectl_ok > 0) {
            report
                .notes
                .push("no kubectl get nodes succeeded during the drill".into());
        }
        report.ok = report.restored
            && !d.stop.is_cancelled()
            && report.scenarios.iter().all(|s| s.ok)
            && report.seconds.iter().any(|s| s.kubectl_ok > 0)
            && report.seconds.iter().any(|s| s.readyz_ok > 0);
        let stamp = local_timestamp(d.started)
            .replace([' ', ':'], "-")
            .replace('.', "-");
        let saved = report.save(&d.logs_dir, &stamp).ok();
        // Closing the node tasks ends their sessions; the pump ends with the last sender.
        d.work.clear();
        d.keep.clear();
        let pump = d.pump.take();
        drop(d);
        if let Some(p) = pump {
            let _ = tokio::time::timeout(Duration::from_secs(10), p).await;
        }
        let _ = ui
            .send(DrillEvent::Finished(Box::new(report.clone())))
            .await;
        (report, saved)
    }

    /// Ends the connections without running anything (the operator said no).
    pub async fn cancel(self) {
        let mut d = self.drill;
        d.work.clear();
        d.keep.clear();
        let pump = d.pump.take();
        drop(d);
        if let Some(p) = pump {
            let _ = tokio::time::timeout(Duration::from_secs(10), p).await;
        }
    }
}
