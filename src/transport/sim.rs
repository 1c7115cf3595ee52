//! A simulated fleet behind the same `Transport` trait: the demo and `apply --simulate` run the
//! real engine against it. Each node answers the engine's commands with realistic step times
//! and log lines, keeps the files uploaded to it, and checks the join secrets the way kubeadm
//! would (a wrong token or CA pin is refused), so the engine's secret handling is exercised.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ExitStatus, HostKeyQuestion, Output, Session, Target, Transport, TransportError};

/// The simulated cluster CA (a real certificate, so the engine's CA pin is computed for real).
pub const SIM_CA_CERT: &str = include_str!("sim-ca.crt");

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// This node fails once, mid-run (its Kubernetes packages step), so retry can be seen.
    pub fail_node: Option<String>,
    /// 1.0 = the whole install in about a minute; larger is faster.
    pub speed: f64,
    /// This node presents an unknown host key, asked about at connect.
    pub unknown_host_key: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            fail_node: None,
            speed: 1.0,
            unknown_host_key: None,
        }
    }
}

#[derive(Default)]
struct FleetState {
    /// node → path → (content, mode)
    files: HashMap<String, HashMap<String, (Vec<u8>, u32)>>,
    failed_once: HashSet<String>,
    /// What the simulated control plane accepts: the token and the certificate key.
    token: Option<String>,
    certificate_key: Option<String>,
    /// node → every command it ran, in order.
    commands: HashMap<String, Vec<String>>,
    /// Nodes whose swap is on (until a swap-off fix or the prepare step runs there).
    swap_on: HashSet<String>,
}

#[derive(Clone)]
pub struct SimFleet {
    opts: SimOptions,
    state: Arc<Mutex<FleetState>>,
}

impl SimFleet {
    pub fn new(opts: SimOptions) -> SimFleet {
        SimFleet {
            opts,
            state: Arc::default(),
        }
    }

    /// `node` starts with swap on, so preflight warns and offers its one-key fix.
    pub fn with_swap_on(self, node: &str) -> SimFleet {
        self.state
            .lock()
            .expect("lock")
            .swap_on
            .insert(node.to_string());
        self
    }

    /// Content of a file the engine uploaded to `node` (latest write wins).
    pub fn file(&self, node: &str, path: &str) -> Option<(String, u32)> {
        let st = self.state.lock().expect("lock");
        st.files
            .get(node)?
            .get(path)
            .map(|(c, m)| (String::from_utf8_lossy(c).into_owned(), *m))
    }

    /// Every uploaded file of a node whose path contains `part`, as (path, content, mode).
    pub fn files_matching(&self, node: &str, part: &str) -> Vec<(String, String, u32)> {
        let st = self.state.lock().expect("lock");
        let mut v: Vec<_> = st
            .files
            .get(node)
            .map(|m| {
                m.iter()
                    .filter(|(p, _)| p.contains(part))
                    .map(|(p, (c, mode))| {
                        (p.clone(), String::from_utf8_lossy(c).into_owned(), *mode)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The commands a node ran, in order.
    pub fn commands(&self, node: &str) -> Vec<String> {
        self.state
            .lock()
            .expect("lock")
            .commands
            .get(node)
            .cloned()
            .unwrap_or_default()
    }

    /// The token the simulated cluster accepts (set by init or a refresh).
    pub fn accepted_token(&self) -> Option<String> {
        self.state.lock().expect("lock").token.clone()
    }
}

pub struct SimSession {
    node: String,
    fleet: SimFleet,
    workdir_counter: u32,
}

fn sim_fingerprint(node: &str) -> String {
    // Stable per node name; shaped like OpenSSH's SHA256 fingerprints.
    use base64::Engine as _;
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(format!("kha-tui simulated host key {node}").as_bytes());
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(d)
    )
}

impl Transport for SimFleet {
    type Session = SimSession;

    async fn connect(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> Result<SimSession, TransportError> {
        tokio::time::sleep(
            Duration::from_millis(150 + 40 * (target.node.len() as u64 % 5))
                .div_f64(self.opts.speed),
        )
        .await;
        if self.opts.unknown_host_key.as_deref() == Some(target.node.as_str()) {
            let fingerprint = sim_fingerprint(&target.node);
            let Some(q) = questions else {
                return Err(TransportError::HostKeyUnknown {
                    host: target.host.clone(),
                    fingerprint,
                });
            };
            let (answer, rx) = tokio::sync::oneshot::channel();
            let _ = q
                .send(HostKeyQuestion {
                    node: target.node.clone(),
                    host: target.host.clone(),
                    port: target.port,
                    algorithm: "ssh-ed25519".into(),
                    fingerprint: fingerprint.clone(),
                    answer,
                })
                .await;
            if !rx.await.unwrap_or(false) {
                return Err(TransportError::HostKeyUnknown {
                    host: target.host.clone(),
                    fingerprint,
                });
            }
        }
        Ok(SimSession {
            node: target.node.clone(),
            fleet: self.clone(),
            workdir_counter: 0,
        })
    }
}

/// What each step prints, with the pause before each line (milliseconds at speed 1.0).
fn script_for(step: &str) -> Vec<(u64, &'static str)> {
    match step {
        "haproxy" => vec![
            (300, "Reading package lists..."),
            (600, "Setting up haproxy (2.8.5-1ubuntu3) ..."),
            (500, "Configuration file is valid"),
            (400, "wrote /etc/haproxy/haproxy.cfg"),
            (600, "haproxy listens on port 6443"),
        ],
        "prepare" => vec![
            (200, "cgroup: cgroup2fs"),
            (500, "swap turned off"),
            (
                300,
                "swap lines commented out of /etc/fstab (backup /etc/fstab.kha-bak)",
            ),
            (300, "swap.target masked"),
            (400, "wrote /etc/modules-load.d/k8s.conf"),
            (300, "wrote /etc/sysctl.d/k8s.conf"),
            (600, "node prepared"),
        ],
        "containerd" => vec![
            (
                800,
                "Hit:1 http://archive.ubuntu.com/ubuntu noble InRelease",
            ),
            (
                900,
                "apt offers containerd 1.7.28-0ubuntu1~24.04.1; this Kubernetes minor needs >= 2.0",
            ),
            (
                1200,
                "Get:5 https://download.docker.com/linux/ubuntu noble/stable amd64 containerd.io 2.1.5-1~ubuntu.24.04~noble [23.1 MB]",
            ),
            (
                1800,
                "Setting up containerd.io (2.1.5-1~ubuntu.24.04~noble) ...",
            ),
            (700, "containerd 2.1.5 installed from docker"),
            (900, "wrote /etc/containerd/config.toml"),
            (
                800,
                "containerd 2.1.5: SystemdCgroup = true, sandbox registry.k8s.io/pause:3.10.1 (config version 3)",
            ),
            (500, "wrote /etc/crictl.yaml"),
        ],
        "kube-packages" | "kubectl" => vec![
            (900, "wrote /etc/apt/keyrings/kubernetes-apt-keyring.gpg"),
            (500, "wrote /etc/apt/sources.list.d/kubernetes.list"),
            (
                1500,
                "Get:1 https://pkgs.k8s.io/core:/stable:/v1.37/deb  InRelease [1186 B]",
            ),
            (
                2200,
                "Get:4 https://pkgs.k8s.io/core:/stable:/v1.37/deb  kubeadm 1.37.1-1.1 [12.4 MB]",
            ),
            (2000, "Setting up kubelet (1.37.1-1.1) ..."),
            (
                1200,
                "installed kubelet=1.37.1-1.1 kubeadm=1.37.1-1.1 kubectl=1.37.1-1.1",
            ),
            (400, "kubeadm 1.37.1-1.1 (held)"),
        ],
        "kubeadm-init" => vec![
            (400, "kubeadm init v1.37.1"),
            (800, "[preflight] Running pre-flight checks"),
            (1500, "[certs] Generating \"ca\" certificate and key"),
            (
                900,
                "[certs] apiserver serving cert is signed for DNS names [kubernetes lb.example.internal master1]",
            ),
            (1200, "[kubeconfig] Writing \"admin.conf\" kubeconfig file"),
            (
                1500,
                "[control-plane] Creating static Pod manifest for \"kube-apiserver\"",
            ),
            (
                2500,
                "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods",
            ),
            (
                1500,
                "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace",
            ),
            (300, "[upload-certs] Using certificate key:"),
            (100, "@CERTKEY@"),
            (700, "[bootstrap-token] Using token: @TOKEN@"),
            (
                600,
                "Your Kubernetes control-plane has initialized successfully!",
            ),
            (800, "the API answers through the control-plane endpoint"),
        ],
        "refresh-join-secrets" => vec![
            (600, "bootstrap token created"),
            (
                900,
                "control-plane certificates uploaded again under a new key (valid for 2 hours)",
            ),
        ],
        "kubeadm-join" => vec![
            (500, "[preflight] Running pre-flight checks"),
            (
                900,
                "[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...",
            ),
            (1200, "[kubelet-start] Starting the kubelet"),
            (1500, "[kubelet-check] The kubelet is healthy after 1.5s"),
            (900, "This node has joined the cluster"),
        ],
        "kubeconfig" => vec![
            (400, "kubectl on this node reaches the endpoint"),
            (300, "~/.kube/config written (0600)"),
        ],
        "calico" => vec![
            (
                900,
                "customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io serverside-applied",
            ),
            (1200, "deployment.apps/tigera-operator serverside-applied"),
            (900, "installation.operator.tigera.io/default created"),
            (500, "Calico applied"),
        ],
        "wait-ready" => vec![
            (2500, "node/master1 condition met"),
            (1500, "node/worker3 condition met"),
            (800, "all nodes are Ready"),
        ],
        "cleanup-secrets" => vec![(200, "removed /etc/kha/kubeadm-init.yaml")],
        "fix-swap-off" => vec![
            (300, "swap turned off"),
            (
                300,
                "swap lines commented out of /etc/fstab (backup /etc/fstab.kha-bak)",
            ),
            (300, "swap.target masked"),
        ],
        _ => vec![(200, "done")],
    }
}

fn yaml_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().trim_matches('"')))
        .map(|v| v.trim_start_matches("- ").trim_matches('"'))
}

impl SimSession {
    fn staged(&self, part: &str) -> Option<String> {
        self.fleet
            .files_matching(&self.node, part)
            .into_iter()
            .map(|(_, c, _)| c)
            .next_back()
    }

    /// kubeadm's checks on a join: the token and the CA pin, and for control planes the key.
    fn check_join(&self) -> Result<(), String> {
        let cfg = self
            .staged("file-kubeadm-join-0")
            .ok_or("no join configuration")?;
        let st = self.fleet.state.lock().expect("lock");
        let token = yaml_value(&cfg, "token:").unwrap_or("");
        if st.token.as_deref() != Some(token) {
            let id = token.split('.').next().unwrap_or("");
            return Err(format!(
                "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"{id}\""
            ));
        }
        let hash = cfg
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("- \"sha256:"))
            .map(|h| h.trim_end_matches('"'))
            .unwrap_or("");
        let want = crate::engine::secrets::ca_cert_hash(SIM_CA_CERT).expect("sim CA parses");
        if format!("sha256:{hash}") != want {
            return Err(format!(
                "error execution phase preflight: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{want}\" are pinned"
            ));
        }
        if cfg.contains("controlPlane:") {
            let key = yaml_value(&cfg, "certificateKey:").unwrap_or("");
            if st.certificate_key.as_deref() != Some(key) {
                return Err("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: failed to decrypt data: cipher: message authentication failed".into());
            }
        }
        Ok(())
    }

    async fn run_step(&mut self, step: &str, out: &mpsc::Sender<Output>) -> ExitStatus {
        let speed = self.fleet.opts.speed;
        if step == "prepare" || step == "fix-swap-off" {
            self.fleet
                .state
                .lock()
                .expect("lock")
                .swap_on
                .remove(&self.node);
        }
        if step == "kubeadm-init" || step == "refresh-join-secrets" {
            let part = if step == "kubeadm-init" {
                "file-kubeadm-init-0"
            } else {
                "file-refresh-join-secrets-0"
            };
            if let Some(cfg) = self.staged(part) {
                let mut st = self.fleet.state.lock().expect("lock");
                st.token = yaml_value(&cfg, "- token:").map(str::to_string);
                st.certificate_key = yaml_value(&cfg, "certificateKey:").map(str::to_string);
            }
        }
        let fail_here = step == "kube-packages"
            && self.fleet.opts.fail_node.as_deref() == Some(self.node.as_str())
            && self
                .fleet
                .state
                .lock()
                .expect("lock")
                .failed_once
                .insert(self.node.clone());
        let (token, key) = {
            let st = self.fleet.state.lock().expect("lock");
            (
                st.token.clone().unwrap_or_default(),
                st.certificate_key.clone().unwrap_or_default(),
            )
        };
        let lines = script_for(step);
        for (i, (ms, line)) in lines.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(*ms).div_f64(speed)).await;
            if fail_here && i == 2 {
                let _ = out.send(Output::Stderr("E: Failed to fetch https://pkgs.k8s.io/core:/stable:/v1.37/deb/amd64/kubeadm_1.37.1-1.1_amd64.deb  Connection timed out [IP: 34.107.204.206 443]".into())).await;
                let _ = out.send(Output::Stderr("kha-tui: the repository https://pkgs.k8s.io/core:/stable:/v1.37/deb/ could not be reached".into())).await;
                return ExitStatus(Some(100));
            }
            if step == "kubeadm-join"
                && i == 1
                && let Err(e) = self.check_join()
            {
                let _ = out.send(Output::Stderr(e)).await;
                return ExitStatus(Some(1));
            }
            let line = line.replace("@TOKEN@", &token).replace("@CERTKEY@", &key);
            let _ = out.send(Output::Stdout(line)).await;
        }
        ExitStatus(Some(0))
    }

    fn preflight_facts(&self) -> String {
        let n = self
            .node
            .bytes()
            .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
        let swap: u64 = if self
            .fleet
            .state
            .lock()
            .expect("lock")
            .swap_on
            .contains(&self.node)
        {
            2 << 30
        } else {
            0
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        format!(
            "hostname={node}\nos_id=ubuntu\nos_version=24.04\nos_pretty=Ubuntu 24.04.3 LTS\ncpus=2\nmem_mb=3936\ndisk_free_mb=38000\nswap_bytes={swap}\ncgroup=cgroup2fs\nproduct_uuid=4c4c4544-{n:08x}\nmacs=52:54:00:{:02x}:{:02x}:{:02x}\naddresses=\nport_6443=free\nport_2379=free\nport_2380=free\nport_10250=free\nport_10257=free\nport_10259=free\nlb_reach=ssh\nkubelet_conf=no\ntime={now:.3}\n",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
            node = self.node
        )
    }
}

impl Session for SimSession {
    async fn exec(
        &mut self,
        command: &str,
        _stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> Result<ExitStatus, TransportError> {
        self.fleet
            .state
            .lock()
            .expect("lock")
            .commands
            .entry(self.node.clone())
            .or_default()
            .push(command.to_string());
        let say = |s: String| {
            let out = out.clone();
            async move {
                let _ = out.send(Output::Stdout(s)).await;
            }
        };
        if command.contains("mktemp -d") {
            self.workdir_counter += 1;
            say(format!(
                "/tmp/kha-tui.sim{:04}{}",
                self.workdir_counter,
                self.node.len()
            ))
            .await;
        } else if command.contains("/etc/os-release") {
            say("Ubuntu 24.04.3 LTS".into()).await;
        } else if command.contains("preflight.sh") {
            for l in self.preflight_facts().lines() {
                say(l.to_string()).await;
            }
        } else if command.contains("cat /etc/kubernetes/pki/ca.crt") {
            for l in SIM_CA_CERT.lines() {
                say(l.to_string()).await;
            }
        } else if command.contains("cat /etc/kubernetes/admin.conf") {
            let conf = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://lb.example.internal:6443\n  name: kubernetes\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: U0lNVUxBVEVEQ0VSVA==\n    client-key-data: U0lNVUxBVEVES0VZc2VjcmV0\n";
            for l in conf.lines() {
                say(l.to_string()).await;
            }
        } else if let Some(i) = command.find("/run-") {
            let step = command[i + 5..]
                .trim_end_matches(['\'', ' '])
                .trim_end_matches(".sh")
                .to_string();
            return Ok(self.run_step(&step, &out).await);
        }
        Ok(ExitStatus(Some(0)))
    }

    async fn upload(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), TransportError> {
        let mut st = self.fleet.state.lock().expect("lock");
        st.files
            .entry(self.node.clone())
            .or_default()
            .insert(path.to_string(), (content.to_vec(), mode));
        Ok(())
    }

    async fn close(self) {}
}
