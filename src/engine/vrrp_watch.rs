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

/// A read waits behind the LB's running step, or its reconnects when it cannot be reached;
/// after this long the last known state stands, and the end of the run is not held up.
const READ_LIMIT: Duration = Duration::from_secs(5);

/// One LB's state as the notify script wrote it: `Some(None)` before keepalived ran there,
/// `None` when no answer came in time.
async fn read(lb: &NodeHandle) -> Option<Option<String>> {
    let text = match tokio::time::timeout(READ_LIMIT, lb.read_root_file(VRRP_STATE_FILE)).await {
        Err(_) => return None,
        Ok(Err(_)) => return Some(None),
        Ok(Ok(t)) => t,
    };
    let s = text.trim();
    Some(matches!(s, "MASTER" | "BACKUP" | "FAULT" | "STOP" | "UNKNOWN").then(|| s.to_string()))
}

/// Polls `lbs` until `stop`, then reads once more; the task ends after that last read.
pub fn spawn(
    vip: String,
    lbs: Vec<NodeHandle>,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Vec<(String, Option<String>)> =
            lbs.iter().map(|lb| (lb.name.clone(), None)).collect();
        let mut sent = false;
        loop {
            let stopping = stop.is_cancelled();
            let mut now = last.clone();
            for (i, lb) in lbs.iter().enumerate() {
                if let Some(state) = read(lb).await {
                    now[i].1 = state;
                }
            }
            if (now != last || !sent) && now.iter().any(|(_, s)| s.is_some()) {
                let _ = events
                    .send(Event::LbPairState {
                        vip: vip.clone(),
                        states: now.clone(),
                    })
                    .await;
                sent = true;
            }
            last = now;
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
