//! Tests of a node's connection over a session that runs its commands in a local `bash`
//! (as root: what the tests run as), so the root shell's whole path runs for real: the setup
//! that becomes the shell, a failed step that ends it, the new shell the next step gets, and
//! the work directory the shell removes at the end.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use super::events::Event;
use super::node::NodeConn;
use super::secrets::{Redactor, RunValues};
use crate::plan::Step;
use crate::transport::{CommandStream, ExitStatus, Output, Session, StreamEvent, TransportError};

/// Commands run by a local `bash -c`, as a login shell runs them on a node.
struct LocalSession {
    /// Every command started, in order.
    started: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn spawn(command: &str) -> tokio::process::Child {
    Command::new("bash")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash")
}

impl Session for LocalSession {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> Result<ExitStatus, TransportError> {
        self.started.lock().unwrap().push(command.to_string());
        let mut child = spawn(command);
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(&stdin.unwrap_or_default()).await;
        drop(input);
        let o = child.wait_with_output().await.expect("wait");
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let _ = out.send(Output::Stdout(l.into())).await;
        }
        for l in String::from_utf8_lossy(&o.stderr).lines() {
            let _ = out.send(Output::Stderr(l.into())).await;
        }
        Ok(ExitStatus(o.status.code().map(|c| c as u32)))
    }

    async fn upload(&mut self, _: &str, _: &[u8], _: u32) -> Result<(), TransportError> {
        Err(TransportError::Other("no uploads here".into()))
    }

    async fn open_stream(
        &mut self,
        command: &str,
    ) -> Result<Option<CommandStream>, TransportError> {
        self.started.lock().unwrap().push(command.to_string());
        let mut child = spawn(command);
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (input, mut input_rx) = mpsc::channel::<Vec<u8>>(16);
        let (tx, events) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(b) = input_rx.recv().await {
                if stdin.write_all(&b).await.is_err() {
                    return;
                }
            }
        });
        let err_tx = tx.clone();
        let err = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let _ = err_tx.send(StreamEvent::Line(Output::Stderr(l))).await;
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let _ = tx.send(StreamEvent::Line(Output::Stdout(l))).await;
            }
            let _ = err.await;
            let status = child.wait().await.ok().and_then(|s| s.code());
            let _ = tx
                .send(StreamEvent::Exited(ExitStatus(status.map(|c| c as u32))))
                .await;
            let _ = tx.send(StreamEvent::Closed).await;
        });
        Ok(Some(CommandStream { input, events }))
    }

    async fn close(self) {}
}

async fn run(conn: &mut NodeConn<LocalSession>, script: &str) -> (ExitStatus, Vec<String>) {
    let step = Step::new("s", "n1", "prepare", script.into());
    let (tx, mut rx) = mpsc::channel::<Event>(1024);
    let (status, _) = conn
        .run_step(
            &step,
            &RunValues::default(),
            &Redactor::default(),
            &tx,
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("run_step");
    drop(tx);
    let mut lines = Vec::new();
    while let Some(e) = rx.recv().await {
        if let Event::Log { line, .. } = e {
            lines.push(line);
        }
    }
    (status, lines)
}

#[tokio::test]
async fn a_failed_step_ends_the_shell_and_the_next_step_gets_a_new_one() {
    let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let session = LocalSession {
        started: started.clone(),
    };
    let mut conn = NodeConn::setup("n1", session, "root", None)
        .await
        .expect("setup");
    let workdir = conn.workdir.clone();
    assert!(std::path::Path::new(&workdir).is_dir(), "{workdir}");
    // The setup is the shell: one command so far.
    assert_eq!(started.lock().unwrap().len(), 1);
    // The script's parent is the shell that serves the requests (its subshell became the
    // `bash -s` that exec'd the script).
    let group = "echo \"shell $PPID\"\n";
    let (st, first) = run(&mut conn, group).await;
    assert!(st.success(), "{first:?}");
    let (st, again) = run(&mut conn, group).await;
    assert!(st.success());
    assert_eq!(first, again, "both steps in the setup's shell");
    assert_eq!(started.lock().unwrap().len(), 1, "no new command");
    let (st, _) = run(&mut conn, "echo failing; exit 5\n").await;
    assert_eq!(st, ExitStatus(Some(5)));
    let (st, after) = run(&mut conn, group).await;
    assert!(st.success(), "{after:?}");
    assert_ne!(after, first, "a new shell after the failure");
    assert_eq!(started.lock().unwrap().len(), 2, "one new shell");
    let (st, last) = run(&mut conn, group).await;
    assert!(st.success());
    assert_eq!(last, after, "and it is kept");
    conn.finish().await;
    assert!(
        !std::path::Path::new(&workdir).exists(),
        "{workdir} removed"
    );
}

/// The shell the setup started removes the work directory when its stdin ends: the run's end
/// needs no command of its own.
#[tokio::test]
async fn the_setup_s_shell_removes_the_work_directory_at_the_end() {
    let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let session = LocalSession {
        started: started.clone(),
    };
    let mut conn = NodeConn::setup("n1", session, "root", None)
        .await
        .expect("setup");
    let workdir = conn.workdir.clone();
    let (st, lines) = run(&mut conn, "echo one\n").await;
    assert!(st.success());
    assert_eq!(lines, ["one"]);
    conn.finish().await;
    assert!(
        !std::path::Path::new(&workdir).exists(),
        "{workdir} removed"
    );
    assert_eq!(
        started.lock().unwrap().len(),
        1,
        "{:?}",
        started.lock().unwrap()
    );
}
