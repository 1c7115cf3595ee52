//! Every event passes the pump: it writes the node's log lines to its log file, then hands
//! the event to the viewer (and keeps draining when the viewer has gone).

use tokio::sync::mpsc;

use super::events::Event;
use super::logs::NodeLogs;

/// Writes every event's log lines to the node's log file, then passes the event on.
pub fn spawn_pump(
    mut rx: mpsc::Receiver<Event>,
    out: mpsc::Sender<Event>,
    mut logs: Option<NodeLogs>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Some(l) = logs.as_mut() {
                l.record(&ev);
                // Flushed whenever the pump has caught up, so a viewer paging the files sees
                // every line already shown.
                if rx.is_empty() {
                    l.flush();
                }
            }
            if out.send(ev).await.is_err() {
                // The viewer went away: keep draining so the engine never blocks.
            }
        }
        if let Some(l) = logs.as_mut() {
            l.flush();
        }
    })
}
