//! Lab, part 2: the stand-in Kubernetes (tests/lab/k8s) on real lab hosts.
//!
//! A manual HA install as the seed describes it, corrected for today, with only the lab's
//! packages: HAProxy on the LB, containerd and the stand-in kubeadm/kubelet/kubectl from the lab's
//! apt repositories, `kubeadm init` on master1, control-plane and worker joins through the LB,
//! Calico applied; then the failures kubeadm and the kubelet must report with the real ones' words,
//! and a control-plane failover. Traffic goes only to the hosts of labs these tests bring up.
//!
//! Without root or the lab's machine packages the tests print "skipping: ..." and pass; under
//! CI=true a missing prerequisite fails them.

#[path = "common/prereq.rs"]
mod prereq;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const NODE_SH: &str = include_str!("lab/k8s/manual/node.sh");
const LB_SH: &str = include_str!("lab/k8s/manual/lb.sh");
/// `apt_update`, which node.sh and lb.sh call.
const APT_SH: &str = include_str!("lab/k8s/manual/apt.sh");
const TOKEN: &str = "abcdef.0123456789abcdef";
/// An etcdctl of the bundled etcd "image", with the node's healthcheck client certificate.
const ETCDCTL: &str = "/usr/lib/kha-standin/images/etcd/etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";
/// HAProxy's view of the control planes, from its admin socket (no socat on the LB).
const HASTAT: &str = r#"python3 - <<'PY'
import socket
s = socket.socket(socket.AF_UNIX)
s.connect("/run/haproxy/admin.sock")
s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 17 and f[0] == "kube-apiserver" and f[1] not in ("BACKEND", "FRONTEND"):
        print(f[1], f[17])
PY"#;

fn lab_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab")
}

/// One lab of tests/lab/lab, taken down when dropped.
struct Lab {
    name: String,
    /// http://BRIDGE:8080, the lab's file server
    www: String,
    /// the first three octets of the lab's subnet
    net: String,
}

impl Lab {
    /// Brings lab NAME up with NODES, or returns None (skipping) when a prerequisite is missing.
    fn up(name: &str, nodes: &str) -> Option<Lab> {
        if !prereq::require(prereq::is_root(), "the lab needs root") {
            return None;
        }
        if !prereq::require(
            lab_script().exists(),
            "tests/lab/lab (lab part 1) is missing",
        ) {
            return None;
        }
        for tool in [
            "systemd-nspawn",
            "apt-cacher-ng",
            "debootstrap",
            "dpkg-deb",
            "apt-ftparchive",
            "gpg",
            "openssl",
        ] {
            if !prereq::require(prereq::have(tool), &format!("{tool} is not installed")) {
                return None;
            }
        }
        // Eleven booted systemd hosts at once need more inotify instances than the kernel's
        // default 128 per user (hosts then fail to boot: "Failed to create inotify object").
        let limit = "/proc/sys/fs/inotify/max_user_instances";
        let cur: u64 = std::fs::read_to_string(limit)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if cur < 1024 {
            let _ = std::fs::write(limit, "8192");
        }
        // A lab of an earlier, interrupted run of this test would be reused with stale hosts.
        let _ = Command::new(lab_script())
            .args(["--name", name, "down"])
            .output();
        let t0 = Instant::now();
        let out = Command::new(lab_script())
            .args(["--name", name, "up", "--nodes", nodes])
            .stdin(Stdio::null())
            .output()
            .expect("run tests/lab/lab up");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "lab up failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // from here on, a panic takes the lab down (Drop)
        let mut lab = Lab {
            name: name.to_string(),
            www: String::new(),
            net: String::new(),
        };
        let inventory = stdout.lines().last().unwrap_or("").trim().to_string();
        let text = std::fs::read_to_string(&inventory)
            .unwrap_or_else(|e| panic!("read inventory {inventory}: {e}"));
        let mirror = text
            .lines()
            .find_map(|l| l.strip_prefix("package_mirror = \""))
            .and_then(|l| l.strip_suffix("/pkgs.k8s.io\""))
            .unwrap_or_else(|| {
                panic!(
                    "no package_mirror in {inventory}: the www hook tests/lab/www.d/50-k8s did not \
                     build the repositories:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string();
        let host = mirror
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap();
        let net = host.rsplit_once('.').unwrap().0.to_string();
        eprintln!("lab {name} up in {:?}: {mirror}", t0.elapsed());
        lab.www = mirror;
        lab.net = net;
        Some(lab)
    }

    fn ip(&self, last: u8) -> String {
        format!("{}.{last}", self.net)
    }

    fn lb_endpoint(&self) -> String {
        format!("{}:6443", self.ip(10))
    }

    /// Runs SCRIPT with bash as root on HOST (through `lab ssh` as ops and sudo).
    fn sh(&self, host: &str, script: &str) -> Output {
        let mut child = Command::new(lab_script())
            .args([
                "--name",
                &self.name,
                "ssh",
                host,
                "sudo timeout 600 bash -s",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tests/lab/lab ssh");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        child.wait_with_output().expect("wait for lab ssh")
    }

    /// SCRIPT must succeed; returns its stdout and stderr together.
    fn ok(&self, host: &str, script: &str) -> String {
        let out = self.sh(host, script);
        let text = both(&out);
        assert!(
            out.status.success(),
            "on {host}: `{}` failed ({}):\n{text}",
            first_line(script),
            out.status
        );
        text
    }

    /// SCRIPT must fail; returns its stdout and stderr together.
    fn fails(&self, host: &str, script: &str) -> String {
        let out = self.sh(host, script);
        let text = both(&out);
        assert!(
            !out.status.success(),
            "on {host}: `{}` should have failed:\n{text}",
            first_line(script)
        );
        text
    }

    fn fault(&self, kind: &str, host: &str) {
        let out = Command::new(lab_script())
            .args(["--name", &self.name, "fault", kind, host])
            .stdin(Stdio::null())
            .output()
            .expect("run lab fault");
        assert!(
            out.status.success(),
            "lab fault {kind} {host}: {}",
            both(&out)
        );
    }

    /// node.sh on each (host, minor, containerd source, SystemdCgroup) at once.
    fn prepare_nodes(&self, nodes: &[(&str, u32, &str, bool)]) {
        thread::scope(|s| {
            for &(host, minor, source, systemd) in nodes {
                s.spawn(move || {
                    let script = format!(
                        "set -- {minor} {www}/pkgs.k8s.io {www}/docker {source} {systemd}\n{APT_SH}\n{NODE_SH}",
                        www = self.www
                    );
                    let out = self.ok(host, &script);
                    eprintln!("{host}: {}", out.lines().last().unwrap_or(""));
                });
            }
        });
    }

    /// Polls SCRIPT on HOST until its output contains WANT.
    fn wait_for(&self, host: &str, script: &str, want: &str, limit: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let text = both(&self.sh(host, script));
            if text.contains(want) {
                return text;
            }
            assert!(
                t0.elapsed() < limit,
                "on {host}: `{}` did not show {want:?} within {limit:?}; last:\n{text}",
                first_line(script)
            );
            thread::sleep(Duration::from_secs(2));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(lab_script())
            .args(["--name", &self.name, "down"])
            .stdin(Stdio::null())
            .output();
    }
}

fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn first_line(script: &str) -> &str {
    script
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("set --"))
        .unwrap_or("")
}

fn assert_has(text: &str, want: &str) {
    assert!(text.contains(want), "expected {want:?} in:\n{text}");
}

/// The value after FLAG in a kubeadm join command printed by init (continuation lines joined).
fn flag_value(output: &str, flag: &str) -> String {
    let joined = output.replace(" \\\n", " ");
    let mut words = joined.split_whitespace();
    while let Some(w) = words.next() {
        if w == flag {
            return words.next().unwrap_or_default().to_string();
        }
    }
    panic!("no {flag} in:\n{output}")
}

fn init_config(lab: &Lab, cert_key: &str) -> String {
    format!(
        "cat >/root/init.yaml <<'EOF'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: {TOKEN}
  ttl: 24h0m0s
certificateKey: {cert_key}
localAPIEndpoint:
  advertiseAddress: {adv}
nodeRegistration:
  name: master1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.1
controlPlaneEndpoint: {ep}
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
EOF
",
        adv = lab.ip(11),
        ep = lab.lb_endpoint()
    )
}

fn installation(cidr: &str) -> String {
    format!(
        "cat >/tmp/installation.yaml <<'EOF'
apiVersion: operator.tigera.io/v1
kind: Installation
metadata:
  name: default
spec:
  calicoNetwork:
    ipPools:
    - name: default-ipv4-ippool
      blockSize: 26
      cidr: {cidr}
      encapsulation: VXLANCrossSubnet
      natOutgoing: Enabled
      nodeSelector: all()
EOF
sudo -u ops kubectl apply -f /tmp/installation.yaml
"
    )
}

/// The whole manual install on 7 hosts, with every refusal on the way, then a failover.
#[test]
fn manual_ha_install_with_stand_ins() {
    let Some(lab) = Lab::up("k8sha", "lb,3cp,3w") else {
        return;
    };
    let t0 = Instant::now();
    let ep = lab.lb_endpoint();
    thread::scope(|s| {
        s.spawn(|| {
            let script = format!(
                "set -- 37 {}/pkgs.k8s.io {} {} {}\n{APT_SH}\n{LB_SH}",
                lab.www,
                lab.ip(11),
                lab.ip(12),
                lab.ip(13)
            );
            eprintln!("lb: {}", lab.ok("lb", &script).lines().last().unwrap_or(""));
        });
        lab.prepare_nodes(&[
            ("master1", 37, "auto", true),
            ("master2", 37, "auto", true),
            ("master3", 37, "auto", true),
            ("worker1", 37, "auto", true),
            ("worker2", 37, "auto", true),
            ("worker3", 37, "auto", true),
        ]);
    });
    // bookworm's containerd is 1.6: the 1.37 install took Docker's containerd.io (2.x)
    let v = lab.ok(
        "master1",
        "dpkg-query -W -f='${Version}' containerd.io; containerd --version",
    );
    assert_has(&v, "containerd/v2 2.");
    eprintln!("[{:?}] nodes prepared", t0.elapsed());

    // init on master1
    let key = lab
        .ok("master1", "kubeadm certs certificate-key")
        .trim()
        .to_string();
    assert_eq!(key.len(), 64, "certificate key: {key}");
    lab.ok("master1", &init_config(&lab, &key));
    let init = lab.ok(
        "master1",
        "kubeadm init --config /root/init.yaml --upload-certs",
    );
    assert_has(
        &init,
        "Your Kubernetes control-plane has initialized successfully!",
    );
    assert_has(
        &init,
        &format!("kubeadm join {ep} --token {TOKEN} \\\n\t--discovery-token-ca-cert-hash sha256:"),
    );
    assert_has(&init, &format!("--control-plane --certificate-key {key}"));
    let hash = flag_value(&init, "--discovery-token-ca-cert-hash");
    // the pin is the SHA-256 of the CA's DER SubjectPublicKeyInfo
    let pin = lab.ok(
        "master1",
        "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1",
    );
    assert_eq!(hash, format!("sha256:{}", pin.trim()));
    eprintln!("[{:?}] init done", t0.elapsed());

    // a second init on a done node is refused by preflight
    let again = lab.fails(
        "master1",
        "kubeadm init --config /root/init.yaml --upload-certs",
    );
    assert_has(&again, "[ERROR Port-6443]: Port 6443 is in use");
    assert_has(
        &again,
        "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists",
    );
    assert_has(
        &again,
        "[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty",
    );

    // discovery: a wrong token, a wrong CA pin
    let wrong_token = lab.fails(
        "worker1",
        &format!(
            "KUBEADM_STANDIN_DISCOVERY_TIMEOUT=4 kubeadm join {ep} --token zzzzzz.0123456789abcdef --discovery-token-ca-cert-hash {hash}"
        ),
    );
    assert_has(
        &wrong_token,
        "couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"zzzzzz\"",
    );
    let bad_pin = format!("sha256:{}", "0".repeat(64));
    let wrong_hash = lab.fails(
        "worker1",
        &format!("kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {bad_pin}"),
    );
    assert_has(
        &wrong_hash,
        &format!(
            "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{hash}\" are pinned"
        ),
    );

    // the certificate key: expired, then wrong, then a fresh one from upload-certs
    lab.ok(
        "master1",
        &format!("KUBEADM_STANDIN_CERTS_TTL=6 kubeadm init phase upload-certs --upload-certs --certificate-key {key}"),
    );
    thread::sleep(Duration::from_secs(12));
    let cp_join = |key: &str| {
        format!(
            "kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {key}"
        )
    };
    let expired = lab.fails("master2", &cp_join(&key));
    assert_has(
        &expired,
        "error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one",
    );
    let upload = lab.ok("master1", "kubeadm init phase upload-certs --upload-certs");
    let key = upload.trim().lines().last().unwrap().trim().to_string();
    assert!(
        key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "upload-certs did not print the key on its last line:\n{upload}"
    );
    let wrong = lab.fails("master2", &cp_join(&"ab".repeat(32)));
    assert_has(
        &wrong,
        "error downloading certs: error decoding secret data with provided key: cipher: message authentication failed",
    );
    let joined = lab.ok("master2", &cp_join(&key));
    assert_has(
        &joined,
        "This node has joined the cluster and a new control plane instance was created",
    );
    eprintln!("[{:?}] master2 joined", t0.elapsed());

    // a control-plane join while another member is still joining: etcd refuses to add a member
    // (etcd itself refuses a member add until the newest member has been connected for 5 s)
    let ghost = lab.wait_for(
        "master1",
        &format!("{ETCDCTL} member add ghost --peer-urls=https://127.0.0.99:2380"),
        " added to cluster ",
        Duration::from_secs(30),
    );
    let ghost_id = ghost
        .lines()
        .find(|l| l.starts_with("Member "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    let refused = lab.fails(
        "master3",
        &format!("KUBEADM_STANDIN_ETCD_API_TIMEOUT=6 {}", cp_join(&key)),
    );
    assert_has(
        &refused,
        "error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: re-configuration failed due to not enough started members",
    );
    lab.ok("master1", &format!("{ETCDCTL} member remove {ghost_id}"));
    // a failed control-plane join is cleaned up before it is retried
    let reset = lab.ok("master3", "kubeadm reset -f");
    assert_has(
        &reset,
        "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]",
    );
    let joined = lab.ok("master3", &cp_join(&key));
    assert_has(
        &joined,
        "This node has joined the cluster and a new control plane instance was created",
    );
    eprintln!("[{:?}] master3 joined", t0.elapsed());

    // three workers at once
    let worker_join =
        format!("kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {hash}");
    thread::scope(|s| {
        for w in ["worker1", "worker2", "worker3"] {
            let lab = &lab;
            let cmd = &worker_join;
            s.spawn(move || assert_has(&lab.ok(w, cmd), "This node has joined the cluster:"));
        }
    });
    let again = lab.fails("worker1", &worker_join);
    assert_has(
        &again,
        "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
    );
    assert_has(&again, "[ERROR Port-10250]: Port 10250 is in use");
    eprintln!("[{:?}] workers joined", t0.elapsed());

    // kubectl on the LB with admin.conf (never super-admin.conf)
    let admin = lab.ok("master1", "cat /etc/kubernetes/admin.conf");
    lab.ok(
        "lb",
        &format!(
            "install -d -o ops -g ops -m 700 /home/ops/.kube\ncat >/home/ops/.kube/config <<'EOF'\n{admin}EOF\nchown ops:ops /home/ops/.kube/config; chmod 600 /home/ops/.kube/config"
        ),
    );
    let nodes = lab.ok("lb", "sudo -u ops kubectl get nodes");
    assert_eq!(nodes.matches("NotReady").count(), 6, "no CNI yet:\n{nodes}");

    // Calico through the operator, from the manifest mirror; first with a pool outside podSubnet
    let base = format!("{}/calico/v3.33.0/manifests", lab.www);
    let applied = lab.ok(
        "lb",
        &format!(
            "sudo -u ops kubectl apply --server-side --force-conflicts -f {base}/operator-crds.yaml\n\
             sudo -u ops kubectl apply --server-side --force-conflicts -f {base}/tigera-operator.yaml\n\
             sudo -u ops kubectl wait --for=condition=Established --timeout=120s crd/installations.operator.tigera.io"
        ),
    );
    assert_has(
        &applied,
        "customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io condition met",
    );
    lab.ok("lb", &installation("192.168.0.0/16"));
    lab.wait_for(
        "lb",
        "sudo -u ops kubectl get installation default -o jsonpath='{.status.conditions[0].message}'",
        "Could not resolve CalicoNetwork IPPool and kubeadm configuration: IPPool 192.168.0.0/16 is not within the platform's configured pod network CIDR(s) [10.244.0.0/16]",
        Duration::from_secs(60),
    );
    let nodes = lab.ok("lb", "sudo -u ops kubectl get nodes");
    assert_eq!(
        nodes.matches("NotReady").count(),
        6,
        "a wrong pool gives no CNI:\n{nodes}"
    );
    lab.ok("lb", &installation("10.244.0.0/16"));
    lab.ok(
        "lb",
        "sudo -u ops kubectl wait --for=condition=Ready nodes --all --timeout=180s",
    );
    let nodes = lab.ok("lb", "sudo -u ops kubectl get nodes -o wide");
    eprintln!("{nodes}");
    assert_eq!(
        nodes.matches(" Ready ").count(),
        6,
        "6 nodes Ready:\n{nodes}"
    );
    assert_eq!(nodes.matches("control-plane").count(), 3, "{nodes}");
    let members = lab.ok("master1", &format!("{ETCDCTL} member list"));
    assert_eq!(
        members.matches(", started, ").count(),
        3,
        "3 etcd members:\n{members}"
    );
    eprintln!("[{:?}] 6 nodes Ready, 3 etcd members", t0.elapsed());

    // reset -f says what it leaves; then the node joins again
    let reset = lab.ok("worker3", "kubeadm reset -f");
    assert_has(
        &reset,
        "The reset process does not perform cleanup of CNI plugin configuration,\nnetwork filtering rules and kubeconfig files.",
    );
    lab.ok(
        "worker3",
        "test -e /etc/cni/net.d/10-calico.conflist && test ! -e /etc/kubernetes/kubelet.conf",
    );
    lab.ok("lb", "sudo -u ops kubectl delete node worker3");
    let join_cmd = lab.ok("master1", "kubeadm token create --print-join-command");
    assert!(
        join_cmd.starts_with(&format!("kubeadm join {ep} --token ")),
        "{join_cmd}"
    );
    assert_has(&join_cmd, &format!("--discovery-token-ca-cert-hash {hash}"));
    assert_has(
        &lab.ok("worker3", join_cmd.trim()),
        "This node has joined the cluster:",
    );
    lab.ok(
        "lb",
        "sudo -u ops kubectl wait --for=condition=Ready node/worker3 --timeout=120s",
    );

    // certificates as kubeadm reports them
    let exp = lab.ok("master1", "kubeadm certs check-expiration");
    assert_has(&exp, "CERTIFICATE AUTHORITY   EXPIRES");
    assert!(
        exp.lines()
            .any(|l| l.starts_with("apiserver ") && l.contains(" 364d ")),
        "{exp}"
    );

    // master1 powered off: the LB still answers, writes still work, HAProxy shows it DOWN
    lab.fault("poweroff", "master1");
    lab.wait_for("lb", HASTAT, "master1 DOWN", Duration::from_secs(30));
    let nodes = lab.ok("lb", "sudo -u ops kubectl get nodes");
    assert_has(&nodes, "master2");
    let label = lab.ok(
        "lb",
        "sudo -u ops kubectl label node worker1 lab.kha.dev/failover=yes --overwrite",
    );
    assert_has(&label, "node/worker1 labeled");
    let got = lab.ok(
        "lb",
        "sudo -u ops kubectl get node worker1 -o jsonpath='{.metadata.labels.lab\\.kha\\.dev/failover}'",
    );
    assert_eq!(got.trim(), "yes");
    lab.fault("poweron", "master1");
    lab.wait_for("lb", HASTAT, "master1 UP", Duration::from_secs(120));
    let members = lab.ok("master2", &format!("{ETCDCTL} endpoint health --cluster"));
    assert_eq!(members.matches("is healthy").count(), 3, "{members}");
    eprintln!("[{:?}] failover done", t0.elapsed());
}

/// Hosts that kubeadm's preflight or the kubelet refuse, each with the real one's words.
#[test]
fn refusals_on_misconfigured_hosts() {
    let Some(lab) = Lab::up("k8sneg", "4w") else {
        return;
    };
    lab.prepare_nodes(&[
        ("worker1", 37, "auto", true),
        ("worker2", 37, "auto", false), // containerd left at SystemdCgroup = false
        ("worker3", 36, "distro", true), // bookworm's containerd 1.6 under 1.36
        ("worker4", 35, "auto", true),  // a cgroup v1 host under 1.35 (below)
    ]);
    let config = "cat >/root/init.yaml <<'EOF'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
timeouts:
  kubeletHealthCheck: 20s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
networking:
  podSubnet: 10.244.0.0/16
EOF
";
    thread::scope(|s| {
        let lab = &lab;
        s.spawn(move || {
            // swap on (a swap line in /proc/swaps: overlayfs cannot hold a real swap file),
            // ip_forward off, port 6443 taken, containerd stopped
            let out = lab.fails(
                "worker1",
                &format!(
                    "{config}printf 'Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority\\n/swap.img                               file\\t\\t2097148\\t\\t0\\t\\t-2\\n' >/run/swaps
mount --bind /run/swaps /proc/swaps
swapon --show | grep -q swap.img
sysctl -qw net.ipv4.ip_forward=0
setsid python3 -m http.server 6443 </dev/null >/dev/null 2>&1 &
systemctl stop containerd
for _ in $(seq 50); do ss -ltn | grep -q ':6443 ' && break; sleep 0.2; done
kubeadm init --config /root/init.yaml"
                ),
            );
            assert_has(&out, "[ERROR Swap]: running with swap on is not supported. Please disable swap");
            assert_has(
                &out,
                "[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1",
            );
            assert_has(&out, "[ERROR Port-6443]: Port 6443 is in use");
            assert_has(&out, "[ERROR CRI]: container runtime is not running");
            assert_has(&out, "error execution phase preflight: [preflight] Some fatal errors occurred:");
            // containerd running with the CRI plugin disabled, as Docker's packaged config has it
            let out = lab.fails(
                "worker1",
                "printf 'disabled_plugins = [\"cri\"]\\n' >/etc/containerd/config.toml
systemctl start containerd
for _ in $(seq 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done
kubeadm init --config /root/init.yaml",
            );
            assert_has(
                &out,
                "unknown service runtime.v1.RuntimeService\"\n, error: exit status 1",
            );
        });
        let kubelet_refuses = |host: &'static str, prep: &'static str, want: &'static str| {
            s.spawn(move || {
                let out = lab.fails(host, &format!("{config}{prep}kubeadm init --config /root/init.yaml"));
                assert_has(&out, "[kubelet-check] The kubelet is not healthy after 20s");
                assert_has(
                    &out,
                    "error execution phase wait-control-plane: failed while waiting for the kubelet to start",
                );
                let journal = lab.ok(host, "journalctl -u kubelet --no-pager | grep 'command failed' | tail -1");
                assert_has(&journal, want);
            });
        };
        kubelet_refuses(
            "worker2",
            "",
            r#"failed to run Kubelet: misconfiguration: kubelet cgroup driver: \"systemd\" is different from the container runtime cgroup driver: \"cgroupfs\""#,
        );
        kubelet_refuses(
            "worker3",
            "",
            "containerd 1.6.20~ds1 is not supported by Kubernetes v1.36.1",
        );
        // The kubelet sees /sys/fs/cgroup as a cgroup v1 host has it (a tmpfs, not cgroup2fs).
        kubelet_refuses(
            "worker4",
            "mkdir -p /etc/systemd/system/kubelet.service.d
printf '[Service]\\nTemporaryFileSystem=/sys/fs/cgroup\\n' >/etc/systemd/system/kubelet.service.d/20-cgroup-v1.conf
systemctl daemon-reload
",
            "failed to validate kubelet configuration, error: kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release",
        );
    });
}

/// The stand-in kubeadm's and kubectl's words for mistakes caught before they touch the node
/// (runs on this machine; nothing here writes outside a temporary directory).
#[test]
fn stand_in_cli_wording() {
    let py = "/usr/bin/python3";
    let ok = std::path::Path::new(py).exists()
        && Command::new(py)
            .args(["-c", "import yaml, cryptography"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !prereq::require(
        ok,
        "/usr/bin/python3 with python3-yaml and python3-cryptography",
    ) {
        return;
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/k8s/standin/k8s_standin.py");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> (bool, String) {
        let out = Command::new(py)
            .arg(&script)
            .args(args)
            .env("KHA_STANDIN_VERSION", "1.37.1")
            .env("KHA_STANDIN_ROOT", dir.path())
            .env("KUBECONFIG", dir.path().join("none"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.success(), both(&out))
    };
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().to_string()
    };

    let (ok, v) = run(&["kubeadm", "version", "-o", "short"]);
    assert!(ok && v.trim() == "v1.37.1", "{v}");
    let (_, tok) = run(&["kubeadm", "token", "generate"]);
    let tok = tok.trim();
    assert!(
        tok.len() == 23
            && tok.as_bytes()[6] == b'.'
            && tok
                .chars()
                .all(|c| c == '.' || c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{tok}"
    );
    let (_, key) = run(&["kubeadm", "certs", "certificate-key"]);
    assert!(
        key.trim().len() == 64 && key.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );

    let unknown_field = file(
        "field.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podCIDR: 10.244.0.0/16\n",
    );
    let (ok, out) = run(&["kubeadm", "config", "validate", "--config", &unknown_field]);
    assert!(!ok);
    assert_has(
        &out,
        r#"error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta4", Kind:"ClusterConfiguration"}: strict decoding error: unknown field "networking.podCIDR""#,
    );
    let unknown_kind = file(
        "kind.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfig\n",
    );
    let (ok, out) = run(&["kubeadm", "init", "--config", &unknown_kind]);
    assert!(!ok);
    assert_has(
        &out,
        r#"no kind "InitConfig" is registered for version "kubeadm.k8s.io/v1beta4" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31""#,
    );
    let old = file(
        "old.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n",
    );
    let (ok, out) = run(&["kubeadm", "init", "--config", &old]);
    assert!(!ok);
    assert_has(
        &out,
        r#"your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2""#,
    );
    let (ok, out) = run(&[
        "kubeadm",
        "init",
        "--config",
        &unknown_field,
        "--certificate-key",
        "00",
    ]);
    assert!(!ok);
    assert_has(
        &out,
        "can not mix '--config' with arguments [certificate-key]",
    );
    let bad_token = file(
        "token.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: ABCDEF.0123456789abcdef\n",
    );
    let (ok, out) = run(&["kubeadm", "init", "--config", &bad_token]);
    assert!(!ok);
    assert_has(
        &out,
        r#"bootstrapTokens[0].token: Invalid value: "ABCDEF.0123456789abcdef": the bootstrap token "ABCDEF.0123456789abcdef" was not of the form"#,
    );
    // init only warns about an unknown field, as kubeadm does, and goes on to its preflight
    // (which fails here: there is no container runtime under the temporary root)
    let timeout_field = file(
        "timeout.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  timeoutForControlPlane: 4m0s\n",
    );
    let (ok, out) = run(&["kubeadm", "init", "--config", &timeout_field]);
    assert!(!ok);
    assert_has(
        &out,
        r#"initconfiguration.go:332] error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta4", Kind:"ClusterConfiguration"}: strict decoding error: unknown field "apiServer.timeoutForControlPlane""#,
    );
    assert_has(&out, "[ERROR CRI]: container runtime is not running");
    let (ok, out) = run(&["kubectl", "get", "nodes"]);
    assert!(!ok);
    assert_has(
        &out,
        "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
    );
}
