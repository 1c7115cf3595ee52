//! The wizard's drill job: prepare (stops nothing), wait for the operator's answer, run, and
//! pass every drill event to the model as a message.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::model::Msg;
use super::model_drill::DrillMsg;
use crate::drill;
use crate::engine::Options;
use crate::inventory::Cluster;
use crate::transport::Transport;

pub async fn run<T: Transport>(
    transport: Arc<T>,
    cluster: Cluster,
    opts: Options,
    stop: CancellationToken,
    answer: oneshot::Receiver<bool>,
    to_model: mpsc::UnboundedSender<Msg>,
) {
    let send = |m: DrillMsg| {
        let _ = to_model.send(Msg::Drill(m));
    };
    let prepared = match drill::prepare(transport, cluster, opts, stop).await {
        Ok(p) => p,
        Err(e) => {
            send(DrillMsg::Failed(format!("{e:#}; nothing was stopped")));
            return;
        }
    };
    send(DrillMsg::Ready {
        what: prepared.what.clone(),
    });
    if answer.await != Ok(true) {
        prepared.cancel().await;
        return;
    }
    let (tx, mut rx) = mpsc::channel(256);
    let forward = {
        let to_model = to_model.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let _ = to_model.send(Msg::Drill(DrillMsg::Event(ev)));
            }
        })
    };
    let (_, saved) = prepared.run(tx).await;
    let _ = forward.await;
    send(DrillMsg::Saved(saved.map(|p| p.display().to_string())));
}
