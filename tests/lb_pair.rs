//! The load-balancer pair end to end on lab hosts (tests/lab): `lb,lb2,3cp,2w`, the real
//! kha-tui binary run on the LB (`lab on-lb`), real HAProxy and keepalived on both LBs. One
//! install is shared by every check: first the faults that must be refused before anything runs
//! (the VIP already answers; a foreign VRRP group uses the router id), then an install with
//! keepalived broken on the backup (a clear error on that node only, the rest goes on), then the
//! resume that completes the pair, checked from outside kha-tui; then the failover drill on that
//! same cluster (tests/lab_pair/drill.rs), and last its reset (tests/lab_pair/reset.rs).

#[path = "lab_pair/drill.rs"]
mod drill;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
#[path = "lab_pair/reset.rs"]
mod reset;
use output::text;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::Lab;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");
const ADVERT: &str = include_str!("lab_pair/vrrp-advert.py");

/// `kha-tui apply` on the LB host (its network namespace), headless.
fn apply(lab: &Lab, data: &Path) -> Output {
    let inv = lab.inventory.display().to_string();
    let dd = data.display().to_string();
    lab.on_lb(&[
        KHA,
        "apply",
        "--config",
        &inv,
        "--yes",
        "--accept-new-host-keys",
        "--data-dir",
        &dd,
    ])
}

/// Nothing of the pair was installed on either LB.
fn nothing_ran(lab: &Lab) {
    for lb in ["lb", "lb2"] {
        let o = lab.exec(
            lb,
            &["sh", "-c", "test -e /etc/kha || dpkg -s keepalived haproxy"],
        );
        assert!(!o.status.success(), "something ran on {lb}: {}", text(&o));
    }
}

fn exec_ok(lab: &Lab, host: &str, cmd: &[&str]) -> String {
    let o = lab.exec(host, cmd);
    assert!(o.status.success(), "{host}: {cmd:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn lb_pair_installs_through_the_vip_and_refuses_what_would_break_it() {
    if !lab::available("lb_pair_installs_through_the_vip_and_refuses_what_would_break_it") {
        return;
    }
    let started = Instant::now();
    let lab = Lab::up("lb,lb2,3cp,2w");
    let vip = lab.vip();
    let inventory = std::fs::read_to_string(&lab.inventory).unwrap();
    assert!(
        inventory.contains(&format!("vip = \"{vip}\"")),
        "{inventory}"
    );
    assert!(
        inventory.contains(&format!("backup_address = \"{}\"", lab.addr("lb2"))),
        "{inventory}"
    );
    let data = tempfile::tempdir().unwrap();

    // 1. The VIP already answers (a worker has it): refused before anything runs.
    let worker_dev = format!("{vip}/24");
    exec_ok(
        &lab,
        "worker2",
        &["ip", "addr", "add", &worker_dev, "dev", "host0"],
    );
    let out = apply(&lab, data.path());
    let t = text(&out);
    exec_ok(
        &lab,
        "worker2",
        &["ip", "addr", "del", &worker_dev, "dev", "host0"],
    );
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "[lb] preflight FAIL vip-free: something already answers on the virtual address {vip}"
        )),
        "{t}"
    );
    assert!(t.contains("nothing was changed"), "{t}");
    nothing_ran(&lab);

    // 2. A foreign VRRP group on the segment uses the pair's router id: refused.
    let vrid = kha_tui::inventory::pair::default_router_id(&lab.name).to_string();
    let w1 = lab.addr("worker1").to_string();
    let mut advert = Command::new(lab::LAB)
        .args(["--name", &lab.name, "exec", "worker1", "--"])
        .args(["python3", "-c", ADVERT, &w1, &vrid, "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let out = apply(&lab, data.path());
    let _ = advert.wait();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "preflight FAIL vrrp-router-id: VRRP adverts for router id {vrid} come from {w1}"
        )),
        "{t}"
    );
    nothing_ran(&lab);

    // 3. keepalived cannot start on the backup: that LB's step fails with the reason, the
    // cluster is installed through the first LB all the same.
    exec_ok(&lab, "lb2", &["systemctl", "mask", "keepalived"]);
    let out = apply(&lab, data.path());
    let run1 = text(&out);
    assert!(!out.status.success(), "{run1}");
    assert!(run1.contains("[lb2] keepalived: FAILED"), "{run1}");
    assert!(
        run1.contains("keepalived did not start on this load balancer"),
        "{run1}"
    );
    assert!(run1.contains("[lb] keepalived: ok"), "{run1}");
    assert!(run1.contains("[master1] kubeadm-init: ok"), "{run1}");
    assert!(run1.contains("[master1] wait-ready: ok"), "{run1}");
    assert!(
        run1.contains("kha-tui: FAILED on lb2 at keepalived"),
        "{run1}"
    );

    // 4. Fixed and run again: only the backup's keepalived runs.
    exec_ok(&lab, "lb2", &["systemctl", "unmask", "keepalived"]);
    let out = apply(&lab, data.path());
    let run2 = text(&out);
    assert!(out.status.success(), "{run2}");
    assert!(run2.contains("[lb2] keepalived: ok"), "{run2}");
    assert!(
        run2.contains("[master1] kubeadm-init: done in an earlier run, skipped"),
        "{run2}"
    );
    assert!(
        run2.contains(&format!("kha-tui: vip {vip} on lb")),
        "the run reports the pair's state:\n{run2}"
    );

    // The cluster, seen from outside kha-tui: every node Ready through the VIP.
    let endpoint = format!("https://{vip}:6443");
    let cfg = lab.ssh_ok(
        "lb",
        "stat -c %a ~/.kube/config; grep server: ~/.kube/config",
    );
    assert!(cfg.starts_with("600\n"), "{cfg}");
    assert!(cfg.contains(&format!("server: {endpoint}")), "{cfg}");
    let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    assert_eq!(
        nodes
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count(),
        5,
        "{nodes}"
    );
    let sans = lab.ssh_ok(
        "master1",
        "sudo openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName",
    );
    for a in [vip.as_str(), lab.addr("lb"), lab.addr("lb2")] {
        assert!(sans.contains(&format!("IP Address:{a}")), "{a}: {sans}");
    }

    // keepalived on both: one MASTER, one BACKUP, the VIP on exactly the MASTER's interface.
    let deadline = Instant::now() + Duration::from_secs(20);
    let states: Vec<String> = loop {
        let now: Vec<String> = ["lb", "lb2"]
            .iter()
            .map(|h| {
                exec_ok(&lab, h, &["cat", "/run/kha-tui/vrrp-state"])
                    .trim()
                    .to_string()
            })
            .collect();
        let mut sorted = now.clone();
        sorted.sort();
        if sorted == ["BACKUP", "MASTER"] || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut sorted = states.clone();
    sorted.sort();
    assert_eq!(sorted, ["BACKUP", "MASTER"], "{states:?}");
    let master = if states[0] == "MASTER" { "lb" } else { "lb2" };
    let holders: Vec<&str> = lab
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .filter(|h| {
            exec_ok(&lab, h, &["ip", "-o", "-4", "addr", "show"]).contains(&format!("inet {vip}/"))
        })
        .collect();
    assert_eq!(holders, [master], "the VIP is on exactly the MASTER");
    for lb in ["lb", "lb2"] {
        let active = exec_ok(
            &lab,
            lb,
            &["systemctl", "is-active", "keepalived", "haproxy"],
        );
        assert_eq!(active.trim(), "active\nactive", "{lb}");
        let conf = exec_ok(
            &lab,
            lb,
            &[
                "sh",
                "-c",
                "stat -c %a /etc/keepalived/keepalived.conf; grep -c unicast_peer /etc/keepalived/keepalived.conf",
            ],
        );
        assert_eq!(conf.trim(), "600\n1", "{lb}");
    }

    // The check tracks HAProxy: stopped on the MASTER, the VIP moves to the other LB within
    // 5 s; started again, it stays there (nopreempt). keepalived stopped says STOP.
    let other = if master == "lb" { "lb2" } else { "lb" };
    let holds = |h: &str| {
        exec_ok(&lab, h, &["ip", "-o", "-4", "addr", "show"]).contains(&format!("inet {vip}/"))
    };
    exec_ok(&lab, master, &["systemctl", "stop", "haproxy"]);
    let t0 = Instant::now();
    while (holds(master) || !holds(other)) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let moved = t0.elapsed();
    assert!(holds(other) && !holds(master), "the VIP moved to {other}");
    // keepalived runs its notify script in a child of its own, so the file can follow the
    // event by a moment: wait for it (bounded) instead of reading it once.
    let state_becomes = |h: &str, want: &str| {
        let t = Instant::now();
        loop {
            let got = exec_ok(&lab, h, &["cat", "/run/kha-tui/vrrp-state"]);
            if got.trim() == want || t.elapsed() > Duration::from_secs(5) {
                return got.trim().to_string();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert_eq!(state_becomes(master, "FAULT"), "FAULT");
    exec_ok(&lab, master, &["systemctl", "start", "haproxy"]);
    std::thread::sleep(Duration::from_secs(4));
    assert!(holds(other), "no preemption: the VIP stays on {other}");
    assert_eq!(state_becomes(master, "BACKUP"), "BACKUP");
    // STOP comes from systemd (kha-tui's drop-in), not only from keepalived's own notify_stop:
    // a SIGKILL, after which keepalived can run nothing, says STOP too.
    let post = exec_ok(
        &lab,
        master,
        &["systemctl", "show", "-p", "ExecStopPost", "keepalived"],
    );
    assert!(post.contains("/etc/keepalived/kha-notify.sh"), "{post}");
    exec_ok(&lab, master, &["systemctl", "stop", "keepalived"]);
    assert_eq!(state_becomes(master, "STOP"), "STOP");
    exec_ok(&lab, master, &["systemctl", "start", "keepalived"]);
    assert_eq!(state_becomes(master, "BACKUP"), "BACKUP");
    exec_ok(
        &lab,
        master,
        &["systemctl", "kill", "-s", "KILL", "keepalived"],
    );
    assert_eq!(state_becomes(master, "STOP"), "STOP", "after a SIGKILL");
    exec_ok(&lab, master, &["systemctl", "start", "keepalived"]);
    assert_eq!(state_becomes(master, "BACKUP"), "BACKUP");
    assert!(holds(other), "the VIP stayed on {other} throughout");
    eprintln!("lb_pair: the VIP moved to {other} {moved:.1?} after HAProxy stopped on {master}");

    // The VRRP password: made once, 0600 in kha-tui's data, the same on both LBs, and in no
    // log, state file, output or process argument.
    let pw_file = data
        .path()
        .join("state")
        .join(format!("{}.vrrp-auth", lab.name));
    let pw = std::fs::read_to_string(&pw_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(pw.len(), 8, "{pw}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for lb in ["lb", "lb2"] {
        let conf = exec_ok(&lab, lb, &["cat", "/etc/keepalived/keepalived.conf"]);
        assert!(conf.contains(&format!("auth_pass {pw}")), "{lb} uses it");
        let args = exec_ok(&lab, lb, &["ps", "-eo", "args"]);
        assert!(!args.contains(&pw), "{lb}: in a process argument");
    }
    for f in files_under(data.path()) {
        if f == pw_file {
            continue;
        }
        let t = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!t.contains(&pw), "the VRRP password is in {}", f.display());
    }
    for (name, t) in [("run1", &run1), ("run2", &run2)] {
        assert!(
            !t.contains(&pw),
            "the VRRP password is in the output of {name}"
        );
    }
    eprintln!(
        "lb_pair: pair checked {:.0?} after the start",
        started.elapsed()
    );

    // The failover drill on the same installed pair (tests/lab_pair/drill.rs).
    drill::drill_journey(&lab, data.path());
    eprintln!(
        "lb_pair: drill done {:.0?} after the start",
        started.elapsed()
    );

    // Last, the pair reset (tests/lab_pair/reset.rs): nothing after it needs the cluster.
    reset::reset_journey(&lab, data.path(), &vip);
    eprintln!("lb_pair: {:.0?} in all", started.elapsed());
}
