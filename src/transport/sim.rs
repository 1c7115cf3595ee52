//! A simulated fleet behind the same `Transport` trait: the demo and `apply --simulate` run the
//! real engine against it. Each node answers the engine's commands with realistic step times
//! and log lines, keeps the files uploaded to it, and checks the join secrets the way kubeadm
//! would (a wrong token or CA pin is refused), so the engine's secret handling is exercised.

mod cluster;
mod status_steps;
mod steps;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::payload::{self, Parsed};

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
    /// The simulated control plane: members, tokens, certificate key.
    cluster: cluster::SimCluster,
    /// node → the containerd version its containerd step installed.
    containerd: HashMap<String, String>,
    /// node → how many times it was replaced by another machine.
    machines: HashMap<String, u32>,
    /// Nodes whose swap is on (until a swap-off fix or the prepare step runs there).
    swap_on: HashSet<String>,
}

#[derive(Clone)]
pub struct SimFleet {
    opts: SimOptions,
    state: Arc<Mutex<FleetState>>,
    /// node → every command it ran through this handle, in order.
    commands: Arc<Mutex<HashMap<String, Vec<String>>>>,
    /// node → the steps the engine sent it through this handle, in order.
    steps_ran: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl SimFleet {
    pub fn new(opts: SimOptions) -> SimFleet {
        SimFleet {
            opts,
            state: Arc::default(),
            commands: Arc::default(),
            steps_ran: Arc::default(),
        }
    }

    /// The same simulated hosts for a later run (a resume): what earlier runs did to them (files,
    /// the cluster, swap) stays; `commands` records only what runs through the new handle.
    pub fn again(&self, opts: SimOptions) -> SimFleet {
        SimFleet {
            opts,
            state: self.state.clone(),
            commands: Arc::default(),
            steps_ran: Arc::default(),
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

    /// Content of a file the engine wrote on `node` (latest write wins).
    pub fn file(&self, node: &str, path: &str) -> Option<(String, u32)> {
        let st = self.state.lock().expect("lock");
        st.files
            .get(node)?
            .get(path)
            .map(|(c, m)| (String::from_utf8_lossy(c).into_owned(), *m))
    }

    /// Every file the engine wrote on a node whose path contains `part`, as (path, content, mode).
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

    /// The steps the engine sent to a node, in order (retries included).
    pub fn steps_ran(&self, node: &str) -> Vec<String> {
        self.steps_ran
            .lock()
            .expect("lock")
            .get(node)
            .cloned()
            .unwrap_or_default()
    }

    /// The commands a node ran, in order.
    pub fn commands(&self, node: &str) -> Vec<String> {
        self.commands
            .lock()
            .expect("lock")
            .get(node)
            .cloned()
            .unwrap_or_default()
    }

    /// `node` is reinstalled as another machine (a new /etc/machine-id), as when a host name
    /// is reused for a fresh VM between runs.
    pub fn replace_machine(&self, node: &str) {
        *self
            .state
            .lock()
            .expect("lock")
            .machines
            .entry(node.to_string())
            .or_default() += 1;
    }

    fn machine_generation(&self, node: &str) -> u32 {
        self.state
            .lock()
            .expect("lock")
            .machines
            .get(node)
            .copied()
            .unwrap_or(0)
    }

    /// The newest token the simulated cluster was given (by init or a refresh); cleanup may
    /// have deleted it since.
    pub fn accepted_token(&self) -> Option<String> {
        self.state.lock().expect("lock").cluster.latest_token()
    }

    /// The ids of the bootstrap tokens valid in the simulated cluster now.
    pub fn valid_tokens(&self) -> Vec<String> {
        self.state.lock().expect("lock").cluster.token_ids()
    }

    /// The simulated cluster's `kubectl get nodes -o wide`: every node that joined it.
    pub fn get_nodes(&self) -> Vec<String> {
        let st = self.state.lock().expect("lock");
        let version = format!(
            "v{}",
            steps::kubernetes_patch(st.cluster.minor.as_deref().unwrap_or("1.0"))
        );
        steps::get_nodes_wide(&st.cluster.members(), &version, &st.containerd)
    }
}

pub struct SimSession {
    node: String,
    /// The address the engine connected to.
    host: String,
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
        super::refuse_unsupported_route(target)?;
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
            host: target.host.clone(),
            fleet: self.clone(),
            workdir_counter: 0,
        })
    }
}

impl SimSession {
    /// Runs a step the engine sent (its stream read back as a node's bash would): its files
    /// land where they are written, and the step behaves as the plan's script would.
    async fn run_step(&mut self, sent: Parsed, out: &mpsc::Sender<Output>) -> ExitStatus {
        let speed = self.fleet.opts.speed;
        let step = sent.step.as_str();
        {
            let mut st = self.fleet.state.lock().expect("lock");
            let files = st.files.entry(self.node.clone()).or_default();
            for (path, content, mode) in &sent.files {
                files.insert(path.clone(), (content.clone(), *mode));
            }
        }
        self.fleet
            .steps_ran
            .lock()
            .expect("lock")
            .entry(self.node.clone())
            .or_default()
            .push(step.to_string());
        if step == "prepare" || step == "fix-swap-off" {
            self.fleet
                .state
                .lock()
                .expect("lock")
                .swap_on
                .remove(&self.node);
        }
        let env = sent.env;
        let file = sent
            .files
            .first()
            .map(|(_, c, _)| String::from_utf8_lossy(c).into_owned());
        let script = {
            let mut st = self.fleet.state.lock().expect("lock");
            let fail_here = step == "kube-packages"
                && self.fleet.opts.fail_node.as_deref() == Some(self.node.as_str())
                && st.failed_once.insert(self.node.clone());
            let input = steps::StepInput {
                step,
                node: &self.node,
                env: &env,
                file: file.as_deref(),
                fail_here,
            };
            let FleetState {
                cluster,
                containerd,
                ..
            } = &mut *st;
            steps::run(&input, cluster, containerd)
        };
        for line in script.lines {
            let (ms, o) = match line {
                steps::Line::Out(ms, l) => (ms, Output::Stdout(l)),
                steps::Line::Err(ms, l) => (ms, Output::Stderr(l)),
            };
            tokio::time::sleep(Duration::from_millis(ms).div_f64(speed)).await;
            let _ = out.send(o).await;
        }
        ExitStatus(Some(script.exit))
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
            "hostname={node}\nos_id=ubuntu\nos_version=24.04\nos_pretty=Ubuntu 24.04.3 LTS\ncpus=2\nmem_mb=3936\ndisk_free_mb=38000\nswap_bytes={swap}\ncgroup=cgroup2fs\nproduct_uuid=4c4c4544-{n:08x}\nmacs=52:54:00:{:02x}:{:02x}:{:02x}\naddresses={host}\nport_6443=free\nport_2379=free\nport_2380=free\nport_10250=free\nport_10257=free\nport_10259=free\nlb_reach=ssh\nkubelet_conf=no\ntime={now:.3}\n",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
            node = self.node,
            host = self.host,
        )
    }

    /// This node's /etc/machine-id (changes when it is reinstalled).
    fn machine_id(&self) -> String {
        let generation = self.fleet.machine_generation(&self.node);
        format!("{:032x}", {
            use sha2::Digest as _;
            let d = sha2::Sha256::digest(format!("sim machine {}/{generation}", self.node));
            u128::from_be_bytes(d[..16].try_into().expect("16 bytes"))
        })
    }

    /// `cat` of a root file the engine reads back: what this node has, or cat's refusal.
    fn read_file(&self, path: &str) -> Result<String, String> {
        let st = self.fleet.state.lock().expect("lock");
        let initialised = st.cluster.init_node.as_deref() == Some(self.node.as_str());
        match path {
            "/etc/kubernetes/pki/ca.crt" if initialised => Ok(SIM_CA_CERT.to_string()),
            "/etc/kubernetes/admin.conf" if initialised => Ok(format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://{}\n  name: {}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: U0lNVUxBVEVEQ0VSVA==\n    client-key-data: U0lNVUxBVEVES0VZc2VjcmV0\n",
                st.cluster.endpoint.clone().unwrap_or_default(),
                st.cluster
                    .name
                    .clone()
                    .unwrap_or_else(|| "kubernetes".into()),
            )),
            _ => Err(format!("cat: {path}: No such file or directory")),
        }
    }
}

impl Session for SimSession {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> Result<ExitStatus, TransportError> {
        self.fleet
            .commands
            .lock()
            .expect("lock")
            .entry(self.node.clone())
            .or_default()
            .push(command.to_string());
        let say = |s: String| {
            let out = out.clone();
            async move {
                let _ = out.send(Output::Stdout(s)).await;
            }
        };
        if let Some(stream) = stdin.as_deref().filter(|s| payload::is_step(s)) {
            // A stream it cannot read is refused, as bash would stop on it: never a silent
            // success.
            let Some(sent) = payload::parse(stream) else {
                let _ = out
                    .send(Output::Stderr(
                        "kha-tui: the step's stream arrived short: the stream from kha-tui was cut"
                            .into(),
                    ))
                    .await;
                return Ok(ExitStatus(Some(payload::SHORT_FILE_EXIT)));
            };
            return Ok(self.run_step(sent, &out).await);
        } else if command.contains(crate::engine::node_setup::PREFIX) {
            // The node setup in one command (engine::node_setup): sudo works without a
            // password on every simulated node.
            self.workdir_counter += 1;
            let p = crate::engine::node_setup::PREFIX;
            let sudo = if command.contains("sudo -n true") {
                "nopasswd"
            } else {
                "root"
            };
            say(format!("{p}sudo={sudo}")).await;
            say(format!(
                "{p}workdir=/tmp/kha-tui.sim{:04}{}",
                self.workdir_counter,
                self.node.len()
            ))
            .await;
            say(format!("{p}os=Ubuntu 24.04.3 LTS")).await;
            say(format!("{p}machine-id={}", self.machine_id())).await;
        } else if command.contains("preflight-pair.sh") {
            // A load balancer of a pair: the VIP is in its subnet and free, no foreign VRRP.
            for l in [
                "vip_route=onlink",
                "vip_ours=no",
                "vip_answer=no",
                "vrrp_adverts=",
            ] {
                say(l.to_string()).await;
            }
        } else if command.contains("preflight.sh") {
            for l in self.preflight_facts().lines() {
                say(l.to_string()).await;
            }
        } else if command.contains(crate::plan::pair::VRRP_STATE_FILE) {
            // keepalived's notify file on a load balancer of the pair.
            let state = self
                .fleet
                .state
                .lock()
                .expect("lock")
                .cluster
                .vrrp
                .get(&self.node)
                .cloned();
            match state {
                Some(s) => say(s).await,
                None => {
                    let _ = out
                        .send(Output::Stderr(format!(
                            "cat: {}: No such file or directory",
                            crate::plan::pair::VRRP_STATE_FILE
                        )))
                        .await;
                    return Ok(ExitStatus(Some(1)));
                }
            }
        } else if let Some(path) = ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/admin.conf"]
            .into_iter()
            .find(|p| command.contains(&format!("cat {p}")))
        {
            match self.read_file(path) {
                Ok(text) => {
                    for l in text.lines() {
                        say(l.to_string()).await;
                    }
                }
                Err(e) => {
                    let _ = out.send(Output::Stderr(e)).await;
                    return Ok(ExitStatus(Some(1)));
                }
            }
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

    fn host_key(&self) -> Option<String> {
        Some(sim_fingerprint(&self.node))
    }

    async fn close(self) {}
}
