//! Benchmark 1: the critical path of an install, on real SSH.
//!
//! `cargo bench --bench critical_path` brings up a lab of 24 light hosts (sshd only), takes the
//! plan kha-tui builds for two topologies on them — the seed (1 LB + 3 control planes + 3
//! workers, 7 hosts) and a larger one (1 LB + 3 control planes + 20 workers, 24 hosts) — replaces
//! every step's script with a fixed-duration stand-in (`sleep`) and clears its files, and runs it
//! with `engine::apply_plan` over `SshTransport`. It prints the measured makespan, the lower
//! bound computed from the plan's phases and the stand-in durations, their ratio (target ≤ 1.05),
//! the engine's overhead per step on the critical path, and where that overhead goes. It also
//! prints the bound that the steps' `after` dependencies alone would allow.
//!
//! The lab is taken down at the end, also on failure (a guard's Drop). Traffic goes only to the
//! lab's own hosts on the lab bridge this benchmark brought up.
//!
//! Environment: `KHA_BENCH_REPS` (runs per topology, default 5).
//! Under `cargo test` (no `--bench`) it only computes the bounds for the example inventory.

#[path = "../common/lab.rs"]
mod lab;
#[path = "util.rs"]
mod util;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kha_tui::engine::{self, Dirs, Event, Options, StepOutcome};
use kha_tui::inventory::{self, Cluster};
use kha_tui::plan::{self, Mode, Plan};
use kha_tui::transport::ssh::{SshConfig, SshTransport};
use kha_tui::transport::{Session as _, Transport as _};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Stand-in duration of a step, by step id (seconds).
fn stand_in_seconds(step: &str) -> f64 {
    match step {
        // Prepare-type steps: package installs and host setup.
        "haproxy" | "prepare" | "containerd" | "kube-packages" | "kubectl" => 2.0,
        "kubeadm-init" => 3.0,
        "kubeadm-join" => 2.5,
        // The finish phase: kubeconfig, calico, wait-ready, cleanup-secrets.
        _ => 1.0,
    }
}

/// The plan with every script replaced by its stand-in and every file cleared. The init
/// stand-in leaves what the engine reads from the first control plane afterwards: a CA
/// certificate (the discovery pin is computed from it) and an admin kubeconfig.
fn stand_in_plan(mut p: Plan, ca_pem: &str) -> Plan {
    for ph in &mut p.phases {
        for s in &mut ph.steps {
            let d = stand_in_seconds(&s.id);
            let mut script = String::new();
            if s.id == "kubeadm-init" {
                script.push_str(&format!(
                    "mkdir -p /etc/kubernetes/pki\ncat > /etc/kubernetes/pki/ca.crt <<'KHA_EOF'\n{}\nKHA_EOF\nprintf 'apiVersion: v1\\nkind: Config\\n' > /etc/kubernetes/admin.conf\n",
                    ca_pem.trim()
                ));
            }
            script.push_str(&format!(
                "echo 'stand-in {}: {d:.3}s'\nsleep {d:.3}\n",
                s.id
            ));
            s.script = script;
            s.files.clear();
        }
    }
    p
}

/// The lower bound from the plan's phases: phases run one after another; within a parallel
/// phase every node runs its steps in series and nodes run side by side (max over nodes);
/// a serial phase runs its steps one after another (sum). Returns (bound, steps on the path,
/// per-phase bounds).
fn phase_bound(p: &Plan) -> (f64, usize, Vec<(String, f64, usize)>) {
    let mut total = 0.0;
    let mut steps = 0;
    let mut per = Vec::new();
    for ph in &p.phases {
        let (t, n) = match ph.mode {
            Mode::Serial => (
                ph.steps.iter().map(|s| stand_in_seconds(&s.id)).sum(),
                ph.steps.len(),
            ),
            Mode::Parallel => {
                let mut by_node: HashMap<&str, (f64, usize)> = HashMap::new();
                for s in &ph.steps {
                    let e = by_node.entry(&s.node).or_default();
                    e.0 += stand_in_seconds(&s.id);
                    e.1 += 1;
                }
                by_node
                    .into_values()
                    .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
            }
        };
        total += t;
        steps += n;
        per.push((ph.name.clone(), t, n));
    }
    (total, steps, per)
}

/// The bound from the steps' `after` dependencies alone (longest path; no phase barriers),
/// with steps that hold the same exclusive resource (etcd membership) one after another in
/// plan order, as kubeadm needs them.
fn dependency_bound(p: &Plan) -> f64 {
    let mut finish: HashMap<String, f64> = HashMap::new();
    let mut free_at: HashMap<&str, f64> = HashMap::new();
    let mut best: f64 = 0.0;
    for (_, s) in p.steps() {
        let start = s
            .after
            .iter()
            .map(|d| finish.get(d).copied().unwrap_or(0.0))
            .chain(
                s.holds
                    .iter()
                    .map(|h| free_at.get(h.as_str()).copied().unwrap_or(0.0)),
            )
            .fold(0.0, f64::max);
        let end = start + stand_in_seconds(&s.id);
        for h in &s.holds {
            free_at.insert(h.as_str(), end);
        }
        finish.insert(Plan::key(&s.node, &s.id), end);
        best = best.max(end);
    }
    best
}

/// An inventory of `hosts` light hosts: the first is the LB, the next three control planes, the
/// rest workers.
fn inventory_text(name: &str, lab: &lab::Lab, hosts: usize) -> String {
    let light: Vec<&lab::Host> = lab.hosts.iter().take(hosts).collect();
    assert!(
        light.len() == hosts,
        "the lab has only {} hosts",
        light.len()
    );
    let mut t = format!(
        "[cluster]\nname = \"{name}\"\nkubernetes_version = \"1.37\"\ncni = \"calico\"\ncalico_version = \"v3.33.0\"\n\n[load_balancer]\nname = \"{lb}\"\naddress = \"{lba}\"\nport = 6443\n\n[ssh]\nuser = \"ops\"\nport = 22\nidentity_file = \"{key}\"\n",
        lb = light[0].name,
        lba = light[0].address,
        key = lab.key.display()
    );
    for (i, h) in light.iter().enumerate().skip(1) {
        let role = if i <= 3 { "control-plane" } else { "worker" };
        t.push_str(&format!(
            "\n[[nodes]]\nname = \"{}\"\naddress = \"{}\"\nrole = \"{role}\"\n",
            h.name, h.address
        ));
    }
    t
}

/// What one run measured.
struct RunResult {
    makespan: f64,
    ok: bool,
    why: String,
    /// Start of the run → first phase started (connect, sudo check, work dirs).
    connect: f64,
    /// Per phase: measured duration.
    phases: Vec<(String, f64)>,
    /// Last phase finished → apply_plan returned (work dirs removed, disconnect).
    teardown: f64,
    /// StepFinished.duration − stand-in duration, per step run.
    in_step: Vec<f64>,
    /// CPU seconds the engine (this process) used for the run.
    engine_cpu: f64,
    /// Per step that waits for others: its start − the end of the last step it waits for (the
    /// scheduler, the state saved to disk, the node task taking the job), seconds.
    gaps: Vec<f64>,
}

async fn run_once(
    cluster: &Cluster,
    plan: &Plan,
    known_hosts: &Path,
    data: &Path,
    concurrency: usize,
) -> RunResult {
    let _ = std::fs::remove_dir_all(data);
    let mut config = SshConfig::with_openssh_defaults(data.join("known_hosts"));
    // The lab's pinned host keys only (as OpenSSH with UserKnownHostsFile=lab/known_hosts and
    // GlobalKnownHostsFile=/dev/null): a stale ~/.ssh/known_hosts entry for a recycled lab
    // address must not interfere.
    config.known_hosts = vec![known_hosts.to_path_buf()];
    let transport = Arc::new(SshTransport::new(config));
    let mut opts = Options::new(Dirs::under(data));
    opts.assume_yes = true;
    opts.skip_preflight = true;
    opts.concurrency = concurrency;
    let (tx, mut rx) = mpsc::channel::<Event>(4096);
    let cpu_before = util::self_cpu_seconds();
    let started = Instant::now();
    let collector = tokio::spawn(async move {
        let mut first_phase: Option<Instant> = None;
        let mut last_phase_end: Option<Instant> = None;
        let mut phases = Vec::new();
        let mut in_step = Vec::new();
        let mut started_at: HashMap<String, Instant> = HashMap::new();
        let mut finished_at: HashMap<String, Instant> = HashMap::new();
        while let Some(ev) = rx.recv().await {
            match &ev {
                Event::StepStarted { node, step, .. } => {
                    started_at.insert(Plan::key(node, step), Instant::now());
                }
                Event::StepFinished { node, step, .. } => {
                    finished_at.insert(Plan::key(node, step), Instant::now());
                }
                _ => {}
            }
            match ev {
                Event::PhaseStarted { .. } => {
                    first_phase.get_or_insert_with(Instant::now);
                }
                Event::PhaseFinished { name, duration, .. } => {
                    last_phase_end = Some(Instant::now());
                    phases.push((name, duration.as_secs_f64()));
                }
                Event::StepFinished {
                    step,
                    outcome: StepOutcome::Succeeded,
                    duration,
                    ..
                } => in_step.push(duration.as_secs_f64() - stand_in_seconds(&step)),
                _ => {}
            }
        }
        (
            first_phase,
            last_phase_end,
            phases,
            in_step,
            started_at,
            finished_at,
        )
    });
    let summary = engine::apply_plan(
        transport,
        cluster.clone(),
        plan.clone(),
        opts,
        tx,
        CancellationToken::new(),
    )
    .await;
    let end = Instant::now();
    let makespan = (end - started).as_secs_f64();
    let engine_cpu = util::self_cpu_seconds() - cpu_before;
    let (first_phase, last_phase_end, phases, in_step, started_at, finished_at) =
        collector.await.expect("collector");
    // What a step waits for: its `after` steps and the earlier holders of what it holds
    // (control-plane joins, one at a time), as `dependency_bound` counts them.
    let steps: Vec<&kha_tui::plan::Step> = plan.steps().map(|(_, s)| s).collect();
    let gaps = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let start = started_at.get(&Plan::key(&s.node, &s.id))?;
            let holders = steps[..i]
                .iter()
                .filter(|e| e.holds.iter().any(|h| s.holds.contains(h)))
                .map(|e| Plan::key(&e.node, &e.id));
            let last = s
                .after
                .iter()
                .cloned()
                .chain(holders)
                .filter_map(|d| finished_at.get(&d))
                .max()?;
            Some(start.saturating_duration_since(*last).as_secs_f64())
        })
        .collect();
    let why = if summary.ok {
        String::new()
    } else {
        format!(
            "{} {:?}",
            summary.stopped.clone().unwrap_or_default(),
            summary.failures
        )
    };
    RunResult {
        makespan,
        ok: summary.ok,
        why,
        connect: first_phase.map_or(f64::NAN, |t| (t - started).as_secs_f64()),
        phases,
        teardown: last_phase_end.map_or(f64::NAN, |t| (end - t).as_secs_f64()),
        in_step,
        engine_cpu,
        gaps,
    }
}

/// What one SSH operation costs on a light host, over one established connection (ms, median
/// of 20): the building blocks of a step (the engine sends a step's files and script on stdin
/// to one `sudo -n bash`, so a step is one exec).
async fn op_costs(cluster: &Cluster, known_hosts: &Path, data: &Path) -> Vec<(String, f64)> {
    let mut config = SshConfig::with_openssh_defaults(data.join("known_hosts"));
    config.known_hosts = vec![known_hosts.to_path_buf()];
    let transport = SshTransport::new(config);
    let opts = Options::new(Dirs::under(data));
    let target = engine::target_for(&cluster.nodes[0], &opts);
    let mut out = Vec::new();
    let mut connects = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = transport.connect(&target, None).await.expect("connect");
        connects.push(t.elapsed().as_secs_f64() * 1000.0);
        s.close().await;
    }
    out.push((
        "connect + authenticate".to_string(),
        util::Stats::of(&connects).median,
    ));
    let mut s = transport.connect(&target, None).await.expect("connect");
    let body = "x".repeat(2048);
    for (what, cmd) in [
        ("exec `true`", "true"),
        ("exec `sudo -n true`", "sudo -n true"),
        (
            "exec `sudo -n bash -c 'sleep 0'`",
            "sudo -n bash -c 'sleep 0'",
        ),
        ("upload 2 KiB (atomic: cat > tmp, chmod, mv)", ""),
    ] {
        let mut v = Vec::new();
        for i in 0..20 {
            let t = Instant::now();
            if cmd.is_empty() {
                s.upload(&format!("/tmp/kha-bench-{i}"), body.as_bytes(), 0o600)
                    .await
                    .expect("upload");
            } else {
                let c = engine::node::collect(&mut s, cmd, None)
                    .await
                    .expect("exec");
                assert!(c.status.success(), "{cmd}: {}", c.stderr);
            }
            v.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        out.push((what.to_string(), util::Stats::of(&v).median));
    }
    // A step of `true` exactly as the engine runs it (its command, the stream on stdin), and
    // the node setup (one command): the per-step and per-node work on the host, uncontended.
    let step = kha_tui::plan::Step::new("bench-true", "n1", "bench", "true\n".into());
    let stream = engine::payload::compose(&step, &[], "/tmp/kha-bench-step.sh");
    let command = engine::payload::command("sudo -n -- ", "/tmp/kha-bench-step.pgid");
    let setup = engine::node_setup::command(false, false);
    for (what, cmd, stdin) in [
        (
            "one step of `true` (the engine's command + stream)",
            command.as_str(),
            Some(stream),
        ),
        (
            "node setup (sudo, work dir, OS, machine id)",
            setup.as_str(),
            None,
        ),
    ] {
        let mut v = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let c = engine::node::collect(&mut s, cmd, stdin.clone())
                .await
                .expect("exec");
            assert!(c.status.success(), "{what}: {}", c.stderr);
            v.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        out.push((what.to_string(), util::Stats::of(&v).median));
    }
    // The same step as a request to the node's root shell (what `apply` runs every step
    // with): the shell's own start is the setup above, once per connection.
    if let Some((_, mut shell)) =
        engine::root_shell::RootShell::open_with_setup(&mut s, false).await
    {
        let stream = engine::payload::compose(&step, &[], "/tmp/kha-bench-shell-step.sh");
        let (tx, mut rx) = mpsc::channel(64);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let mut v = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let st = shell
                .run(
                    "/tmp/kha-bench-shell-step.pgid",
                    &stream,
                    &tx,
                    kha_tui::transport::Timeouts::default(),
                )
                .await
                .expect("root shell step");
            assert!(st.success(), "root shell step: {st:?}");
            v.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        out.push((
            "one step of `true` in the node's root shell".to_string(),
            util::Stats::of(&v).median,
        ));
        shell.close().await;
        drop(tx);
        let _ = drain.await;
    }
    let _ = engine::node::collect(&mut s, "rm -rf /tmp/kha-bench-* /tmp/kha-tui.*", None).await;
    s.close().await;
    out
}

/// A CA certificate for the init stand-in (the engine pins its public key).
fn make_ca(dir: &Path) -> String {
    let key = dir.join("ca.key");
    let crt = dir.join("ca.crt");
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "1", "-subj", "/CN=kubernetes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(crt).expect("ca.crt")
}

fn print_bounds(label: &str, p: &Plan) {
    let (bound, steps, per) = phase_bound(p);
    println!(
        "{label}: phase bound {bound:.3} s over {steps} steps on the critical path; dependency-only bound {:.3} s",
        dependency_bound(p)
    );
    for (name, t, n) in per {
        println!("    {name:<22} {t:>7.3} s  ({n} steps)");
    }
}

fn smoke() {
    // Under `cargo test`: no lab, no timing; the bound computation on the example inventory.
    let file = inventory::parse(inventory::EXAMPLE).expect("example parses");
    let (cluster, _) = inventory::validate::check(&file).expect("example is valid");
    let p = stand_in_plan(plan::build(&cluster), "-----BEGIN CERTIFICATE-----");
    let (bound, steps, _) = phase_bound(&p);
    assert!(bound > 0.0 && steps > 0);
    assert!(dependency_bound(&p) <= bound + 1e-9);
    println!("critical_path: smoke run only (use `cargo bench --bench critical_path` to measure)");
    println!("critical_path: 1 passed, 0 failed");
}

fn main() {
    if !util::timed_mode() {
        smoke();
        return;
    }
    if let Err(why) = lab::prerequisites() {
        println!("critical_path: skipped: {why}");
        return;
    }
    let reps: usize = std::env::var("KHA_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    println!("# critical_path — machine: {}", util::machine());
    let name = format!("kbcp{}", std::process::id());
    let lab = match lab::Lab::try_up(&name, "light:24", "bookworm") {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    println!(
        "lab {} up: {} light hosts in {:.1} s ({}.0/24)",
        lab.name,
        lab.hosts.len(),
        lab.up_time.as_secs_f64(),
        lab.net
    );
    let scratch = tempfile::tempdir().expect("tempdir");
    let ca = make_ca(scratch.path());
    let rt = tokio::runtime::Runtime::new().expect("tokio");

    let mut rows = Vec::new();
    for (label, hosts) in [
        ("seed 1 LB + 3 CP + 3 W", 7usize),
        ("3 CP + 20 W (+LB)", 24),
    ] {
        let cname = format!("bench{hosts}");
        let inv = scratch.path().join(format!("{cname}.toml"));
        std::fs::write(&inv, inventory_text(&cname, &lab, hosts)).expect("inventory");
        let (cluster, _) = inventory::load(&inv).unwrap_or_else(|e| panic!("{e}"));
        let p = stand_in_plan(plan::build(&cluster), &ca);
        print_bounds(label, &p);
        let (bound, path_steps, per) = phase_bound(&p);
        let dep = dependency_bound(&p);
        let mut results = Vec::new();
        for rep in 0..reps {
            let load = util::load1();
            let r = rt.block_on(run_once(
                &cluster,
                &p,
                &lab.known_hosts,
                &scratch.path().join(format!("data-{hosts}-{rep}")),
                hosts,
            ));
            println!(
                "  run {}: makespan {:.3} s (connect {:.3} s, teardown {:.3} s; engine CPU {:.2} s for {} steps){}  [load {load:.2}]",
                rep + 1,
                r.makespan,
                r.connect,
                r.teardown,
                r.engine_cpu,
                r.in_step.len(),
                if r.ok {
                    String::new()
                } else {
                    format!("  FAILED: {}", r.why)
                }
            );
            results.push(r);
        }
        let ok: Vec<&RunResult> = results.iter().filter(|r| r.ok).collect();
        if ok.is_empty() {
            println!("  every run failed; see above");
            continue;
        }
        let spans: Vec<f64> = ok.iter().map(|r| r.makespan).collect();
        let st = util::Stats::of(&spans);
        // The median run's breakdown.
        let mid = ok
            .iter()
            .min_by(|a, b| {
                (a.makespan - st.median)
                    .abs()
                    .total_cmp(&(b.makespan - st.median).abs())
            })
            .expect("a run");
        println!("  breakdown of the median run:");
        println!("    connect + setup        {:>7.3} s", mid.connect);
        for ((name, t), (_, b, n)) in mid.phases.iter().zip(&per) {
            println!(
                "    {name:<22} {t:>7.3} s  bound {b:>6.3} s  over {:>+6.3} s ({:.0} ms per step on its path)",
                t - b,
                (t - b) * 1000.0 / *n as f64
            );
        }
        println!("    teardown               {:>7.3} s", mid.teardown);
        let is = util::Stats::of(&mid.in_step);
        println!(
            "    inside a step (one exec: files and script on stdin, run, collect): median {:.0} ms, p99 {:.0} ms over {} steps",
            is.median * 1000.0,
            is.p99 * 1000.0,
            is.n
        );
        let gs = util::Stats::of(&mid.gaps);
        println!(
            "    from the end of what a step waits for to its start (scheduler, state on disk, node task): median {:.1} ms, p99 {:.1} ms over {} steps",
            gs.median * 1000.0,
            gs.p99 * 1000.0,
            gs.n
        );
        rows.push((
            label,
            hosts,
            bound,
            dep,
            path_steps,
            st,
            ok.len(),
            mid.connect,
            is,
        ));
    }

    println!();
    println!(
        "| topology | hosts | makespan median (min–max) | phase bound | makespan / phase bound | overhead per critical-path step | dependency-only bound | makespan / dependency bound | target ≤ 1.05 × dependency bound | connect + setup | inside a step beyond its sleep (median / p99; target ≤ 60 ms median at 24 hosts) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, hosts, bound, dep, steps, st, n, connect, is) in rows {
        let ratio = st.median / bound;
        let dep_ratio = st.median / dep;
        println!(
            "| {label} | {hosts} | {:.3} s ({:.3}–{:.3}, {n} runs) | {bound:.3} s | {ratio:.3} | {:.0} ms ({steps} steps) | {dep:.3} s | {dep_ratio:.3} | {} | {connect:.3} s | {:.0} / {:.0} ms |",
            st.median,
            st.min,
            st.max,
            (st.median - bound) * 1000.0 / steps as f64,
            if dep_ratio <= 1.05 {
                "met".to_string()
            } else {
                format!("missed by {:.1} %", (dep_ratio - 1.05) * 100.0)
            },
            is.median * 1000.0,
            is.p99 * 1000.0,
        );
    }
    if let Ok((cluster, _)) = inventory::load(&scratch.path().join("bench7.toml")) {
        let costs = rt.block_on(op_costs(
            &cluster,
            &lab.known_hosts,
            &scratch.path().join("ops"),
        ));
        println!();
        println!(
            "one SSH operation on a light host (median of 20, one connection) [load {:.2}]:",
            util::load1()
        );
        for (what, ms) in costs {
            println!("    {what:<48} {ms:>7.1} ms");
        }
    }
    println!("machine after: {}", util::machine());
    drop(rt);
    drop(lab); // lab down
}
