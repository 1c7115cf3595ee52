//! One-key fixes for preflight findings (`CheckResult::fixable`): a small step run on one node
//! through the same connection setup, sudo handling, redaction and events as `apply`.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::events::{Event, StepOutcome};
use super::node::NodeConn;
use super::secrets::{Redactor, RunValues};
use super::{Options, target_for};
use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::Step;
use crate::transport::Transport;

/// The step that applies a fix on `node`, when kha-tui knows one by that name.
pub fn fix_step(c: &Cluster, node: &str, fix: &str) -> Option<Step> {
    if let Some(step) = firewall_step(c, node, fix) {
        return Some(step);
    }
    let (title, body) = match fix {
        "swap-off" => (
            "Turn swap off now and for good",
            format!("{}\n{}\nswap_off\n", scripts::LIB, scripts::SWAP_OFF),
        ),
        _ => return None,
    };
    Some(Step::new(&format!("fix-{fix}"), node, title, body))
}

/// "firewall-open SPEC..." (src/engine/firewall.rs): opens exactly those openings, from the
/// cluster's addresses only (the load balancers' API frontend from anywhere). Every SPEC must
/// be one kha-tui writes ("10250/tcp", "30000:32767/tcp", "vrrp"); they and the addresses
/// reach the script as environment values.
fn firewall_step(c: &Cluster, node: &str, fix: &str) -> Option<Step> {
    use super::firewall::{FIX, Opening, open_to_anyone, sources};
    let role = c.host(node)?.role;
    let specs = fix.strip_prefix(FIX)?.strip_prefix(' ')?;
    let parsed: Option<Vec<Opening>> = specs.split_whitespace().map(Opening::parse_spec).collect();
    let parsed = parsed.filter(|v| !v.is_empty())?;
    let (any, limited): (Vec<Opening>, Vec<Opening>) =
        parsed.into_iter().partition(|o| open_to_anyone(c, role, o));
    let join = |v: &[Opening]| v.iter().map(|o| o.spec()).collect::<Vec<_>>().join(" ");
    let mut step = Step::new(
        &format!("fix-{FIX}"),
        node,
        "Let in what the node needs from the cluster's addresses through its firewall (it stays on)",
        format!(
            "{}\n{}\n{}\nfirewall_open\n",
            scripts::LIB,
            scripts::FIREWALL_ZONES,
            scripts::FIREWALL_OPEN
        ),
    );
    let from: Vec<String> = sources(c).iter().map(|a| a.to_string()).collect();
    step.env.push(("KHA_FW_OPEN".into(), join(&limited)));
    step.env.push(("KHA_FW_OPEN_ANY".into(), join(&any)));
    step.env.push(("KHA_FW_FROM".into(), from.join(" ")));
    Some(step)
}

/// Runs the fix `fix` on `node`, emitting the step's events. `Err` says why it did not work.
pub async fn fix<T: Transport>(
    transport: Arc<T>,
    cluster: &Cluster,
    node: &str,
    fix: &str,
    opts: &Options,
    events: mpsc::Sender<Event>,
) -> Result<(), String> {
    let n = cluster
        .host(node)
        .ok_or_else(|| format!("no node named {node}"))?;
    let step =
        fix_step(cluster, node, fix).ok_or_else(|| format!("kha-tui has no fix named {fix}"))?;
    let mut redactor = Redactor::default();
    for s in [
        &opts.sudo_password,
        &opts.ssh_password,
        &opts.key_passphrase,
    ]
    .into_iter()
    .flatten()
    {
        redactor.add(s, "password");
    }
    let target = target_for(n, opts);
    let session = transport
        .connect(&target, None)
        .await
        .map_err(|e| redactor.redact(&e.to_string()))?;
    let mut conn = NodeConn::setup(node, session, &target.user, opts.sudo_password.as_deref())
        .await
        .map_err(|e| redactor.redact(&e.to_string()))?;
    let _ = events
        .send(Event::StepStarted {
            node: node.into(),
            step: step.id.clone(),
            title: step.title.clone(),
            phase: "preflight".into(),
        })
        .await;
    let started = Instant::now();
    let result = conn
        .run_step(
            &step,
            &RunValues::default(),
            &redactor,
            &events,
            opts.quiet_after,
        )
        .await;
    conn.finish().await;
    let (outcome, r) = match result {
        Ok((status, _)) if status.success() => (StepOutcome::Succeeded, Ok(())),
        Ok((status, out)) => (
            StepOutcome::Failed {
                failure: status.0.into(),
                reason: out.tail.clone(),
            },
            Err(out.tail),
        ),
        Err(e) => {
            let why = redactor.redact(&e.to_string());
            (
                StepOutcome::Failed {
                    failure: e.failure(),
                    reason: why.clone(),
                },
                Err(why),
            )
        }
    };
    let _ = events
        .send(Event::StepFinished {
            node: node.into(),
            step: step.id,
            outcome,
            duration: started.elapsed(),
        })
        .await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{self, validate};

    fn cluster() -> Cluster {
        validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn swap_off_is_known_and_self_contained() {
        let c = cluster();
        let s = fix_step(&c, "worker1", "swap-off").unwrap();
        assert!(s.script.starts_with(scripts::LIB));
        assert!(s.script.trim_end().ends_with("swap_off"));
        assert!(fix_step(&c, "worker1", "reboot").is_none());
    }

    #[test]
    fn firewall_open_carries_its_openings_and_the_cluster_addresses_as_env() {
        let c = cluster();
        let s = fix_step(
            &c,
            "worker2",
            "firewall-open 10250/tcp 30000:32767/tcp vrrp",
        )
        .unwrap();
        assert_eq!(s.id, "fix-firewall-open");
        assert!(s.script.trim_end().ends_with("firewall_open"));
        let hosts = "10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.21 10.0.0.22 10.0.0.23";
        let env = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            s.env,
            [
                env("KHA_FW_OPEN", "10250/tcp 30000:32767/tcp vrrp"),
                env("KHA_FW_OPEN_ANY", ""),
                env("KHA_FW_FROM", hosts),
            ]
        );
        // Only the load balancer's API frontend is open to anyone; its VRRP is not.
        let lb = fix_step(&c, "lb", "firewall-open 6443/tcp vrrp").unwrap();
        assert_eq!(
            lb.env,
            [
                env("KHA_FW_OPEN", "vrrp"),
                env("KHA_FW_OPEN_ANY", "6443/tcp"),
                env("KHA_FW_FROM", hosts),
            ]
        );
        let cp = fix_step(&c, "master1", "firewall-open 6443/tcp").unwrap();
        assert_eq!(
            cp.env[0],
            env("KHA_FW_OPEN", "6443/tcp"),
            "a control plane's API is not"
        );
        for bad in [
            "firewall-open",
            "firewall-open ",
            "firewall-open 22/tcp;reboot",
            "firewall-open 10250/tcp $(id)",
            "firewall-openx 10250/tcp",
        ] {
            assert!(fix_step(&c, "worker2", bad).is_none(), "{bad}");
        }
        assert!(fix_step(&c, "nobody", "firewall-open 10250/tcp").is_none());
    }
}
