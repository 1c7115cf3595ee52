//! The failover drill, run on the cluster `lb_pair` installed (`lb,lb2,3cp,2w`; one install
//! shared by the pair's checks and these): the real binary runs `kha-tui drill --yes` from the
//! LB (inside its network namespace, as an operator on the LB would) twice. Checked outside
//! kha-tui while it runs and after: HAProxy's stats socket on each LB shows the stopped
//! apiserver DOWN then UP; `ip addr` on the hosts shows the virtual address move to the other
//! LB; at the end the manifest is back, HAProxy runs on both LBs, every backend is UP, exactly
//! one LB holds the VIP and every node is Ready; the saved report holds the numbers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::lab::Lab;
use crate::output::text;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");
const LBS: [&str; 2] = ["lb", "lb2"];

/// `show servers state` on `lb`'s stats socket, read with python3 inside the host (outside
/// kha-tui). Empty while HAProxy is stopped there.
fn servers_state(lab: &Lab, lb: &str) -> String {
    let out = lab.exec(lb, &["python3", "-c", "import socket; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(b'show servers state\\n'); print(s.makefile().read())"]);
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

/// The LBs whose `ip addr` holds `vip` now.
fn vip_holders(lab: &Lab, vip: &str) -> Vec<String> {
    LBS.iter()
        .filter(|lb| {
            let o = lab.exec(lb, &["ip", "-o", "-4", "addr", "show"]);
            String::from_utf8_lossy(&o.stdout).contains(&format!(" {vip}/"))
        })
        .map(|s| s.to_string())
        .collect()
}

fn drill_reports(dd: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = glob::glob(&format!("{}/logs/*/drill-*.json", dd.display()))
        .unwrap()
        .flatten()
        .collect();
    out.sort();
    out
}

/// What the watcher saw from outside kha-tui, each sequence without repeats.
#[derive(Debug, Default)]
struct Seen {
    /// master3's op state on each LB's stats socket.
    master3: [Vec<String>; 2],
    /// Who held the VIP (`ip addr`), e.g. ["lb", "lb2"].
    holders: Vec<String>,
}

fn push(v: &mut Vec<String>, s: String) {
    if v.last() != Some(&s) {
        v.push(s);
    }
}

/// Runs one drill from the LB while another thread watches the stats sockets and `ip addr`.
fn drill_once(lab: &Lab, inv: &str, dd: &str) -> (String, bool, Seen, serde_json::Value) {
    let before = drill_reports(Path::new(dd)).len();
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let vip = lab.vip();
    let out = std::thread::scope(|s| {
        let w = s.spawn({
            let (done, seen) = (done.clone(), seen.clone());
            let vip = vip.clone();
            move || {
                while !done.load(Ordering::SeqCst) {
                    for (i, lb) in LBS.iter().enumerate() {
                        if let Some(st) = op_state(&servers_state(lab, lb), "master3") {
                            push(&mut seen.lock().unwrap().master3[i], st);
                        }
                    }
                    let h = vip_holders(lab, &vip).join(",");
                    push(&mut seen.lock().unwrap().holders, h);
                    std::thread::sleep(Duration::from_millis(200));
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
    let t = text(&out);
    let reports = drill_reports(Path::new(dd));
    assert_eq!(reports.len(), before + 1, "one new report file:\n{t}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.last().unwrap()).unwrap()).unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (t, out.status.success(), seen, json)
}

/// `holder` held the VIP when the drill started.
fn check_drill(t: &str, ok: bool, seen: &Seen, json: &serde_json::Value, holder: &str) {
    let other = if holder == "lb" { "lb2" } else { "lb" };
    assert!(ok, "the drill passed:\n{t}");
    // Scenario A. Outside kha-tui: each LB's HAProxy saw master3 go down (0) and come back.
    for (i, lb) in LBS.iter().enumerate() {
        let s = &seen.master3[i];
        let down = s.iter().position(|x| x == "0");
        assert!(
            down.is_some(),
            "{lb}: master3 DOWN on the stats socket, saw {s:?}\n{t}"
        );
        assert!(
            s[down.unwrap()..].iter().any(|x| x == "1" || x == "2"),
            "{lb}: master3 UP again on the stats socket, saw {s:?}\n{t}"
        );
    }
    assert!(
        t.contains("Scenario apiserver: kube-apiserver on master3"),
        "{t}"
    );
    assert!(
        t.contains(&format!("HAProxy on {holder} shows master3 DOWN")),
        "{t}"
    );
    assert!(
        t.contains(&format!("HAProxy on {holder} shows master3 UP")),
        "{t}"
    );
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

    // Scenario B. Outside kha-tui: `ip addr` saw the VIP leave `holder` for `other` (nopreempt:
    // it stays there).
    let h = &seen.holders;
    let from = h.iter().position(|x| x == holder);
    assert!(
        from.is_some() && h[from.unwrap()..].iter().any(|x| x == other),
        "the VIP moved from {holder} to {other}, ip addr saw {h:?}\n{t}"
    );
    assert_eq!(h.last().map(String::as_str), Some(other), "{h:?}");
    let b = &json["scenarios"][1];
    assert_eq!(b["id"], "lb-failover", "{json:#}");
    assert!(
        t.contains(&format!("Scenario lb-failover: HAProxy on {holder}")),
        "{t}"
    );
    assert_eq!(b["vip_from"], holder, "{b}");
    assert_eq!(b["vip_to"], other, "{b}");
    assert_eq!(b["vip_final_holder"], other, "{b}");
    let moved = b["vip_moved_after_ms"].as_u64().unwrap();
    assert!(moved < 5000, "VIP on {other} within 5 s: {moved} ms");
    let bt = &b["totals"];
    // The window is measured and reported, and requests succeed after it.
    assert!(bt["failure_window_ms"].as_u64().is_some(), "{bt}");
    if bt["failure_window_ms"].as_u64().unwrap() > 0 {
        assert!(bt["recovered_at_ms"].as_u64().is_some(), "{bt}");
    }
    assert!(t.contains("endpoint failed for"), "{t}");
    assert!(bt["readyz_ok"].as_u64().unwrap() > 30, "{bt}");
    // After the last failure, every request of the scenario succeeded.
    let end = b["ended_ms"].as_u64().unwrap() / 1000;
    let recovered = bt["recovered_at_ms"]
        .as_u64()
        .unwrap_or(b["stopped_ms"].as_u64().unwrap());
    let secs = json["seconds"].as_array().unwrap();
    for s in secs {
        let at = s["at"].as_u64().unwrap();
        if at > recovered / 1000 + 1 && at < end {
            assert_eq!(s["readyz_failed"], 0, "after recovery: {s}");
        }
    }
    assert_eq!(json["restored"], true, "{json:#}");
    // Requests ran the whole time: every second of the drill counted some readyz.
    assert!(secs.len() > 25, "{json:#}");
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
    for lb in LBS {
        assert_eq!(
            lab.ssh_ok(lb, "systemctl is-active haproxy").trim(),
            "active",
            "{lb}"
        );
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut st = servers_state(lab, lb);
        while ["master1", "master2", "master3"]
            .iter()
            .any(|n| op_state(&st, n).as_deref() != Some("2"))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_secs(2));
            st = servers_state(lab, lb);
        }
        for n in ["master1", "master2", "master3"] {
            assert_eq!(
                op_state(&st, n).as_deref(),
                Some("2"),
                "{lb}: {n} UP:\n{st}"
            );
        }
    }
    assert_eq!(vip_holders(lab, &lab.vip()).len(), 1, "one VIP holder");
    // No on-node restore timer of the drill still waits: cancelled by its restores, or fired
    // (a fired transient timer stays listed as elapsed).
    for host in ["master3", "lb", "lb2"] {
        let units = lab.ssh_ok(
            host,
            "systemctl list-units --all --no-legend --plain 'kha-drill-restore-*'",
        );
        assert!(
            !units.lines().any(|l| l.contains(" waiting ")),
            "{host}: no restore timer waiting:\n{units}"
        );
    }
    let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    let ready: BTreeSet<&str> = nodes
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ready.len(), 5, "every node Ready:\n{nodes}");
}

/// The drill journey on the pair `lb_pair` installed: run from the LB twice, then once from the
/// machine and interrupted with Ctrl-C while the apiserver is down.
pub fn drill_journey(lab: &Lab, data: &Path) {
    let inv = lab.inventory.display().to_string();
    let dd = data.display().to_string();
    check_restored(lab);

    // No terminal and no --yes: it says what it would stop, and stops nothing.
    let out = lab.on_lb(&[KHA, "drill", "--config", &inv, "--data-dir", &dd]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("stop kube-apiserver on master3"), "{t}");
    let first = vip_holders(lab, &lab.vip()).remove(0);
    assert!(
        t.contains(&format!("stop HAProxy on {first} ")),
        "names the VIP holder {first}:\n{t}"
    );
    if first == "lb" {
        assert!(t.contains("kha-tui runs on lb"), "{t}");
    }
    assert!(t.contains("nothing was stopped"), "{t}");
    assert!(drill_reports(data).is_empty(), "no report without a drill");
    assert_eq!(
        lab.ssh_ok(&first, "systemctl is-active haproxy").trim(),
        "active"
    );

    let (t1, ok1, seen1, j1) = drill_once(lab, &inv, &dd);
    eprintln!("{t1}\nseen: {seen1:?}");
    check_drill(&t1, ok1, &seen1, &j1, &first);
    check_restored(lab);

    // The second drill gives the same result, from the other LB (nopreempt kept the VIP there).
    let second = vip_holders(lab, &lab.vip()).remove(0);
    assert_ne!(second, first);
    let (t2, ok2, seen2, j2) = drill_once(lab, &inv, &dd);
    eprintln!("{t2}\nseen: {seen2:?}");
    check_drill(&t2, ok2, &seen2, &j2, &second);
    check_restored(lab);

    // Ctrl-C while the apiserver is down (kha-tui on the machine this time, where the test can
    // signal it): the drill restores it, reports, and fails.
    let log = data.join("interrupted.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut child = std::process::Command::new(KHA)
        .args(["drill", "--config", &inv, "--yes", "--data-dir", &dd])
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !read().contains("kube-apiserver on master3 stopped") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        read().contains("kube-apiserver on master3 stopped"),
        "{}",
        read()
    );
    // SAFETY: kill(2) on the child we started, by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let t = read();
    eprintln!("{t}");
    assert!(!status.success(), "an interrupted drill fails:\n{t}");
    assert!(t.contains("restoring kube-apiserver on master3"), "{t}");
    assert!(t.contains("HAProxy on"), "{t}");
    assert!(t.contains("stopped by the operator"), "{t}");
    assert!(t.contains("restored: yes"), "{t}");
    assert!(
        !t.contains("Scenario lb-failover"),
        "B does not start after Ctrl-C:\n{t}"
    );
    check_restored(lab);
    killed_mid_drill(lab, &inv, &dd, data);
}

/// kha-tui killed (SIGKILL: no Ctrl-C handler, no restore of its own) while the apiserver is
/// down: the timer the stop armed on master3 puts the manifest back by itself within the
/// window (shortened to 15 s by KHA_DRILL_RESTORE_AFTER), and the cluster is whole again.
fn killed_mid_drill(lab: &Lab, inv: &str, dd: &str, data: &Path) {
    const WINDOW: u64 = 15;
    let started = Instant::now();
    let log = data.join("killed.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut child = std::process::Command::new(KHA)
        .args(["drill", "--config", inv, "--yes", "--data-dir", dd])
        .env("KHA_DRILL_RESTORE_AFTER", WINDOW.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !read().contains("kube-apiserver on master3 stopped") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on the child we started, by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    let killed = Instant::now();
    let _ = child.wait();
    let t = read();
    assert!(t.contains("kube-apiserver on master3 stopped"), "{t}");
    // The output told the operator where the manifest is and what will put it back.
    assert!(
        t.contains("/etc/kubernetes/kha-drill/kube-apiserver.yaml")
            && t.contains(&format!(
                "the timer kha-drill-restore-apiserver.timer on master3 puts it back by itself in {WINDOW} s"
            )),
        "{t}"
    );
    assert!(
        !t.contains("restoring kube-apiserver"),
        "killed before its restore:\n{t}"
    );
    // Outside kha-tui: parked and the timer waiting, then back by itself.
    let now = lab.ssh_ok(
        "master3",
        "sudo test -f /etc/kubernetes/kha-drill/kube-apiserver.yaml && echo parked; systemctl is-active kha-drill-restore-apiserver.timer || true",
    );
    assert_eq!(
        now.split_whitespace().collect::<Vec<_>>(),
        ["parked", "active"],
        "{now}"
    );
    let back = || {
        lab.ssh_ok(
            "master3",
            "sudo test -f /etc/kubernetes/manifests/kube-apiserver.yaml && echo back || true",
        )
        .trim()
            == "back"
    };
    while !back() && killed.elapsed() < Duration::from_secs(WINDOW + 15) {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        back(),
        "the manifest is back within {WINDOW} s of the stop (+15 s)"
    );
    eprintln!(
        "killed drill: manifest back {:.1}s after the kill",
        killed.elapsed().as_secs_f64()
    );
    check_restored(lab);
    eprintln!(
        "killed-drill scenario: {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
