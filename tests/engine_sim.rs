//! The engine end to end against the simulated fleet: a whole install, a failure on one node
//! that leaves the others' work intact, resume, confirmations, host keys, secrets kept out of
//! every event, log and state file.

use std::sync::Arc;
use std::time::Duration;

use kha_tui::engine::{self, Dirs, Event, Options, StepOutcome};
use kha_tui::inventory::{self, Cluster, EXAMPLE, validate};
use kha_tui::transport::sim::{SimFleet, SimOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn cluster() -> Cluster {
    validate::check(&inventory::parse(EXAMPLE).unwrap())
        .unwrap()
        .0
}

fn fleet(fail: Option<&str>) -> Arc<SimFleet> {
    Arc::new(SimFleet::new(SimOptions {
        fail_node: fail.map(str::to_string),
        speed: 400.0,
        unknown_host_key: None,
    }))
}

/// The same simulated hosts for a later run, failing nowhere.
fn again(f: &SimFleet) -> Arc<SimFleet> {
    Arc::new(f.again(SimOptions {
        fail_node: None,
        speed: 400.0,
        unknown_host_key: None,
    }))
}

fn opts(dir: &std::path::Path) -> Options {
    let mut o = Options::new(Dirs::under(dir));
    o.assume_yes = true;
    o
}

/// Everything the viewer saw, as text, plus the questions answered by `answer`.
struct Seen {
    events: Vec<String>,
    finished: Vec<(String, String, StepOutcome)>,
}

async fn run(f: Arc<SimFleet>, o: Options, answer: bool) -> (engine::RunSummary, Seen) {
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut seen = Seen {
            events: vec![],
            finished: vec![],
        };
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::ConfirmationNeeded {
                    reply, ref step, ..
                } => {
                    seen.events.push(format!("confirm {step}"));
                    let _ = reply.send(answer);
                }
                Event::HostKeyQuestion {
                    reply,
                    ref fingerprint,
                    ..
                } => {
                    seen.events.push(format!("hostkey {fingerprint}"));
                    let _ = reply.send(answer);
                }
                Event::StepFinished {
                    ref node,
                    ref step,
                    ref outcome,
                    ..
                } => {
                    seen.finished
                        .push((node.clone(), step.clone(), outcome.clone()));
                    seen.events.push(format!("{ev:?}"));
                }
                other => seen.events.push(format!("{other:?}")),
            }
        }
        seen
    });
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        engine::apply(f, cluster(), o, tx, CancellationToken::new()),
    )
    .await
    .expect("the run ends");
    (summary, collector.await.unwrap())
}

fn outcome<'a>(seen: &'a Seen, node: &str, step: &str) -> Option<&'a StepOutcome> {
    seen.finished
        .iter()
        .rev()
        .find(|(n, s, _)| n == node && s == step)
        .map(|(_, _, o)| o)
}

/// Every file under `dir`, as text.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_whole_install_succeeds_and_secrets_stay_secret() {
    let dir = tempfile::tempdir().unwrap();
    let f = fleet(None);
    let (summary, seen) = run(f.clone(), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    assert!(summary.failures.is_empty());

    // The sim's control plane saw the token kha-tui generated, in kubeadm's format.
    let token = f.accepted_token().expect("init received a token");
    assert!(engine::secrets::is_bootstrap_token(&token), "{token}");
    let init_files = f.files_matching("master1", "/etc/kha/kubeadm-init.yaml");
    let (_, init_cfg, mode) = init_files.last().unwrap();
    assert_eq!(*mode, 0o600);
    assert!(init_cfg.contains(&format!("token: \"{token}\"")));
    let key = init_cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificateKey: \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    assert!(engine::secrets::is_certificate_key(&key));
    // The join carries the CA pin computed from the CA certificate, not from output.
    let join = &f.files_matching("master2", "/etc/kha/kubeadm-join.yaml")[0].1;
    let pin = engine::secrets::ca_cert_hash(kha_tui::transport::sim::SIM_CA_CERT).unwrap();
    assert!(join.contains(&pin), "{join}");
    assert!(
        join.contains(&key),
        "control-plane joins carry the certificate key"
    );
    let wjoin = &f.files_matching("worker1", "/etc/kha/kubeadm-join.yaml")[0].1;
    assert!(
        !wjoin.contains(&key),
        "workers never get the certificate key"
    );

    // No event, log, or state file holds the token, its secret half, or the key.
    let secret_half = token.split('.').nth(1).unwrap().to_string();
    for e in &seen.events {
        assert!(
            !e.contains(&secret_half) && !e.contains(&key),
            "secret in event: {e}"
        );
    }
    assert!(
        seen.events
            .iter()
            .any(|e| e.contains("[redacted bootstrap-token]")),
        "kubeadm's token line was seen, redacted"
    );
    let files = all_files(dir.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("master1.log")));
    for (p, text) in &files {
        assert!(
            !text.contains(&secret_half) && !text.contains(&key),
            "secret in {}",
            p.display()
        );
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(
            std::fs::metadata(p).unwrap().mode() & 0o077,
            0,
            "{} is private",
            p.display()
        );
    }
    // Command lines never carry operator values or secrets: those travel on stdin.
    for n in ["master1", "worker3", "lb"] {
        for c in f.commands(n) {
            assert!(!c.contains(&token) && !c.contains(&key), "{c}");
        }
    }
}

#[tokio::test]
async fn a_failed_node_leaves_the_others_done_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let f = fleet(Some("worker2"));
    let (summary, seen) = run(f.clone(), opts(dir.path()), true).await;
    assert!(!summary.ok);
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    let (node, step, reason) = &summary.failures[0];
    assert_eq!((node.as_str(), step.as_str()), ("worker2", "kube-packages"));
    assert!(reason.contains("E: Failed to fetch"), "{reason}");
    assert!(matches!(
        outcome(&seen, "worker2", "kubeadm-join"),
        Some(StepOutcome::NotRun { .. })
    ));
    for n in ["master2", "master3", "worker1", "worker3"] {
        assert_eq!(
            outcome(&seen, n, "kubeadm-join"),
            Some(&StepOutcome::Succeeded),
            "{n}"
        );
    }
    assert_eq!(
        outcome(&seen, "master1", "calico"),
        Some(&StepOutcome::Succeeded)
    );
    assert!(matches!(
        outcome(&seen, "master1", "wait-ready"),
        Some(StepOutcome::NotRun { .. })
    ));

    // Second run on the same hosts: only what was not done runs; the failed step is retried.
    let f2 = again(&f);
    let (summary, seen) = run(f2.clone(), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    assert_eq!(
        outcome(&seen, "master1", "kubeadm-init"),
        Some(&StepOutcome::SkippedDone)
    );
    assert_eq!(
        outcome(&seen, "worker1", "prepare"),
        Some(&StepOutcome::SkippedDone)
    );
    assert_eq!(
        outcome(&seen, "worker2", "kube-packages"),
        Some(&StepOutcome::Succeeded)
    );
    assert_eq!(
        outcome(&seen, "worker2", "kubeadm-join"),
        Some(&StepOutcome::Succeeded)
    );
    assert!(
        f2.steps_ran("master2").is_empty(),
        "nothing re-ran on master2"
    );
    // Secrets are never stored, so the resumed run made fresh ones on master1 before joining.
    assert_eq!(
        outcome(&seen, "master1", "refresh-join-secrets"),
        Some(&StepOutcome::Succeeded)
    );
    assert!(f2.accepted_token().is_some());
}

#[tokio::test]
async fn init_needs_a_yes() {
    // Headless without --yes: the run stops before init, saying how to confirm.
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.assume_yes = false;
    let f = fleet(None);
    let (summary, seen) = run(f.clone(), o.clone(), true).await;
    assert!(!summary.ok);
    assert!(
        summary.stopped.as_deref().unwrap().contains("--yes"),
        "{summary:?}"
    );
    assert!(matches!(
        outcome(&seen, "master1", "kubeadm-init"),
        Some(StepOutcome::NotRun { .. })
    ));
    assert!(!f.steps_ran("master1").iter().any(|s| s == "kubeadm-init"));

    // Interactive, answered no: declined, nothing runs.
    o.interactive = true;
    let (summary, seen) = run(fleet(None), o.clone(), false).await;
    assert!(seen.events.contains(&"confirm kubeadm-init".to_string()));
    assert!(summary.stopped.as_deref().unwrap().contains("declined"));
    // Answered yes: it goes on.
    let (summary, _) = run(fleet(None), o, true).await;
    assert!(summary.ok, "{summary:?}");
}

#[tokio::test]
async fn unknown_host_keys_are_asked_or_refused_with_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(SimFleet::new(SimOptions {
        fail_node: None,
        speed: 400.0,
        unknown_host_key: Some("worker3".into()),
    }));
    let (summary, seen) = run(f.clone(), opts(dir.path()), true).await;
    assert!(!summary.ok, "headless refuses unknown keys");
    let unreachable = seen
        .events
        .iter()
        .find(|e| e.contains("NodeUnreachable") && e.contains("worker3"))
        .expect("worker3 unreachable");
    assert!(unreachable.contains("SHA256:"), "{unreachable}");
    assert!(f.commands("worker3").is_empty(), "nothing ran on worker3");
    assert!(
        summary
            .stopped
            .as_deref()
            .unwrap_or("")
            .contains("preflight"),
        "{summary:?}"
    );

    let mut o = opts(dir.path());
    o.interactive = true;
    let (summary, seen) = run(f, o, true).await;
    assert!(seen.events.iter().any(|e| e.starts_with("hostkey SHA256:")));
    assert!(summary.ok, "{summary:?}");
}

#[tokio::test]
async fn one_node_from_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let first = fleet(None);
    let (summary, _) = run(first.clone(), opts(dir.path()), true).await;
    assert!(summary.ok);
    let mut o = opts(dir.path());
    o.only_node = Some("worker1".into());
    o.from_step = Some("kube-packages".into());
    // The same hosts: the simulated cluster the first run made is still there.
    let f = again(&first);
    let (summary, seen) = run(f.clone(), o, true).await;
    assert!(summary.ok, "{summary:?}");
    assert_eq!(
        outcome(&seen, "worker1", "kube-packages"),
        Some(&StepOutcome::Succeeded)
    );
    assert_eq!(
        outcome(&seen, "worker1", "prepare"),
        Some(&StepOutcome::SkippedDone)
    );
    assert!(f.steps_ran("worker2").is_empty());
    let mut o = opts(dir.path());
    o.only_node = Some("worker1".into());
    o.from_step = Some("nope".into());
    let (summary, _) = run(fleet(None), o, true).await;
    assert!(
        summary
            .stopped
            .unwrap()
            .contains("worker1 has no step \"nope\"")
    );
}

/// No join secret outlives a run: the plan's cleanup takes out what init made; a `--node`
/// run that had to make fresh secrets (its join needs them) takes them out itself although
/// the plan's cleanup step is not selected; so does a run that failed before its cleanup.
#[tokio::test]
async fn no_token_is_left_valid_after_a_partial_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = fleet(None);
    let (summary, _) = run(first.clone(), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    assert_eq!(first.valid_tokens(), Vec::<String>::new());

    let mut o = opts(dir.path());
    o.only_node = Some("master2".into());
    o.from_step = Some("kubeadm-join".into());
    let f = again(&first);
    let (summary, seen) = run(f.clone(), o, true).await;
    assert!(summary.ok, "{summary:?}");
    let ran_on_master1 = f.steps_ran("master1");
    assert_eq!(
        ran_on_master1,
        vec!["refresh-join-secrets", "cleanup-secrets"],
        "fresh secrets for the join, then taken out again"
    );
    assert!(
        seen.events
            .iter()
            .any(|e| e.contains("deleted bootstrap token")),
        "the cleanup is shown"
    );
    assert_eq!(f.valid_tokens(), Vec::<String>::new());

    let dir = tempfile::tempdir().unwrap();
    let f = fleet(Some("worker2"));
    let (summary, _) = run(f.clone(), opts(dir.path()), true).await;
    assert!(!summary.ok);
    assert!(f.accepted_token().is_some(), "init made a token");
    assert_eq!(f.valid_tokens(), Vec::<String>::new());
}

#[tokio::test]
async fn certificates_are_uploaded_again_when_the_window_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.cert_upload_window = Duration::ZERO;
    let (summary, seen) = run(fleet(None), o, true).await;
    assert!(summary.ok, "{summary:?}");
    let refreshes = seen
        .finished
        .iter()
        .filter(|(_, s, o)| s == "refresh-join-secrets" && *o == StepOutcome::Succeeded)
        .count();
    assert_eq!(
        refreshes, 2,
        "once before each of the two control-plane joins"
    );
}

/// While another run of the same cluster holds its lock, a run is refused before it touches a
/// node; once that run ends, the next one goes ahead.
#[tokio::test]
async fn a_second_run_of_a_cluster_waits_for_the_first_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let held = kha_tui::engine::run_lock::RunLock::take(&o.dirs.state, &cluster().name).unwrap();
    let f = fleet(None);
    let (summary, _) = run(f.clone(), opts(dir.path()), true).await;
    assert!(!summary.ok);
    let why = summary.stopped.unwrap_or_default();
    assert!(why.contains("another kha-tui run of cluster"), "{why}");
    assert!(f.commands("master1").is_empty(), "nothing ran anywhere");
    drop(held);
    let (summary, _) = run(fleet(None), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
}

#[tokio::test]
async fn stop_before_start_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let stop = CancellationToken::new();
    stop.cancel();
    let f = fleet(None);
    let s = engine::apply(f.clone(), cluster(), opts(dir.path()), tx, stop).await;
    assert!(!s.ok);
    assert!(f.steps_ran("master1").is_empty());
}

#[tokio::test]
async fn a_one_key_fix_turns_swap_off_and_preflight_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(
        SimFleet::new(SimOptions {
            fail_node: None,
            speed: 400.0,
            unknown_host_key: None,
        })
        .with_swap_on("worker1"),
    );
    let o = opts(dir.path());
    let swap_warnings = |results: &[engine::CheckResult]| {
        results
            .iter()
            .filter(|r| r.check == "swap" && r.status != engine::CheckStatus::Pass)
            .map(|r| (r.node.clone(), r.fixable.clone()))
            .collect::<Vec<_>>()
    };
    let (tx, mut rx) = mpsc::channel(256);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let before =
        engine::run_preflight(f.clone(), &cluster(), &o, tx, CancellationToken::new()).await;
    assert_eq!(
        swap_warnings(&before),
        [("worker1".to_string(), Some("swap-off".to_string()))]
    );

    let (tx, mut rx) = mpsc::channel(256);
    let seen = tokio::spawn(async move {
        let mut v = vec![];
        while let Some(e) = rx.recv().await {
            v.push(format!("{e:?}"));
        }
        v
    });
    engine::fix::fix(f.clone(), &cluster(), "worker1", "swap-off", &o, tx)
        .await
        .unwrap();
    let seen = seen.await.unwrap();
    assert!(
        seen.iter()
            .any(|e| e.contains("fix-swap-off") && e.contains("Succeeded")),
        "{seen:?}"
    );
    assert!(f.steps_ran("worker1").iter().any(|s| s == "fix-swap-off"));

    let (tx, mut rx) = mpsc::channel(256);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let after =
        engine::run_preflight(f.clone(), &cluster(), &o, tx, CancellationToken::new()).await;
    assert!(swap_warnings(&after).is_empty());
    let (tx, _rx) = mpsc::channel(8);
    let err = engine::fix::fix(f, &cluster(), "worker1", "reboot", &o, tx)
        .await
        .unwrap_err();
    assert!(err.contains("no fix named reboot"), "{err}");
}

/// Start and end of every step, in event order: (node, step, "start"|"end").
fn timeline(seen: &Seen) -> Vec<(String, String, &'static str)> {
    seen.events
        .iter()
        .filter_map(|e| {
            let kind = if e.starts_with("StepStarted") {
                "start"
            } else if e.starts_with("StepFinished") {
                "end"
            } else {
                return None;
            };
            let field = |name: &str| {
                let at = e.find(&format!("{name}: \""))? + name.len() + 3;
                Some(e[at..at + e[at..].find('"')?].to_string())
            };
            Some((field("node")?, field("step")?, kind))
        })
        .collect()
}

fn position(t: &[(String, String, &str)], node: &str, step: &str, kind: &str) -> usize {
    t.iter()
        .position(|(n, s, k)| n == node && s == step && *k == kind)
        .unwrap_or_else(|| panic!("no {kind} of {node}:{step} in {t:?}"))
}

#[tokio::test]
async fn steps_follow_the_graph_not_the_phases() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, seen) = run(fleet(None), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    let t = timeline(&seen);
    // Workers join while the control planes are still joining: no barrier between the
    // "join-control-planes" and "join-workers" phases.
    assert!(
        position(&t, "worker1", "kubeadm-join", "start")
            < position(&t, "master2", "kubeadm-join", "end"),
        "{t:?}"
    );
    // Control-plane joins hold etcd membership: never two at once.
    let (m2s, m2e) = (
        position(&t, "master2", "kubeadm-join", "start"),
        position(&t, "master2", "kubeadm-join", "end"),
    );
    let (m3s, m3e) = (
        position(&t, "master3", "kubeadm-join", "start"),
        position(&t, "master3", "kubeadm-join", "end"),
    );
    assert!(
        m2e < m3s || m3e < m2s,
        "control-plane joins overlapped: {t:?}"
    );
    // Every step started only after everything it waits for had finished.
    let plan = kha_tui::plan::build(&cluster());
    for (_, s) in plan.steps() {
        let start = position(&t, &s.node, &s.id, "start");
        for d in &s.after {
            let (n, id) = d.split_once(':').unwrap();
            assert!(
                position(&t, n, id, "end") < start,
                "{}:{} before {d}",
                s.node,
                s.id
            );
        }
    }
    // What the cluster reports at the end: the six Kubernetes nodes, not the LB.
    let mut names: Vec<&str> = summary
        .cluster_nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "master1", "master2", "master3", "worker1", "worker2", "worker3"
        ]
    );
    assert!(summary.cluster_nodes.iter().all(|n| n.ready));
    assert!(seen.events.iter().any(|e| e.starts_with("ClusterNodes")));
    // Run time adds up over runs.
    let (again_summary, _) = run(fleet(None), opts(dir.path()), true).await;
    assert!(
        again_summary.total_all_runs.as_millis() + 1
            >= summary.total_all_runs.as_millis() + again_summary.total.as_millis(),
        "{again_summary:?}"
    );
}

#[tokio::test]
async fn a_node_that_is_another_machine_runs_everything_again() {
    let dir = tempfile::tempdir().unwrap();
    let f = fleet(None);
    let (summary, _) = run(f.clone(), opts(dir.path()), true).await;
    assert!(summary.ok);
    // worker1's name now points at a fresh machine (a new /etc/machine-id).
    f.replace_machine("worker1");
    let f2 = again(&f);
    let (summary, seen) = run(f2.clone(), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    let warned = seen
        .events
        .iter()
        .find(|e| e.starts_with("NodeIdentityChanged"))
        .expect("a warning");
    assert!(
        warned.contains("worker1") && warned.contains("machine-id"),
        "{warned}"
    );
    assert_eq!(
        seen.events
            .iter()
            .filter(|e| e.starts_with("NodeIdentityChanged"))
            .count(),
        1
    );
    for s in ["prepare", "containerd", "kube-packages", "kubeadm-join"] {
        assert_eq!(
            outcome(&seen, "worker1", s),
            Some(&StepOutcome::Succeeded),
            "{s}"
        );
        assert_eq!(
            outcome(&seen, "worker2", s),
            Some(&StepOutcome::SkippedDone),
            "{s}"
        );
    }
    // The old records are kept aside in the state file, not used.
    let state = std::fs::read_to_string(dir.path().join("state/prod.state.json")).unwrap();
    assert!(
        state.contains("\"set_aside\"") && state.contains("worker1@"),
        "{state}"
    );
}

#[tokio::test]
async fn stop_ends_running_steps_and_reports_when_everything_stopped() {
    let dir = tempfile::tempdir().unwrap();
    // Slow enough that the prepare steps are still running when the operator stops.
    let f = Arc::new(SimFleet::new(SimOptions {
        fail_node: None,
        speed: 1.0,
        unknown_host_key: None,
    }));
    let (tx, mut rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    let collector = tokio::spawn(async move {
        let mut events = vec![];
        while let Some(ev) = rx.recv().await {
            if matches!(&ev, Event::StepStarted { step, .. } if step == "prepare") {
                stopper.cancel();
            }
            events.push(format!("{ev:?}"));
        }
        events
    });
    let summary = tokio::time::timeout(
        Duration::from_secs(30),
        engine::apply(f.clone(), cluster(), opts(dir.path()), tx, stop),
    )
    .await
    .expect("the run ends soon after the stop");
    let events = collector.await.unwrap();
    assert!(!summary.ok);
    assert!(
        summary.stopped.as_deref().unwrap().contains("operator"),
        "{summary:?}"
    );
    let stopping = events
        .iter()
        .position(|e| e.starts_with("Stopping"))
        .expect("Stopping");
    let finished = events
        .iter()
        .position(|e| e.starts_with("RunFinished"))
        .unwrap();
    assert_eq!(finished, events.len() - 1, "RunFinished is the last event");
    assert!(stopping < finished);
    let interrupted: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("Interrupted"))
        .collect();
    assert!(!interrupted.is_empty(), "{events:#?}");
    // Each interrupted step's process group was ended on its node, and every node's work
    // directory was removed after it.
    for e in &interrupted {
        let node = e
            .split("node: \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let cmds = f.commands(node);
        let kill = cmds
            .iter()
            .position(|c| c.contains(".pgid") && c.contains("kill -TERM"))
            .unwrap_or_else(|| panic!("no kill on {node}: {cmds:#?}"));
        let rm = cmds
            .iter()
            .rposition(|c| c.starts_with("rm -rf ") && c.contains("/tmp/kha-tui."))
            .unwrap_or_else(|| panic!("no work dir removed on {node}: {cmds:#?}"));
        assert!(kill < rm);
    }
    // Nothing started after the stop.
    assert!(
        !events[stopping..]
            .iter()
            .any(|e| e.starts_with("StepStarted")),
        "{events:#?}"
    );
    // The state says interrupted; the next run does the step again.
    let state = std::fs::read_to_string(dir.path().join("state/prod.state.json")).unwrap();
    assert!(state.contains("\"interrupted\""), "{state}");
    let (summary, seen) = run(again(&f), opts(dir.path()), true).await;
    assert!(summary.ok, "{summary:?}");
    assert_eq!(
        outcome(&seen, "master1", "prepare"),
        Some(&StepOutcome::Succeeded)
    );
}
