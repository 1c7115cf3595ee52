//! What each step prints on the simulated fleet, derived from what the engine sent for it: the
//! step's environment (minor, port, endpoint, mirrors, Calico version) and staged files
//! (kubeadm configurations), the node's name and address, and the simulated cluster. Nothing
//! here names a node, version, port or endpoint of its own.

use std::collections::HashMap;

use super::cluster::{Member, SimCluster, yaml_value};

/// One line a step prints, with the pause before it (milliseconds at speed 1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Out(u64, String),
    Err(u64, String),
}

/// A step's output and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub lines: Vec<Line>,
    pub exit: u32,
}

impl Script {
    fn ok(lines: Vec<(u64, String)>) -> Script {
        Script {
            lines: lines.into_iter().map(|(ms, l)| Line::Out(ms, l)).collect(),
            exit: 0,
        }
    }

    /// `lines` printed, then `error` on stderr (as the scripts' `die` does) and exit `code`.
    fn fails(lines: Vec<(u64, String)>, error: String, code: u32) -> Script {
        let mut s = Script::ok(lines);
        s.lines.push(Line::Err(300, error));
        s.exit = code;
        s
    }
}

/// Everything the simulated node knows when a step runs there.
pub struct StepInput<'a> {
    pub step: &'a str,
    pub node: &'a str,
    /// The step's environment, as the engine's wrapper passes it.
    pub env: &'a HashMap<String, String>,
    /// The step's first staged file (its kubeadm or HAProxy configuration), if any.
    pub file: Option<&'a str>,
    /// This node is the one `--fail NODE` named, and it has not failed yet.
    pub fail_here: bool,
}

/// The patch release the simulated package repository offers for a minor.
pub fn kubernetes_patch(minor: &str) -> String {
    format!("{minor}.2")
}

/// The containerd the simulated node ends up with: (version, where from), or the refusal.
pub fn containerd_choice(min: &str, source: &str) -> Result<(&'static str, &'static str), String> {
    // The simulated nodes run Ubuntu 24.04: apt offers containerd 1.7.28; Docker's repository 2.1.5.
    let distro_ok = version_at_least("1.7.28", min);
    match source {
        "distro" if distro_ok => Ok(("1.7.28", "distro")),
        "distro" => Err(format!(
            "containerd_source = distro, but apt offers containerd 1.7.28-0ubuntu1~24.04.1 and >= {min} is needed; set containerd_source = \"auto\" or \"docker\""
        )),
        "auto" if distro_ok => Ok(("1.7.28", "distro")),
        "auto" | "docker" => Ok(("2.1.5", "docker")),
        other => Err(format!("unknown containerd source {other}")),
    }
}

fn version_at_least(have: &str, min: &str) -> bool {
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(have) >= parse(min)
}

fn env<'a>(i: &'a StepInput, key: &str) -> &'a str {
    i.env.get(key).map(String::as_str).unwrap_or("")
}

/// What calico.sh says about a manifest's sum: checked, or a warning when none is known.
fn checked(i: &StepInput, base: &str, v: &str, file: &str, sum_key: &str) -> String {
    let url = format!("{base}/{v}/manifests/{file}");
    if env(i, sum_key).is_empty() {
        format!(
            "kha-tui: warning: no sha256 is known for {url}: it is used unchecked (pin it in the inventory: manifest_crds_sha256, manifest_operator_sha256)"
        )
    } else {
        format!("sha256 of {url} checked")
    }
}

fn t(ms: u64, s: impl Into<String>) -> (u64, String) {
    (ms, s.into())
}

/// The output of one step. `cluster` is the simulated control plane; init, joins and token
/// refreshes change it and are refused as kubeadm refuses them.
pub fn run(
    i: &StepInput,
    cluster: &mut SimCluster,
    containerd: &mut HashMap<String, String>,
) -> Script {
    if let Some(m) = i.env.get("KHA_K8S_MINOR") {
        cluster.minor = Some(m.clone());
    }
    match i.step {
        "haproxy" => haproxy(i),
        "keepalived" => keepalived(i, cluster),
        "prepare" => Script::ok(vec![
            t(200, "cgroup: cgroup2fs"),
            t(500, "swap turned off"),
            t(
                300,
                "swap lines commented out of /etc/fstab (backup /etc/fstab.kha-bak)",
            ),
            t(300, "swap.target masked"),
            t(400, "wrote /etc/modules-load.d/k8s.conf"),
            t(300, "wrote /etc/sysctl.d/k8s.conf"),
            t(600, "node prepared"),
        ]),
        "containerd" => containerd_step(i, containerd),
        "kube-packages" | "kubectl" => packages(i),
        "kubeadm-init" => init(i, cluster),
        "refresh-join-secrets" => match cluster.refresh(i.file.unwrap_or("")) {
            Ok(()) => Script::ok(vec![
                t(600, "bootstrap token created"),
                t(
                    900,
                    "control-plane certificates uploaded again under a new key (valid for 2 hours)",
                ),
            ]),
            Err(e) => Script::fails(vec![], e, 1),
        },
        "kubeadm-join" => join(i, cluster),
        "kubeconfig" => kubeconfig(i, cluster),
        "calico" => {
            let v = env(i, "KHA_CALICO_VERSION");
            let base = env(i, "KHA_MANIFEST_BASE");
            Script::ok(vec![
                t(
                    700,
                    format!("downloaded {base}/{v}/manifests/operator-crds.yaml"),
                ),
                t(
                    500,
                    format!("downloaded {base}/{v}/manifests/tigera-operator.yaml"),
                ),
                t(
                    10,
                    checked(i, base, v, "operator-crds.yaml", "KHA_CALICO_CRDS_SHA256"),
                ),
                t(
                    10,
                    checked(
                        i,
                        base,
                        v,
                        "tigera-operator.yaml",
                        "KHA_CALICO_OPERATOR_SHA256",
                    ),
                ),
                t(1200, "deployment.apps/tigera-operator serverside-applied"),
                t(900, "installation.operator.tigera.io/default created"),
                t(500, format!("Calico {v} applied")),
            ])
        }
        "wait-ready" => wait_ready(i, cluster, containerd),
        "status-lb" | "status-control-plane" => super::status_steps::run(i, cluster),
        "cleanup-secrets" => {
            let mut lines = vec![t(200, "removed /etc/kha/kubeadm-init.yaml")];
            if cluster.init_node.is_none() {
                lines.push(t(
                    100,
                    "this node has not been initialised (no /etc/kubernetes/admin.conf): no bootstrap token to delete",
                ));
            }
            lines.extend(
                cluster
                    .delete_tokens()
                    .into_iter()
                    .map(|id| t(150, format!("deleted bootstrap token {id}"))),
            );
            Script::ok(lines)
        }
        "fix-swap-off" => Script::ok(vec![
            t(300, "swap turned off"),
            t(
                300,
                "swap lines commented out of /etc/fstab (backup /etc/fstab.kha-bak)",
            ),
            t(300, "swap.target masked"),
        ]),
        _ => Script::ok(vec![t(200, "done")]),
    }
}

fn haproxy(i: &StepInput) -> Script {
    let port = env(i, "KHA_API_PORT");
    let mut lines = vec![
        t(300, "Reading package lists..."),
        t(600, "Setting up haproxy (2.8.5-1ubuntu3) ..."),
        t(500, "Configuration file is valid"),
    ];
    // The backends are the control planes of the staged haproxy.cfg.
    for l in i.file.unwrap_or("").lines().map(str::trim) {
        if let Some(rest) = l.strip_prefix("server ") {
            let mut w = rest.split_whitespace();
            if let (Some(name), Some(addr)) = (w.next(), w.next()) {
                lines.push(t(
                    100,
                    format!("backend kube-apiserver: server {name} {addr}"),
                ));
            }
        }
    }
    lines.push(t(400, "wrote /etc/haproxy/haproxy.cfg"));
    lines.push(t(600, format!("haproxy listens on port {port}")));
    Script::ok(lines)
}

/// keepalived on one LB of the pair: the first to start wins the election and holds the VIP
/// (both start as BACKUP with nopreempt); the other stays BACKUP.
fn keepalived(i: &StepInput, cluster: &mut SimCluster) -> Script {
    let vip = env(i, "KHA_VIP");
    let port = env(i, "KHA_API_PORT");
    let conf = i.file.unwrap_or("");
    if !conf.contains("unicast_peer") {
        return Script::fails(
            vec![],
            "kha-tui: /etc/kha/keepalived.conf is missing".into(),
            1,
        );
    }
    let state = if cluster.vrrp.values().any(|s| s == "MASTER") {
        "BACKUP"
    } else {
        "MASTER"
    };
    cluster.vrrp.insert(i.node.to_string(), state.to_string());
    Script::ok(vec![
        t(300, "Reading package lists..."),
        t(700, "Setting up keepalived (1:2.2.8-1build2) ..."),
        t(200, "wrote /etc/keepalived/kha-check-haproxy.sh"),
        t(100, "wrote /etc/keepalived/kha-notify.sh"),
        t(400, "wrote /etc/keepalived/keepalived.conf"),
        t(300, "wrote /etc/sysctl.d/90-kha-lb-pair.conf"),
        t(
            1500,
            format!(
                "keepalived runs: this load balancer is {state}; the virtual address {vip} answers on port {port}"
            ),
        ),
    ])
}

fn containerd_step(i: &StepInput, containerd: &mut HashMap<String, String>) -> Script {
    let min = env(i, "KHA_CONTAINERD_MIN");
    let docker = env(i, "KHA_DOCKER_BASE");
    let mut lines = vec![
        t(
            800,
            "Hit:1 http://archive.ubuntu.com/ubuntu noble InRelease",
        ),
        t(
            900,
            format!(
                "apt offers containerd 1.7.28-0ubuntu1~24.04.1; this Kubernetes minor needs >= {min}"
            ),
        ),
    ];
    let (version, from) = match containerd_choice(min, env(i, "KHA_CONTAINERD_SOURCE")) {
        Ok(c) => c,
        Err(e) => return Script::fails(lines, format!("kha-tui: {e}"), 1),
    };
    if from == "docker" {
        lines.push(t(1200, format!("Get:5 {docker}/ubuntu noble/stable amd64 containerd.io {version}-1~ubuntu.24.04~noble [23.1 MB]")));
        lines.push(t(
            1800,
            format!("Setting up containerd.io ({version}-1~ubuntu.24.04~noble) ..."),
        ));
    } else {
        lines.push(t(
            1800,
            format!("Setting up containerd ({version}-0ubuntu1~24.04.1) ..."),
        ));
    }
    let config_version = if version.starts_with('2') { 3 } else { 2 };
    lines.extend([
        t(700, format!("containerd {version} installed from {from}")),
        t(900, "wrote /etc/containerd/config.toml"),
        t(800, format!(
            "containerd {version}: SystemdCgroup = true, sandbox {} (config version {config_version})",
            env(i, "KHA_PAUSE_IMAGE")
        )),
        t(500, "wrote /etc/crictl.yaml"),
    ]);
    containerd.insert(i.node.to_string(), version.to_string());
    Script::ok(lines)
}

fn packages(i: &StepInput) -> Script {
    let minor = env(i, "KHA_K8S_MINOR");
    let repo = format!("{}/core:/stable:/v{minor}/deb/", env(i, "KHA_PACKAGE_BASE"));
    let v = format!("{}-1.1", kubernetes_patch(minor));
    let pkgs: Vec<&str> = env(i, "KHA_PACKAGES").split_whitespace().collect();
    let first = pkgs.first().copied().unwrap_or("kubectl");
    let mut lines = vec![
        t(900, "wrote /etc/apt/keyrings/kubernetes-apt-keyring.gpg"),
        t(500, "wrote /etc/apt/sources.list.d/kubernetes.list"),
        t(1500, format!("Get:1 {repo} InRelease [1186 B]")),
    ];
    if i.fail_here {
        // What apt-get prints when the repository stops answering mid-install.
        let host = repo.split('/').nth(2).unwrap_or("");
        let mut s = Script::fails(
            lines,
            format!(
                "E: Failed to fetch {repo}amd64/{first}_{v}_amd64.deb  Could not connect to {host}:443, connection timed out"
            ),
            100,
        );
        s.lines.push(Line::Err(
            50,
            "E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?"
                .into(),
        ));
        return s;
    }
    lines.push(t(2200, format!("Get:2 {repo} {first} {v} [12.4 MB]")));
    for p in &pkgs {
        lines.push(t(700, format!("Setting up {p} ({v}) ...")));
    }
    let want: Vec<String> = pkgs.iter().map(|p| format!("{p}={v}")).collect();
    lines.push(t(1200, format!("installed {}", want.join(" "))));
    for p in &pkgs {
        lines.push(t(150, format!("{p} {v} (held)")));
    }
    Script::ok(lines)
}

/// The kubeadm version the node's packages installed (from the minor the plan asked for).
fn kubeadm_version(cluster_minor: Option<&str>) -> String {
    format!("v{}", kubernetes_patch(cluster_minor.unwrap_or("1.0")))
}

fn init(i: &StepInput, cluster: &mut SimCluster) -> Script {
    if cluster.init_node.as_deref() == Some(i.node) {
        return Script::ok(vec![t(
            300,
            "this node is already initialised and its API answers; kubeadm init is not run again",
        )]);
    }
    let cfg = i.file.unwrap_or("");
    let version = kubeadm_version(cluster.minor.as_deref());
    let mut lines = vec![
        t(400, format!("kubeadm init {version}")),
        t(800, "[preflight] Running pre-flight checks"),
    ];
    if let Err(e) = cluster.init(i.node, cfg) {
        return Script::fails(lines, e, 1);
    }
    let (dns, ips) = serving_names(i, cfg);
    let endpoint = cluster.endpoint.clone().unwrap_or_default();
    lines.extend([
        t(1500, "[certs] Generating \"ca\" certificate and key"),
        t(900, format!(
            "[certs] apiserver serving cert is signed for DNS names [{}] and IPs [{}]",
            dns.join(" "),
            ips.join(" ")
        )),
        t(1200, "[kubeconfig] Writing \"admin.conf\" kubeconfig file"),
        t(1500, "[control-plane] Creating static Pod manifest for \"kube-apiserver\""),
        t(2500, "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods"),
        t(1500, "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace"),
        t(300, "[upload-certs] Using certificate key:"),
        t(100, cluster.certificate_key().unwrap_or_default()),
        t(700, format!("[bootstrap-token] Using token: {}", cluster.latest_token().unwrap_or_default())),
        t(600, "Your Kubernetes control-plane has initialized successfully!"),
        t(500, format!("  kubeadm join {endpoint} --token <value withheld> --discovery-token-ca-cert-hash sha256:<value withheld>")),
        t(800, "the API answers through the control-plane endpoint"),
    ]);
    Script::ok(lines)
}

/// The apiserver certificate's names, as kubeadm forms them: the service names, the node, the
/// certSANs that are names; the service VIP, the advertise address, the certSANs that are IPs.
fn serving_names(i: &StepInput, cfg: &str) -> (Vec<String>, Vec<String>) {
    let mut dns: Vec<String> = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        i.node,
    ]
    .map(String::from)
    .to_vec();
    let mut ips = vec![];
    if let Some(vip) = yaml_value(cfg, "serviceSubnet:")
        .and_then(|s| s.parse::<ipnet::IpNet>().ok())
        .and_then(|n| n.hosts().next())
    {
        ips.push(vip.to_string());
    }
    if let Some(a) = yaml_value(cfg, "advertiseAddress:") {
        ips.push(a.to_string());
    }
    let sans = cfg
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "certSANs:")
        .skip(1)
        .map_while(|l| l.strip_prefix("- "))
        .map(|v| v.trim_matches('"').to_string());
    for s in sans {
        let list = if s.parse::<std::net::IpAddr>().is_ok() {
            &mut ips
        } else {
            &mut dns
        };
        if !list.contains(&s) {
            list.push(s);
        }
    }
    (dns, ips)
}

fn join(i: &StepInput, cluster: &mut SimCluster) -> Script {
    let role = env(i, "KHA_ROLE");
    if cluster.is_member(i.node) {
        return Script::ok(vec![t(
            300,
            "this node has joined already (/etc/kubernetes/kubelet.conf exists); kubeadm join is not run again",
        )]);
    }
    let mut lines = vec![
        t(300, format!("kubeadm join as {role}")),
        t(500, "[preflight] Running pre-flight checks"),
        t(
            900,
            "[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...",
        ),
    ];
    if let Err(e) = cluster.join(i.node, i.file.unwrap_or("")) {
        return Script::fails(lines, e, 1);
    }
    lines.extend([
        t(1200, "[kubelet-start] Starting the kubelet"),
        t(1500, "[kubelet-check] The kubelet is healthy after 1.5s"),
        t(900, "This node has joined the cluster"),
        t(200, format!("joined as {role}")),
    ]);
    Script::ok(lines)
}

fn kubeconfig(i: &StepInput, cluster: &SimCluster) -> Script {
    let endpoint = env(i, "KHA_ENDPOINT");
    let user = env(i, "KHA_USER");
    let home = if user == "root" {
        "/root".to_string()
    } else {
        format!("/home/{user}")
    };
    if cluster.endpoint.as_deref() != Some(endpoint) {
        return Script::fails(
            vec![],
            format!(
                "kha-tui: the API does not answer at https://{endpoint} with the admin kubeconfig"
            ),
            1,
        );
    }
    Script::ok(vec![
        t(
            400,
            format!("kubectl on this node reaches https://{endpoint}"),
        ),
        t(
            300,
            format!("{home}/.kube/config written (0600, owner {user})"),
        ),
    ])
}

/// `kubectl get nodes -o wide` as the simulated cluster answers it.
pub fn get_nodes_wide(
    members: &[Member],
    version: &str,
    containerd: &HashMap<String, String>,
) -> Vec<String> {
    let mut rows = vec![
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in members {
        let runtime = containerd
            .get(&m.name)
            .map(|v| format!("containerd://{v}"))
            .unwrap_or_default();
        rows.push(
            [
                m.name.as_str(),
                "Ready",
                if m.control_plane {
                    "control-plane"
                } else {
                    "<none>"
                },
                "1m",
                version,
                m.address.as_str(),
                "<none>",
                "Ubuntu 24.04.3 LTS",
                "6.8.0-45-generic",
                runtime.as_str(),
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect::<Vec<_>>()
                .join("   ")
                .trim_end()
                .to_string()
        })
        .collect()
}

fn wait_ready(i: &StepInput, cluster: &SimCluster, containerd: &HashMap<String, String>) -> Script {
    let want: usize = env(i, "KHA_NODE_COUNT").parse().unwrap_or(0);
    let members = cluster.members();
    if members.len() < want {
        return Script::fails(
            vec![],
            format!(
                "kha-tui: only {} of {want} nodes registered after {}s",
                members.len(),
                env(i, "KHA_TIMEOUT_SECONDS")
            ),
            1,
        );
    }
    let version = kubeadm_version(cluster.minor.as_deref());
    let mut lines: Vec<(u64, String)> = members
        .iter()
        .map(|m| {
            t(
                2500 / members.len().max(1) as u64,
                format!("node/{} condition met", m.name),
            )
        })
        .collect();
    lines.extend(
        get_nodes_wide(&members, &version, containerd)
            .into_iter()
            .map(|l| t(50, l)),
    );
    // The machine-readable lines wait-ready.sh prints after the table.
    lines.extend(members.iter().map(|m| {
        t(
            5,
            format!(
                "kha-node name={} ready=true version={version} roles={}",
                m.name,
                if m.control_plane {
                    "control-plane"
                } else {
                    "<none>"
                }
            ),
        )
    }));
    lines.push(t(300, format!("all {want} nodes are Ready")));
    Script::ok(lines)
}
