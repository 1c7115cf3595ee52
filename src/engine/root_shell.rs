//! One long-lived root shell per node connection: one `sudo` (and one login shell) when the
//! connection is set up, then every step sent to it as a framed request on the same channel,
//! instead of a channel, a login shell and a `sudo` with its PAM session per step. On hosts
//! that share their CPUs (and at many hosts ending a step at once) that per-step work is most
//! of what a step costs beyond its own commands; on real hosts it is one round trip less.
//!
//! A request is one header line, `KHA-TUI-REQUEST <nonce> <pgid file>`, then the step's stream
//! as [`super::payload::compose`] makes it (the same stream a plain exec gets). The shell
//! records its process group in the pgid file first, so stop, timeout and lost session end the
//! step (and the shell with it) as they do for a plain exec. The step's subshell reads its
//! stream from the shell's own stdin; the stream ends itself (see `PROGRAM`), and after any
//! status but 0 the shell ends rather than read on, so bytes a failed step left unread are
//! never taken for the next request. When the step has ended the shell prints
//! `<nonce> exit <status>` (followed by ` closing` when it ends) on stdout and `<nonce>` on
//! stderr: both streams are complete once both markers are in. The nonce is random per
//! request, so no step's output can end the step early.
//!
//! Per step this costs a fork, the `bash -s` that reads the stream, the `head` that takes the
//! script and the script's own `bash` (measured in BENCHMARKS.md); before, a `head` and a
//! pipe framed each request and a second `bash` read it: two more processes per step.
//!
//! A shell that ended or broke (a failed step, a timeout, a stop, a lost channel) is dropped and
//! the next step opens a new one; one that does not start makes the connection use plain
//! execs from then on.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};

use crate::shell::quote;
use crate::transport::{
    CommandStream, ExitStatus, Output, Session, StreamEvent, Timeouts, TransportError,
};

/// The line the shell waits for before it serves requests: everything before it (a sudo
/// password, whatever sudo left unread) is skipped, never run.
pub const START: &str = "KHA-TUI-SHELL";
/// What the shell prints once it is root and ready.
pub const READY: &str = "KHA-TUI-SHELL-READY";
/// The first word of a request's header line.
pub const REQUEST: &str = "KHA-TUI-REQUEST";
/// How long the shell may take to say it is ready.
const START_LIMIT: Duration = Duration::from_secs(15);

/// The shell's program. It serves requests until its stdin ends. Its process group (the one
/// sshd or sudo made, which holds only this shell and its steps) is read once from `/proc`
/// with builtins and written to each step's pgid file. A step runs in a forked subshell that
/// reads the stream straight from the shell's stdin: its first line must be the marker, then
/// the rest is read and run by `bash -s` with the cut-stream trap, exactly as a plain exec's
/// reader runs it (`payload::run_rest`). No `head`, no pipe and no second `bash` per step.
///
/// The stream ends itself: its last line execs the step's script (stdin `/dev/null`), so a
/// step that got to its script read exactly its stream. One that stopped earlier (a failed
/// `mv`, a cut, no marker) may have left bytes unread, and every such end is a status other
/// than 0: after any status but 0 the shell says it is closing and ends, so nothing left of a
/// request is ever read as the next one. The engine opens a new shell for the next step.
const PROGRAM: &str = r#"read -r s </proc/$$/stat; set -- ${s##*) }; g=$3
while IFS= read -r l; do [ "$l" = KHA-TUI-SHELL ] && break; done
echo KHA-TUI-SHELL-READY
while IFS=' ' read -r tag nonce pgid; do
  case "$tag" in
    KHA-TUI-REQUEST) [ -n "$pgid" ] || { echo "kha-tui: a request without a pgid file" >&2; exit 96; } ;;
    *) echo "kha-tui: the root shell got a line that is not a request" >&2; exit 96 ;;
  esac
  echo "$g" >"$pgid"
  (IFS= read -r l; [ "$l" = KHA-TUI-STEP ] || { KHA_NO_MARKER; }; KHA_RUN_REST)
  r=$?
  [ "$r" = 0 ] || { echo "$nonce exit $r closing"; echo "$nonce" >&2; exit 0; }
  echo "$nonce exit $r"
  echo "$nonce" >&2
done"#;

/// The shell's whole program.
fn program() -> String {
    PROGRAM
        .replace("KHA_NO_MARKER", &super::payload::no_marker())
        .replace("KHA_RUN_REST", &super::payload::run_rest())
}

/// The command that starts the shell, after the `sudo` prefix (if any).
pub fn command(sudo_prefix: &str) -> String {
    format!("{sudo_prefix}bash -c {}", quote(&program()))
}

/// The node's setup (`node_setup::as_root_answers`) and then its root shell, as one command:
/// `sudo -n` for a login user (NOPASSWD), none for root.
pub fn setup_command(as_root: bool) -> String {
    let prefix = if as_root { "" } else { "sudo -n -- " };
    // When its stdin ends (the run is over) the shell removes the work directory it made,
    // instead of one more channel, login shell and `rm` per node; not after a failed step
    // (it ends inside the loop) nor when it is killed: then the engine removes it.
    let program = format!(
        "{}\n{}\nrm -rf -- \"$d\"",
        super::node_setup::as_root_answers(as_root),
        program()
    );
    format!("{prefix}bash -c {}", quote(&program))
}

/// A request's bytes: the header line, then the step's stream.
pub fn request(nonce: &str, pgid_file: &str, stream: &[u8]) -> Vec<u8> {
    let mut r = format!("{REQUEST} {nonce} {pgid_file}\n").into_bytes();
    r.extend_from_slice(stream);
    r
}

/// A node's root shell, ready for requests.
#[derive(Debug)]
pub struct RootShell {
    /// The command the shell was started with (shown in confirmations).
    pub command: String,
    /// It made the work directory and removes it when its stdin ends (`setup_command`).
    owns_workdir: bool,
    stream: CommandStream,
    /// A request was started and not seen to its end: the shell's state is unknown.
    broken: bool,
}

impl RootShell {
    /// Starts the shell (`sudo_stdin`: the sudo password line, when sudo takes one). `None`
    /// when the transport has no long-lived channels or the shell did not come up: the
    /// caller uses plain execs.
    pub async fn open<S: Session>(
        session: &mut S,
        sudo_prefix: &str,
        sudo_stdin: Option<Vec<u8>>,
    ) -> Option<RootShell> {
        let (_, shell) = Self::start(session, &command(sudo_prefix), sudo_stdin).await?;
        Some(shell)
    }

    /// The node's setup and its root shell in one command, one `sudo` and one channel (see
    /// [`setup_command`]): the lines the setup printed (its `kha-setup` answers) and the shell.
    /// `None` when the transport has no long-lived channels, `sudo -n` refused, or the shell
    /// did not come up: the caller then sets the node up with `node_setup::command`.
    pub async fn open_with_setup<S: Session>(
        session: &mut S,
        as_root: bool,
    ) -> Option<(Vec<String>, RootShell)> {
        let (said, mut shell) = Self::start(session, &setup_command(as_root), None).await?;
        shell.owns_workdir = true;
        Some((said, shell))
    }

    /// Ends the shell (its stdin closes). `true` when it removed the work directory it made
    /// and ended well: nothing is left to remove.
    pub async fn close(self) -> bool {
        let RootShell {
            stream: CommandStream { input, mut events },
            owns_workdir,
            broken,
            ..
        } = self;
        drop(input);
        if !owns_workdir || broken {
            return false;
        }
        let deadline = Instant::now() + START_LIMIT;
        loop {
            match timeout(deadline - Instant::now(), events.recv()).await {
                Ok(Some(StreamEvent::Exited(status))) => return status.success(),
                Ok(Some(StreamEvent::Line(_))) => continue,
                _ => return false,
            }
        }
    }

    async fn start<S: Session>(
        session: &mut S,
        command: &str,
        sudo_stdin: Option<Vec<u8>>,
    ) -> Option<(Vec<String>, RootShell)> {
        let mut stream = session.open_stream(command).await.ok()??;
        let mut first = sudo_stdin.unwrap_or_default();
        first.extend_from_slice(format!("{START}\n").as_bytes());
        stream.input.send(first).await.ok()?;
        let deadline = Instant::now() + START_LIMIT;
        let mut said = Vec::new();
        loop {
            match timeout(deadline - Instant::now(), stream.events.recv()).await {
                Ok(Some(StreamEvent::Line(Output::Stdout(l)))) if l == READY => break,
                Ok(Some(StreamEvent::Line(Output::Stdout(l)))) => said.push(l),
                // sudo's lecture or a login banner on stderr: not ours to show.
                Ok(Some(StreamEvent::Line(_))) => continue,
                _ => return None,
            }
        }
        Some((
            said,
            RootShell {
                owns_workdir: false,
                command: command.to_string(),
                stream,
                broken: false,
            },
        ))
    }

    /// Whether the shell can take another request.
    pub fn usable(&self) -> bool {
        !self.broken
    }

    /// Runs one step's stream, sending its output lines to `out`, within `limits` (the idle and
    /// total time limits, as a plain exec has them). Errors are those of a plain exec.
    pub async fn run(
        &mut self,
        pgid_file: &str,
        stream: &[u8],
        out: &mpsc::Sender<Output>,
        limits: Timeouts,
    ) -> Result<ExitStatus, TransportError> {
        self.broken = true;
        let nonce = format!("KHA-TUI-DONE-{:016x}", rand::random::<u64>());
        let exit_prefix = format!("{nonce} exit ");
        let started = Instant::now();
        let command_deadline = started + limits.command;
        let mut idle_deadline = started + limits.idle;
        self.stream
            .input
            .send(request(&nonce, pgid_file, stream))
            .await
            .map_err(|_| ended())?;
        let (mut status, mut stderr_done, mut closing) = (None, false, false);
        while status.is_none() || !stderr_done {
            let event = tokio::select! {
                e = self.stream.events.recv() => e,
                _ = sleep_until(idle_deadline) => {
                    return Err(TransportError::IdleTimeout { secs: limits.idle.as_secs() });
                }
                _ = sleep_until(command_deadline) => {
                    return Err(TransportError::CommandTimeout { secs: limits.command.as_secs() });
                }
            };
            idle_deadline = Instant::now() + limits.idle;
            match event {
                Some(StreamEvent::Line(Output::Stdout(l))) if l.starts_with(&exit_prefix) => {
                    let mut words = l[exit_prefix.len()..].split(' ');
                    let code = words.next().and_then(|c| c.parse::<u32>().ok());
                    closing = words.next() == Some("closing");
                    status = Some(ExitStatus(code));
                }
                Some(StreamEvent::Line(Output::Stderr(l))) if l == nonce => stderr_done = true,
                Some(StreamEvent::Line(line)) => {
                    // A receiver that went away is not our problem: keep reading to the end.
                    let _ = out.send(line).await;
                }
                Some(StreamEvent::Exited(_)) | Some(StreamEvent::Closed) | None => {
                    return Err(ended());
                }
            }
        }
        // After a status other than 0 the shell ends (see `PROGRAM`): the next step gets a new one.
        self.broken = closing;
        Ok(status.expect("loop ends with a status"))
    }
}

fn ended() -> TransportError {
    TransportError::Disconnected("the node's root shell ended while a step ran".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::payload;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Runs the shell's program in a real bash with `input` on stdin.
    fn serve(input: &[u8]) -> std::process::Output {
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(program())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// A hand-made stream: the marker, then `script` read as the step's program.
    fn step_stream(script: &str) -> Vec<u8> {
        let mut s = format!("{}\n", payload::MARKER).into_bytes();
        s.extend_from_slice(script.as_bytes());
        s
    }

    /// The stream the engine sends for a step running `script` (kept at `at`).
    fn engine_stream(script: &str, at: &std::path::Path) -> Vec<u8> {
        let step = crate::plan::Step::new("s", "n1", "prepare", script.into());
        payload::compose(&step, &[], &at.display().to_string())
    }

    #[test]
    fn requests_follow_one_another_and_each_reads_exactly_its_stream() {
        let dir = tempfile::tempdir().unwrap();
        let pgid = dir.path().join("a.pgid").display().to_string();
        let mut input = b"a sudo password line\nKHA-TUI-SHELL\n".to_vec();
        // A file whose bytes look like a request and like the marker: they are the file's.
        let f = crate::plan::FileSpec {
            path: dir.path().join("look-alike").display().to_string(),
            mode: 0o644,
            content: String::new(),
        };
        let step = crate::plan::Step {
            files: vec![f.clone()],
            ..crate::plan::Step::new("s", "n1", "prepare", "echo out-one\n".into())
        };
        let body = "KHA-TUI-REQUEST X /nonexistent\nKHA-TUI-STEP\necho never\n".to_string();
        let one = payload::compose(
            &step,
            &[(&f, body.clone())],
            &dir.path().join("one.sh").display().to_string(),
        );
        input.extend(request("N1", &pgid, &one));
        input.extend(request(
            "N2",
            &pgid,
            &engine_stream(
                "echo out-two; echo err-two >&2\n",
                &dir.path().join("two.sh"),
            ),
        ));
        let o = serve(&input);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            stdout, "KHA-TUI-SHELL-READY\nout-one\nN1 exit 0\nout-two\nN2 exit 0\n",
            "stderr: {stderr}"
        );
        assert_eq!(stderr, "N1\nerr-two\nN2\n");
        assert_eq!(std::fs::read_to_string(&f.path).unwrap(), body);
        assert!(!stdout.contains("never") && !stdout.contains("password"));
        let recorded = std::fs::read_to_string(&pgid).unwrap();
        assert!(recorded.trim().parse::<u32>().is_ok(), "{recorded:?}");
    }

    /// A step that ends before its script (here: on its first line, leaving the rest of its
    /// stream unread, including a line that looks like a request) or that fails, and a
    /// request without the marker: the status is said with `closing` and the shell ends, so
    /// nothing after it is read, let alone run.
    #[test]
    fn after_a_status_other_than_0_the_shell_ends_and_reads_nothing_more() {
        let dir = tempfile::tempdir().unwrap();
        let pgid = dir.path().join("a.pgid").display().to_string();
        let next = request(
            "N2",
            &pgid,
            &engine_stream("echo never-run\n", &dir.path().join("two.sh")),
        );
        for (first, status) in [
            (
                step_stream("exit 3\nKHA-TUI-REQUEST X /nonexistent\necho never\n"),
                3,
            ),
            (
                engine_stream("echo ran-one; exit 4\n", &dir.path().join("one.sh")),
                4,
            ),
            (b"not a step\nKHA-TUI-STEP\necho never\n".to_vec(), 98),
        ] {
            let mut input = b"KHA-TUI-SHELL\n".to_vec();
            input.extend(request("N1", &pgid, &first));
            input.extend(&next);
            let o = serve(&input);
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let ran = if status == 4 { "ran-one\n" } else { "" };
            assert_eq!(
                stdout,
                format!("KHA-TUI-SHELL-READY\n{ran}N1 exit {status} closing\n"),
                "stderr: {stderr}"
            );
            assert!(stderr.ends_with("N1\n"), "{stderr}");
            assert!(!stdout.contains("never"));
            if status == 98 {
                assert!(stderr.contains("the step never arrived"), "{stderr}");
            }
            assert_eq!(o.status.code(), Some(0));
        }
    }

    #[test]
    fn a_stream_with_the_engine_s_files_runs_as_a_plain_exec_would() {
        let dir = tempfile::tempdir().unwrap();
        let pgid = dir.path().join("s.pgid").display().to_string();
        let target = dir.path().join("etc/it.conf");
        let script_path = dir.path().join("s.sh").display().to_string();
        let step = crate::plan::Step {
            env: vec![("KHA_FILE".into(), target.display().to_string())],
            files: vec![crate::plan::FileSpec {
                path: target.display().to_string(),
                mode: 0o600,
                content: "content with 'quotes' and $dollars\n".into(),
            }],
            ..crate::plan::Step::new(
                "s",
                "n1",
                "prepare",
                "cat \"$KHA_FILE\"; echo done\n".into(),
            )
        };
        let files: Vec<_> = step.files.iter().map(|f| (f, f.content.clone())).collect();
        let stream = payload::compose(&step, &files, &script_path);
        let mut input = b"KHA-TUI-SHELL\n".to_vec();
        input.extend(request("N", &pgid, &stream));
        input.extend(request(
            "M",
            &pgid,
            &engine_stream("echo second\n", &dir.path().join("m.sh")),
        ));
        let o = serve(&input);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            stdout,
            "KHA-TUI-SHELL-READY\ncontent with 'quotes' and $dollars\ndone\nN exit 0\nsecond\nM exit 0\n",
            "stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The setup and the shell in one command (as root, what the tests run as), run by a real
    /// bash as sshd would: the setup's answers, then the shell serves a step.
    #[test]
    fn the_setup_command_answers_then_serves_steps() {
        let dir = tempfile::tempdir().unwrap();
        let pgid = dir.path().join("a.pgid").display().to_string();
        let mut input = b"KHA-TUI-SHELL\n".to_vec();
        input.extend(request(
            "N1",
            &pgid,
            &engine_stream("echo served\n", &dir.path().join("one.sh")),
        ));
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(setup_command(true))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let o = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let a = crate::engine::node_setup::parse(&stdout);
        let wd = a.workdir.clone().expect("a work directory");
        assert!(wd.starts_with("/tmp/kha-tui."), "{wd}");
        // Its stdin ended: the shell removed the work directory it made.
        assert!(!std::path::Path::new(&wd).exists(), "{wd} is gone");
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(a.sudo, Some(crate::engine::node_setup::SudoAnswer::Root));
        assert!(a.os.is_some_and(|o| !o.is_empty()));
        assert!(
            stdout.ends_with("KHA-TUI-SHELL-READY\nserved\nN1 exit 0\n"),
            "{stdout} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(setup_command(false).starts_with("sudo -n -- bash -c "));
    }

    #[test]
    fn a_bad_header_ends_the_shell() {
        let o = serve(b"KHA-TUI-SHELL\nrm -rf /nonexistent-kha\n");
        assert_eq!(o.status.code(), Some(96));
        let o = serve(b"KHA-TUI-SHELL\nKHA-TUI-REQUEST N\n");
        assert_eq!(o.status.code(), Some(96));
    }
}
