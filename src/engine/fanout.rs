//! One command on many hosts at once (bounded), each over its own connection: what `apply`
//! does per phase, without a plan. Used for ad-hoc commands and the fan-out benchmark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::node::{Collected, collect};
use crate::transport::{HostKeyQuestion, Target, Transport, TransportError};

pub struct HostResult {
    pub node: String,
    pub result: Result<Collected, TransportError>,
    pub elapsed: Duration,
}

/// Connects to every target (at most `concurrency` at a time), runs `command`, collects its
/// output and closes. Unknown host keys go to `questions` when given, else are refused.
pub async fn run_everywhere<T: Transport>(
    transport: Arc<T>,
    targets: Vec<Target>,
    command: &str,
    concurrency: usize,
    questions: Option<mpsc::Sender<HostKeyQuestion>>,
) -> Vec<HostResult> {
    use crate::transport::Session as _;
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in targets.into_iter().enumerate() {
        let transport = transport.clone();
        let sem = sem.clone();
        let command = command.to_string();
        let q = questions.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let started = Instant::now();
            let result = match transport.connect(&t, q).await {
                Ok(mut s) => {
                    let r = collect(&mut s, &command, None).await;
                    s.close().await;
                    r
                }
                Err(e) => Err(e),
            };
            (
                i,
                HostResult {
                    node: t.node,
                    result,
                    elapsed: started.elapsed(),
                },
            )
        });
    }
    let mut out: Vec<(usize, HostResult)> = Vec::new();
    while let Some(j) = set.join_next().await {
        if let Ok(r) = j {
            out.push(r);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
