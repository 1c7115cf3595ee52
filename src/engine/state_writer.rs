//! The one task that writes the state file. Others change the state through a `StateWriter`
//! (cheap, never blocks on the disk); the task saves the latest version off the async workers,
//! coalescing changes that arrive while a save is under way. A save that fails stops the run
//! with the path and the OS error: without a state file a later run could not resume.
//!
//! Every change has a number; [`StateWriter::saved`] waits until the changes made so far are
//! on disk (or a save failed). The scheduler waits for it before it starts a step, so that no
//! step ever starts after a failed save, and none starts before what it follows is recorded.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::state::{NodeIdentity, State, StepRecord, now_secs};

#[derive(Clone)]
pub struct StateWriter {
    /// The state and the number of the change that made it.
    tx: Arc<watch::Sender<(State, u64)>>,
    /// The number of the last change on disk, and whether a save failed.
    saved: watch::Receiver<Saved>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Saved {
    change: u64,
    failed: bool,
}

/// The writer task: ends with the last state and whether every save worked.
pub type WriterTask = tokio::task::JoinHandle<(State, Result<(), String>)>;

/// Called once with the reason when a save fails.
pub type OnFail = Box<dyn Fn(String) + Send + Sync>;

impl StateWriter {
    /// Starts the writer task on `state`; the task ends (returning the last state and whether
    /// every save worked) once every `StateWriter` is dropped.
    pub fn spawn(state: State, dir: PathBuf, on_fail: OnFail) -> (StateWriter, WriterTask) {
        let (tx, mut rx) = watch::channel((state, 0));
        let (saved_tx, saved) = watch::channel(Saved::default());
        let task = tokio::spawn(async move {
            let failed: Arc<Mutex<Option<String>>> = Arc::default();
            while rx.changed().await.is_ok() {
                let (snapshot, change) = rx.borrow_and_update().clone();
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
                match saved {
                    Ok(()) => saved_tx.send_modify(|s| s.change = change),
                    Err(why) => {
                        let mut f = failed.lock().expect("lock");
                        if f.is_none() {
                            on_fail(why.clone());
                            *f = Some(why);
                        }
                        saved_tx.send_modify(|s| s.failed = true);
                    }
                }
            }
            let last = rx.borrow().0.clone();
            let failed = failed.lock().expect("lock").take();
            (last, failed.map_or(Ok(()), Err))
        });
        (
            StateWriter {
                tx: Arc::new(tx),
                saved,
            },
            task,
        )
    }

    /// Changes the state (a new numbered change for the writer to save).
    fn change<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut out = None;
        self.tx.send_modify(|(s, n)| {
            *n += 1;
            out = Some(f(s));
        });
        out.expect("send_modify ran")
    }

    /// Waits until every change made before the call is on disk; `false` when a save failed
    /// (the run is being stopped) or the writer is gone.
    pub async fn saved(&self) -> bool {
        let wanted = self.tx.borrow().1;
        let mut rx = self.saved.clone();
        match rx.wait_for(|s| s.failed || s.change >= wanted).await {
            Ok(s) => !s.failed,
            Err(_) => false,
        }
    }

    /// A copy of the state as it is now.
    pub fn snapshot(&self) -> State {
        self.tx.borrow().0.clone()
    }

    pub fn is_done(&self, node: &str, step: &str) -> bool {
        self.tx.borrow().0.is_done(node, step)
    }

    pub fn record(&self, node: &str, step: &str, rec: StepRecord) {
        self.change(|s| s.set(node, step, rec));
    }

    pub fn certs_uploaded(&self) {
        self.change(|s| s.certs_uploaded_at = Some(now_secs()));
    }

    /// Records which machine `node` is; returns what the state knew before when it differs
    /// (the node's step records are then set aside).
    pub fn identify(&self, node: &str, now: NodeIdentity) -> Option<String> {
        self.change(|s| s.identify(node, now))
    }

    pub fn add_elapsed(&self, ms: u64) -> u64 {
        self.change(|s| {
            s.elapsed_ms_all_runs += ms;
            s.elapsed_ms_all_runs
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::StepStatus;

    fn rec() -> StepRecord {
        StepRecord {
            status: StepStatus::Done,
            at: now_secs(),
            duration_ms: 1,
            reason: None,
        }
    }

    /// `saved` answers once the change is on disk: the file read back has it.
    #[tokio::test]
    async fn saved_waits_for_the_change_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let state = State {
            cluster: "c".into(),
            ..State::default()
        };
        let (w, task) = StateWriter::spawn(state, dir.path().into(), Box::new(|_| {}));
        w.record("n1", "prepare", rec());
        assert!(w.saved().await);
        let back = State::load(dir.path(), "c").unwrap();
        assert!(back.is_done("n1", "prepare"));
        drop(w);
        assert!(task.await.unwrap().1.is_ok());
    }

    /// A failed save: the failure is reported (once) before `saved` answers false, so a
    /// scheduler that waits for `saved` sees the halt before it could start anything.
    #[tokio::test]
    async fn a_failed_save_is_reported_before_saved_answers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(State::path(dir.path(), "c")).unwrap();
        let state = State {
            cluster: "c".into(),
            ..State::default()
        };
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s2 = seen.clone();
        let (w, task) = StateWriter::spawn(
            state,
            dir.path().into(),
            Box::new(move |why| s2.lock().unwrap().push(why)),
        );
        w.record("n1", "prepare", rec());
        assert!(!w.saved().await);
        assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());
        w.record("n1", "containerd", rec());
        assert!(!w.saved().await, "stays failed");
        drop(w);
        let (_, r) = task.await.unwrap();
        assert!(r.unwrap_err().contains("Is a directory"));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
