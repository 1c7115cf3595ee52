//! Builds the phases for a cluster: the seed's order, corrected for today's Kubernetes.

use ipnet::IpNet;

use std::time::Duration;

use super::{FileSpec, Limits, Mode, Phase, Placeholder, Plan, Step, ValueSources};
use crate::assets::{render, scripts, templates};
use crate::inventory::{Cluster, Node, Role};

/// Held by control-plane joins: kubeadm adds etcd members one at a time.
pub const ETCD_MEMBERSHIP: &str = "etcd-membership";

/// How long `wait-ready` waits for every node to be Ready.
const READY_TIMEOUT_SECONDS: u32 = 900;

pub(super) fn script(parts: &[&str]) -> String {
    let mut s = String::from(scripts::LIB);
    for p in parts {
        s.push('\n');
        s.push_str(p);
    }
    s
}

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn step(
    id: &str,
    node: &Node,
    title: &str,
    body: &[&str],
    env: Vec<(String, String)>,
    files: Vec<FileSpec>,
) -> Step {
    Step {
        env,
        files,
        ..Step::new(id, &node.name, title, script(body))
    }
}

pub fn haproxy_cfg(c: &Cluster) -> String {
    let servers: Vec<String> = c
        .control_planes()
        .map(|n| {
            let addr = host_in_url(n.address);
            format!(
                "    server {} {}:6443 check check-ssl verify none",
                n.name, addr
            )
        })
        .collect();
    // `*:PORT` listens on every IPv4 address, `:::PORT` on every IPv6 one.
    let bind = if c.lb.address.is_ipv6() { "::" } else { "*" };
    render(
        templates::HAPROXY,
        &[
            ("cluster_name", &c.name),
            ("bind", bind),
            ("api_port", &c.api_port.to_string()),
            ("servers", &servers.join("\n")),
        ],
    )
}

/// The API server certificate's extra names: the endpoint's host, the pair's virtual address,
/// then every LB's address, each once (the endpoint is the VIP, else the LB's address, when the
/// inventory names no DNS name).
pub fn cert_sans(c: &Cluster) -> Vec<String> {
    let mut sans: Vec<String> = Vec::new();
    let names = std::iter::once(c.endpoint_host.clone())
        .chain(c.lb_pair.iter().map(|p| p.vip.to_string()))
        .chain(c.load_balancers().map(|n| n.address.to_string()));
    for s in names {
        if !sans.contains(&s) {
            sans.push(s);
        }
    }
    sans
}

pub fn kubeadm_init_yaml(c: &Cluster, n: &Node) -> String {
    let sans: Vec<String> = cert_sans(c)
        .iter()
        .map(|s| format!("    - \"{s}\""))
        .collect();
    render(
        templates::KUBEADM_INIT,
        &[
            ("node_name", &n.name),
            ("address", &n.address.to_string()),
            ("cluster_name", &c.name),
            ("endpoint", &c.control_plane_endpoint()),
            ("pod_subnet", &c.pod_subnet.to_string()),
            ("service_subnet", &c.service_subnet.to_string()),
            ("cert_sans", &sans.join("\n")),
        ],
    )
}

pub fn kubeadm_join_yaml(c: &Cluster, n: &Node) -> String {
    let cp = if n.role == Role::ControlPlane {
        format!(
            "controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: \"{}\"\n    bindPort: 6443\n  certificateKey: \"{}\"\n",
            n.address,
            Placeholder::CertificateKey.marker()
        )
    } else {
        String::new()
    };
    render(
        templates::KUBEADM_JOIN,
        &[
            ("node_name", &n.name),
            ("role", n.role.label()),
            (
                "cert_key_note",
                if n.role == Role::ControlPlane {
                    " and the certificate key"
                } else {
                    ""
                },
            ),
            ("endpoint", &c.control_plane_endpoint()),
            ("address", &n.address.to_string()),
            ("control_plane", cp.trim_end()),
        ],
    )
}

pub fn calico_installation_yaml(c: &Cluster) -> String {
    let (name, block) = match c.pod_subnet {
        IpNet::V4(_) => ("default-ipv4-ippool", "26"),
        IpNet::V6(_) => ("default-ipv6-ippool", "122"),
    };
    render(
        templates::CALICO_INSTALLATION,
        &[
            ("pod_subnet", &c.pod_subnet.to_string()),
            ("pool_name", name),
            ("block_size", block),
        ],
    )
}

fn prepare_steps(c: &Cluster, n: &Node) -> Vec<Step> {
    let v = &c.versions;
    let prep = step(
        "prepare",
        n,
        "Prepare the node: cgroup check, swap off, kernel modules, sysctls",
        &[scripts::SWAP_OFF, scripts::NODE_PREPARE],
        env(&[
            ("KHA_K8S_MINOR", v.minor.clone()),
            (
                "KHA_REQUIRE_CGROUP_V2",
                if v.cgroup_v2 { "1" } else { "0" }.into(),
            ),
        ]),
        vec![],
    );
    let containerd = step(
        "containerd",
        n,
        "Install and configure containerd (systemd cgroups)",
        &[scripts::CONTAINERD_CONFIG, scripts::CONTAINERD],
        env(&[
            ("KHA_CONTAINERD_MIN", v.containerd_min.clone()),
            ("KHA_CONTAINERD_SOURCE", c.containerd_source.as_str().into()),
            ("KHA_DOCKER_BASE", c.docker_base.clone()),
            ("KHA_DOCKER_KEY", c.docker_key.clone()),
            ("KHA_PAUSE_IMAGE", v.pause_image.clone()),
        ]),
        vec![],
    );
    let packages = step(
        "kube-packages",
        n,
        "Install kubelet, kubeadm and kubectl from pkgs.k8s.io, pinned and held",
        &[scripts::KUBE_PACKAGES],
        env(&[
            ("KHA_K8S_MINOR", v.minor.clone()),
            ("KHA_PACKAGE_BASE", c.package_base.clone()),
            ("KHA_PACKAGE_KEY", c.package_key.clone()),
            ("KHA_PACKAGES", "kubelet kubeadm kubectl".into()),
        ]),
        vec![],
    );
    vec![prep, containerd, packages]
}

/// What the engine makes anew for [`refresh_join_secrets`] before it runs, and uses for every
/// join after it: kubeadm refuses to create a token whose id exists, and a fresh certificate key
/// keeps the old upload useless.
pub const RENEWED_BY_REFRESH: [Placeholder; 2] =
    [Placeholder::BootstrapToken, Placeholder::CertificateKey];

/// An address as the host part of a URL: IPv6 in brackets.
pub fn host_in_url(a: std::net::IpAddr) -> String {
    match a {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

/// The step that renews the bootstrap token and re-uploads the certificates under a new key on
/// the first control plane. The engine runs it when joins resume in a later run or after the
/// certificate upload window; it is not part of the printed phases.
pub fn refresh_join_secrets(c: &Cluster) -> Step {
    let first = c.first_control_plane();
    let mut s = step(
        "refresh-join-secrets",
        first,
        "Create a new bootstrap token and re-upload control-plane certificates",
        &[scripts::REFRESH_JOIN_SECRETS],
        vec![],
        vec![FileSpec {
            path: "/etc/kha/kubeadm-refresh.yaml".into(),
            mode: 0o600,
            content: kubeadm_init_yaml(c, first),
        }],
    );
    s.makes = RENEWED_BY_REFRESH.to_vec();
    s
}

fn key(n: &Node, step: &str) -> String {
    Plan::key(&n.name, step)
}

/// Fills `after` for every step: the node's own earlier steps, plus the cross-node gates that
/// kubeadm needs (init after the LB; joins after init, control planes one after another;
/// the finish after every join).
fn link(c: &Cluster, phases: &mut [Phase]) {
    let first = c.first_control_plane();
    let init = key(first, "kubeadm-init");
    let joins: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| n.name != first.name)
        .map(|n| key(n, "kubeadm-join"))
        .collect();
    let mut last_on_node: std::collections::HashMap<String, String> = Default::default();
    for ph in phases.iter_mut() {
        for s in &mut ph.steps {
            let mut after: Vec<String> = last_on_node.get(&s.node).cloned().into_iter().collect();
            match s.id.as_str() {
                // The endpoint must answer: HAProxy on every LB, and with a pair keepalived
                // on the first (it waits until the VIP answers). The backup's keepalived
                // gates nothing, so its failure stops only that LB's work.
                "kubeadm-init" => {
                    after.extend(c.load_balancers().map(|n| key(n, "haproxy")));
                    if c.lb_pair.is_some() {
                        after.push(key(&c.lb, "keepalived"));
                    }
                }
                "kubeadm-join" => after.push(init.clone()),
                "kubeconfig" | "calico" => after.push(init.clone()),
                "wait-ready" | "cleanup-secrets" => after.extend(joins.iter().cloned()),
                _ => {}
            }
            after.sort();
            after.dedup();
            s.after = after;
            last_on_node.insert(s.node.clone(), Plan::key(&s.node, &s.id));
        }
    }
}

pub fn build(c: &Cluster) -> Plan {
    let v = &c.versions;
    let first = c.first_control_plane();
    let mut phases = Vec::new();

    let mut lb_steps: Vec<Step> = c
        .load_balancers()
        .map(|lb| {
            step(
                "haproxy",
                lb,
                "Install HAProxy, write and validate haproxy.cfg, listen on the API port",
                &[scripts::LB_HAPROXY],
                env(&[("KHA_API_PORT", c.api_port.to_string())]),
                vec![FileSpec {
                    path: "/etc/kha/haproxy.cfg".into(),
                    mode: 0o644,
                    content: haproxy_cfg(c),
                }],
            )
        })
        .collect();
    lb_steps.extend(super::pair::keepalived_steps(c));
    phases.push(Phase {
        name: "load-balancer".into(),
        title: if c.lb_pair.is_some() {
            "HAProxy and keepalived on the load-balancer pair".into()
        } else {
            "HAProxy on the load balancer".into()
        },
        mode: Mode::Parallel,
        steps: lb_steps,
    });

    let mut prep: Vec<Step> = c.nodes.iter().flat_map(|n| prepare_steps(c, n)).collect();
    prep.push(step(
        "kubectl",
        &c.lb,
        "Install kubectl on the load balancer for the operator",
        &[scripts::KUBE_PACKAGES],
        env(&[
            ("KHA_K8S_MINOR", v.minor.clone()),
            ("KHA_PACKAGE_BASE", c.package_base.clone()),
            ("KHA_PACKAGE_KEY", c.package_key.clone()),
            ("KHA_PACKAGES", "kubectl".into()),
        ]),
        vec![],
    ));
    phases.push(Phase {
        name: "prepare".into(),
        title: "Prepare every node: swap, modules, sysctls, containerd, Kubernetes packages".into(),
        mode: Mode::Parallel,
        steps: prep,
    });

    let mut init = step(
        "kubeadm-init",
        first,
        "kubeadm init with the control-plane endpoint, uploading certificates",
        &[scripts::KUBEADM_INIT],
        env(&[("KHA_API_PORT", c.api_port.to_string())]),
        vec![FileSpec {
            path: "/etc/kha/kubeadm-init.yaml".into(),
            mode: 0o600,
            content: kubeadm_init_yaml(c, first),
        }],
    );
    init.sensitive = true;
    init.makes = vec![Placeholder::BootstrapToken, Placeholder::CertificateKey];
    init.confirm = Some(format!(
        "kubeadm init creates the cluster CA and control plane on {} and uploads the control-plane certificates, encrypted under a generated key, into the cluster for two hours",
        first.name
    ));
    phases.push(Phase {
        name: "init".into(),
        title: format!("Initialise the first control plane ({})", first.name),
        mode: Mode::Serial,
        steps: vec![init],
    });

    let join = |n: &Node| {
        let mut vars = vec![
            ("KHA_ROLE", n.role.label().to_string()),
            ("KHA_NODE_NAME", n.name.clone()),
        ];
        if n.role == Role::ControlPlane {
            // Whether this control plane has joined is asked of etcd through the others.
            let others: Vec<String> = c
                .control_planes()
                .filter(|o| o.name != n.name)
                .map(|o| format!("https://{}:2379", host_in_url(o.address)))
                .collect();
            vars.push((
                "KHA_PEER_URL",
                format!("https://{}:2380", host_in_url(n.address)),
            ));
            vars.push(("KHA_ETCD_ENDPOINTS", others.join(" ")));
            vars.push(("KHA_ENDPOINT", c.control_plane_endpoint()));
        }
        let mut s = step(
            "kubeadm-join",
            n,
            if n.role == Role::ControlPlane {
                "kubeadm join as a control plane through the endpoint"
            } else {
                "kubeadm join as a worker through the endpoint"
            },
            &[scripts::KUBEADM_JOIN],
            env(&vars),
            vec![FileSpec {
                path: "/etc/kha/kubeadm-join.yaml".into(),
                mode: 0o600,
                content: kubeadm_join_yaml(c, n),
            }],
        );
        s.sensitive = true;
        if n.role == Role::ControlPlane {
            s.holds = vec![ETCD_MEMBERSHIP.into()];
        }
        s
    };
    let cps: Vec<Step> = c.control_planes().skip(1).map(join).collect();
    if !cps.is_empty() {
        phases.push(Phase {
            name: "join-control-planes".into(),
            title: "Join the other control planes, one at a time".into(),
            mode: Mode::Serial,
            steps: cps,
        });
    }
    let workers: Vec<Step> = c.workers().map(join).collect();
    if !workers.is_empty() {
        phases.push(Phase {
            name: "join-workers".into(),
            title: "Join the workers".into(),
            mode: Mode::Parallel,
            steps: workers,
        });
    }

    let kubeconfig = {
        let mut s = step(
            "kubeconfig",
            &c.lb,
            "Admin kubeconfig to ~/.kube/config on the load balancer (0600)",
            &[scripts::LB_KUBECONFIG],
            env(&[
                ("KHA_USER", c.lb.ssh.user.clone()),
                ("KHA_ENDPOINT", c.control_plane_endpoint()),
            ]),
            vec![FileSpec {
                path: "/etc/kha/admin.conf".into(),
                mode: 0o600,
                content: Placeholder::AdminKubeconfig.marker(),
            }],
        );
        s.sensitive = true;
        s
    };
    let calico = step(
        "calico",
        first,
        "Install Calico through the Tigera operator, IP pool = pod subnet",
        &[scripts::CALICO],
        env(&[
            ("KHA_CALICO_VERSION", c.calico_version.clone()),
            ("KHA_MANIFEST_BASE", c.manifest_base.clone()),
        ]),
        vec![FileSpec {
            path: "/etc/kha/calico-installation.yaml".into(),
            mode: 0o644,
            content: calico_installation_yaml(c),
        }],
    );
    let mut ready = step(
        "wait-ready",
        first,
        "Wait until every node is Ready",
        &[scripts::WAIT_READY],
        env(&[
            ("KHA_NODE_COUNT", c.nodes.len().to_string()),
            ("KHA_TIMEOUT_SECONDS", READY_TIMEOUT_SECONDS.to_string()),
        ]),
        vec![],
    );
    ready.reports_cluster_nodes = true;
    // It waits up to READY_TIMEOUT_SECONDS itself, printing little: its limits are longer.
    ready.limits = Limits {
        total: Some(Duration::from_secs(READY_TIMEOUT_SECONDS as u64 + 120)),
        idle: Some(Duration::from_secs(READY_TIMEOUT_SECONDS as u64 + 60)),
    };
    let cleanup = step(
        "cleanup-secrets",
        first,
        "Delete the bootstrap tokens and the file holding the join secrets",
        &[scripts::CLEANUP_SECRETS],
        vec![],
        vec![],
    );
    phases.push(Phase {
        name: "finish".into(),
        title: "Kubeconfig on the LB, Calico, every node Ready".into(),
        mode: Mode::Serial,
        steps: vec![kubeconfig, calico, ready, cleanup.clone()],
    });

    link(c, &mut phases);
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: v.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: first.name.clone(),
        phases,
        values: Some(ValueSources {
            node: first.name.clone(),
            ca_cert: "/etc/kubernetes/pki/ca.crt".into(),
            admin_kubeconfig: "/etc/kubernetes/admin.conf".into(),
            refresh: refresh_join_secrets(c),
            cleanup,
        }),
    }
}
