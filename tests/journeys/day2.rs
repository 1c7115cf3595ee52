//! Journey 6: day 2 in the wizard, on journey 2's installed cluster. kha-tui started again with
//! the same --config opens on the cluster view (not the welcome screen); what it shows is checked
//! against kubectl through the LB and etcdctl on the control plane; a certificate 10 days from
//! expiry is named with its fix and the action (`kha-tui certs renew`), and the view is healthy
//! again once it is back; `a` adds a worker from the
//! wizard (kubectl through the LB lists it Ready, HAProxy's config is unchanged for a worker,
//! the inventory gains its entry with the comments kept); `x` removes it (kubectl no longer lists
//! it, its host is reset: /etc/kubernetes gone, the inventory entry gone); `R` then resets the
//! cluster from the wizard (its name typed) and every host is checked: nothing of the cluster left.

use std::path::Path;
use std::time::{Duration, Instant};

use super::lab::Lab;
use super::wizard::{Cluster, Wizard};

/// An etcdctl of the bundled etcd "image", with the node's healthcheck client certificate.
const ETCDCTL: &str = "sudo /usr/lib/kha-standin/images/etcd/etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";

/// The extra host of SPEC the journey adds and removes.
pub const NEW_WORKER: &str = "worker7";

fn kubectl_nodes(lab: &Lab, c: &Cluster) -> Vec<(String, String)> {
    lab.ssh_ok(&c.lb, "kubectl get nodes --no-headers")
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

/// Waits for the cluster view's verdict after a read (healthy or not).
fn wait_read(w: &Wizard, secs: u64) -> String {
    let (_, s) =
        w.t.wait_any(&["is healthy", "problem(s), fixes below"], secs);
    s
}

/// r until the view shows `want` (it also reads by itself every 10 s).
fn refresh_until(w: &Wizard, want: &str, secs: u64) -> String {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        w.keys(&["r"]);
        let scr = wait_read(w, 60);
        if scr.contains(want) {
            return scr;
        }
        assert!(
            Instant::now() < end,
            "the cluster view never showed {want:?}:\n{scr}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Something wrong on the cluster the view watches: the control plane's API server certificate
/// expires in 10 days (checked with openssl on the host). After r the view names it, in red
/// under 30 days, with the fix and the action that makes it (`kha-tui certs renew`); with the
/// original certificate back, it is healthy again.
fn something_wrong_is_named_with_its_fix(lab: &Lab, c: &Cluster, w: &Wizard) {
    let t = Instant::now();
    let (cp, _) = &c.control_planes[0];
    // The original is kept in /root/held, to be put back after.
    lab.ssh_ok(
        cp,
        &format!(
            "sudo mkdir -p /root/held && sudo cp -p /etc/kubernetes/pki/apiserver.crt /root/held/ && {}",
            super::certs::shorten_apiserver_cert("/root/held/apiserver.crt")
        ),
    );
    let soon = lab.ssh(
        cp,
        "sudo openssl x509 -noout -checkend 2592000 -in /etc/kubernetes/pki/apiserver.crt",
    );
    assert!(
        !soon.status.success(),
        "openssl: {cp}'s apiserver.crt should expire within 30 days now"
    );
    let scr = refresh_until(
        w,
        &format!("certificate(s) on {cp} expire within 30 days"),
        90,
    );
    assert!(scr.contains("problem(s), fixes below"), "{scr}");
    assert!(
        scr.contains("fix: on every control plane: kubeadm certs renew all"),
        "the fix is said:\n{scr}"
    );
    assert!(
        scr.contains("kha-tui certs renew"),
        "the action that makes the fix is offered:\n{scr}"
    );
    lab.ssh_ok(
        cp,
        "sudo cp -p /root/held/apiserver.crt /etc/kubernetes/pki/apiserver.crt",
    );
    let scr = refresh_until(w, &format!("✓ {} is healthy", c.name), 90);
    assert!(!scr.contains("expire within 30 days"), "{scr}");
    println!(
        "journey 6: {cp}'s certificate 10 days from expiry: named with its fix and action, healthy again after ({:.0?})",
        t.elapsed()
    );
}

pub fn day2_from_home(lab: &Lab, c: &Cluster, home: &Path, file: &Path) {
    let t0 = Instant::now();
    let haproxy_before = lab.ssh_ok(&c.lb, "sha256sum /etc/haproxy/haproxy.cfg");
    let w = Wizard::start_home("j6", lab, home, file);
    let scr = wait_read(&w, 120);
    assert!(scr.contains(&format!("✓ {} is healthy", c.name)), "{scr}");
    // The nodes as kubectl through the LB lists them, with the same status.
    for (name, status) in kubectl_nodes(lab, c) {
        assert!(
            scr.lines()
                .any(|l| l.contains(&format!(" {name} ")) && l.contains(&status)),
            "{name} {status} not on the cluster view:\n{scr}"
        );
    }
    // etcd's members as etcdctl on the control plane lists them.
    let (cp, _) = &c.control_planes[0];
    let members = lab.ssh_ok(cp, &format!("{ETCDCTL} member list"));
    let n = members.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        scr.contains(&format!("etcd ({n} members)")),
        "{members}\n{scr}"
    );
    for l in members.lines().filter(|l| !l.trim().is_empty()) {
        let id = l.split(',').next().unwrap().trim();
        assert!(scr.contains(id), "member {id} not shown:\n{scr}");
    }

    println!(
        "journey 6: home is the cluster view, matches kubectl and etcdctl ({:.0?})",
        t0.elapsed()
    );
    something_wrong_is_named_with_its_fix(lab, c, &w);
    let t1 = Instant::now();
    // a: the new worker, typed in the form, reviewed, then added on the run dashboard.
    let text_before = std::fs::read_to_string(file).unwrap();
    w.keys(&["a"]);
    w.wait("Add a node", 10);
    w.text(NEW_WORKER);
    w.keys(&["Tab"]);
    w.text(lab.addr(NEW_WORKER));
    w.keys(&["Enter"]);
    w.wait("Add a node — review", 10);
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        text_before,
        "nothing written before the yes"
    );
    w.keys(&["y"]);
    w.wait("Log ·", 30);
    // The new host's key is asked once; then the addition runs to its report.
    loop {
        let (i, s) = w.t.wait_any(
            &[
                "Unknown host key",
                "add worker7 to",
                "Confirm — this step asks",
            ],
            900,
        );
        match i {
            0 | 2 => {
                std::thread::sleep(Duration::from_millis(600));
                if i == 0 {
                    w.keys(&["Right", "Enter"]);
                } else {
                    w.keys(&["y"]);
                }
                std::thread::sleep(Duration::from_millis(800));
            }
            _ => {
                if s.contains("did not finish") {
                    panic!("the addition failed:\n{s}");
                }
                if s.contains("Esc  close") || s.contains("new [[nodes]] entry") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let report = w.wait("new [[nodes]] entry", 30);
    assert!(!report.contains("did not finish"), "{report}");
    w.keys(&["Escape"]);
    let scr = wait_read(&w, 120);
    assert!(scr.contains(NEW_WORKER), "{scr}");
    let nodes = kubectl_nodes(lab, c);
    assert!(
        nodes.iter().any(|(n, s)| n == NEW_WORKER && s == "Ready"),
        "kubectl get nodes through the LB: {nodes:?}"
    );
    assert_eq!(
        lab.ssh_ok(&c.lb, "sha256sum /etc/haproxy/haproxy.cfg"),
        haproxy_before,
        "a worker leaves HAProxy's config alone"
    );
    let text_after = std::fs::read_to_string(file).unwrap();
    assert!(
        text_after.contains(&format!("name = \"{NEW_WORKER}\"")),
        "{text_after}"
    );
    for comment in text_before
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
    {
        assert!(text_after.contains(comment), "comment {comment:?} lost");
    }

    println!(
        "journey 6: {NEW_WORKER} added from the wizard, Ready through the LB ({:.0?})",
        t1.elapsed()
    );
    let t2 = Instant::now();
    // x: pick the new worker, y, the removal on the run dashboard.
    w.keys(&["x"]);
    w.wait("Which node should leave", 10);
    for _ in 0..10 {
        let s = w.t.screen();
        if s.lines().any(|l| l.contains(&format!("▸ {NEW_WORKER}"))) {
            break;
        }
        w.keys(&["Down"]);
    }
    w.keys(&["Enter"]);
    w.wait("y removes it", 10);
    w.keys(&["y"]);
    let (i, s) = w.t.wait_any(&["removed; ", "did not finish"], 600);
    assert_eq!(i, 0, "the removal failed:\n{s}");
    w.keys(&["Escape"]);
    wait_read(&w, 120);
    let nodes = kubectl_nodes(lab, c);
    assert!(
        !nodes.iter().any(|(n, _)| n == NEW_WORKER),
        "still listed: {nodes:?}"
    );
    let left = lab.ssh(
        NEW_WORKER,
        "test -e /etc/kubernetes && echo present || echo absent",
    );
    assert_eq!(
        String::from_utf8_lossy(&left.stdout).trim(),
        "absent",
        "the removed host was reset"
    );
    let text_end = std::fs::read_to_string(file).unwrap();
    assert!(
        !text_end.contains(&format!("\"{NEW_WORKER}\"")),
        "{text_end}"
    );
    println!(
        "journey 6: {NEW_WORKER} removed from the wizard, its host reset ({:.0?})",
        t2.elapsed()
    );

    // R: the cluster's name typed (Enter refused before), the reset, its per-host report.
    let t3 = Instant::now();
    w.keys(&["R"]);
    w.wait("Reset the cluster", 10);
    w.keys(&["Enter"]);
    w.wait("type the cluster's name", 10);
    assert!(
        lab.ssh(&c.lb, "test -e ~/.kube/config").status.success(),
        "nothing reset yet"
    );
    w.text(&c.name);
    w.keys(&["Enter"]);
    let (i, s) =
        w.t.wait_any(&["packages stay installed", "did not finish"], 900);
    assert_eq!(i, 0, "the reset failed:\n{s}");
    assert!(
        s.contains(&format!("{}: ", c.lb)),
        "the report is per host:\n{s}"
    );
    for (n, _) in c.nodes() {
        // /etc/cni/net.d is emptied, not removed, while containerd runs: containerd 2.x exits
        // when the directory it watches goes (see tests/day2.rs's reset scenario).
        let left = lab.ssh(
            &n,
            "ls -d /etc/kubernetes /var/lib/etcd /var/lib/kubelet 2>/dev/null; ls -A /etc/cni/net.d 2>/dev/null",
        );
        let left = String::from_utf8_lossy(&left.stdout).trim().to_string();
        assert!(left.is_empty(), "left on {n} after the reset: {left}");
    }
    assert!(
        !lab.ssh(&c.lb, "test -e ~/.kube/config").status.success(),
        "the LB's kubeconfig is removed"
    );
    w.keys(&["Escape"]);
    w.quit();
    println!(
        "journey 6: {} reset from the wizard ({:.0?})",
        c.name,
        t3.elapsed()
    );
}
