//! Day 2 on lab hosts (tests/lab) with the stand-in Kubernetes: one seed install by the real
//! binary, then the day-2 journeys in sequence on that one cluster, each checked outside
//! kha-tui (etcdctl on a member, HAProxy's stats socket on the LB, openssl and kubeadm on the
//! hosts). Part 1: `kha-tui status --format json` on a healthy cluster, with a bootstrap token,
//! with a stopped etcd member and a DOWN API server, with a control plane powered off, and
//! healthy again.

#[path = "common/lab.rs"]
mod lab;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lab::Lab;
use serde_json::Value;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

/// An etcdctl of the bundled etcd "image", with the node's healthcheck client certificate.
const ETCDCTL: &str = "sudo /usr/lib/kha-standin/images/etcd/etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";

fn kha(args: &[&str]) -> Output {
    Command::new(KHA).args(args).output().expect("kha-tui runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

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
        .filter(|l| l.starts_with("kube-apiserver,") && !l.contains(",BACKEND,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[17].to_string())
        })
        .collect()
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
fn day2_status_on_one_installed_cluster() {
    if !lab::available("day2_status_on_one_installed_cluster") {
        return;
    }
    let lab = Lab::up("lb,3cp,3w");
    let data = tempfile::tempdir().unwrap();
    let cx = Ctx {
        inv: lab.inventory.display().to_string(),
        dd: data.path().display().to_string(),
    };
    let t0 = Instant::now();
    let out = kha(&[
        "apply",
        "--config",
        &cx.inv,
        "--yes",
        "--accept-new-host-keys",
        "--data-dir",
        &cx.dd,
    ]);
    assert!(out.status.success(), "install:\n{}", text(&out));
    eprintln!("install: {:.0}s", t0.elapsed().as_secs_f64());
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
    eprintln!("day 2 scenarios: {:.0}s", t_day2.elapsed().as_secs_f64());
}
