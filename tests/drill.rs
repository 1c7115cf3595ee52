//! The failover drill on a lab cluster (one install, shared by every check): `kha-tui apply`
//! installs the seed topology, then the real binary runs `kha-tui drill --yes` from the load
//! balancer (inside its network namespace, as an operator on the LB would) twice. Checked outside
//! kha-tui: HAProxy's stats socket on the LB shows the stopped apiserver DOWN then UP, the
//! manifest is back, every backend UP and every node Ready at the end, and the saved report holds
//! the numbers.

#[path = "common/lab.rs"]
mod lab;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab::Lab;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `show servers state` on the LB's stats socket, read with python3 over ssh (outside kha-tui).
fn servers_state(lab: &Lab) -> String {
    let out = lab.ssh("lb", "echo 'show servers state' | sudo python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(sys.stdin.buffer.read()); print(s.makefile().read())\"");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// srv_op_state of server `n` (0 stopped, 1 starting, 2 running).
fn op_state(state: &str, n: &str) -> Option<String> {
    state
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some(n))
        .and_then(|l| l.split_whitespace().nth(5))
        .map(str::to_string)
}

fn drill_reports(dd: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = glob::glob(&format!("{}/logs/*/drill-*.json", dd.display()))
        .unwrap()
        .flatten()
        .collect();
    out.sort();
    out
}

/// Runs one drill from the LB while another thread watches master3 on the LB's stats socket.
/// Returns the drill's output, its exit, the op states seen for master3 in order, the report.
fn drill_once(lab: &Lab, inv: &str, dd: &str) -> (String, bool, Vec<String>, serde_json::Value) {
    let before = drill_reports(Path::new(dd)).len();
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let watcher = std::thread::scope(|s| {
        let w = s.spawn({
            let (done, seen) = (done.clone(), seen.clone());
            move || {
                while !done.load(Ordering::SeqCst) {
                    if let Some(st) = op_state(&servers_state(lab), "master3") {
                        let mut v = seen.lock().unwrap();
                        if v.last() != Some(&st) {
                            v.push(st);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        });
        let started = Instant::now();
        let out = lab.on_lb(&[KHA, "drill", "--config", inv, "--yes", "--data-dir", dd]);
        eprintln!("drill took {:?}", started.elapsed());
        done.store(true, Ordering::SeqCst);
        let _ = w.join();
        out
    });
    let t = text(&watcher);
    let reports = drill_reports(Path::new(dd));
    assert_eq!(reports.len(), before + 1, "one new report file:\n{t}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.last().unwrap()).unwrap()).unwrap();
    let seen = seen.lock().unwrap().clone();
    (t, watcher.status.success(), seen, json)
}

fn check_drill(t: &str, ok: bool, seen: &[String], json: &serde_json::Value) {
    assert!(ok, "the drill passed:\n{t}");
    // Outside kha-tui: the LB's HAProxy saw master3 go down (0) and come back (1/2).
    let down = seen.iter().position(|s| s == "0");
    assert!(
        down.is_some(),
        "master3 DOWN on the stats socket, saw {seen:?}\n{t}"
    );
    assert!(
        seen[down.unwrap()..].iter().any(|s| s == "1" || s == "2"),
        "master3 UP again on the stats socket, saw {seen:?}\n{t}"
    );
    assert!(
        t.contains("Scenario apiserver: kube-apiserver on master3"),
        "{t}"
    );
    assert!(t.contains("HAProxy on lb shows master3 DOWN"), "{t}");
    assert!(t.contains("HAProxy on lb shows master3 UP"), "{t}");
    assert!(t.contains("readyz"), "{t}");
    let a = &json["scenarios"][0];
    assert_eq!(a["id"], "apiserver", "{json:#}");
    let totals = &a["totals"];
    let kubectl_failed = totals["kubectl_failed"].as_u64().unwrap();
    let window = totals["failure_window_ms"].as_u64().unwrap();
    assert!(
        kubectl_failed == 0 || window < 3000,
        "0 failed kubectl get nodes or a window below 3 s: {totals}"
    );
    assert!(totals["readyz_ok"].as_u64().unwrap() > 50, "{totals}");
    assert!(totals["kubectl_ok"].as_u64().unwrap() > 5, "{totals}");
    assert!(a["backend_down_after_ms"].as_u64().is_some(), "{a}");
    assert!(a["backend_up_after_ms"].as_u64().is_some(), "{a}");
    assert_eq!(json["restored"], true, "{json:#}");
    // Requests ran the whole time: every second of the drill counted some readyz.
    let secs = json["seconds"].as_array().unwrap();
    assert!(secs.len() > 15, "{json:#}");
    let busy = secs
        .iter()
        .filter(|s| s["readyz_ok"].as_u64().unwrap() + s["readyz_failed"].as_u64().unwrap() > 0)
        .count();
    assert!(busy + 2 >= secs.len(), "readyz every second: {secs:?}");
}

fn check_restored(lab: &Lab) {
    let m = lab.ssh_ok(
        "master3",
        "sudo test -f /etc/kubernetes/manifests/kube-apiserver.yaml && echo back; sudo test -e /etc/kubernetes/kha-drill && echo parked || true",
    );
    assert_eq!(m.trim(), "back", "manifest back, nothing parked: {m}");
    assert_eq!(
        lab.ssh_ok("lb", "systemctl is-active haproxy").trim(),
        "active"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut st = servers_state(lab);
    while ["master1", "master2", "master3"]
        .iter()
        .any(|n| op_state(&st, n).as_deref() != Some("2"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_secs(2));
        st = servers_state(lab);
    }
    for n in ["master1", "master2", "master3"] {
        assert_eq!(op_state(&st, n).as_deref(), Some("2"), "{n} UP:\n{st}");
    }
    let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    let ready: BTreeSet<&str> = nodes
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ready.len(), 5, "every node Ready:\n{nodes}");
}

#[test]
fn failover_drill_on_the_seed_topology_twice() {
    if !lab::available("failover_drill_on_the_seed_topology_twice") {
        return;
    }
    let lab = Lab::up("lb,3cp,2w");
    let inv = lab.inventory.display().to_string();
    let data = tempfile::tempdir().unwrap();
    let dd = data.path().display().to_string();
    let started = Instant::now();
    let out = Command::new(KHA)
        .args([
            "apply",
            "--config",
            &inv,
            "--yes",
            "--accept-new-host-keys",
            "--data-dir",
            &dd,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "install:\n{}", text(&out));
    eprintln!("install took {:?}", started.elapsed());

    // No terminal and no --yes: it says what it would stop, and stops nothing.
    let out = Command::new(KHA)
        .args(["drill", "--config", &inv, "--data-dir", &dd])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("stop kube-apiserver on master3"), "{t}");
    assert!(t.contains("nothing was stopped"), "{t}");
    assert!(
        drill_reports(data.path()).is_empty(),
        "no report without a drill"
    );
    check_restored(&lab);

    let (t1, ok1, seen1, j1) = drill_once(&lab, &inv, &dd);
    eprintln!("{t1}");
    check_drill(&t1, ok1, &seen1, &j1);
    check_restored(&lab);

    // The second drill gives the same result.
    let (t2, ok2, seen2, j2) = drill_once(&lab, &inv, &dd);
    eprintln!("{t2}");
    check_drill(&t2, ok2, &seen2, &j2);
    check_restored(&lab);
}
