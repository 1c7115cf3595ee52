//! Joins on real kubeadm's terms, on lab hosts with the stand-in (tests/lab/k8s), driven through
//! the engine itself so the certificate upload window can be shortened
//! (`Options::cert_upload_window`): the window passing inside one run, a control plane killed in
//! the middle of its join and cleaned up on resume, and no bootstrap token left after the run.

#[path = "common/lab.rs"]
mod lab;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kha_tui::engine::{self, Dirs, Event, Options, RunSummary};
use kha_tui::transport::ssh::{SshConfig, SshTransport};
use lab::Lab;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// An etcdctl of the bundled etcd "image", with the node's healthcheck client certificate.
const ETCDCTL: &str = "sudo /usr/lib/kha-standin/images/etcd/etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";

/// One line per event that matters here, as `[node] step: …`.
fn line(ev: &Event) -> Option<String> {
    match ev {
        Event::Log {
            node, step, line, ..
        } => Some(format!("[{node}] {step}:   {line}")),
        Event::StepFinished {
            node,
            step,
            outcome,
            ..
        } => Some(format!("[{node}] {step}: {outcome:?}")),
        Event::NodeUnreachable { node, error, .. } => {
            Some(format!("[{node}] unreachable: {error}"))
        }
        _ => None,
    }
}

/// Runs the engine against the lab with every control-plane join asking for fresh certificates
/// (a window of zero: the two hours have always passed). `kill_at`: when a log line of that node
/// contains that text, its `kubeadm join` is killed (SIGKILL), as a crash or a lost power would.
fn apply(
    lab: &Lab,
    data: &std::path::Path,
    kill_at: Option<(&str, &str)>,
    from: Option<(&str, &str)>,
) -> (RunSummary, String) {
    let (cluster, _) = kha_tui::inventory::load(&lab.inventory).expect("the lab's inventory loads");
    let mut opts = Options::new(Dirs::under(data));
    opts.assume_yes = true;
    opts.accept_new_host_keys = true;
    opts.cert_upload_window = Duration::ZERO;
    if let Some((node, step)) = from {
        opts.only_node = Some(node.into());
        opts.from_step = Some(step.into());
    }
    let mut cfg = SshConfig::with_openssh_defaults(opts.dirs.known_hosts.clone());
    if let Some(k) = &cluster.known_hosts {
        cfg.known_hosts.push(k.clone());
    }
    let lines = Arc::new(Mutex::new(String::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let summary = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1024);
        let collected = lines.clone();
        let kill = kill_at.map(|(n, t)| (n.to_string(), t.to_string()));
        let lab_name = lab.name.clone();
        let reader = tokio::spawn(async move {
            let mut killed = false;
            while let Some(ev) = rx.recv().await {
                let Some(l) = line(&ev) else { continue };
                collected.lock().unwrap().push_str(&format!("{l}\n"));
                if let (Some((node, text)), Event::Log { node: n, line, .. }) = (&kill, &ev)
                    && !killed
                    && n == node
                    && line.contains(text.as_str())
                {
                    killed = true;
                    let out = Command::new(lab::LAB)
                        .args(["--name", &lab_name, "exec", node, "--"])
                        .args(["pkill", "-KILL", "-f", "kubeadm join"])
                        .output()
                        .unwrap();
                    collected.lock().unwrap().push_str(&format!(
                        "TEST: killed kubeadm join on {node} (pkill exit {:?})\n",
                        out.status.code()
                    ));
                }
            }
        });
        let s = engine::apply(
            Arc::new(SshTransport::new(cfg)),
            cluster,
            opts,
            tx,
            CancellationToken::new(),
        )
        .await;
        reader.await.unwrap();
        s
    });
    let text = lines.lock().unwrap().clone();
    (summary, text)
}

/// The etcd members as master1's etcd lists them: (name, started).
fn members(lab: &Lab) -> Vec<String> {
    lab.ssh_ok("master1", &format!("{ETCDCTL} member list"))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn window_passing_in_one_run_half_joined_control_plane_and_no_token_left() {
    if !lab::available("window_passing_in_one_run_half_joined_control_plane_and_no_token_left") {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::up("lb,3cp,1w");
    let data = tempfile::tempdir().unwrap();

    // Run 1: master2 is killed right after its etcd member was added, with kubelet.conf
    // written (which the old check took for "joined").
    let (s1, run1) = apply(
        &lab,
        data.path(),
        Some((
            "master2",
            "[etcd] Announced new etcd member joining to the existing etcd cluster",
        )),
        None,
    );
    eprintln!("[{:?}] run 1 finished", t0.elapsed());
    assert!(!s1.ok, "{run1}");
    assert!(
        run1.contains("TEST: killed kubeadm join on master2"),
        "{run1}"
    );
    assert!(
        run1.contains("[master2] kubeadm-join: Failed"),
        "master2's join fails where it was killed:\n{run1}"
    );
    // The upload window passed before master2's join, inside this run: the run's token was
    // made again rather than refused ("already exists").
    assert!(
        run1.contains("[master1] refresh-join-secrets: Succeeded"),
        "{run1}"
    );
    assert!(!run1.contains("already exists"), "{run1}");
    assert!(run1.contains("[worker1] kubeadm-join: Succeeded"), "{run1}");
    assert!(
        lab.ssh_ok(
            "master2",
            "sudo test -e /etc/kubernetes/kubelet.conf && echo yes"
        )
        .trim()
            == "yes",
        "the half-joined control plane has kubelet.conf"
    );
    let half = members(&lab);
    assert!(half.len() <= 3, "{half:?}");
    assert!(
        half.iter()
            .any(|m| m.contains(&format!("https://{}:2380", lab.addr("master2")))),
        "master2's member was added before the kill: {half:?}"
    );

    // Run 2 (resume): master2 is not taken for joined; it is cleaned up (its etcd member
    // removed through master1, kubeadm reset) and joins again, with the window passing again
    // inside this run (a fresh refresh).
    let (s2, run2) = apply(&lab, data.path(), None, None);
    eprintln!("[{:?}] run 2 finished", t0.elapsed());
    assert!(s2.ok, "{run2}");
    assert!(
        run2.contains("an earlier join of this control plane did not finish"),
        "{run2}"
    );
    assert!(run2.contains("removed this node's etcd member"), "{run2}");
    assert!(run2.contains("[master2] kubeadm-join: Succeeded"), "{run2}");
    // The joins hold etcd membership one at a time in no set order: master3 joined in
    // whichever run it came to first, and exactly once.
    let master3_joined = "[master3] kubeadm-join: Succeeded";
    assert_eq!(
        run1.matches(master3_joined).count() + run2.matches(master3_joined).count(),
        1,
        "{run1}\n{run2}"
    );
    // Every control-plane join had fresh certificates (the window is zero): three joins
    // over the two runs (master2 twice, master3 once), each after its own refresh.
    let refreshed = "[master1] refresh-join-secrets: Succeeded";
    assert!(run2.contains(refreshed), "{run2}");
    assert!(
        run1.matches(refreshed).count() + run2.matches(refreshed).count() >= 3,
        "{run1}\n{run2}"
    );
    assert!(!run2.contains("already exists"), "{run2}");

    // Three etcd members, every one started; never a fourth.
    let m = members(&lab);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(
        m.iter().filter(|l| l.contains(", started, ")).count(),
        3,
        "{m:?}"
    );
    for n in ["master1", "master2", "master3"] {
        assert!(
            m.iter().any(|l| l.contains(&format!(", {n}, "))),
            "{n}: {m:?}"
        );
    }
    // The cluster says master2 is a control plane.
    let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    assert_eq!(nodes.matches("control-plane").count(), 3, "{nodes}");

    // No bootstrap token is valid after the run: `kubeadm token list` lists none.
    assert_eq!(lab.bootstrap_tokens("master1"), Vec::<String>::new());
    assert!(
        run2.contains("[master1] cleanup-secrets:   deleted bootstrap token"),
        "{run2}"
    );

    // master2's join again (`--node master2 --from kubeadm-join`): the cluster says it has
    // joined, so nothing is reset or joined, and etcd keeps three members.
    let (s3, run3) = apply(&lab, data.path(), None, Some(("master2", "kubeadm-join")));
    assert!(s3.ok, "{run3}");
    assert!(
        run3.contains("the cluster lists it as a control plane and its etcd member as started"),
        "{run3}"
    );
    assert!(!run3.contains("kubeadm join as"), "{run3}");
    // That run made fresh join secrets for the join and, the plan's cleanup not being part of
    // a `--node master2` run, took them out again itself.
    assert!(
        run3.contains("[master1] cleanup-secrets:   deleted bootstrap token"),
        "{run3}"
    );
    assert_eq!(lab.bootstrap_tokens("master1"), Vec::<String>::new());
    assert_eq!(members(&lab).len(), 3);

    // The lab's mirrors are plain http with their signing keys pinned in the inventory: the
    // install above checked them. A pin that does not match stops the step before apt trusts
    // the key.
    assert!(
        run1.contains("has the pinned fingerprint"),
        "the pinned keys were checked:\n{run1}"
    );
    let inv = std::fs::read_to_string(&lab.inventory).unwrap();
    let pinned = inv
        .lines()
        .find(|l| l.starts_with("package_mirror_key = "))
        .expect("the lab pins its package mirror's key");
    let wrong = data.path().join("wrong-pin.toml");
    std::fs::write(
        &wrong,
        inv.replace(
            pinned,
            &format!("package_mirror_key = \"{}\"", "0".repeat(40)),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kha-tui"))
        .args(["apply", "--yes", "--accept-new-host-keys", "--config"])
        .arg(&wrong)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--node", "lb", "--from", "kubectl"])
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("but package_mirror_key pins 0000000000000000000000000000000000000000"),
        "{t}"
    );
    eprintln!("[{:?}] done", t0.elapsed());
}
