//! The engine over real SSH on lab hosts, for what only a real node shows: stopping a run
//! (what Ctrl-C in `apply` and Stop in the TUI do: cancel the run's token) ends the remote
//! step and every child it started, and removes the run's work directories; a step abandoned
//! at its time limit leaves nothing running, so the retry that follows gets the lock the first
//! attempt held (as apt's lock is held by an abandoned `apt-get update`) and succeeds.
//! Checked outside kha-tui with `lab exec HOST ps` and `ls`. One lab of three light hosts
//! (sshd only) for both; steps are stand-ins (short shell), so this takes about a minute.

#[path = "common/lab.rs"]
mod lab;

use std::sync::Arc;
use std::time::Duration;

use kha_tui::engine::{self, Dirs, Event, Options};
use kha_tui::inventory::{self, Cluster, validate};
use kha_tui::plan::{self, Plan};
use kha_tui::transport::ssh::{SshConfig, SshTransport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// n1 is the LB, n2 the control plane, n3 the worker.
fn cluster(lab: &lab::Lab) -> Cluster {
    let h = &lab.hosts;
    let mut t = format!(
        "[cluster]\nname = \"stop\"\nkubernetes_version = \"1.37\"\ncni = \"calico\"\ncalico_version = \"v3.33.0\"\n\n[load_balancer]\nname = \"{}\"\naddress = \"{}\"\nport = 6443\n\n[ssh]\nuser = \"ops\"\nport = 22\nidentity_file = \"{}\"\n",
        h[0].name,
        h[0].address,
        lab.key.display()
    );
    for (i, role) in [(1, "control-plane"), (2, "worker")] {
        t.push_str(&format!(
            "\n[[nodes]]\nname = \"{}\"\naddress = \"{}\"\nrole = \"{role}\"\n",
            h[i].name, h[i].address
        ));
    }
    validate::check(&inventory::parse(&t).unwrap()).unwrap().0
}

/// Every step a quick `true`, except `step` on the worker, which runs `script`.
fn stand_in(c: &Cluster, step: &str, script: &str, idle: Option<Duration>) -> Plan {
    let mut p = plan::build(c);
    let worker = c.workers().next().unwrap().name.clone();
    for ph in &mut p.phases {
        for s in &mut ph.steps {
            s.files.clear();
            s.script = "echo stand-in".into();
            if s.node == worker && s.id == step {
                s.script = script.into();
                s.limits.idle = idle;
            }
        }
    }
    p
}

struct Ran {
    summary: engine::RunSummary,
    events: Vec<String>,
}

/// Runs `plan`; when `stop_on` is printed by a step, stops the run as Ctrl-C does.
async fn apply(lab: &lab::Lab, data: &std::path::Path, plan: Plan, stop_on: Option<&str>) -> Ran {
    let c = cluster(lab);
    let mut config = SshConfig::with_openssh_defaults(data.join("known_hosts"));
    config.known_hosts = vec![lab.known_hosts.clone()];
    let mut opts = Options::new(Dirs::under(data));
    opts.assume_yes = true;
    opts.skip_preflight = true;
    let (tx, mut rx) = mpsc::channel(256);
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    let needle = stop_on.map(str::to_string);
    let collector = tokio::spawn(async move {
        let mut events = vec![];
        while let Some(ev) = rx.recv().await {
            if let (Event::Log { line, .. }, Some(n)) = (&ev, &needle)
                && line.contains(n.as_str())
            {
                stopper.cancel();
            }
            events.push(format!("{ev:?}"));
        }
        events
    });
    let summary = tokio::time::timeout(
        Duration::from_secs(180),
        engine::apply_plan(Arc::new(SshTransport::new(config)), c, plan, opts, tx, stop),
    )
    .await
    .expect("the run ends");
    Ran {
        summary,
        events: collector.await.unwrap(),
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Processes on `host` whose command line contains `part` (not counting the `ps` itself).
fn processes(lab: &lab::Lab, host: &str, part: &str) -> Vec<String> {
    stdout(&lab.exec(host, &["ps", "-eo", "pid,pgid,args"]))
        .lines()
        .filter(|l| l.contains(part) && !l.contains("ps -eo"))
        .map(str::to_string)
        .collect()
}

fn work_dirs(lab: &lab::Lab, host: &str) -> Vec<String> {
    stdout(&lab.exec(host, &["ls", "-a", "/tmp"]))
        .lines()
        .filter(|l| l.starts_with("kha-tui."))
        .map(str::to_string)
        .collect()
}

#[test]
fn stop_and_timeouts_leave_nothing_running_on_the_node() {
    if !lab::available("stop_and_timeouts_leave_nothing_running_on_the_node") {
        return;
    }
    let lab = lab::Lab::up("light:3");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let worker = lab.hosts[2].name.clone();

    // 1. Stopped while a step runs with children (a long "download" in the background and
    //    one in the foreground, as apt runs its methods).
    let data = tempfile::tempdir().unwrap();
    let long = "echo step-begins; sleep 311 & sleep 312; echo never";
    let ran = rt.block_on(apply(
        &lab,
        data.path(),
        stand_in(&cluster(&lab), "containerd", long, None),
        Some("step-begins"),
    ));
    assert!(!ran.summary.ok);
    let stopping = ran
        .events
        .iter()
        .position(|e| e.starts_with("Stopping"))
        .expect("Stopping was reported");
    assert!(
        ran.events.last().unwrap().starts_with("RunFinished"),
        "RunFinished comes last"
    );
    assert!(stopping < ran.events.len() - 1);
    assert!(
        ran.events
            .iter()
            .any(|e| e.contains("Interrupted") && e.contains(&worker) && e.contains("containerd")),
        "{:#?}",
        ran.events
    );
    for h in &lab.hosts {
        assert_eq!(
            processes(&lab, &h.name, "sleep 31"),
            Vec::<String>::new(),
            "{}",
            h.name
        );
        assert_eq!(work_dirs(&lab, &h.name), Vec::<String>::new(), "{}", h.name);
    }

    // 2. A step that holds a lock (as apt does) and then stalls without output is abandoned at
    //    its idle limit; its process group is ended, so the next run's attempt gets the lock.
    let data = tempfile::tempdir().unwrap();
    let locked = "exec 9>/var/tmp/kha-stop-test.lock\nflock -n 9 || { echo 'kha-tui: the lock is held by an earlier attempt' >&2; exit 1; }\nif [ ! -e /var/tmp/kha-stop-test.first ]; then touch /var/tmp/kha-stop-test.first; echo stalls; sleep 321 & sleep 322; fi\necho got-the-lock";
    let plan = stand_in(
        &cluster(&lab),
        "prepare",
        locked,
        Some(Duration::from_secs(3)),
    );
    let ran = rt.block_on(apply(&lab, data.path(), plan.clone(), None));
    assert!(!ran.summary.ok);
    let timed_out = ran.events.iter().any(|e| {
        e.contains("StepFinished") && e.contains(&worker) && e.contains("TimedOut { idle: true")
    });
    assert!(timed_out, "{:#?}", ran.events);
    assert_eq!(processes(&lab, &worker, "sleep 32"), Vec::<String>::new());
    assert_eq!(work_dirs(&lab, &worker), Vec::<String>::new());
    // The retry (the same command again) runs the step and succeeds.
    let ran = rt.block_on(apply(&lab, data.path(), plan, None));
    assert!(ran.summary.ok, "{:?}", ran.summary);
    assert!(
        ran.events.iter().any(|e| e.contains("got-the-lock")),
        "{:#?}",
        ran.events
    );
}
