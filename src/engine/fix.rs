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
pub fn fix_step(node: &str, fix: &str) -> Option<Step> {
    if let Some(step) = firewall_step(node, fix) {
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

/// "firewall-open SPEC..." (src/engine/firewall.rs): opens exactly those openings. Every SPEC
/// must be one kha-tui writes ("10250/tcp", "30000:32767/tcp", "vrrp"); they reach the script
/// as an environment value.
fn firewall_step(node: &str, fix: &str) -> Option<Step> {
    let specs = fix.strip_prefix(super::firewall::FIX)?.strip_prefix(' ')?;
    let parsed: Option<Vec<String>> = specs
        .split_whitespace()
        .map(|s| super::firewall::Opening::parse_spec(s).map(|o| o.spec()))
        .collect();
    let parsed = parsed.filter(|v| !v.is_empty())?;
    let mut step = Step::new(
        &format!("fix-{}", super::firewall::FIX),
        node,
        "Let in what the node needs through its firewall (it stays on)",
        format!(
            "{}\n{}\nfirewall_open\n",
            scripts::LIB,
            scripts::FIREWALL_OPEN
        ),
    );
    step.env.push(("KHA_FW_OPEN".into(), parsed.join(" ")));
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
    let step = fix_step(node, fix).ok_or_else(|| format!("kha-tui has no fix named {fix}"))?;
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

    #[test]
    fn swap_off_is_known_and_self_contained() {
        let s = fix_step("worker1", "swap-off").unwrap();
        assert!(s.script.starts_with(scripts::LIB));
        assert!(s.script.trim_end().ends_with("swap_off"));
        assert!(fix_step("worker1", "reboot").is_none());
    }

    #[test]
    fn firewall_open_carries_exactly_its_openings_as_env() {
        let s = fix_step("worker2", "firewall-open 10250/tcp 30000:32767/tcp vrrp").unwrap();
        assert_eq!(s.id, "fix-firewall-open");
        assert!(s.script.trim_end().ends_with("firewall_open"));
        assert_eq!(
            s.env,
            [(
                "KHA_FW_OPEN".to_string(),
                "10250/tcp 30000:32767/tcp vrrp".to_string()
            )]
        );
        for bad in [
            "firewall-open",
            "firewall-open ",
            "firewall-open 22/tcp;reboot",
            "firewall-open 10250/tcp $(id)",
            "firewall-openx 10250/tcp",
        ] {
            assert!(fix_step("worker2", bad).is_none(), "{bad}");
        }
    }
}
