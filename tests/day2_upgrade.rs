//! `kha-tui upgrade` on lab hosts (tests/lab) with the stand-in Kubernetes: ONE install at 1.35
//! with the distribution's containerd 1.6 (Debian bookworm), then, on that one cluster: `--to
//! 1.37` refused with the path (nothing changed); `--to 1.36` (containerd 2.x first) killed
//! during the workers' part and run again to the end; then 1.37 from the wizard (`u` on the
//! cluster view, kubeadm's plan shown, the name typed: tests/day2_upgrade/wizard.rs). After each upgrade, checked
//! outside kha-tui: every node's kubeletVersion and Ready through the LB's kubectl, the API's
//! /version through the LB, containerd's version and running config on every host, the
//! upgrade-in-progress ConfigMap present during the run and gone after, and the log's order per
//! worker (cordon/drain → kubeadm upgrade node → kubelet → uncordon, one worker at a time).

#[path = "common/kha.rs"]
mod kha;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
#[path = "day2_upgrade/wizard.rs"]
mod wizard;
use kha::{KHA, install, kha};
use output::text;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::Lab;

/// The inventory with Calico v3.31.3 and the sums of the lab mirror's v3.31.3 manifests.
fn calico_3_31(inv: &str) -> String {
    let mirror = inv
        .lines()
        .find_map(|l| l.strip_prefix("manifest_mirror = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the lab inventory names its manifest mirror")
        .to_string();
    let sum = |file: &str| {
        let url = format!("{mirror}/v3.31.3/manifests/{file}");
        let out = Command::new("python3")
            .args([
                "-c",
                "import hashlib, sys, urllib.request; \
                 print(hashlib.sha256(urllib.request.urlopen(sys.argv[1]).read()).hexdigest())",
                &url,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{url}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    inv.lines()
        .map(|l| {
            if l.starts_with("calico_version = ") {
                "calico_version = \"v3.31.3\"".to_string()
            } else if l.starts_with("manifest_crds_sha256 = ") {
                format!("manifest_crds_sha256 = \"{}\"", sum("operator-crds.yaml"))
            } else if l.starts_with("manifest_operator_sha256 = ") {
                format!(
                    "manifest_operator_sha256 = \"{}\"",
                    sum("tigera-operator.yaml")
                )
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The Tigera operator's image, through the LB (the stand-in manifests carry each Calico
/// release's operator version).
fn operator_image(lab: &Lab) -> String {
    lab.ssh_ok(
        "lb",
        "kubectl -n tigera-operator get deployment tigera-operator \
         -o jsonpath='{.spec.template.spec.containers[0].image}'",
    )
    .trim()
    .to_string()
}

const K8S_NODES: [&str; 6] = [
    "master1", "master2", "master3", "worker1", "worker2", "worker3",
];

/// Every node Ready with a kubelet of `minor`, and the API's /version through the LB.
fn check_cluster_at(lab: &Lab, minor: &str) {
    let nodes: serde_json::Value =
        serde_json::from_str(&lab.ssh_ok("lb", "kubectl get nodes -o json")).unwrap();
    for n in K8S_NODES {
        let node = nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metadata"]["name"] == n)
            .unwrap_or_else(|| panic!("{n} not listed"));
        let kv = node["status"]["nodeInfo"]["kubeletVersion"]
            .as_str()
            .unwrap();
        assert!(
            kv.starts_with(&format!("v{minor}.")),
            "{n} kubelet at {minor}: {kv}"
        );
        let ready = node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .map(|c| c["status"].clone());
        assert_eq!(ready, Some(serde_json::json!("True")), "{n} Ready");
    }
    let lb = lab.addr("lb").to_string();
    let v = lab.ssh_ok("lb", &format!("curl -fsSk https://{lb}:6443/version"));
    let v: serde_json::Value = serde_json::from_str(&v).unwrap();
    assert!(
        v["gitVersion"]
            .as_str()
            .unwrap()
            .starts_with(&format!("v{minor}.")),
        "API through the LB at {minor}: {v}"
    );
    for m in ["master1", "master2", "master3"] {
        let img = lab.ssh_ok(
            m,
            "sudo grep -h 'image:' /etc/kubernetes/manifests/kube-apiserver.yaml",
        );
        assert!(
            img.contains(&format!(":v{minor}.")),
            "{m}'s manifest: {img}"
        );
    }
    for n in K8S_NODES {
        let held = lab.ssh_ok(n, "apt-mark showhold");
        for p in ["kubeadm", "kubelet", "kubectl"] {
            assert!(held.lines().any(|l| l == p), "{n}: {p} held again:\n{held}");
        }
    }
}

fn mark(lab: &Lab) -> String {
    let o = lab.ssh(
        "lb",
        "kubectl -n kube-system get configmap kha-tui-upgrade -o 'jsonpath={.data.from}>{.data.to}' 2>/dev/null",
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The position of the first line containing all of `parts`.
fn at(log: &str, parts: &[&str]) -> usize {
    log.lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?} in the log"))
}

/// Per worker, in order: drain, kubeadm upgrade node, kubelet, uncordon; the next worker's
/// drain only after the one before is uncordoned (--max-unavailable 1).
fn check_worker_order(log: &str, minor: &str) {
    let mut last_uncordon = 0;
    for w in ["worker1", "worker2", "worker3"] {
        let drain = at(log, &[&format!("upgrade-{minor}-drain-{w}: ok")]);
        let kubeadm = at(log, &[&format!("[{w}] upgrade-{minor}-kubeadm: ok")]);
        let kubelet = at(log, &[&format!("[{w}] upgrade-{minor}-kubelet: ok")]);
        let uncordon_start = at(log, &[&format!("upgrade-{minor}-uncordon-{w}: Uncordon")]);
        let uncordon = at(log, &[&format!("upgrade-{minor}-uncordon-{w}: ok")]);
        let drain_start = at(log, &[&format!("upgrade-{minor}-drain-{w}: Cordon")]);
        assert!(
            last_uncordon <= drain_start
                && drain < kubeadm
                && kubeadm < kubelet
                && kubelet < uncordon_start
                && uncordon_start < uncordon,
            "{w}: drain {drain_start}..{drain}, kubeadm {kubeadm}, kubelet {kubelet}, uncordon {uncordon_start}..{uncordon} (previous uncordon {last_uncordon})"
        );
        last_uncordon = uncordon;
    }
}

#[test]
fn upgrade_one_minor_at_a_time_with_containerd_first_and_a_resume() {
    if !lab::available("upgrade_one_minor_at_a_time_with_containerd_first_and_a_resume") {
        return;
    }
    let t_all = Instant::now();
    let lab = Lab::up("lb,3cp,3w");
    let data = tempfile::tempdir().unwrap();
    let dd = data.path().display().to_string();
    let inv_text = std::fs::read_to_string(&lab.inventory)
        .unwrap()
        .replace(
            "kubernetes_version = \"1.37\"",
            "kubernetes_version = \"1.35\"",
        )
        .replace(
            "containerd_source = \"auto\"",
            "containerd_source = \"distro\"",
        );
    assert!(inv_text.contains("\"1.35\"") && inv_text.contains("\"distro\""));
    // Calico 3.31, which the versions table tests on 1.35 but not 1.36: the upgrade to 1.36
    // must move it to a line that supports 1.36 first. The lab's mirror serves stand-in
    // manifests, so their own sums are pinned, as the lab's inventory does for 3.33.
    let inv_text = calico_3_31(&inv_text);
    let inv_path = data.path().join("cluster.toml");
    std::fs::write(&inv_path, &inv_text).unwrap();
    let inv = inv_path.display().to_string();
    install("install at 1.35", &inv, &dd);
    check_cluster_at(&lab, "1.35");
    for n in K8S_NODES {
        let v = lab.ssh_ok(n, "containerd --version");
        assert!(v.contains(" 1.6."), "{n}: the distro's containerd 1.6: {v}");
    }

    assert_eq!(operator_image(&lab), "quay.io/tigera/operator:v1.40.3");

    // Two minors ahead: refused with the path, nothing changed.
    let out = kha(&[
        "upgrade",
        "--config",
        &inv,
        "--to",
        "1.37",
        "--yes",
        "--data-dir",
        &dd,
    ]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("1.35 → 1.36 → 1.37"), "{t}");
    assert!(
        t.contains("`kha-tui upgrade --to 1.36`, then `kha-tui upgrade --to 1.37`"),
        "{t}"
    );
    assert_eq!(mark(&lab), "", "no mark after a refusal");

    // 1.36, killed during the workers' part.
    let t1 = Instant::now();
    let log1 = data.path().join("upgrade-1.36-first.log");
    let mut child = Command::new(KHA)
        .args([
            "upgrade",
            "--config",
            &inv,
            "--to",
            "1.36",
            "--yes",
            "--data-dir",
            &dd,
        ])
        .stdout(std::fs::File::create(&log1).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1500);
    let mut mark_seen = String::new();
    loop {
        let l = std::fs::read_to_string(&log1).unwrap_or_default();
        if mark_seen.is_empty() && l.contains("upgrade-1.36-mark: ok") {
            mark_seen = mark(&lab);
        }
        if l.contains("[worker1] upgrade-1.36-kubeadm: ") {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            let mut e = String::new();
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            panic!("the first 1.36 run ended ({st}) before the workers' part:\n{l}\n{e}");
        }
        assert!(Instant::now() < deadline, "workers' part not reached:\n{l}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(mark_seen, "1.35>1.36", "the mark during the run");
    child.kill().unwrap();
    let _ = child.wait();
    let mut e1 = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut e1)
        .unwrap();
    let first = std::fs::read_to_string(&log1).unwrap();
    eprintln!(
        "1.36, first run killed after {:.0}s",
        t1.elapsed().as_secs_f64()
    );
    assert!(
        first.contains("kubeadm upgrade apply") || first.contains("SUCCESS! A control plane node"),
        "{first}"
    );
    assert_eq!(mark(&lab), "1.35>1.36", "the mark stays after the kill");
    // containerd 2.x on every control plane before the first control plane's apply.
    for m in ["master1", "master2", "master3"] {
        assert!(
            at(&first, &[&format!("[{m}] upgrade-1.36-containerd: ok")])
                < at(&first, &["[master1] upgrade-1.36-kubeadm: pkgs"]),
            "{m}'s containerd first"
        );
    }

    // Calico's new line before the first control plane's apply.
    assert!(
        at(&first, &["[master1] upgrade-1.36-calico: ok"])
            < at(&first, &["[master1] upgrade-1.36-kubeadm: pkgs"]),
        "Calico first"
    );
    assert_eq!(operator_image(&lab), "quay.io/tigera/operator:v1.42.0");

    // Run again: continues from where it stopped.
    let out = kha(&[
        "upgrade",
        "--config",
        &inv,
        "--to",
        "1.36",
        "--yes",
        "--data-dir",
        &dd,
    ]);
    let second = text(&out);
    assert!(out.status.success(), "second 1.36 run:\n{second}");
    eprintln!("1.36 done after {:.0}s in all", t1.elapsed().as_secs_f64());
    for step in [
        "[master1] upgrade-1.36-kubeadm",
        "[master3] upgrade-1.36-kubelet",
        "[master1] upgrade-1.36-etcd-snapshot",
    ] {
        assert!(
            second.contains(&format!("{step}: done in an earlier run, skipped")),
            "{step} not run again:\n{second}"
        );
    }
    assert!(
        !second.contains("SUCCESS! A control plane node"),
        "no second kubeadm upgrade apply"
    );
    assert!(
        second.contains("[master1] upgrade-1.36-mark: done in an earlier run, skipped"),
        "the mark is kept, not set again:\n{second}"
    );
    let whole = format!("{first}\n{second}");
    check_worker_order(&whole, "1.36");
    check_cluster_at(&lab, "1.36");
    assert_eq!(mark(&lab), "", "the mark is gone after the upgrade");
    for n in K8S_NODES {
        let v = lab.ssh_ok(n, "containerd --version");
        assert!(
            v.contains(" 2.") || v.contains(" v2."),
            "{n}: containerd 2.x: {v}"
        );
        let dump = lab.ssh_ok(n, "sudo containerd config dump");
        assert!(dump.contains("version = 3"), "{n}: config version 3");
        assert!(dump.contains("SystemdCgroup = true"), "{n}: SystemdCgroup");
    }
    // The stand-in's kubeadm refuses what kubeadm refuses, in its words (nothing changes).
    let skip = lab.ssh("master1", "sudo kubeadm upgrade apply v1.38.0 -y");
    let t = text(&skip);
    assert!(!skip.status.success(), "{t}");
    assert!(
        t.contains("is too high; kubeadm can upgrade only 1 minor version at a time"),
        "{t}"
    );
    let older = lab.ssh("master1", "sudo kubeadm upgrade apply v1.37.1 -y");
    let t = text(&older);
    assert!(!older.status.success(), "{t}");
    assert!(
        t.contains("is at least one minor release higher than the kubeadm minor release (37 > 36)"),
        "{t}"
    );
    let snap = lab.ssh_ok("master1", "sudo ls -l /var/lib/etcd/");
    assert!(
        snap.contains("kha-pre-upgrade-v1.36-") && snap.contains("-rw-------"),
        "{snap}"
    );

    // 1.37 from the wizard, in one run: the same plan, as an operator at the cluster view runs it.
    let t2 = Instant::now();
    let name = lab.name.clone();
    let third = wizard::upgrade_from_the_wizard(&inv_path, data.path(), &name, "1.37");
    eprintln!("1.37 from the wizard: {:.0}s", t2.elapsed().as_secs_f64());
    assert!(
        !third.contains("[upgrade-1.37-containerd]"),
        "containerd 2.x already: no step"
    );
    wizard::check_worker_order_in_log(&third, "1.37", &["worker1", "worker2", "worker3"]);
    check_cluster_at(&lab, "1.37");
    assert_eq!(mark(&lab), "");
    // Every upgrade run began with a backup kept here, as `kha-tui backup` keeps one: one
    // for each of the three runs (1.36, its resumed run, 1.37 from the wizard), each 0600.
    let tars: Vec<std::path::PathBuf> =
        std::fs::read_dir(std::path::Path::new(&dd).join("backups"))
            .expect("the backups directory")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "tar"))
            .collect();
    assert_eq!(tars.len(), 3, "{tars:?}");
    for t in &tars {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(t).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", t.display());
    }
    eprintln!("day2_upgrade in all: {:.0}s", t_all.elapsed().as_secs_f64());
}
