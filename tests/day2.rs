//! Day 2 on lab hosts (tests/lab) with the stand-in Kubernetes: one seed install by the real
//! binary, then the day-2 journeys in sequence on that one cluster, each checked outside
//! kha-tui (etcdctl on a member, HAProxy's stats socket on the LB, openssl and kubeadm on the
//! hosts). The lab has a fourth control plane and a fourth worker that the seed inventory leaves
//! out. In order: `kha-tui status --format json` on a healthy cluster, with a bootstrap token,
//! with a stopped etcd member and a DOWN API server, with a control plane powered off, and
//! healthy again; `kha-tui add-node` of master4 (written into the inventory by hand) and worker4
//! (with --name/--address/--role) → 8 Ready, 4 etcd members, 4 backends, nothing re-run on the
//! old nodes; `remove-node` (a PodDisruptionBudget, a pod volume still mounted, a live, a dead
//! and the first control plane); last, `kha-tui reset` interrupted once and run again, every
//! host checked for what Kubernetes, Calico and kube-proxy leave, then `kha-tui apply` installs
//! again from scratch on the same hosts.

#[path = "common/kha.rs"]
mod kha;
#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
use kha::{ETCDCTL, KHA, install, kha};
use output::text;

use std::process::Command;
use std::time::{Duration, Instant};

use lab::Lab;
use serde_json::Value;

struct Ctx {
    inv: String,
    dd: String,
}

impl Ctx {
    /// `kha-tui status --format json`: (exit success, report).
    fn status(&self) -> (bool, Value) {
        let t0 = Instant::now();
        let out = kha(&[
            "status",
            "--config",
            &self.inv,
            "--format",
            "json",
            "--data-dir",
            &self.dd,
        ]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("status printed no JSON ({e}):\n{}", text(&out)));
        eprintln!(
            "status: {} in {:.1}s, {} problem(s)",
            if out.status.success() {
                "healthy"
            } else {
                "problems"
            },
            t0.elapsed().as_secs_f64(),
            v["problems"].as_array().map_or(0, Vec::len)
        );
        (out.status.success(), v)
    }

    /// Polls status until `ok(report)` holds (HAProxy's checks and the node lifecycle take
    /// seconds to notice a change); returns the last report, panicking after `limit`.
    fn status_until(
        &self,
        what: &str,
        limit: Duration,
        ok: impl Fn(bool, &Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let (healthy, v) = self.status();
            if ok(healthy, &v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{what}: not reached in {limit:?}; last report:\n{v:#}");
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    }
}

fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["etcd_members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no etcd member {name} in {v:#}"))
}

fn backends(v: &Value, lb: &str) -> Vec<(String, String)> {
    v["load_balancers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == lb)
        .unwrap()["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_string(),
                b["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn problems(v: &Value) -> String {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} → {}",
                p["what"].as_str().unwrap(),
                p["fix"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// HAProxy's own `show stat` on the LB (stats socket, outside kha-tui): server → status.
fn haproxy_status(lab: &Lab) -> Vec<(String, String)> {
    let stat = lab.ssh_ok("lb", "echo 'show stat' | sudo python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(sys.stdin.buffer.read()); print(s.makefile().read())\"");
    stat.lines()
        .filter(|l| {
            l.starts_with("kube-apiserver,")
                && !l.starts_with("kube-apiserver,BACKEND,")
                && !l.starts_with("kube-apiserver,FRONTEND,")
        })
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[17].to_string())
        })
        .collect()
}

/// containerd's main PID on `n` (a new one: containerd exited and systemd started it again).
fn containerd_pid(lab: &Lab, n: &str) -> String {
    let pid = lab.ssh_ok(n, "systemctl show -p MainPID --value containerd");
    assert_ne!(pid.trim(), "0", "containerd runs on {n}");
    pid.trim().to_string()
}

/// For a path that came back after a reset: what is there, since when, and what runs.
fn what_runs(lab: &Lab, n: &str) -> String {
    text(&lab.ssh(
        n,
        "sudo sh -c 'date; ls -la --full-time /etc/cni/net.d /etc/cni /var/lib/kubelet 2>&1; \
         ps -eo pid,ppid,pgid,lstart,args; systemctl status --no-pager kubelet containerd 2>&1 | head -40; \
         journalctl --no-pager -u kubelet -u containerd --since -10min 2>&1 | tail -80'",
    ))
}

fn all_healthy(v: &Value, nodes: usize, members: usize) -> bool {
    v["nodes"].as_array().unwrap().len() == nodes
        && v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["ready"] == true)
        && v["etcd_members"].as_array().unwrap().len() == members
        && v["etcd_members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["healthy"] == true)
        && v["load_balancers"][0]["backends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["status"] == "UP")
}

#[test]
fn day2_on_one_installed_cluster() {
    if !lab::available("day2_on_one_installed_cluster") {
        return;
    }
    let lab = Lab::up("lb,4cp,4w");
    let data = tempfile::tempdir().unwrap();
    // The seed inventory: the lab's without master4 and worker4 (comments kept).
    let full = std::fs::read_to_string(&lab.inventory).unwrap();
    let seed = kha_tui::day2::inventory_edit::with_node_removed(&full, "master4").unwrap();
    let seed = kha_tui::day2::inventory_edit::with_node_removed(&seed, "worker4").unwrap();
    let seed_path = data.path().join("cluster.toml");
    std::fs::write(&seed_path, &seed).unwrap();
    let cx = Ctx {
        inv: seed_path.display().to_string(),
        dd: data.path().display().to_string(),
    };
    install("install", &cx.inv, &cx.dd);
    let t_day2 = Instant::now();

    // Healthy: 6 Ready nodes with their roles and kubelet version, 3 started healthy etcd
    // members with one leader, 3 backends UP, no token, every certificate a year off.
    let v = cx.status_until("a healthy cluster", Duration::from_secs(120), |ok, v| {
        ok && all_healthy(v, 6, 3)
    });
    assert_eq!(
        v["problems"].as_array().unwrap().len(),
        0,
        "{}",
        problems(&v)
    );
    let nodes = v["nodes"].as_array().unwrap();
    let m1 = nodes.iter().find(|n| n["name"] == "master1").unwrap();
    assert_eq!(m1["roles"], serde_json::json!(["control-plane"]), "{m1}");
    let w1 = nodes.iter().find(|n| n["name"] == "worker1").unwrap();
    assert_eq!(w1["roles"], serde_json::json!([]), "{w1}");
    let kubectl_version = lab.ssh_ok(
        "lb",
        "kubectl get node worker1 --no-headers | awk '{print $5}'",
    );
    assert_eq!(w1["version"], kubectl_version.trim(), "{w1}");
    // etcd's members as etcdctl on master1 lists them (hex ids), and its leader.
    let listed = lab.ssh_ok("master1", &format!("{ETCDCTL} member list"));
    for m in v["etcd_members"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        assert!(
            listed.lines().any(
                |l| l.starts_with(&format!("{id},")) && l.contains(m["name"].as_str().unwrap())
            ),
            "member {m} not in etcdctl's list:\n{listed}"
        );
        assert_eq!(m["started"], true, "{m}");
        assert!(m["db_size"].as_u64().unwrap() > 0, "{m}");
    }
    let leaders: Vec<&Value> = v["etcd_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["leader"] == true)
        .collect();
    assert_eq!(leaders.len(), 1, "one leader: {v:#}");
    let ep = lab.ssh_ok(
        "master1",
        &format!("{ETCDCTL} endpoint status --cluster -w table"),
    );
    let leader_row = ep
        .lines()
        .find(|l| l.split('|').nth(5).map(str::trim) == Some("true"))
        .unwrap_or_else(|| panic!("no leader in\n{ep}"));
    assert!(
        leader_row.contains(leaders[0]["id"].as_str().unwrap()),
        "kha-tui's leader {} is etcd's:\n{ep}",
        leaders[0]
    );
    assert_eq!(
        backends(&v, "lb"),
        vec![
            ("master1".to_string(), "UP".to_string()),
            ("master2".into(), "UP".into()),
            ("master3".into(), "UP".into())
        ]
    );
    assert_eq!(
        v["tokens"].as_array().unwrap().len(),
        0,
        "the install leaves no token"
    );
    // Certificates: each control plane's apiserver certificate, with the date openssl reads.
    for cp in ["master1", "master2", "master3"] {
        let c = v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["node"] == cp && c["name"] == "apiserver")
            .unwrap_or_else(|| panic!("no apiserver certificate of {cp}: {v:#}"));
        let days = c["residual_days"].as_u64().unwrap();
        assert!((363..=365).contains(&days), "{c}");
        let end = lab.ssh_ok(
            cp,
            "sudo openssl x509 -noout -enddate -in /etc/kubernetes/pki/apiserver.crt",
        );
        // notAfter=Dec  7 14:00:00 2027 GMT  vs  Dec 07, 2027 14:00 UTC
        let f: Vec<&str> = end
            .trim()
            .trim_start_matches("notAfter=")
            .split_whitespace()
            .collect();
        let exp = c["expires"].as_str().unwrap();
        assert!(
            exp.starts_with(&format!("{} {:0>2}, {} {}", f[0], f[1], f[3], &f[2][..5])),
            "kha-tui says {exp}, openssl says {end}"
        );
        let ca = v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["node"] == cp && c["name"] == "ca")
            .unwrap();
        assert_eq!(ca["authority"], true);
        assert!(ca["residual_days"].as_u64().unwrap() > 3000, "{ca}");
    }
    let soonest: Vec<&Value> = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["soonest"] == true)
        .collect();
    assert!(
        !soonest.is_empty() && soonest.iter().all(|c| c["authority"] == false),
        "{soonest:?}"
    );

    // A bootstrap token made on master1: status lists its id, never its secret.
    let tok = lab.ssh_ok("master1", "sudo kubeadm token create --ttl 2h");
    let tok = tok.trim();
    let (id, secret) = tok.split_once('.').unwrap();
    let out = kha(&[
        "status",
        "--config",
        &cx.inv,
        "--format",
        "json",
        "--data-dir",
        &cx.dd,
    ]);
    let t = text(&out);
    assert!(!t.contains(secret), "the token's secret was printed:\n{t}");
    let out_text = kha(&["status", "--config", &cx.inv, "--data-dir", &cx.dd]);
    assert!(!text(&out_text).contains(secret));
    assert!(text(&out_text).contains(id), "{}", text(&out_text));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{v:#}");
    assert_eq!(tokens[0]["id"], id);
    assert!(
        tokens[0]["ttl"].as_str().unwrap().ends_with('h')
            || tokens[0]["ttl"].as_str().unwrap().ends_with('m')
    );
    lab.ssh_ok("master1", &format!("sudo kubeadm token delete {id}"));

    // etcd stopped on master3 and the API server stopped on master2 (their static pod
    // manifests moved away, as an operator or a broken upgrade would): master3's member is
    // not healthy, HAProxy marks master2 DOWN — each seen from outside too — and both are
    // named with a fix. Quorum (2 of 3) holds, so the API still answers through the LB.
    lab.ssh_ok(
        "master3",
        "sudo mkdir -p /root/held && sudo mv /etc/kubernetes/manifests/etcd.yaml /root/held/",
    );
    lab.ssh_ok("master2", "sudo mkdir -p /root/held && sudo mv /etc/kubernetes/manifests/kube-apiserver.yaml /root/held/");
    let v = cx.status_until(
        "a stopped member and a DOWN backend",
        Duration::from_secs(90),
        |ok, v| {
            !ok && member(v, "master3")["healthy"] != true
                && backends(v, "lb")
                    .iter()
                    .any(|(n, s)| n == "master2" && s.starts_with("DOWN"))
        },
    );
    let p = problems(&v);
    assert!(p.contains("etcd member master3"), "{p}");
    assert!(p.contains("marks master2's API server DOWN"), "{p}");
    assert!(!p.contains("lost quorum"), "{p}");
    assert_eq!(member(&v, "master1")["healthy"], true);
    assert_eq!(member(&v, "master2")["healthy"], true);
    assert_eq!(
        v["nodes"].as_array().unwrap().len(),
        6,
        "the API answers: {v:#}"
    );
    let health = lab.ssh("master1", &format!("{ETCDCTL} endpoint health --cluster"));
    assert!(
        text(&health)
            .lines()
            .any(|l| l.contains(lab.addr("master3")) && l.contains("unhealthy")),
        "etcd itself sees master3 down:\n{}",
        text(&health)
    );
    assert!(
        haproxy_status(&lab)
            .iter()
            .any(|(n, s)| n == "master2" && s.starts_with("DOWN")),
        "{:?}",
        haproxy_status(&lab)
    );
    lab.ssh_ok(
        "master3",
        "sudo mv /root/held/etcd.yaml /etc/kubernetes/manifests/",
    );
    lab.ssh_ok(
        "master2",
        "sudo mv /root/held/kube-apiserver.yaml /etc/kubernetes/manifests/",
    );

    // master3 powered off: unreachable, its member without an answer, its backend DOWN.
    cx.status_until("healthy again", Duration::from_secs(120), |ok, v| {
        ok && all_healthy(v, 6, 3)
    });
    lab.fault_ok(&["poweroff", "master3"]);
    let v = cx.status_until("master3 powered off", Duration::from_secs(90), |ok, v| {
        !ok && backends(v, "lb")
            .iter()
            .any(|(n, s)| n == "master3" && s.starts_with("DOWN"))
    });
    assert!(
        v["unreachable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["node"] == "master3"),
        "{v:#}"
    );
    assert_ne!(member(&v, "master3")["healthy"], true, "{v:#}");
    let p = problems(&v);
    assert!(p.contains("cannot reach master3"), "{p}");
    assert!(p.contains("etcd member master3"), "{p}");
    assert!(
        p.contains("etcdctl member remove"),
        "the fix for a gone member: {p}"
    );
    lab.fault_ok(&["poweron", "master3"]);
    cx.status_until(
        "healthy after master3 is back",
        Duration::from_secs(180),
        |ok, v| ok && all_healthy(v, 6, 3),
    );

    // add-node: master4 added to the file by hand (the operator's way), worker4 by the flags.
    // Evidence that nothing runs again on the old nodes: a marker file older than anything
    // kha-tui writes, and containerd's start time.
    let old = [
        "master1", "master2", "master3", "worker1", "worker2", "worker3",
    ];
    // master1 makes the join secrets (/etc/kha holds them while the joins run): its /etc/kha
    // changes by design, nothing else of it may.
    let evidence = |n: &str| {
        format!(
            "systemctl show containerd -p ActiveEnterTimestamp; sudo find {} /etc/containerd /etc/apt/sources.list.d /etc/kubernetes -newer /tmp/kha-day2-marker",
            if n == "master1" { "" } else { "/etc/kha" }
        )
    };
    let mut before = Vec::new();
    for n in old {
        lab.ssh_ok(n, "touch /tmp/kha-day2-marker");
        before.push(lab.ssh_ok(n, &evidence(n)));
    }
    let by_hand = format!(
        "{}\n# added on day 2\n[[nodes]]\nname = \"master4\"\naddress = \"{}\"\nrole = \"control-plane\"\n",
        std::fs::read_to_string(&seed_path).unwrap().trim_end(),
        lab.addr("master4")
    );
    std::fs::write(&seed_path, by_hand).unwrap();
    let t_add = Instant::now();
    let out = kha(&[
        "add-node",
        "--config",
        &cx.inv,
        "--name",
        "worker4",
        "--address",
        lab.addr("worker4"),
        "--role",
        "worker",
        "--accept-new-host-keys",
        "--data-dir",
        &cx.dd,
    ]);
    let t = text(&out);
    eprintln!("add-node: {:.0}s", t_add.elapsed().as_secs_f64());
    assert!(out.status.success(), "add-node:\n{t}");
    assert!(
        t.contains("adding master4 (control-plane), worker4 (worker)"),
        "{t}"
    );
    for n in old {
        assert!(
            !t.contains(&format!("[{n}] prepare")),
            "{n} prepared again:\n{t}"
        );
        assert!(
            !t.contains(&format!("[{n}] kubeadm-")),
            "{n} joined again:\n{t}"
        );
    }
    assert!(t.contains("[master4] kubeadm-join: ok"), "{t}");
    assert!(t.contains("[worker4] kubeadm-join: ok"), "{t}");
    let inv_now = std::fs::read_to_string(&seed_path).unwrap();
    assert!(
        inv_now.contains("# added on day 2"),
        "comments kept:\n{inv_now}"
    );
    assert!(inv_now.contains("name = \"worker4\""), "{inv_now}");
    for (n, b) in old.iter().zip(&before) {
        assert_eq!(&lab.ssh_ok(n, &evidence(n)), b, "something changed on {n}");
    }
    let v = cx.status_until(
        "8 nodes, 4 members, 4 backends",
        Duration::from_secs(180),
        |ok, v| ok && all_healthy(v, 8, 4) && backends(v, "lb").len() == 4,
    );
    assert_eq!(
        v["tokens"].as_array().unwrap().len(),
        0,
        "the join token was taken out: {v:#}"
    );
    let listed = lab.ssh_ok("master1", &format!("{ETCDCTL} member list"));
    assert_eq!(listed.lines().count(), 4, "{listed}");
    assert!(listed.contains("master4"), "{listed}");
    let hb = haproxy_status(&lab);
    assert_eq!(hb.len(), 4, "{hb:?}");
    assert!(hb.iter().all(|(_, s)| s == "UP"), "{hb:?}");
    lab.ssh_ok("lb", "sudo haproxy -c -q -f /etc/haproxy/haproxy.cfg");
    let ready = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    assert_eq!(
        ready
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count(),
        8,
        "{ready}"
    );

    // remove-node worker4, blocked by a PodDisruptionBudget (a pod of a ReplicaSet on worker4,
    // a budget that allows no disruption): refused with the budget and the pod named, nothing
    // removed; without the budget it goes through.
    let pdb = r#"apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: default
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: 0b7d1f6e-0000-4000-8000-000000000001, controller: true}
spec:
  nodeName: worker4
  containers:
  - {name: web, image: registry.k8s.io/pause:3.10}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web-pdb
  namespace: default
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: web}
"#;
    std::fs::write(data.path().join("pdb.yaml"), pdb).unwrap();
    let kubectl_apply = |f: &str| {
        let out = Command::new("ssh")
            .args(lab.ssh_args())
            .arg(format!("ops@{}", lab.addr("lb")))
            .arg("kubectl apply -f -")
            .stdin(std::fs::File::open(data.path().join(f)).unwrap())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    };
    kubectl_apply("pdb.yaml");
    let remove = |args: &[&str]| {
        let t0 = Instant::now();
        let mut a = vec!["remove-node"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--config", &cx.inv, "--data-dir", &cx.dd]);
        let out = kha(&a);
        eprintln!(
            "remove-node {args:?}: {:.0}s\n{}",
            t0.elapsed().as_secs_f64(),
            text(&out)
        );
        out
    };
    let out = remove(&["worker4", "--yes", "--drain-timeout", "12"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("blocked by a PodDisruptionBudget in namespace default (web-pdb) protecting pod(s) web-1"), "{t}");
    assert!(
        std::fs::read_to_string(&seed_path)
            .unwrap()
            .contains("\"worker4\""),
        "still in the inventory"
    );
    assert!(
        lab.ssh_ok("lb", "kubectl get nodes --no-headers")
            .contains("worker4")
    );
    lab.ssh_ok("lb", "kubectl delete poddisruptionbudget web-pdb");
    // A pod's volume still mounted under /var/lib/kubelet (an NFS share, say; here a bind
    // mount of a directory with data): the reset unmounts it and never deletes into it.
    assert_eq!(
        lab.ssh_ok(
            "worker4",
            "sudo sh -ec 'mkdir -p /srv/kha-share /var/lib/kubelet/pods/p1/volumes/kubernetes.io~nfs/v; \
             echo precious >/srv/kha-share/data; \
             mount --bind /srv/kha-share /var/lib/kubelet/pods/p1/volumes/kubernetes.io~nfs/v; \
             cat /var/lib/kubelet/pods/p1/volumes/kubernetes.io~nfs/v/data'"
        )
        .trim(),
        "precious"
    );
    let containerd_before = containerd_pid(&lab, "worker4");
    let out = remove(&["worker4", "--yes", "--drain-timeout", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        lab.ssh_ok(
            "worker4",
            "findmnt -rn -o TARGET | grep -c '^/var/lib/kubelet/' || true"
        )
        .trim(),
        "0",
        "nothing mounted under /var/lib/kubelet any more"
    );
    assert!(
        !lab.ssh_ok("lb", "kubectl get nodes --no-headers")
            .contains("worker4")
    );
    assert!(
        !std::fs::read_to_string(&seed_path)
            .unwrap()
            .contains("\"worker4\"")
    );
    assert!(
        std::fs::read_to_string(&seed_path)
            .unwrap()
            .contains("# added on day 2"),
        "comments kept"
    );
    // containerd's RestartSec is 5 s: look after it would have come back.
    std::thread::sleep(Duration::from_secs(8));
    let left = lab.ssh_ok(
        "worker4",
        "sudo ls -d /etc/kubernetes /var/lib/kubelet /etc/kha 2>/dev/null || true; sudo ls -A /etc/cni/net.d 2>/dev/null || true",
    );
    assert!(
        left.trim().is_empty(),
        "left on worker4: {left}\nwhy:\n{}",
        what_runs(&lab, "worker4")
    );
    assert_eq!(
        lab.ssh_ok("worker4", "cat /srv/kha-share/data").trim(),
        "precious",
        "the volume's data stays"
    );
    assert_eq!(
        containerd_pid(&lab, "worker4"),
        containerd_before,
        "containerd kept running through the reset (it exits when /etc/cni/net.d is removed)"
    );

    // A control plane needs its name typed again.
    let out = remove(&["master4", "--yes"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--confirm master4"), "{}", text(&out));
    // remove-node master4 (live): 3 members, 3 backends, nothing of it left.
    let out = remove(&["master4", "--confirm", "master4"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = lab.ssh_ok("master1", &format!("{ETCDCTL} member list"));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(!listed.contains("master4"), "{listed}");
    let hb = haproxy_status(&lab);
    assert_eq!(
        hb.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["master1", "master2", "master3"],
        "{hb:?}"
    );
    let left = lab.ssh_ok(
        "master4",
        "sudo ls -A /var/lib/etcd /etc/kubernetes 2>/dev/null || true",
    );
    assert_eq!(left.trim(), "", "left on master4: {left}");

    // master3 powered off: refused without --unreachable; with it, its member is removed from
    // a healthy control plane — no ghost — and the node object is gone.
    lab.fault_ok(&["poweroff", "master3"]);
    let out = remove(&["master3", "--confirm", "master3"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("pass --unreachable"), "{}", text(&out));
    let out = remove(&["master3", "--unreachable", "--confirm", "master3"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = lab.ssh_ok("master1", &format!("{ETCDCTL} member list"));
    assert_eq!(listed.lines().count(), 2, "no ghost: {listed}");
    assert!(!listed.contains("master3"), "{listed}");
    assert!(
        !lab.ssh_ok("lb", "kubectl get nodes --no-headers")
            .contains("master3")
    );
    // etcdctl prints healthy endpoints on stderr.
    let health = text(&lab.ssh("master1", &format!("{ETCDCTL} endpoint health --cluster")));
    assert_eq!(
        health.lines().filter(|l| l.contains("is healthy")).count(),
        2,
        "{health}"
    );

    // The first control plane (the one that ran kubeadm init): master2 takes over.
    let out = remove(&["master1", "--confirm", "master1"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("master2 is the first control plane from now on"),
        "{t}"
    );
    let listed = lab.ssh_ok("master2", &format!("{ETCDCTL} member list"));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert_eq!(haproxy_status(&lab).len(), 1);
    // ...and a later add-node still works: master4 (reset by its removal) joins again, through
    // master2's join secrets.
    let out = kha(&[
        "add-node",
        "--config",
        &cx.inv,
        "--name",
        "master4",
        "--address",
        lab.addr("master4"),
        "--role",
        "control-plane",
        "--data-dir",
        &cx.dd,
    ]);
    let t = text(&out);
    assert!(
        out.status.success(),
        "add-node after the first control plane left:\n{t}"
    );
    assert!(t.contains("join secrets from master2"), "{t}");
    let v = cx.status_until(
        "master2 and master4, three workers",
        Duration::from_secs(180),
        |ok, v| ok && all_healthy(v, 5, 2) && backends(v, "lb").len() == 2,
    );
    assert_eq!(v["tokens"].as_array().unwrap().len(), 0, "{v:#}");
    let listed = lab.ssh_ok("master2", &format!("{ETCDCTL} member list"));
    assert!(
        listed.contains("master4") && listed.lines().count() == 2,
        "{listed}"
    );

    // Reset, the last scenario (it destroys the cluster): interrupted once (Ctrl-C while the
    // workers are done and the control planes are not) and run again. Debris of the kind
    // Calico and kube-proxy leave, beyond what the stand-in's calico-node writes itself (its
    // CNI config in /etc/cni/net.d): Calico-named links, KUBE-/cali- iptables chains, a
    // kube-proxy nftables table, CNI state dirs; and a rule and a table of the operator's own,
    // which must stay.
    let cluster_name = v["cluster"].as_str().unwrap().to_string();
    let nodes_now = ["master2", "master4", "worker1", "worker2", "worker3"];
    for n in nodes_now {
        lab.ssh_ok(n, "sudo sh -ec 'ip link add cali0test type veth peer name kha0peer; ip link add vxlan.calico type veth peer name kha1peer; \
            iptables -N KUBE-SERVICES-TEST; iptables -A KUBE-SERVICES-TEST -j RETURN; iptables -N cali-INPUT-TEST; iptables -A INPUT -j cali-INPUT-TEST; \
            iptables -N OPERATOR-KEEP; iptables -A INPUT -j OPERATOR-KEEP; mkdir -p /var/lib/calico /var/lib/cni/networks; \
            if command -v nft >/dev/null; then nft add table ip kube-proxy; nft add table inet operator-keep; fi'");
        let cni = lab.ssh_ok(n, "sudo ls /etc/cni/net.d");
        assert!(
            cni.contains("10-calico.conflist"),
            "{n}: calico-node wrote its CNI config: {cni}"
        );
    }
    let out = kha(&["reset", "--config", &cx.inv, "--data-dir", &cx.dd]);
    assert!(!out.status.success(), "no terminal, no --confirm: refused");
    assert!(
        text(&out).contains(&format!("--confirm {cluster_name}")),
        "{}",
        text(&out)
    );
    let out = kha(&[
        "reset",
        "--config",
        &cx.inv,
        "--data-dir",
        &cx.dd,
        "--confirm",
        "not-this-cluster",
    ]);
    assert!(!out.status.success(), "the wrong name: refused");
    assert!(
        lab.ssh_ok("master2", "sudo ls /etc/kubernetes")
            .contains("admin.conf"),
        "nothing changed"
    );
    let containerd_before: Vec<String> =
        nodes_now.iter().map(|n| containerd_pid(&lab, n)).collect();
    let t_reset = Instant::now();
    let log1 = data.path().join("reset1.log");
    let f = std::fs::File::create(&log1).unwrap();
    let mut child = Command::new(KHA)
        .args([
            "reset",
            "--config",
            &cx.inv,
            "--data-dir",
            &cx.dd,
            "--confirm",
            &cluster_name,
        ])
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let l = std::fs::read_to_string(&log1).unwrap_or_default();
        if l.contains("[master2] reset-node:") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Mid-way through master2's `kubeadm reset`.
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let st = child.wait().unwrap();
    let r1 = std::fs::read_to_string(&log1).unwrap();
    eprintln!("reset, interrupted:\n{r1}");
    assert!(!st.success(), "the interrupted reset says so:\n{r1}");
    let out = kha(&[
        "reset",
        "--config",
        &cx.inv,
        "--data-dir",
        &cx.dd,
        "--confirm",
        &cluster_name,
    ]);
    let t = text(&out);
    eprintln!(
        "reset again (whole reset {:.0}s):\n{t}",
        t_reset.elapsed().as_secs_f64()
    );
    assert!(out.status.success(), "{t}");
    assert!(t.contains("reset report:"), "{t}");
    for h in nodes_now.iter().chain(&["lb"]) {
        assert!(
            t.contains(&format!("  {h}: ")),
            "a report line for {h}: {t}"
        );
    }
    // The LB's step may have finished in the interrupted run: its report is in one of the two.
    assert!(
        r1.contains("lb: removed") || t.contains("lb: removed"),
        "{r1}\n{t}"
    );
    assert!(t.contains("archived to"), "{t}");
    // Anything that could write the paths again runs on after the reset: look a while later.
    std::thread::sleep(Duration::from_secs(15));
    for (i, n) in nodes_now.iter().copied().enumerate() {
        assert_eq!(
            containerd_pid(&lab, n),
            containerd_before[i],
            "containerd kept running on {n} through the reset"
        );
        // /etc/cni/net.d may stay, empty: containerd watches it (see node-reset.sh).
        let left = lab.ssh_ok(n, "sudo ls -d /var/lib/cni /var/lib/calico /var/lib/etcd /var/lib/kubelet /etc/kubernetes /etc/kha 2>/dev/null || true; sudo ls -A /etc/cni/net.d 2>/dev/null || true");
        if !left.trim().is_empty() {
            panic!("left on {n}: {left}\nwhy:\n{}", what_runs(&lab, n));
        }
        let links = lab.ssh_ok(n, "ip -o link show | awk -F': ' '{print $2}'");
        assert!(
            !links.lines().any(|l| l.starts_with("cali")
                || l.starts_with("tunl0")
                || l.starts_with("vxlan.calico")),
            "{n}: {links}"
        );
        let rules = lab.ssh_ok(n, "sudo iptables-save");
        assert!(
            !rules.contains("KUBE-") && !rules.contains("cali-"),
            "{n}: {rules}"
        );
        assert!(
            rules.contains("OPERATOR-KEEP"),
            "the operator's rule stays on {n}: {rules}"
        );
        let tables = lab.ssh_ok(n, "sudo nft list tables 2>/dev/null || true");
        assert!(
            !tables.contains("kube-proxy") && !tables.contains("calico"),
            "{n}: {tables}"
        );
        if lab.ssh(n, "command -v nft").status.success() {
            assert!(
                tables.contains("inet operator-keep"),
                "the operator's table stays on {n}: {tables}"
            );
        }
        let ipvs = lab.ssh_ok(
            n,
            "command -v ipvsadm >/dev/null && sudo ipvsadm -Ln | sed -n '4,$p' || true",
        );
        assert_eq!(ipvs.trim(), "", "{n}: IPVS services left");
        assert!(
            lab.ssh_ok(n, "dpkg-query -W -f='${Status}' kubeadm kubelet kubectl")
                .matches("ok installed")
                .count()
                == 3, // "hold ok installed": kha-tui holds them
            "packages stay on {n}"
        );
        assert!(
            !lab.ssh_ok(n, "systemctl is-active kubelet || true")
                .starts_with("active"),
            "{n}'s kubelet stopped"
        );
    }
    let lb_left = lab.ssh_ok("lb", "ls ~/.kube/config 2>/dev/null || true; grep -c kube-apiserver /etc/haproxy/haproxy.cfg || true; sudo haproxy -c -q -f /etc/haproxy/haproxy.cfg && echo valid; ls /etc/kha 2>/dev/null || true");
    assert_eq!(lb_left.trim(), "0\nvalid", "{lb_left}");
    assert_eq!(
        lab.ssh_ok(
            "lb",
            "dpkg-query -W -f='${Status}' haproxy; systemctl is-active haproxy"
        )
        .trim(),
        "install ok installedactive",
        "HAProxy stays, with the distro's default"
    );
    let state_dir = data.path().join("state");
    assert!(!state_dir.join(format!("{cluster_name}.json")).exists());
    assert!(
        std::fs::read_dir(state_dir.join("archive"))
            .unwrap()
            .count()
            >= 1
    );
    // A third reset finds nothing to do.
    let out = kha(&[
        "reset",
        "--config",
        &cx.inv,
        "--data-dir",
        &cx.dd,
        "--confirm",
        &cluster_name,
    ]);
    assert!(
        out.status.success() && text(&out).contains("nothing left to remove"),
        "{}",
        text(&out)
    );

    // kha-tui apply installs again from scratch on the same hosts (master2 now runs kubeadm
    // init); every node Ready by kubectl through the LB.
    let t0 = Instant::now();
    let out = kha(&["apply", "--config", &cx.inv, "--yes", "--data-dir", &cx.dd]);
    let t = text(&out);
    eprintln!("apply after reset: {:.0}s", t0.elapsed().as_secs_f64());
    assert!(out.status.success(), "{t}");
    assert!(t.contains("[master2] kubeadm-init:"), "{t}");
    cx.status_until("installed again", Duration::from_secs(180), |ok, v| {
        ok && all_healthy(v, 5, 2)
    });
    let nodes = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    assert_eq!(nodes.lines().count(), 5, "{nodes}");
    assert!(
        nodes
            .lines()
            .all(|l| l.split_whitespace().nth(1) == Some("Ready")),
        "{nodes}"
    );

    eprintln!("day 2 scenarios: {:.0}s", t_day2.elapsed().as_secs_f64());
}
