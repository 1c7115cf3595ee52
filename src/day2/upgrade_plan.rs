//! The plan behind `kha-tui upgrade --to 1.NN`: one Kubernetes minor at a time, as kubeadm
//! requires, in kubeadm's order. Before anything: the cluster must be healthy (every node Ready,
//! every etcd member healthy, every HAProxy backend UP — the status plan's report), and the target
//! the next minor of the versions table. Steps, each waiting for the one before:
//! the "upgrade in progress" mark (ConfigMap kube-system/kha-tui-upgrade), an etcd snapshot on the
//! first control plane, containerd on the control planes where the target minor needs a newer one
//! (one at a time), Calico when its line does not support the target, then the first control
//! plane (`kubeadm upgrade apply`), the other control planes one at a time (`kubeadm upgrade
//! node`), their kubelets, then the workers in batches of `max_unavailable`: cordon + drain,
//! containerd if needed, `kubeadm upgrade node`, kubelet, uncordon + Ready; last the mark removed.
//! Step ids carry the target minor, so the engine's state resumes an interrupted upgrade from the
//! step where it stopped, and the next minor's upgrade starts fresh. Pure.

use std::time::Duration;

use super::status::ClusterStatus;
use crate::assets::scripts;
use crate::inventory::{Cluster, ContainerdSource, Node, Role};
use crate::plan::{self, Limits, Mode, Phase, Plan, Step};
use crate::versions::{Minor, Table, minor_number};

/// The name of the "upgrade in progress" ConfigMap in kube-system.
pub const MARK_CONFIGMAP: &str = "kha-tui-upgrade";

#[derive(Debug, Clone)]
pub struct UpgradeOptions {
    /// "1.NN"
    pub to: String,
    /// Workers drained at the same time.
    pub max_unavailable: usize,
    pub drain_timeout: u64,
    /// Who runs it (user@host), written into the mark.
    pub by: String,
}

/// What the nodes run now, as read before the plan is made.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    /// node → containerd version ("1.6.20"), where it could be read.
    pub containerd: Vec<(String, String)>,
}

impl NodeFacts {
    pub fn containerd_of(&self, node: &str) -> Option<&str> {
        self.containerd
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Upgrade {
    pub from: String,
    pub to: String,
    /// The cluster as it will be (the target minor's versions): what the plan was built from.
    pub target: Cluster,
    pub plan: Plan,
    /// Said before the confirmation: what the target needs that the nodes lack, and why.
    pub notes: Vec<String>,
    /// Nodes whose containerd is replaced first.
    pub containerd_nodes: Vec<String>,
    /// The Calico release installed first, when the current line does not support the target.
    pub calico_to: Option<String>,
    /// Worker batches, in order.
    pub batches: Vec<Vec<String>>,
}

/// "1.35.2" / "v1.35.2" → 35.
fn minor_of_version(v: &str) -> Option<u32> {
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split('.');
    let major = it.next()?;
    let minor = it.next()?;
    if major != "1" {
        return None;
    }
    minor.parse().ok()
}

/// Whether containerd `have` ("1.6.20") is at least `min` ("2.0").
pub fn containerd_at_least(have: &str, min: &str) -> bool {
    let parse = |s: &str| -> Vec<u32> {
        s.trim_start_matches('v')
            .split(['.', '-', '~', '+'])
            .take(2)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(have) >= parse(min)
}

/// Why the cluster is not fit for an upgrade, or nothing. The status plan's report decides.
pub fn unhealthy(s: &ClusterStatus) -> Vec<String> {
    let mut why = Vec::new();
    for u in &s.unreachable {
        why.push(format!("{} does not answer over SSH ({})", u.node, u.error));
    }
    if s.nodes_reported_by.is_none() {
        why.push("no control plane could list the cluster's nodes".into());
    }
    for n in s.nodes.iter().filter(|n| !n.ready) {
        why.push(format!("node {} is {}", n.name, n.status));
    }
    for m in s.etcd_members.iter().filter(|m| m.healthy != Some(true)) {
        let name = if m.name.is_empty() { &m.id } else { &m.name };
        why.push(format!(
            "etcd member {name} is {}",
            match m.healthy {
                Some(false) => "unhealthy",
                _ => "not answering",
            }
        ));
    }
    if s.etcd_members_reported_by.is_none() {
        why.push("no control plane could list etcd's members".into());
    }
    for lb in &s.load_balancers {
        if !lb.reachable {
            continue;
        }
        for b in lb.backends.iter().filter(|b| !b.up) {
            why.push(format!(
                "HAProxy on {} has backend {} {}",
                lb.name, b.name, b.status
            ));
        }
    }
    why
}

/// The minor the cluster runs now: the lowest kubelet minor (an interrupted upgrade leaves some
/// nodes behind; they decide where it stands).
pub fn current_minor(s: &ClusterStatus) -> Option<u32> {
    s.nodes
        .iter()
        .filter_map(|n| minor_of_version(&n.version))
        .min()
}

/// Checks `--to` against the cluster's minor and the versions table: the next minor only.
pub fn check_target<'t>(t: &'t Table, from: u32, to: &str) -> Result<&'t Minor, String> {
    let n = minor_number(to).ok_or_else(|| {
        format!(
            "--to {to:?}: write the Kubernetes minor as 1.NN, e.g. --to 1.{}",
            from + 1
        )
    })?;
    let known: Vec<&str> = t.kubernetes.iter().map(|m| m.minor.as_str()).collect();
    let m = t.find(to).ok_or_else(|| {
        format!(
            "--to {to}: kha-tui's versions table does not know {to} (it knows {}); see kha-tui versions",
            known.join(", ")
        )
    })?;
    if n <= from {
        return Err(format!(
            "--to {to}: the cluster runs 1.{from} already; kha-tui upgrades only forward, one minor at a time (next: --to 1.{})",
            from + 1
        ));
    }
    if n > from + 1 {
        let path: Vec<String> = (from..=n).map(|k| format!("1.{k}")).collect();
        let runs: Vec<String> = (from + 1..=n)
            .map(|k| format!("`kha-tui upgrade --to 1.{k}`"))
            .collect();
        return Err(format!(
            "--to {to}: kubeadm upgrades one minor at a time, and the cluster runs 1.{from}. The path is {}: run {}, one after the other",
            path.join(" → "),
            runs.join(", then ")
        ));
    }
    Ok(m)
}

fn step(id: &str, node: &str, title: &str, body: &[&str], env: Vec<(&str, String)>) -> Step {
    let mut script = String::from(scripts::LIB);
    for b in body {
        script.push('\n');
        script.push_str(b);
    }
    let mut s = Step::new(id, node, title, script);
    s.env = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    s
}

fn limits(secs: u64) -> Limits {
    Limits {
        total: Some(Duration::from_secs(secs)),
        idle: Some(Duration::from_secs(secs.min(600))),
    }
}

/// Plans the upgrade of the cluster `s` shows to `o.to`. `Err` says why nothing runs.
pub fn plan_upgrade(
    c: &Cluster,
    s: &ClusterStatus,
    facts: &NodeFacts,
    o: &UpgradeOptions,
) -> Result<Upgrade, String> {
    let from_n = current_minor(s)
        .ok_or_else(|| "no node reported a kubelet version: see kha-tui status".to_string())?;
    let target_minor = check_target(Table::get(), from_n, &o.to)?;
    let sick = unhealthy(s);
    if !sick.is_empty() {
        return Err(format!(
            "the cluster is not healthy, and an upgrade starts only on a healthy one: {}. Fix that first (kha-tui status shows what and how)",
            sick.join("; ")
        ));
    }
    if o.max_unavailable == 0 {
        return Err(
            "--max-unavailable 0: at least one worker must be upgraded at a time (1 or more)"
                .into(),
        );
    }
    let from = format!("1.{from_n}");
    let to = target_minor.minor.clone();
    let mut notes = Vec::new();

    // The cluster as it will be: the target minor's versions, Calico on a line that supports it.
    let mut target = c.clone();
    target.versions = target_minor.clone();
    let calico_to = if target_minor.calico.contains(&c.calico_version) {
        None
    } else {
        let v = target_minor.default_calico().to_string();
        notes.push(format!(
            "Calico {} does not support Kubernetes {to} (the versions table lists {}): Calico {v} is installed first",
            c.calico_version,
            target_minor.calico.join(", ")
        ));
        target.calico_version = v.clone();
        target.calico_sums = Table::get().calico_sums(&v).cloned();
        Some(v)
    };
    // containerd: where a node runs one below what the target's kubelet accepts.
    let min = &target_minor.containerd_min;
    let containerd_nodes: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| match facts.containerd_of(&n.name) {
            Some(v) => !containerd_at_least(v, min),
            None => false,
        })
        .map(|n| n.name.clone())
        .collect();
    if !containerd_nodes.is_empty() {
        let listed: Vec<String> = containerd_nodes
            .iter()
            .map(|n| format!("{n} ({})", facts.containerd_of(n).unwrap_or("?")))
            .collect();
        notes.push(format!(
            "Kubernetes {to} needs containerd >= {min}: containerd is replaced first on {} (config version 3, SystemdCgroup = true, checked in `containerd config dump`; the kubelet checked healthy after)",
            listed.join(", ")
        ));
        if c.containerd_source == ContainerdSource::Distro {
            notes.push(format!(
                "containerd_source = \"distro\": the distribution's containerd is below {min}, so this upgrade takes containerd.io from {} (what containerd_source = \"auto\" does)",
                c.docker_base
            ));
            target.containerd_source = ContainerdSource::Auto;
        }
    }
    let full = plan::build(&target);
    let minor_env = |extra: Vec<(&'static str, String)>| {
        let mut e = vec![
            ("KHA_K8S_MINOR", to.clone()),
            ("KHA_PACKAGE_BASE", c.package_base.clone()),
            ("KHA_PACKAGE_KEY", c.package_key.clone()),
        ];
        e.extend(extra);
        e
    };
    let id = |what: &str| format!("upgrade-{to}-{what}");
    let first = c.first_control_plane().name.clone();
    let mut steps: Vec<Step> = Vec::new();
    let mut mark = step(
        &id("mark"),
        &first,
        &format!(
            "Mark the cluster: upgrade {from} → {to} in progress (kube-system/{MARK_CONFIGMAP})"
        ),
        &[scripts::UPGRADE_MARK],
        vec![
            ("KHA_UPGRADE_ACTION", "set".into()),
            ("KHA_UPGRADE_FROM", from.clone()),
            ("KHA_UPGRADE_TO", to.clone()),
            ("KHA_UPGRADE_BY", o.by.clone()),
        ],
    );
    mark.limits = limits(120);
    steps.push(mark);
    let mut snap = step(
        &id("etcd-snapshot"),
        &first,
        "etcd snapshot before the upgrade, kept on this node (/var/lib/etcd, 0600)",
        &[scripts::UPGRADE_ETCD_SNAPSHOT],
        vec![("KHA_UPGRADE_TO", to.clone())],
    );
    snap.limits = limits(300);
    steps.push(snap);
    let containerd_step = |n: &Node| -> Option<Step> {
        if !containerd_nodes.contains(&n.name) {
            return None;
        }
        let base = full.find(&n.name, "containerd")?;
        let mut s = base.clone();
        s.id = id("containerd");
        s.title = format!(
            "containerd >= {min} for Kubernetes {to}, config checked, kubelet healthy after"
        );
        s.script.push('\n');
        s.script.push_str(scripts::UPGRADE_CONTAINERD_CHECK);
        s.after.clear();
        s.limits = limits(900);
        Some(s)
    };
    let cps: Vec<&Node> = c.control_planes().collect();
    for n in &cps {
        if let Some(s) = containerd_step(n) {
            steps.push(s);
        }
    }
    if calico_to.is_some()
        && let Some(base) = full.find(&first, "calico")
    {
        let mut s = base.clone();
        s.id = id("calico");
        s.after.clear();
        steps.push(s);
    }
    let kubeadm_step = |n: &Node, apply: bool| {
        let mut s = step(
            &id("kubeadm"),
            &n.name,
            &if apply {
                format!("pkgs.k8s.io source → {to}, kubeadm {to} (held), kubeadm upgrade apply")
            } else {
                format!("pkgs.k8s.io source → {to}, kubeadm {to} (held), kubeadm upgrade node")
            },
            &[scripts::UPGRADE_KUBEADM],
            minor_env(vec![(
                "KHA_UPGRADE_APPLY",
                if apply { "1" } else { "0" }.into(),
            )]),
        );
        s.limits = limits(1200);
        s
    };
    let kubelet_step = |n: &Node| {
        let mut s = step(
            &id("kubelet"),
            &n.name,
            &format!("kubelet and kubectl {to} (held), kubelet restarted and healthy"),
            &[scripts::UPGRADE_KUBELET],
            minor_env(vec![]),
        );
        s.limits = limits(900);
        s
    };
    // Control planes: the first applies, the others follow one at a time; then their kubelets.
    for (i, n) in cps.iter().enumerate() {
        steps.push(kubeadm_step(n, i == 0));
    }
    for n in &cps {
        steps.push(kubelet_step(n));
    }
    chain(&mut steps);

    // Workers in batches: within a batch side by side, each worker's own steps in order.
    let workers: Vec<&Node> = c.nodes.iter().filter(|n| n.role == Role::Worker).collect();
    let batches: Vec<Vec<String>> = workers
        .chunks(o.max_unavailable)
        .map(|b| b.iter().map(|n| n.name.clone()).collect())
        .collect();
    let mut phases = vec![Phase {
        name: "upgrade-control-planes".into(),
        title: format!("Upgrade {from} → {to}: etcd snapshot, control planes one at a time"),
        mode: Mode::Serial,
        steps,
    }];
    let mut gate = phases[0]
        .steps
        .last()
        .map(|s| vec![Plan::key(&s.node, &s.id)])
        .unwrap_or_default();
    let drain_secs = o.drain_timeout;
    for (bi, batch) in batches.iter().enumerate() {
        let mut bsteps = Vec::new();
        let mut ends = Vec::new();
        for name in batch {
            let n = c.host(name).expect("a worker of the inventory");
            let mut own: Vec<Step> = Vec::new();
            let mut d = step(
                &id(&format!("drain-{name}")),
                &first,
                &format!("Cordon and drain {name} (at most {drain_secs} s)"),
                &[scripts::DRAIN_NODE],
                vec![
                    ("KHA_TARGET", name.clone()),
                    ("KHA_DRAIN_TIMEOUT", drain_secs.to_string()),
                ],
            );
            d.limits = Limits {
                total: Some(Duration::from_secs(drain_secs + 60)),
                idle: Some(Duration::from_secs(drain_secs + 30)),
            };
            own.push(d);
            if let Some(s) = containerd_step(n) {
                own.push(s);
            }
            own.push(kubeadm_step(n, false));
            own.push(kubelet_step(n));
            let mut u = step(
                &id(&format!("uncordon-{name}")),
                &first,
                &format!("Uncordon {name}, wait until it is Ready at {to}"),
                &[scripts::UPGRADE_UNCORDON],
                vec![("KHA_TARGET", name.clone()), ("KHA_K8S_MINOR", to.clone())],
            );
            u.limits = limits(300);
            own.push(u);
            chain(&mut own);
            own[0].after = gate.clone();
            ends.push(Plan::key(
                &own.last().unwrap().node,
                &own.last().unwrap().id,
            ));
            bsteps.extend(own);
        }
        gate = ends;
        phases.push(Phase {
            name: format!("upgrade-workers-{}", bi + 1),
            title: format!(
                "Upgrade workers, batch {} of {}: {}",
                bi + 1,
                batches.len(),
                batch.join(", ")
            ),
            mode: Mode::Parallel,
            steps: bsteps,
        });
    }
    let mut done = step(
        &id("unmark"),
        &first,
        &format!("Upgrade to {to} finished: remove kube-system/{MARK_CONFIGMAP}"),
        &[scripts::UPGRADE_MARK],
        vec![
            ("KHA_UPGRADE_ACTION", "clear".into()),
            ("KHA_UPGRADE_TO", to.clone()),
        ],
    );
    done.after = gate;
    done.limits = limits(120);
    phases.push(Phase {
        name: "upgrade-finish".into(),
        title: "Remove the upgrade-in-progress mark".into(),
        mode: Mode::Serial,
        steps: vec![done],
    });
    let plan = Plan {
        cluster: c.name.clone(),
        kubernetes_version: to.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: first,
        phases,
        values: None,
    };
    Ok(Upgrade {
        from,
        to,
        target,
        plan,
        notes,
        containerd_nodes,
        calico_to,
        batches,
    })
}

/// Each step after the one before it.
fn chain(steps: &mut [Step]) {
    for i in 1..steps.len() {
        let prev = Plan::key(&steps[i - 1].node, &steps[i - 1].id);
        steps[i].after = vec![prev];
    }
    if let Some(f) = steps.first_mut() {
        f.after.clear();
    }
}
