//! The wizard as an operator lives it (issue 13): the real `kha-tui` in tmux, driven by keys,
//! read from the screen, installing real clusters on lab hosts (tests/lab, with the stand-in
//! Kubernetes of tests/lab/k8s). Each journey ends with checks made outside kha-tui: `kubectl`
//! on the cluster's load balancer (through HAProxy) lists every node Ready, and the inventory
//! on disk passes `kha-tui check`.
//!
//! One lab holds every journey's cluster (one `lab up`, 16 hosts): the journeys run side by side,
//! each on hosts of its own. `KHA_JOURNEYS=2,4` runs only those. Needs root and tmux; under
//! CI=true a missing prerequisite fails instead of skipping.
//!
//! 1. first-time setup from nothing   lb, master1-3, worker1-3  (resized to 80×24 and back mid-run: 5)
//! 2. continue with a file            lb2, master4, worker4
//! 3. failure and retry               lb3, master5, worker5
//! 4. stop and resume                 lb4, master6, worker6
//! 6. day 2 in the wizard (after 2)   lb2, master4, worker4 + worker7 added and removed

#[path = "common/certs.rs"]
mod certs;
#[path = "journeys/day2.rs"]
mod day2;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/prereq.rs"]
mod prereq;
#[path = "common/tmux.rs"]
mod tmux;
#[path = "journeys/wizard.rs"]
mod wizard;

use std::path::Path;
use std::time::{Duration, Instant};

use lab::Lab;
use wizard::{Cluster, Wizard};

/// worker7 is journey 6's: added to journey 2's cluster from the wizard and removed again.
const SPEC: &str = "lb,lb2,lb3,lb4,6cp,7w";

/// A journey: its number, what it is, its cluster, and the journey itself.
type Journey = (u32, &'static str, Cluster, fn(&Lab, &Cluster, &Path));

fn wanted(n: u32) -> bool {
    match std::env::var("KHA_JOURNEYS") {
        Ok(list) => list.split(',').any(|x| x.trim() == n.to_string()),
        Err(_) => true,
    }
}

/// The checks outside kha-tui: kubectl on the LB sees every node Ready, `check` passes the file.
fn cluster_is_ready(lab: &Lab, c: &Cluster, inventory: &Path) {
    let out = lab.ssh_ok(&c.lb, "kubectl get nodes --no-headers");
    let mut ready: Vec<&str> = out
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    ready.sort();
    let nodes = c.nodes();
    let mut want: Vec<&str> = nodes.iter().map(|(n, _)| n.as_str()).collect();
    want.sort();
    assert_eq!(ready, want, "kubectl get nodes on {}:\n{out}", c.lb);
    let server = lab.ssh_ok(&c.lb, "grep server: ~/.kube/config");
    assert!(
        server.contains(&format!("https://{}:6443", lab.addr(&c.lb))),
        "the kubeconfig goes through the LB: {server}"
    );
    let check = std::process::Command::new(wizard::BIN)
        .args(["check", "--config"])
        .arg(inventory)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "kha-tui check {}:\n{}",
        inventory.display(),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// 1: "Start a new inventory", every value typed, saved where the operator says, run to Ready;
/// resized to 80×24 and back while it runs (journey 5).
fn first_time_setup(lab: &Lab, c: &Cluster, home: &Path) {
    let saved = home.join("chosen/cluster.toml");
    std::fs::create_dir_all(saved.parent().unwrap()).unwrap();
    let w = Wizard::start("j1", lab, home, None);
    w.choose("Start a new inventory");
    w.type_new_inventory(lab, c);
    w.save_as(&saved);
    w.forms_to_connect();
    w.accept_host_keys(c.hosts().len());
    w.preflight_to_run();
    // Journey 5: 80×24 mid-run, nothing essential cut, and back.
    w.wait_running();
    w.resize_and_back();
    let done = w.run_to_done(|_, _| {});
    assert!(done.contains("Ready"), "{done}");
    w.quit();
    assert!(saved.exists(), "saved where the operator chose");
    cluster_is_ready(lab, c, &saved);
}

/// 2: `wizard --config FILE`, one address corrected in the node table, saved back to FILE
/// (comments kept), run to Ready.
fn continue_with_a_file(lab: &Lab, c: &Cluster, home: &Path) {
    let file = home.join("j2.toml");
    let wrong = format!("{}.99", lab.net);
    let (node, right) = c.workers[0].clone();
    let text = c.inventory_text(lab).replace(
        &format!("address = \"{right}\""),
        &format!("address = \"{wrong}\"  # moved racks: check"),
    );
    std::fs::write(&file, &text).unwrap();
    let w = Wizard::start("j2", lab, home, Some(&file));
    w.choose("Continue with");
    w.wait("1. Load balancer and SSH", 20);
    w.keys(&["Enter"]);
    w.wait("2. Control planes and workers", 20);
    w.edit_node_address(&node, &wrong, &right);
    w.save(&file);
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains(&format!("\"{right}\"")), "{on_disk}");
    assert!(!on_disk.contains(&wrong), "{on_disk}");
    for comment in text.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(
            on_disk.contains(comment),
            "comment {comment:?} lost:\n{on_disk}"
        );
    }
    w.keys(&["Enter"]);
    w.forms_to_connect();
    w.accept_host_keys(c.hosts().len());
    w.preflight_to_run();
    let done = w.run_to_done(|_, _| {});
    assert!(done.contains("Ready"), "{done}");
    w.quit();
    cluster_is_ready(lab, c, &file);
    // Journey 6 on this installed cluster (KHA_JOURNEYS=2,6 runs both).
    if wanted(6) {
        day2::day2_from_home(lab, c, home, &file);
    }
}

/// 3: a lab fault fails one worker mid-run; the cause is on screen; `r` after the fault is undone
/// finishes; Done's times cover both runs.
fn failure_and_retry(lab: &Lab, c: &Cluster, home: &Path) {
    let file = home.join("j3.toml");
    std::fs::write(&file, c.inventory_text(lab)).unwrap();
    let (victim, _) = c.workers[0].clone();
    let cause = "E: Failed to fetch http://deb.debian.org/debian/pool/main/c/containerd/containerd_1.6.20_amd64.deb  Connection timed out";
    let w = Wizard::start("j3", lab, home, Some(&file));
    w.choose("Continue with");
    w.forms_to_connect();
    w.accept_host_keys(c.hosts().len());
    // Armed before the run: the worker's next apt-get (in its first package step) fails.
    lab.fault_ok(&["fail-next", &victim, "apt-get", "100", cause]);
    w.preflight_to_run();
    let started = Instant::now();
    let mut first_run = None;
    let done = w.run_to_done(|w, failed| {
        assert!(first_run.is_none(), "failed twice:\n{failed}");
        first_run = Some(started.elapsed());
        assert!(failed.contains(&victim), "{failed}");
        // The cause, readable on screen without opening a log file.
        assert!(
            failed.contains("Connection timed out") || failed.contains("Failed to fetch"),
            "the cause is not on screen:\n{failed}"
        );
        assert!(
            failed.contains("100"),
            "the exit status is shown:\n{failed}"
        );
        lab.fault_ok(&["unfail", &victim]);
        w.keys(&["r"]);
    });
    assert!(first_run.is_some(), "{victim} never failed");
    let total = started.elapsed();
    // The Done screen's run time is the sum of both runs (the wait between them aside): at
    // least the whole wall time less a little, far more than the second run alone.
    let shown = wizard::longest_duration(&done).expect("a run time on Done");
    assert!(
        shown + Duration::from_secs(10) >= total,
        "Done shows {shown:?}; the first run took {first_run:?}, both {total:?}:\n{done}"
    );
    w.quit();
    cluster_is_ready(lab, c, &file);
}

/// 4: Stop during prepare; the remote command is gone on the host; quit; start again; resume
/// finishes.
fn stop_and_resume(lab: &Lab, c: &Cluster, home: &Path) {
    let file = home.join("j4.toml");
    std::fs::write(&file, c.inventory_text(lab)).unwrap();
    let w = Wizard::start("j4", lab, home, Some(&file));
    w.choose("Continue with");
    w.forms_to_connect();
    w.accept_host_keys(c.hosts().len());
    w.preflight_to_run();
    // A step of the prepare phase is running on a node: stop there.
    let node = c.workers[0].0.clone();
    let busy = wizard::wait_remote_step(lab, &node, Duration::from_secs(600));
    w.stop();
    // Nothing of kha-tui's runs on any host of the cluster any more (a moment for the last
    // signal to land; far less than any step takes).
    let end = Instant::now() + Duration::from_secs(5);
    for h in c.hosts() {
        loop {
            let left = lab.exec(&h, &["pgrep", "-af", "kha-tui\\."]);
            let left = String::from_utf8_lossy(&left.stdout).to_string();
            if left.trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < end,
                "still running on {h} after Stop ({busy}):\n{left}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    w.quit();
    drop(w);
    // Start again: the same inventory, the run resumes and finishes.
    let w = Wizard::start("j4b", lab, home, Some(&file));
    w.choose("Continue with");
    w.forms_to_connect();
    w.accept_host_keys(0);
    w.preflight_to_run();
    let done = w.run_to_done(|_, failed| panic!("the resumed run failed:\n{failed}"));
    assert!(done.contains("Ready"), "{done}");
    w.quit();
    cluster_is_ready(lab, c, &file);
}

#[test]
fn lab_journeys() {
    if !lab::available("lab_journeys") || !prereq::require(tmux::tmux_present(), "tmux") {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::up(SPEC);
    println!("lab up ({SPEC}): {:.0?}", lab.up_time);
    let journeys: Vec<Journey> = vec![
        (
            1,
            "first-time setup (+5 resize)",
            Cluster::new(
                "j1",
                "lb",
                &["master1", "master2", "master3"],
                &["worker1", "worker2", "worker3"],
                &lab,
            ),
            first_time_setup,
        ),
        (
            2,
            "continue with a file",
            Cluster::new("j2", "lb2", &["master4"], &["worker4"], &lab),
            continue_with_a_file,
        ),
        (
            3,
            "failure and retry",
            Cluster::new("j3", "lb3", &["master5"], &["worker5"], &lab),
            failure_and_retry,
        ),
        (
            4,
            "stop and resume",
            Cluster::new("j4", "lb4", &["master6"], &["worker6"], &lab),
            stop_and_resume,
        ),
    ];
    let homes: Vec<tempfile::TempDir> = journeys
        .iter()
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let results: Vec<(u32, &str, Duration, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = journeys
            .iter()
            .zip(&homes)
            .filter(|((n, ..), _)| wanted(*n))
            .map(|((n, what, c, f), home)| {
                let lab = &lab;
                let h = s.spawn(move || {
                    let t = Instant::now();
                    f(lab, c, home.path());
                    t.elapsed()
                });
                (*n, *what, h)
            })
            .collect();
        handles
            .into_iter()
            .map(|(n, what, h)| {
                let started = Instant::now();
                match h.join() {
                    Ok(d) => (n, what, d, Ok(())),
                    Err(e) => {
                        let msg = prereq::panic_message(&*e);
                        (n, what, started.elapsed(), Err(msg))
                    }
                }
            })
            .collect()
    });
    let mut failed = vec![];
    for (n, what, d, r) in &results {
        match r {
            Ok(()) => println!("journey {n} ({what}): ok in {d:.0?}"),
            Err(e) => {
                println!("journey {n} ({what}): FAILED\n{e}");
                failed.push(*n);
            }
        }
    }
    println!("all journeys: {:.0?} (lab up included)", t0.elapsed());
    assert!(failed.is_empty(), "journeys failed: {failed:?}");
}
