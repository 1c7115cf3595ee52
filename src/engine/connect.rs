//! Before the plan runs: connecting to every host at once (unknown host keys asked about,
//! sudo and a work directory set up) and the preflight checks on every connected node.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use super::Options;
use super::events::{CheckResult, Event, Failure};
use super::node::NodeConn;
use super::preflight::{self, Facts};
use super::secrets::Redactor;
use crate::assets::scripts;
use crate::inventory::{Cluster, Node};
use crate::transport::{Auth, HostKeyQuestion, JumpHop, Session as _, Target, Transport};

/// How the engine reaches a node, from the inventory and the run's options.
pub fn target_for(n: &Node, opts: &Options) -> Target {
    let auth = if let Some(pw) = &opts.ssh_password {
        Auth::Password(pw.clone())
    } else if let Some(path) = &n.ssh.identity_file {
        Auth::KeyFile {
            path: path.clone(),
            passphrase: opts.key_passphrase.clone(),
        }
    } else {
        Auth::Agent
    };
    // The ssh config's ConnectTimeout and ServerAliveInterval, where it sets them.
    let mut timeouts = opts.timeouts;
    if let Some(t) = n.ssh.connect_timeout.filter(|t| !t.is_zero()) {
        timeouts.connect = t;
    }
    if let Some(k) = n.ssh.keepalive {
        timeouts.keepalive = k;
    }
    Target {
        node: n.name.clone(),
        host: n.address.to_string(),
        port: n.ssh.port,
        user: n.ssh.user.clone(),
        more_keys: match auth {
            Auth::KeyFile { .. } => n.ssh.more_identity_files.clone(),
            _ => Vec::new(),
        },
        auth,
        timeouts,
        jumps: n
            .ssh
            .jump
            .iter()
            .flat_map(|j| j.hops())
            .map(|h| JumpHop {
                name: h.spec.clone(),
                host: h.host.clone(),
                port: h.port,
                user: h.user.clone(),
                // The bastion's own key (its config's IdentityFile, else the node's), never
                // the run's password: that is for the nodes.
                auth: match &h.identity_file {
                    Some(path) => Auth::KeyFile {
                        path: path.clone(),
                        passphrase: opts.key_passphrase.clone(),
                    },
                    None => Auth::Agent,
                },
            })
            .collect(),
        proxy_command: n.ssh.jump.as_ref().and_then(|j| match j.route {
            crate::inventory::ssh_jump::Route::Command => {
                Some(format!("{} ({})", j.written, j.source))
            }
            _ => None,
        }),
    }
}

/// Whether unknown host keys of `n` may be asked about, and accepted without asking.
/// `StrictHostKeyChecking yes` refuses unknown keys; `accept-new` and `no` accept them like
/// `--accept-new-host-keys`. A changed key is refused whatever the config says (transport).
pub(crate) fn host_key_policy(n: &Node, opts: &Options) -> (bool, bool) {
    use crate::inventory::ssh_config::StrictHostKeys as S;
    match n.ssh.strict_host_keys {
        Some(S::Yes) => (false, false),
        Some(S::AcceptNew | S::No) => (true, true),
        Some(S::Ask) | None => (
            opts.interactive || opts.accept_new_host_keys,
            opts.accept_new_host_keys,
        ),
    }
}

/// Connecting and preflight, before the plan runs.
pub(super) struct Run<T: Transport> {
    pub transport: Arc<T>,
    pub cluster: Cluster,
    pub opts: Options,
    pub tx: mpsc::Sender<Event>,
    pub conns: HashMap<String, NodeConn<T::Session>>,
    /// Passwords, for connection errors.
    pub redactor: Redactor,
    /// Nodes already in the cluster by the state (their kubelet ports are in use).
    pub in_cluster: HashSet<String>,
}

impl<T: Transport> Run<T> {
    pub async fn emit(&self, e: Event) {
        let _ = self.tx.send(e).await;
    }

    /// Connects to every host at once (bounded), sets up sudo and a work directory.
    pub async fn connect_all(&mut self) {
        let sem = Arc::new(Semaphore::new(self.opts.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let mut names = HashMap::new();
        let hosts: Vec<Node> = self.cluster.all_hosts().cloned().collect();
        for n in hosts {
            let name = n.name.clone();
            let transport = self.transport.clone();
            let target = target_for(&n, &self.opts);
            let tx = self.tx.clone();
            let sem = sem.clone();
            let opts = self.opts.clone();
            let task = set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let _ = tx
                    .send(Event::NodeConnecting {
                        node: n.name.clone(),
                    })
                    .await;
                let (ask, accept) = host_key_policy(&n, &opts);
                let questions = if ask {
                    let (qtx, mut qrx) = mpsc::channel::<HostKeyQuestion>(4);
                    let tx2 = tx.clone();
                    tokio::spawn(async move {
                        while let Some(q) = qrx.recv().await {
                            if accept {
                                // Accepted without asking (accept-new, --accept-new-host-keys):
                                // still said, with the fingerprint, as ssh warns "Permanently
                                // added".
                                let _ = tx2
                                    .send(Event::Log {
                                        node: q.node.clone(),
                                        step: "connect".into(),
                                        stream: super::events::Stream::Stderr,
                                        line: format!(
                                            "learned the {} host key of {}:{} ({}) without \
                                             asking: StrictHostKeyChecking accept-new or \
                                             --accept-new-host-keys",
                                            q.algorithm, q.host, q.port, q.fingerprint
                                        ),
                                    })
                                    .await;
                                let _ = q.answer.send(true);
                            } else {
                                let _ = tx2
                                    .send(Event::HostKeyQuestion {
                                        node: q.node,
                                        host: format!("{}:{}", q.host, q.port),
                                        algorithm: q.algorithm,
                                        fingerprint: q.fingerprint,
                                        reply: q.answer,
                                    })
                                    .await;
                            }
                        }
                    });
                    Some(qtx)
                } else {
                    None
                };
                let result = match transport.connect(&target, questions).await {
                    Ok(session) => NodeConn::setup(
                        &n.name,
                        session,
                        &target.user,
                        opts.sudo_password.as_deref(),
                    )
                    .await
                    .map_err(|e| (e.to_string(), e.failure())),
                    Err(e) => Err((e.to_string(), Failure::from(&e))),
                };
                (n.name.clone(), result)
            });
            names.insert(task.id(), name);
        }
        while let Some(joined) = set.join_next_with_id().await {
            let (name, result) = match joined {
                Ok((_, r)) => r,
                // A connect task that panicked is a node that failed to connect.
                Err(e) => (
                    names.get(&e.id()).cloned().unwrap_or_default(),
                    Err((
                        format!("internal error while connecting: {e}"),
                        Failure::Other,
                    )),
                ),
            };
            match result {
                Ok(conn) => {
                    self.emit(Event::NodeConnected {
                        node: name.clone(),
                        detail: conn.os.clone(),
                    })
                    .await;
                    self.conns.insert(name, conn);
                }
                Err((error, failure)) => {
                    let error = self.redactor.redact(&error);
                    self.emit(Event::NodeUnreachable {
                        node: name,
                        failure,
                        error,
                    })
                    .await;
                }
            }
        }
    }

    /// Gathers facts on every connected node and checks them. Returns all results.
    pub async fn preflight(&mut self) -> Vec<CheckResult> {
        let mut results = Vec::new();
        let mut facts = Vec::new();
        let names: Vec<String> = self.cluster.all_hosts().map(|n| n.name.clone()).collect();
        let mut set = tokio::task::JoinSet::new();
        for name in &names {
            let Some(mut conn) = self.conns.remove(name) else {
                continue;
            };
            let node = self.cluster.host(name).expect("host").clone();
            let lb = (
                self.cluster.lb.address.to_string(),
                self.cluster.api_port,
                self.cluster.lb.ssh.port,
            );
            // A load balancer of a pair also looks at the virtual address (preflight::pair).
            let vip_env = match &self.cluster.lb_pair {
                Some(p) if node.role == crate::inventory::Role::LoadBalancer => {
                    format!("KHA_VIP={} ", crate::shell::quote(&p.vip.to_string()))
                }
                _ => String::new(),
            };
            // The cluster's addresses: preflight.sh reads firewalld's zones of the interfaces
            // they come in through.
            let fw_from: String = super::firewall::sources(&self.cluster)
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let ports: Vec<String> = preflight::ports_for(node.role, self.cluster.api_port)
                .iter()
                .map(|p| p.to_string())
                .collect();
            set.spawn(async move {
                let script = format!(
                    "{}\n{}\n{}",
                    scripts::LIB,
                    scripts::FIREWALL_ZONES,
                    scripts::PREFLIGHT
                );
                let path = format!("{}/preflight.sh", conn.workdir);
                let res = async {
                    conn.session.upload(&path, script.as_bytes(), 0o600).await?;
                    let before = std::time::SystemTime::now();
                    let c = conn
                        .root_collect(&format!(
                            "env KHA_PORTS={} KHA_FW_FROM={} KHA_LB_ADDR={} KHA_LB_PORT={} KHA_LB_SSH_PORT={} bash {}",
                            crate::shell::quote(&ports.join(" ")),
                            crate::shell::quote(&fw_from),
                            crate::shell::quote(&lb.0),
                            lb.1,
                            lb.2,
                            crate::shell::quote(&path)
                        ))
                        .await?;
                    let after = std::time::SystemTime::now();
                    // The pair's facts take seconds (a listen): a command of their own, after
                    // the clock was measured.
                    let mut c = c;
                    if !vip_env.is_empty() && c.status.success() {
                        let script = format!("{}\n{}", scripts::LIB, scripts::PREFLIGHT_PAIR);
                        let path = format!("{}/preflight-pair.sh", conn.workdir);
                        conn.session.upload(&path, script.as_bytes(), 0o600).await?;
                        let p = conn
                            .root_collect(&format!(
                                "env {vip_env}bash {}",
                                crate::shell::quote(&path)
                            ))
                            .await?;
                        c.stdout.push_str(&p.stdout);
                        if !p.status.success() {
                            c.stderr.push_str(&p.stderr);
                            c.status = p.status;
                        }
                    }
                    Ok::<_, crate::transport::TransportError>((c, before, after))
                }
                .await;
                (node, res, conn)
            });
        }
        while let Some(j) = set.join_next().await {
            let Ok((node, res, conn)) = j else { continue };
            self.conns.insert(node.name.clone(), conn);
            match res {
                Ok((c, before, after)) if c.status.success() => {
                    let secs = |t: std::time::SystemTime| {
                        t.duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs_f64())
                            .unwrap_or(0.0)
                    };
                    let local_mid = (secs(before) + secs(after)) / 2.0;
                    let mut f = Facts::parse(&c.stdout, 0.0);
                    f.clock_offset = f
                        .get("time")
                        .parse::<f64>()
                        .map(|t| t - local_mid)
                        .unwrap_or(0.0);
                    let done = self.in_cluster.contains(&node.name);
                    results.extend(preflight::check_node(
                        &self.cluster,
                        &node,
                        &f,
                        done || f.get("kubelet_conf") == "yes",
                    ));
                    facts.push((node.name.clone(), f));
                }
                Ok((c, _, _)) => results.push(CheckResult {
                    node: node.name.clone(),
                    check: "facts".into(),
                    status: super::CheckStatus::Fail,
                    found: format!("the preflight script failed: {}", c.stderr.trim()),
                    fix: "look at the message; the node may lack /etc/os-release, iproute2 or sudo"
                        .into(),
                    fixable: None,
                }),
                Err(e) => results.push(CheckResult {
                    node: node.name.clone(),
                    check: "facts".into(),
                    status: super::CheckStatus::Fail,
                    found: e.to_string(),
                    fix: "check the connection to the node".into(),
                    fixable: None,
                }),
            }
        }
        results.extend(preflight::check_fleet(&self.cluster, &facts));
        // Nodes that could not be reached fail preflight too.
        for name in &names {
            if !self.conns.contains_key(name) {
                results.push(CheckResult {
                    node: name.clone(),
                    check: "connect".into(),
                    status: super::CheckStatus::Fail,
                    found: "not connected (see the connection error)".into(),
                    fix: "make the node reachable over SSH with sudo, then run again".into(),
                    fixable: None,
                });
            }
        }
        let order = |n: &str| names.iter().position(|x| x == n).unwrap_or(usize::MAX);
        results.sort_by_key(|r| order(&r.node));
        for r in &results {
            self.emit(Event::PreflightResult(r.clone())).await;
        }
        results
    }
}
