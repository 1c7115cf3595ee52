//! Backup and restore on lab hosts (tests/lab) with the stand-in Kubernetes: one install by the
//! real binary (lb, 3 control planes, 1 worker), then, in sequence on that one cluster and
//! checked outside kha-tui (kubectl through the LB, etcdctl on a member, files on the hosts):
//! ConfigMap A created, `kha-tui backup` (the archive 0600 in a 0700 dir, nothing left on the
//! control planes), B created and A deleted, a restore refused without the cluster's name,
//! `kha-tui restore --confirm NAME` → A exists and B does not, 3 etcd members started and
//! healthy, every node Ready; then backups after the restore pruned by `--keep`; then the
//! backup timer on the LB, its run ok and failed, shown by `status` and the cluster view.

#[path = "common/certs.rs"]
mod certs;
#[path = "common/kha.rs"]
mod kha;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
#[path = "day2_backup/timer.rs"]
mod timer;
use kha::{ETCDCTL, install, kha};
use output::text;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lab::Lab;

/// A ConfigMap in kube-system, created with kubectl on the LB (through HAProxy).
fn create_configmap(lab: &Lab, name: &str) {
    lab.ssh_ok(
        "lb",
        &format!(
            "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: {name}\\n  namespace: kube-system\\ndata:\\n  made: by-the-test\\n' >/tmp/{name}.yaml && kubectl apply -f /tmp/{name}.yaml"
        ),
    );
}

fn configmap_exists(lab: &Lab, name: &str) -> bool {
    let out = lab.ssh(
        "lb",
        &format!("kubectl -n kube-system get configmap {name}"),
    );
    if out.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("NotFound"),
        "kubectl get configmap {name} failed otherwise than NotFound: {err}"
    );
    false
}

/// The backup archives under the data dir `dd`, oldest first.
fn backups(dd: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dd.join("backups"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tar"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Polls `ok` every 3 s until it holds, panicking with `what` after `limit`.
fn until(what: &str, limit: Duration, mut ok: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        match ok() {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: not reached in {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_secs(3)),
        }
    }
}

/// Re-signs `cp`'s apiserver certificate (same key, subject and SANs) with the cluster CA for
/// 10 days, as an expiring certificate would look, and restarts its API server so it serves it.
fn shorten_apiserver_cert(lab: &Lab, cp: &str) {
    lab.ssh_ok(
        cp,
        &certs::shorten_apiserver_cert("/etc/kubernetes/pki/apiserver.crt"),
    );
    lab.ssh_ok(
        cp,
        "sudo timeout 180 sh -c 'mv /etc/kubernetes/manifests/kube-apiserver.yaml /root/ && \
         while crictl ps -q --name \"^kube-apiserver$\" | grep -q .; do sleep 1; done && \
         mv /root/kube-apiserver.yaml /etc/kubernetes/manifests/ && \
         until curl -fsk https://127.0.0.1:6443/readyz >/dev/null; do sleep 1; done'",
    );
}

/// Whether the certificate `addr:6443` serves is valid for more than `days` more days
/// (openssl from this machine, outside kha-tui).
fn served_valid_for(addr: &str, days: u64) -> bool {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "echo | timeout 20 openssl s_client -connect {addr}:6443 2>/dev/null | openssl x509 -noout -checkend {}",
            days * 86400
        ))
        .output()
        .unwrap();
    out.status.success()
}

/// The certificate the API server at ADDR serves, as a fingerprint: a renewal that restarted
/// the static pod changes it, one that did not (or did not reach that node) leaves it.
fn served_fingerprint(addr: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "echo | timeout 20 openssl s_client -connect {addr}:6443 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
        ))
        .output()
        .unwrap();
    let f = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(f.contains('='), "no certificate served at {addr}:6443");
    f
}

/// The client certificate of the operator's kubeconfig on the LB, as a fingerprint.
fn lb_kubeconfig_cert(lab: &Lab) -> String {
    lab.ssh_ok(
        "lb",
        "grep client-certificate-data ~/.kube/config | awk '{print $2}' | base64 -d | openssl x509 -noout -fingerprint -sha256",
    )
}

/// certs: one control plane's apiserver certificate shortened to 10 days; `kha-tui certs` flags
/// it; `kha-tui certs renew --yes`; then every API server serves a new certificate, good for
/// more than 300 days, and the LB's kubeconfig has a new client certificate.
fn certs_renewed_and_served_everywhere(lab: &Lab, inv: &str, dd: &str, cps: &[String]) {
    let t = Instant::now();
    let short = &cps[1];
    shorten_apiserver_cert(lab, short);
    assert!(
        !served_valid_for(lab.addr(short), 300),
        "{short} should serve the 10-day certificate now"
    );
    assert!(served_valid_for(lab.addr(&cps[0]), 300));
    let out = kha(&["certs", "--config", inv, "--data-dir", dd]);
    let table = text(&out);
    assert!(
        !out.status.success(),
        "a certificate under 30 days fails the check:\n{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with('!')
            && l.contains(short.as_str())
            && l.contains("apiserver (soonest)")),
        "{short}'s apiserver certificate flagged:\n{table}"
    );
    assert!(
        !table
            .lines()
            .any(|l| l.starts_with('!') && l.contains(cps[0].as_str())),
        "{table}"
    );
    let kubeconfig_before = lb_kubeconfig_cert(lab);
    let served_before: Vec<String> = cps
        .iter()
        .map(|cp| served_fingerprint(lab.addr(cp)))
        .collect();
    let out = kha(&["certs", "renew", "--config", inv, "--data-dir", dd, "--yes"]);
    assert!(out.status.success(), "certs renew:\n{}", text(&out));
    let after = text(&out);
    assert!(
        !after.lines().any(|l| l.starts_with('!')),
        "the table after the renewal still flags:\n{after}"
    );
    // New dates on every control plane, the two that were not shortened too: each serves
    // another certificate than before (the 300-day check alone cannot tell their original
    // one-year certificates from renewed ones).
    for (cp, before) in cps.iter().zip(&served_before) {
        assert!(
            served_valid_for(lab.addr(cp), 300),
            "{cp} serves a certificate valid for less than 300 days after the renewal"
        );
        assert_ne!(
            &served_fingerprint(lab.addr(cp)),
            before,
            "{cp} still serves the certificate it served before the renewal"
        );
    }
    assert_ne!(
        lb_kubeconfig_cert(lab),
        kubeconfig_before,
        "the LB's admin kubeconfig was not renewed"
    );
    lab.ssh_ok("lb", "kubectl get nodes");
    eprintln!("certs: {:.0}s", t.elapsed().as_secs_f64());
}

#[test]
fn backup_and_restore_on_one_installed_cluster() {
    if !lab::available("backup_and_restore_on_one_installed_cluster") {
        return;
    }
    let lab = Lab::up("lb,3cp,1w");
    let data = tempfile::tempdir().unwrap();
    let dd = data.path().display().to_string();
    let inv = lab.inventory.display().to_string();
    let cluster = kha_tui::inventory::validate::check(
        &kha_tui::inventory::parse(&std::fs::read_to_string(&lab.inventory).unwrap()).unwrap(),
    )
    .unwrap()
    .0;
    install("install", &inv, &dd);
    let t_checks = Instant::now();
    let cps: Vec<String> = lab
        .with_role("control-plane")
        .iter()
        .map(|h| h.name.clone())
        .collect();
    assert_eq!(cps.len(), 3, "{cps:?}");

    certs_renewed_and_served_everywhere(&lab, &inv, &dd, &cps);

    // A, then the backup.
    create_configmap(&lab, "kha-object-a");
    assert!(configmap_exists(&lab, "kha-object-a"));
    let t = Instant::now();
    let out = kha(&["backup", "--config", &inv, "--data-dir", &dd, "--keep", "3"]);
    assert!(out.status.success(), "backup:\n{}", text(&out));
    eprintln!("backup: {:.1}s\n{}", t.elapsed().as_secs_f64(), text(&out));
    let said = text(&out);
    assert!(said.contains("etcd snapshot checked: hash "), "{said}");
    let files = backups(data.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].clone();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("{}-", cluster.name)) && name.ends_with("Z.tar"),
        "named by cluster and UTC time: {name}"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(data.path().join("backups"))
            .unwrap()
            .mode()
            & 0o777,
        0o700
    );
    // The archive: the snapshot and the CAs and sa keys, as tar lists them.
    let listing = Command::new("tar").arg("-tf").arg(&file).output().unwrap();
    let listing = text(&listing);
    for f in [
        "snapshot.db",
        "pki/ca.key",
        "pki/sa.key",
        "pki/etcd/ca.key",
        "pki/front-proxy-ca.key",
    ] {
        assert!(
            listing.lines().any(|l| l == f),
            "{f} not in the archive:\n{listing}"
        );
    }
    for cp in &cps {
        lab.ssh_ok(
            cp,
            "sudo test ! -e /var/lib/etcd/kha-backup || { echo left behind; exit 1; }",
        );
    }
    // The status reports it (JSON and text).
    let out = kha(&[
        "status",
        "--config",
        &inv,
        "--data-dir",
        &dd,
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status printed no JSON ({e}):\n{}", text(&out)));
    assert_eq!(v["last_backup"]["ok"], true, "{v:#}");
    assert_eq!(
        v["last_backup"]["file"].as_str(),
        Some(file.display().to_string().as_str()),
        "{v:#}"
    );
    let out = kha(&["status", "--config", &inv, "--data-dir", &dd]);
    assert!(
        text(&out).contains("Last backup: ") && text(&out).contains(&name),
        "{}",
        text(&out)
    );

    // B, A deleted: what the restore must undo.
    create_configmap(&lab, "kha-object-b");
    lab.ssh_ok("lb", "kubectl -n kube-system delete configmap kha-object-a");
    assert!(!configmap_exists(&lab, "kha-object-a"));
    assert!(configmap_exists(&lab, "kha-object-b"));

    // Without the cluster's name nothing happens.
    let from = file.display().to_string();
    let out = kha(&[
        "restore",
        "--config",
        &inv,
        "--data-dir",
        &dd,
        "--from",
        &from,
        "--confirm",
        "wrong",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("--confirm {}", cluster.name)),
        "{}",
        text(&out)
    );
    assert!(configmap_exists(&lab, "kha-object-b"));

    let t = Instant::now();
    let out = kha(&[
        "restore",
        "--config",
        &inv,
        "--data-dir",
        &dd,
        "--from",
        &from,
        "--confirm",
        &cluster.name,
    ]);
    assert!(out.status.success(), "restore:\n{}", text(&out));
    eprintln!("restore: {:.1}s", t.elapsed().as_secs_f64());

    // By content, through the LB.
    until("A back after the restore", Duration::from_secs(60), || {
        if configmap_exists(&lab, "kha-object-a") {
            Ok(())
        } else {
            Err("A missing".into())
        }
    });
    assert!(
        !configmap_exists(&lab, "kha-object-b"),
        "B was made after the backup and must be gone"
    );
    // etcd: three started members of the restored cluster, all healthy (on a member).
    let list = lab.ssh_ok(&cps[0], &format!("{ETCDCTL} member list"));
    let started: Vec<&str> = list.lines().filter(|l| l.contains(", started, ")).collect();
    assert_eq!(started.len(), 3, "{list}");
    for cp in &cps {
        assert!(
            list.contains(&format!(", {cp}, ")),
            "{cp} not a member:\n{list}"
        );
    }
    lab.ssh_ok(&cps[1], &format!("{ETCDCTL} endpoint health --cluster"));
    // The old data was kept aside, the new one is in place.
    for cp in &cps {
        lab.ssh_ok(cp, "sudo sh -c 'ls -d /var/lib/etcd-before-restore-*/member && test -d /var/lib/etcd/member && test ! -e /var/lib/etcd/kha-restore'");
    }
    until("every node Ready", Duration::from_secs(180), || {
        let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
        let n = nodes.lines().count();
        let ready = nodes
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count();
        if n == 4 && ready == 4 {
            Ok(())
        } else {
            Err(nodes)
        }
    });

    // The restored cluster backs up again; --keep 1 leaves only the newest.
    std::thread::sleep(Duration::from_secs(1));
    let out = kha(&["backup", "--config", &inv, "--data-dir", &dd, "--keep", "1"]);
    assert!(
        out.status.success(),
        "backup after restore:\n{}",
        text(&out)
    );
    let after = backups(data.path());
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0], file, "the older backup was pruned");
    assert!(text(&out).contains("removed (--keep 1)"), "{}", text(&out));
    // The backup timer on the LB, as an operator meets it (tests/day2_backup/timer.rs).
    timer::timer_backup_shows_in_the_cluster_view(&lab, data.path());
    eprintln!(
        "checks after the install: {:.0}s",
        t_checks.elapsed().as_secs_f64()
    );
}
