//! `kha-tui upgrade`: read the cluster (the status plan) and what its nodes run (containerd's
//! version on every node, `kubeadm upgrade plan` on the first control plane — a read-only plan),
//! plan the upgrade, then run it on the engine. The engine's state carries an interrupted
//! upgrade: the plan's step ids name the target minor, so a second run continues where the
//! first stopped.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::gather::{Scratch, read_only_options};
use super::gather_status;
use super::upgrade_plan::{NodeFacts, Upgrade, UpgradeOptions, plan_upgrade};
use crate::assets::scripts;
use crate::engine::{self, Event, Options, RunSummary};
use crate::inventory::Cluster;
use crate::plan::{Limits, Mode, Phase, Plan, Step};
use crate::transport::Transport;

/// The prefix of the lines the read step prints for kha-tui.
const LINE: &str = "kha-upgrade ";
const READ_STEP: &str = "upgrade-read";

/// What the read plan learned, and the plan if one can be made.
pub struct Prepared {
    /// `kubeadm upgrade plan` as the first control plane printed it.
    pub kubeadm_plan: Vec<String>,
    pub upgrade: Result<Upgrade, String>,
}

/// Read-only: containerd's version on every Kubernetes node; on the first control plane also
/// `kubeadm upgrade plan` (its lines prefixed, so they can be shown before the confirmation).
pub fn read_plan(c: &Cluster) -> Plan {
    let first = c.first_control_plane().name.clone();
    let body = r#"v=$(containerd --version 2>/dev/null | awk '{print $3}' | sed 's/^v//' || true)
printf 'kha-upgrade containerd %s\n' "${v:-none}"
if [ "${KHA_UPGRADE_PLAN:-0}" = 1 ]; then
  KUBECONFIG=/etc/kubernetes/admin.conf kubeadm upgrade plan 2>&1 | sed 's/^/kha-upgrade plan /' || true
fi"#;
    let steps = c
        .nodes
        .iter()
        .map(|n| {
            let mut s = Step::new(
                READ_STEP,
                &n.name,
                "Read containerd's version (and, on the first control plane, kubeadm upgrade plan)",
                format!("{}\n{body}", scripts::LIB),
            );
            if n.name == first {
                s.env.push(("KHA_UPGRADE_PLAN".into(), "1".into()));
            }
            s.limits = Limits {
                total: Some(std::time::Duration::from_secs(120)),
                idle: Some(std::time::Duration::from_secs(90)),
            };
            s
        })
        .collect();
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: first,
        phases: vec![Phase {
            name: "upgrade-read".into(),
            title: "Read what the nodes run (changes nothing)".into(),
            mode: Mode::Parallel,
            steps,
        }],
        values: None,
    }
}

/// Reads the cluster and its nodes, and plans the upgrade.
pub async fn prepare_upgrade<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    config: &str,
    o: &UpgradeOptions,
    stop: CancellationToken,
) -> anyhow::Result<Prepared> {
    let status = gather_status(t.clone(), c, opts, config, stop.clone()).await?;
    // The read plan leaves nothing in kha-tui's state.
    let scratch = Scratch::create("upgrade-read")?;
    let ro = read_only_options(opts, &scratch);
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut facts = NodeFacts::default();
        let mut plan_lines = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let Event::Log {
                node,
                stream: engine::events::Stream::Stdout,
                line,
                ..
            } = ev
                && let Some(rest) = line.strip_prefix(LINE)
            {
                if let Some(v) = rest.strip_prefix("containerd ") {
                    if v != "none" {
                        facts.containerd.push((node, v.trim().to_string()));
                    }
                } else if let Some(p) = rest.strip_prefix("plan ") {
                    plan_lines.push(p.to_string());
                } else if rest == "plan" {
                    plan_lines.push(String::new());
                }
            }
        }
        (facts, plan_lines)
    });
    let _ = engine::apply_plan(t, c.clone(), read_plan(c), ro, tx, stop).await;
    let (facts, kubeadm_plan) = collect.await?;
    Ok(Prepared {
        kubeadm_plan,
        upgrade: plan_upgrade(c, &status, &facts, o),
    })
}

/// Runs the upgrade's plan. Steps an earlier, interrupted run finished are skipped (the state).
pub async fn run_upgrade<T: Transport>(
    t: Arc<T>,
    u: &Upgrade,
    opts: &Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> RunSummary {
    let mut o = opts.clone();
    o.skip_preflight = true;
    o.only_node = None;
    o.from_step = None;
    engine::apply_plan(t, u.target.clone(), u.plan.clone(), o, events, stop).await
}
