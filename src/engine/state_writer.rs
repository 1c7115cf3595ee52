//! The one task that writes the state file. Others change the state through a `StateWriter`
//! (cheap, never blocks on the disk); the task saves the latest version off the async workers,
//! coalescing changes that arrive while a save is under way. A save that fails stops the run
//! with the path and the OS error: without a state file a later run could not resume.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::state::{NodeIdentity, State, StepRecord, now_secs};

#[derive(Clone)]
pub struct StateWriter {
    tx: Arc<watch::Sender<State>>,
}

/// The writer task: ends with the last state and whether every save worked.
pub type WriterTask = tokio::task::JoinHandle<(State, Result<(), String>)>;

/// Called once with the reason when a save fails.
pub type OnFail = Box<dyn Fn(String) + Send + Sync>;

impl StateWriter {
    /// Starts the writer task on `state`; the task ends (returning the last state and whether
    /// every save worked) once every `StateWriter` is dropped.
    pub fn spawn(state: State, dir: PathBuf, on_fail: OnFail) -> (StateWriter, WriterTask) {
        let (tx, mut rx) = watch::channel(state);
        let task = tokio::spawn(async move {
            let failed: Arc<Mutex<Option<String>>> = Arc::default();
            while rx.changed().await.is_ok() {
                let snapshot = rx.borrow_and_update().clone();
                let dir = dir.clone();
                let saved = tokio::task::spawn_blocking(move || {
                    snapshot.save(&dir).map_err(|e| {
                        format!(
                            "cannot save state to {}: {e}",
                            State::path(&dir, &snapshot.cluster).display()
                        )
                    })
                })
                .await
                .unwrap_or_else(|e| Err(format!("cannot save state: {e}")));
                if let Err(why) = saved {
                    let mut f = failed.lock().expect("lock");
                    if f.is_none() {
                        on_fail(why.clone());
                        *f = Some(why);
                    }
                }
            }
            let last = rx.borrow().clone();
            let failed = failed.lock().expect("lock").take();
            (last, failed.map_or(Ok(()), Err))
        });
        (StateWriter { tx: Arc::new(tx) }, task)
    }

    /// A copy of the state as it is now.
    pub fn snapshot(&self) -> State {
        self.tx.borrow().clone()
    }

    pub fn is_done(&self, node: &str, step: &str) -> bool {
        self.tx.borrow().is_done(node, step)
    }

    pub fn record(&self, node: &str, step: &str, rec: StepRecord) {
        self.tx.send_modify(|s| s.set(node, step, rec));
    }

    pub fn certs_uploaded(&self) {
        self.tx
            .send_modify(|s| s.certs_uploaded_at = Some(now_secs()));
    }

    /// Records which machine `node` is; returns what the state knew before when it differs
    /// (the node's step records are then set aside).
    pub fn identify(&self, node: &str, now: NodeIdentity) -> Option<String> {
        let mut changed = None;
        self.tx.send_modify(|s| changed = s.identify(node, now));
        changed
    }

    pub fn add_elapsed(&self, ms: u64) -> u64 {
        let mut total = 0;
        self.tx.send_modify(|s| {
            s.elapsed_ms_all_runs += ms;
            total = s.elapsed_ms_all_runs;
        });
        total
    }
}
