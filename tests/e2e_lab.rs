//! kha-tui end to end over real SSH on lab hosts (tests/lab): real systemd, apt, HAProxy and
//! containerd; the stand-in Kubernetes of tests/lab/k8s for what cannot exist here. The seed
//! topology is installed by the real binary, through faults, and resumed.

#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
use output::text;

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::Lab;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

fn kha(args: &[&str]) -> Output {
    Command::new(KHA).args(args).output().expect("kha-tui runs")
}

/// Fingerprints of the lab's pinned host keys, as `ssh-keygen -l` prints them.
fn fingerprints(known_hosts: &Path) -> Vec<String> {
    let out = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(known_hosts)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with("(ED25519)"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Any bootstrap-token-shaped string ([a-z0-9]{6}.[a-z0-9]{16}) or bare 64-hex run (a
/// certificate key; CA pins, "sha256:"-prefixed, are public and allowed).
fn find_secret_shaped(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let tok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    for i in 0..b.len() {
        if i + 23 <= b.len()
            && (i == 0 || !tok(b[i - 1]))
            && b[i..i + 6].iter().all(|c| tok(*c))
            && b[i + 6] == b'.'
            && b[i + 7..i + 23].iter().all(|c| tok(*c))
            && (i + 23 == b.len() || !tok(b[i + 23]))
        {
            return Some(t[i..i + 23].to_string());
        }
        let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        if i + 64 <= b.len()
            && (i == 0 || !hex(b[i - 1]))
            && b[i..i + 64].iter().all(|c| hex(*c))
            && (i + 64 == b.len() || !hex(b[i + 64]))
            && !t[..i].ends_with("sha256:")
        {
            return Some(t[i..i + 64].to_string());
        }
    }
    None
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

/// Starts `apply` in the background; output goes to a file we can watch.
fn spawn_apply(args: &[&str], log: &Path) -> std::process::Child {
    let f = std::fs::File::create(log).unwrap();
    Command::new(KHA)
        .args(args)
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_line(log: &Path, needle: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(log) {
            let _ = f.read_to_string(&mut s);
        }
        if s.contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// What a worker must let in (src/engine/firewall.rs), in ufw's words.
const WORKER_OPENINGS: [&str; 6] = [
    "10250/tcp",
    "10256/tcp",
    "30000:32767/tcp",
    "179/tcp",
    "4789/udp",
    "5473/tcp",
];

fn ufw_on_a_worker_is_opened_by_the_fix(lab: &Lab, inv: &str, dd: &str) {
    let started = Instant::now();
    let out = lab.exec(
        "worker2",
        &[
            "bash",
            "-c",
            "set -e; apt-get update -q >/dev/null; apt-get install -y -q ufw >/dev/null; ufw allow 22/tcp; ufw --force enable",
        ],
    );
    assert!(out.status.success(), "ufw installed and on: {}", text(&out));
    let pre = kha(&[
        "preflight",
        "--config",
        inv,
        "--accept-new-host-keys",
        "--data-dir",
        dd,
    ]);
    let t = text(&pre);
    assert!(!pre.status.success(), "{t}");
    let line = t
        .lines()
        .find(|l| l.starts_with("[worker2] preflight FAIL firewall: ufw is active"))
        .unwrap_or_else(|| panic!("worker2's firewall is named:\n{t}"));
    for o in WORKER_OPENINGS {
        assert!(line.contains(&format!(" {o} (")), "{o} named: {line}");
    }
    assert!(!line.contains("22/tcp"), "ssh is let in already: {line}");
    assert_eq!(
        t.matches("preflight FAIL firewall").count(),
        1,
        "only worker2 has a firewall:\n{t}"
    );

    // Without a terminal and without --yes, the fix is shown and nothing runs.
    let shown = kha(&["fix", "--config", inv, "--data-dir", dd]);
    let t = text(&shown);
    assert!(!shown.status.success(), "{t}");
    assert!(t.contains("[worker2] fix-firewall-open"), "{t}");
    assert!(t.contains("nothing ran"), "{t}");
    let before = lab.ssh_ok("worker2", "sudo ufw status");
    assert!(!before.contains("kha-tui"), "{before}");

    let fixed = kha(&["fix", "--config", inv, "--data-dir", dd, "--yes"]);
    let t = text(&fixed);
    assert!(fixed.status.success(), "{t}");
    assert!(t.contains("[worker2] fix-firewall-open: ok"), "{t}");
    assert!(t.contains("kha-tui: preflight passed"), "{t}");
    let ufw = lab.ssh_ok("worker2", "sudo ufw status");
    assert!(ufw.starts_with("Status: active"), "{ufw}");
    // Exactly the closed ports, each from each of the cluster's addresses (every host of the
    // inventory) and from nowhere else: ufw's To, Action and From columns.
    let mut ours: Vec<Vec<&str>> = ufw
        .lines()
        .filter(|l| l.trim_end().ends_with("# kha-tui"))
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    let mut want: Vec<Vec<&str>> = WORKER_OPENINGS
        .iter()
        .flat_map(|o| {
            lab.hosts
                .iter()
                .map(move |h| vec![*o, "ALLOW", h.address.as_str()])
        })
        .collect();
    ours.sort();
    want.sort();
    assert_eq!(
        ours, want,
        "each closed port from each cluster address:\n{ufw}"
    );
    assert!(ufw.lines().any(|l| l.starts_with("22/tcp ")), "{ufw}");

    // A second fix finds nothing to do and changes nothing.
    let again = kha(&["fix", "--config", inv, "--data-dir", dd, "--yes"]);
    let t = text(&again);
    assert!(again.status.success(), "{t}");
    assert!(t.contains("no finding that kha-tui can fix"), "{t}");
    assert_eq!(ufw, lab.ssh_ok("worker2", "sudo ufw status"));
    eprintln!("firewall scenario: {:.1}s", started.elapsed().as_secs_f64());
}

#[test]
fn seed_topology_over_ssh_through_faults_and_resume() {
    if !lab::available("seed_topology_over_ssh_through_faults_and_resume") {
        return;
    }
    let lab = Lab::up("lb,3cp,3w");
    let inv = lab.inventory.display().to_string();
    let data = tempfile::tempdir().unwrap();
    let dd = data.path().display().to_string();

    // Unknown host keys, headless, without --accept-new-host-keys: refused with the
    // fingerprint, nothing runs anywhere.
    let out = kha(&["apply", "--config", &inv, "--yes", "--data-dir", &dd]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    let fps = fingerprints(&lab.known_hosts);
    assert_eq!(fps.len(), 7, "one Ed25519 key per host");
    for fp in &fps {
        assert!(t.contains(fp.as_str()), "fingerprint {fp} not shown:\n{t}");
    }
    assert!(t.contains("not known"), "{t}");
    assert!(
        lab.ssh_ok("master1", "test -e /etc/kha && echo yes || echo no")
            .trim()
            == "no",
        "nothing ran on master1"
    );

    // ufw active on worker2 (ssh let in first, as an operator would): preflight names each
    // closed port; `kha-tui fix` opens exactly those and ufw stays on; the install below then
    // completes with it (worker2 joins, is Ready) and it is still active at the end.
    ufw_on_a_worker_is_opened_by_the_fix(&lab, &inv, &dd);

    // A run that loses worker3 mid-run: its sshd stops and its sessions die.
    let log1 = data.path().join("run1.log");
    let args = [
        "apply",
        "--config",
        &inv,
        "--yes",
        "--accept-new-host-keys",
        "--data-dir",
        &dd,
    ];
    let mut child = spawn_apply(&args, &log1);
    assert!(
        wait_for_line(&log1, "[worker3] containerd:", Duration::from_secs(300)),
        "worker3 never reached containerd"
    );
    lab.fault_ok(&["sshd-stop", "worker3"]);
    let _ = lab.exec("worker3", &["pkill", "-KILL", "-f", "sshd: ops"]);
    let status = child.wait().unwrap();
    let run1 = std::fs::read_to_string(&log1).unwrap();
    assert!(!status.success(), "{run1}");
    assert!(
        run1.contains("[worker3] containerd: FAILED"),
        "worker3 fails where it was:\n{run1}"
    );
    for n in ["master2", "master3", "worker1", "worker2"] {
        assert!(
            run1.contains(&format!("[{n}] kubeadm-join: ok")),
            "{n} finished its work:\n{run1}"
        );
    }
    assert!(run1.contains("[master1] calico: ok"), "{run1}");
    // The lab's stand-in manifests were checked against the sums its inventory pins, before
    // calico.sh applied them.
    let m1 = files_under(&data.path().join("logs"))
        .into_iter()
        .find(|f| f.ends_with("master1.log"))
        .map(|f| std::fs::read_to_string(f).unwrap())
        .expect("master1's log");
    for f in ["operator-crds.yaml", "tigera-operator.yaml"] {
        let checked = m1.lines().position(|l| {
            l.contains("sha256 of http://")
                && l.contains(&format!("/v3.33.0/manifests/{f} checked"))
        });
        let applied = m1.lines().position(|l| l.contains("serverside-applied"));
        assert!(
            checked.is_some() && checked < applied,
            "{f} checked before anything was applied:\n{m1}"
        );
    }
    assert!(run1.contains("[worker3] kubeadm-join: not run"), "{run1}");
    assert!(
        run1.contains("kha-tui: FAILED on worker3 at containerd"),
        "{run1}"
    );

    // Resume: worker3 back, only what was not done runs.
    lab.fault_ok(&["sshd-start", "worker3"]);
    let out = kha(&args);
    let run2 = text(&out);
    assert!(out.status.success(), "{run2}");
    assert!(
        run2.contains("[master1] kubeadm-init: done in an earlier run, skipped"),
        "{run2}"
    );
    assert!(
        run2.contains("[worker1] prepare: done in an earlier run, skipped"),
        "{run2}"
    );
    assert!(
        !run2.contains("[master2] kubeadm-join: kubeadm join"),
        "master2 did not join twice:\n{run2}"
    );
    assert!(run2.contains("[worker3] containerd: ok"), "{run2}");
    assert!(run2.contains("[worker3] kubeadm-join: ok"), "{run2}");
    assert!(run2.contains("cluster ready"), "{run2}");

    // The cluster: every node Ready through the LB, kubeconfig 0600 pointing at the endpoint.
    let endpoint = format!("https://{}:6443", lab.addr("lb"));
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
        6,
        "{nodes}"
    );
    // HAProxy really spreads 6443 over the three apiservers, all UP (a server that came up
    // recently is STARTING during its 30 s slow start, so wait for RUNNING).
    let haproxy = |cmd: &str| {
        lab.ssh_ok("lb", &format!("echo '{cmd}' | sudo python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(sys.stdin.buffer.read()); print(s.makefile().read())\""))
    };
    let op_state = |state: &str, n: &str| {
        state
            .lines()
            .find(|l| l.split_whitespace().nth(3) == Some(n))
            .and_then(|l| l.split_whitespace().nth(5))
            .map(str::to_string)
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut state = haproxy("show servers state");
    while ["master1", "master2", "master3"]
        .iter()
        .any(|n| op_state(&state, n).as_deref() != Some("2"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_secs(3));
        state = haproxy("show servers state");
    }
    for n in ["master1", "master2", "master3"] {
        assert_eq!(
            op_state(&state, n).as_deref(),
            Some("2"),
            "{n} is UP (srv_op_state 2):\n{state}"
        );
    }
    let stat = haproxy("show stat");
    for n in ["master1", "master2", "master3"] {
        let row: Vec<&str> = stat
            .lines()
            .find(|l| l.starts_with(&format!("kube-apiserver,{n},")))
            .unwrap_or_else(|| panic!("{n} not in\n{stat}"))
            .split(',')
            .collect();
        let total: u64 = row[7].parse().unwrap();
        assert!(total > 0, "{n} served no connection: {row:?}");
    }

    // worker2's firewall is still on, with kha-tui's rules, and it joined through it.
    let ufw = lab.ssh_ok("worker2", "sudo ufw status");
    assert!(ufw.starts_with("Status: active"), "{ufw}");
    let master1 = lab.addr("master1");
    assert!(
        ufw.lines().any(|l| l.starts_with("10250/tcp ")
            && l.contains(&format!(" ALLOW       {master1} "))
            && l.trim_end().ends_with("# kha-tui")),
        "{ufw}"
    );
    assert!(
        !ufw.lines()
            .any(|l| l.contains(" Anywhere ") && l.trim_end().ends_with("# kha-tui")),
        "nothing of kha-tui's is open to anyone on a worker:\n{ufw}"
    );

    // A second pass of every node's scripts changes nothing and succeeds: `--node N --from S`
    // runs S and every later step of N again.
    let rerun = |node: &str, from: &str, steps: &[&str]| {
        let out = kha(&[
            "apply",
            "--config",
            &inv,
            "--yes",
            "--data-dir",
            &dd,
            "--node",
            node,
            "--from",
            from,
        ]);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        for s in steps {
            assert!(
                t.contains(&format!("[{node}] {s}: ok")),
                "{s} ran again:\n{t}"
            );
        }
        t
    };
    let w1_state = "systemctl show containerd -p ActiveEnterTimestamp; sudo md5sum /etc/containerd/config.toml /etc/sysctl.d/k8s.conf /etc/apt/sources.list.d/kubernetes.list";
    let before = lab.ssh_ok("worker1", w1_state);
    let again = rerun(
        "worker1",
        "prepare",
        &["prepare", "containerd", "kube-packages", "kubeadm-join"],
    );
    assert_eq!(
        before,
        lab.ssh_ok("worker1", w1_state),
        "a second run changed worker1"
    );
    // Its join needed join secrets, which the run made fresh on master1; the plan's cleanup
    // is not part of a `--node worker1` run, so the engine took them out again at the end.
    assert!(
        again.contains("[master1] refresh-join-secrets: ok"),
        "{again}"
    );
    assert!(again.contains("[master1] cleanup-secrets: ok"), "{again}");
    assert_eq!(lab.bootstrap_tokens("master1"), Vec::<String>::new());

    // The load balancer's: HAProxy is not restarted, the kubeconfig is the same.
    let lb_state = "systemctl show haproxy -p ActiveEnterTimestamp; md5sum ~/.kube/config";
    let lb_before = lab.ssh_ok("lb", lb_state);
    let lb_again = rerun("lb", "haproxy", &["haproxy", "kubectl", "kubeconfig"]);
    assert_eq!(lb_before, lab.ssh_ok("lb", lb_state));

    // The first control plane's: init is not run twice, Calico and the readiness wait pass.
    let m1_again = rerun(
        "master1",
        "kubeadm-init",
        &["kubeadm-init", "calico", "wait-ready", "cleanup-secrets"],
    );
    assert!(
        m1_again.contains("already initialised and its API answers; kubeadm init is not run again"),
        "{m1_again}"
    );

    // No line of output and no file under the state and log dirs holds a token or key.
    for (what, t) in [
        ("lb_again", lb_again.as_str()),
        ("m1_again", m1_again.as_str()),
        ("run1", run1.as_str()),
        ("run2", run2.as_str()),
        ("again", again.as_str()),
    ] {
        assert_eq!(
            find_secret_shaped(t),
            None,
            "secret-shaped value in {what} output"
        );
    }
    for f in files_under(data.path()) {
        let t = std::fs::read_to_string(&f).unwrap_or_default();
        assert_eq!(
            find_secret_shaped(&t),
            None,
            "secret-shaped value in {}",
            f.display()
        );
    }

    // A changed host key is refused outright and nothing runs there.
    lab.fault_ok(&["rekey", "worker2"]);
    let out = kha(&[
        "preflight",
        "--config",
        &inv,
        "--accept-new-host-keys",
        "--data-dir",
        &dd,
    ]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("[worker2] HOST KEY CHANGED")
            && t.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{t}"
    );
    lab.fault_ok(&["unrekey", "worker2"]);

    // A wrong key: a clear error per node.
    let wrong = data.path().join("wrong_key");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&wrong)
            .status()
            .unwrap()
            .success()
    );
    let inv2 = data.path().join("wrong-key.toml");
    std::fs::write(
        &inv2,
        std::fs::read_to_string(&lab.inventory)
            .unwrap()
            .replace(&lab.key.display().to_string(), &wrong.display().to_string()),
    )
    .unwrap();
    let out = kha(&[
        "preflight",
        "--config",
        inv2.to_str().unwrap(),
        "--data-dir",
        &dd,
    ]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("[master1] unreachable: authentication as ops@"),
        "{t}"
    );

    // sudo that needs a password: none given, a wrong one, the right one (fed on stdin).
    let inv3 = data.path().join("opspw.toml");
    std::fs::write(
        &inv3,
        std::fs::read_to_string(&lab.inventory)
            .unwrap()
            .replace("user = \"ops\"", "user = \"opspw\""),
    )
    .unwrap();
    let inv3 = inv3.to_str().unwrap();
    let out = kha(&["preflight", "--config", inv3, "--data-dir", &dd]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("sudo on worker1 asks user opspw for a password"),
        "{t}"
    );
    let pw = data.path().join("pw");
    let write_pw = |p: &str| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(&pw, format!("{p}\n")).unwrap();
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    write_pw("not-the-password");
    let out = kha(&[
        "preflight",
        "--config",
        inv3,
        "--data-dir",
        &dd,
        "--sudo-password-file",
        pw.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("sudo on master2 refused the password given for user opspw"),
        "{t}"
    );
    assert!(
        !t.contains("not-the-password"),
        "the password is never printed"
    );
    write_pw(&lab.opspw_password());
    let out = kha(&[
        "preflight",
        "--config",
        inv3,
        "--data-dir",
        &dd,
        "--sudo-password-file",
        pw.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(!t.contains(&lab.opspw_password()));
    // Steps become root with that password too: it goes first on the same stream as the
    // step's files and script (one round trip per step) and is never read as a command.
    let out = kha(&[
        "apply",
        "--config",
        inv3,
        "--yes",
        "--data-dir",
        &dd,
        "--sudo-password-file",
        pw.to_str().unwrap(),
        "--node",
        "worker1",
        "--from",
        "kube-packages",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for s in [
        "[worker1] kube-packages: ok",
        "[worker1] kubeadm-join: ok",
        "[master1] cleanup-secrets: ok",
    ] {
        assert!(t.contains(s), "{s}:\n{t}");
    }
    assert!(!t.contains(&lab.opspw_password()));
    assert!(!t.contains("command not found"), "{t}");
    for f in files_under(data.path()) {
        let content = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            f == pw || !content.contains(&lab.opspw_password()),
            "password in {}",
            f.display()
        );
    }
}

#[test]
fn secret_detector_detects() {
    assert!(find_secret_shaped("x abcdef.0123456789abcdef y").is_some());
    assert!(find_secret_shaped(&format!("key {} end", "ab".repeat(32))).is_some());
    assert!(find_secret_shaped(&format!("sha256:{}", "ab".repeat(32))).is_none());
    assert!(find_secret_shaped("[redacted bootstrap-token]").is_none());
}
