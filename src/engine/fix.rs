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
    let (title, body) = match fix {
        "swap-off" => (
            "Turn swap off now and for good",
            format!("{}\n{}\nswap_off\n", scripts::LIB, scripts::SWAP_OFF),
        ),
        _ => return None,
    };
    Some(Step::new(&format!("fix-{fix}"), node, title, body))
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
}
