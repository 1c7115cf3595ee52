//! Which load balancer of the pair holds the virtual address, live: every few seconds during
//! the run, and once more at its end, each LB's keepalived state (the notify script's
//! /run/kha-tui/vrrp-state) is read over that LB's own connection and sent as
//! `Event::LbPairState` when it changed. Reads go through the node's task like any of its work.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::events::Event;
use super::node_task::NodeHandle;
use crate::plan::pair::VRRP_STATE_FILE;

const EVERY: Duration = Duration::from_secs(2);

/// One LB's state as the notify script wrote it, or `None` before keepalived ran there.
async fn read(lb: &NodeHandle) -> Option<String> {
    let text = lb.read_root_file(VRRP_STATE_FILE).await.ok()?;
    let s = text.trim();
    matches!(s, "MASTER" | "BACKUP" | "FAULT" | "STOP" | "UNKNOWN").then(|| s.to_string())
}

/// Polls `lbs` until `stop`, then reads once more; the task ends after that last read.
pub fn spawn(
    vip: String,
    lbs: Vec<NodeHandle>,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Vec<(String, Option<String>)> = vec![];
        loop {
            let stopping = stop.is_cancelled();
            let mut now = Vec::new();
            for lb in &lbs {
                now.push((lb.name.clone(), read(lb).await));
            }
            if now != last && now.iter().any(|(_, s)| s.is_some()) {
                let _ = events
                    .send(Event::LbPairState {
                        vip: vip.clone(),
                        states: now.clone(),
                    })
                    .await;
                last = now;
            }
            if stopping {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stop.cancelled() => {}
            }
        }
    })
}
