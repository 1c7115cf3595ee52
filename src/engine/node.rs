//! One node's connection as the engine uses it: how to become root (sudo with or without a
//! password, or none), a private work directory, running a step (its files and script sent
//! in one stream to one root shell) with its output streamed and redacted, and reading a
//! file as root.

use tokio::sync::mpsc;

use super::events::{Event, Stream};
use super::node_setup::{self, SudoAnswer};
use super::payload;
use super::root_shell::RootShell;
use super::secrets::{Redactor, RunValues};
use crate::plan::Step;
use crate::shell::quote;
use crate::transport::{ExitStatus, Output, Session, Timeouts, TransportError};

/// How commands become root on this node.
#[derive(Clone, PartialEq, Eq)]
pub enum Sudo {
    /// Logged in as root.
    Root,
    /// sudo without a password (NOPASSWD).
    NoPassword,
    /// sudo with a password, fed on stdin (`-S`), re-asked every time (`-k`) so that the password
    /// is always consumed by sudo and never reaches the command.
    Password(String),
}

impl std::fmt::Debug for Sudo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sudo::Root => "Root",
            Sudo::NoPassword => "NoPassword",
            Sudo::Password(_) => "Password(<redacted>)",
        })
    }
}

impl Sudo {
    fn prefix(&self) -> &'static str {
        match self {
            Sudo::Root => "",
            Sudo::NoPassword => "sudo -n -- ",
            Sudo::Password(_) => "sudo -k -S -p '' -- ",
        }
    }
    fn stdin(&self) -> Option<Vec<u8>> {
        match self {
            Sudo::Password(p) => Some(format!("{p}\n").into_bytes()),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// sudo refused (no NOPASSWD and no password, or a wrong password).
    #[error("{0}")]
    Sudo(String),
    #[error("{0}")]
    Remote(String),
}

impl NodeError {
    /// The typed reason viewers show.
    pub fn failure(&self) -> super::events::Failure {
        match self {
            NodeError::Transport(t) => t.into(),
            NodeError::Sudo(_) => super::events::Failure::SudoRefused,
            NodeError::Remote(_) => super::events::Failure::Other,
        }
    }
}

/// Output of a command collected quietly (not shown, not logged).
pub struct Collected {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub struct NodeConn<S: Session> {
    pub name: String,
    pub session: S,
    pub sudo: Sudo,
    /// Private (0700) directory of this run on the node, owned by the login user.
    pub workdir: String,
    /// e.g. "Debian GNU/Linux 12 (bookworm)"
    pub os: String,
    /// /etc/machine-id (empty when the node has none).
    pub machine_id: String,
    /// The node's long-lived root shell that runs the steps (see `root_shell`), opened by the
    /// setup (no sudo password) or with the first step; `None` before that, or when the
    /// transport has none.
    shell: Option<RootShell>,
    /// The shell was tried and did not come up (or broke): plain execs from now on.
    shell_given_up: bool,
    /// The time limits of the command under way (the session has the same).
    timeouts: Timeouts,
}

/// What a step printed that the engine keeps: the last error lines and, for a step that
/// reports cluster nodes, its `kha-node` lines.
#[derive(Debug, Default)]
pub struct StepOutput {
    pub tail: String,
    pub reported: Vec<String>,
}

/// The first `StepQuiet` after this much silence (the default of `Options::quiet_after`),
/// then one every `QUIET_REPEAT`.
pub const QUIET_AFTER: std::time::Duration = std::time::Duration::from_secs(30);
pub const QUIET_REPEAT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a command and collects its output without showing it.
pub async fn collect<S: Session>(
    session: &mut S,
    command: &str,
    stdin: Option<Vec<u8>>,
) -> Result<Collected, TransportError> {
    let (tx, mut rx) = mpsc::channel(256);
    let run = session.exec(command, stdin, tx);
    let gather = async {
        let (mut out, mut err) = (String::new(), String::new());
        while let Some(o) = rx.recv().await {
            match o {
                Output::Stdout(l) => {
                    out.push_str(&l);
                    out.push('\n');
                }
                Output::Stderr(l) => {
                    err.push_str(&l);
                    err.push('\n');
                }
            }
        }
        (out, err)
    };
    let (status, (stdout, stderr)) = tokio::join!(run, gather);
    Ok(Collected {
        status: status?,
        stdout,
        stderr,
    })
}

impl<S: Session> NodeConn<S> {
    /// After connecting: find out how to become root, make the work directory, read the OS
    /// and the machine id, in one round trip (see `node_setup`). Without a sudo password the
    /// same command goes on to be the node's root shell (`root_shell::setup_command`): one
    /// channel, one login shell and one `sudo` per connection instead of two of each.
    pub async fn setup(
        name: &str,
        mut session: S,
        user: &str,
        sudo_password: Option<&str>,
    ) -> Result<NodeConn<S>, NodeError> {
        let as_root = user == "root";
        let password = sudo_password.filter(|_| !as_root);
        // Without a sudo password: the setup and the root shell in one command, one sudo.
        if password.is_none()
            && let Some((said, shell)) = RootShell::open_with_setup(&mut session, as_root).await
        {
            let a = node_setup::parse(&said.join("\n"));
            let workdir = a.workdir.unwrap_or_default();
            if workdir.starts_with("/tmp/kha-tui.") {
                return Ok(NodeConn {
                    name: name.to_string(),
                    session,
                    sudo: if as_root {
                        Sudo::Root
                    } else {
                        Sudo::NoPassword
                    },
                    workdir,
                    os: a.os.unwrap_or_default(),
                    machine_id: a.machine_id.unwrap_or_default(),
                    shell: Some(shell),
                    shell_given_up: false,
                    timeouts: Timeouts::default(),
                });
            }
        }
        let command = node_setup::command(as_root, password.is_some());
        let c = collect(
            &mut session,
            &command,
            password.map(|p| format!("{p}\n").into_bytes()),
        )
        .await?;
        let a = node_setup::parse(&c.stdout);
        let sudo = match a.sudo {
            Some(SudoAnswer::Root) => Sudo::Root,
            Some(SudoAnswer::NoPassword) => Sudo::NoPassword,
            Some(SudoAnswer::PasswordAccepted) => {
                Sudo::Password(password.unwrap_or_default().to_string())
            }
            Some(SudoAnswer::PasswordRefused) => {
                return Err(NodeError::Sudo(format!(
                    "sudo on {name} refused the password given for user {user}"
                )));
            }
            Some(SudoAnswer::AsksForPassword) => {
                return Err(NodeError::Sudo(format!(
                    "sudo on {name} asks user {user} for a password: give it with --ask-sudo-password or --sudo-password-file, or allow NOPASSWD for {user}"
                )));
            }
            None => {
                return Err(NodeError::Remote(format!(
                    "cannot set up {name}: the setup command answered nothing (exit {}): {}",
                    c.status.0.map_or("none".to_string(), |n| n.to_string()),
                    c.stderr.trim()
                )));
            }
        };
        let workdir = a.workdir.unwrap_or_default();
        if !c.status.success() || !workdir.starts_with("/tmp/kha-tui.") {
            return Err(NodeError::Remote(format!(
                "cannot make a work directory on {name}: {}",
                c.stderr.trim()
            )));
        }
        Ok(NodeConn {
            name: name.to_string(),
            session,
            sudo,
            workdir,
            os: a.os.unwrap_or_default(),
            machine_id: a.machine_id.unwrap_or_default(),
            shell: None,
            shell_given_up: false,
            timeouts: Timeouts::default(),
        })
    }

    /// The fingerprint of the host key the node presented (empty when unknown).
    pub fn session_host_key(&self) -> String {
        self.session.host_key().unwrap_or_default()
    }

    /// Runs `command` as root, collecting its output quietly.
    pub async fn root_collect(&mut self, command: &str) -> Result<Collected, TransportError> {
        let cmd = format!("{}{command}", self.sudo.prefix());
        collect(&mut self.session, &cmd, self.sudo.stdin()).await
    }

    /// Reads a file as root (e.g. /etc/kubernetes/pki/ca.crt); its content is not shown.
    pub async fn read_root_file(&mut self, path: &str) -> Result<String, NodeError> {
        let c = self.root_collect(&format!("cat {}", quote(path))).await?;
        if !c.status.success() {
            return Err(NodeError::Remote(format!(
                "cannot read {path} on {}: {}",
                self.name,
                c.stderr.trim()
            )));
        }
        Ok(c.stdout)
    }

    /// Time limits for the commands that follow (a step may declare its own).
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
        self.session.set_timeouts(timeouts);
    }

    /// The root shell for the next step: the open one, or a new one once (see `root_shell`);
    /// `None` when plain execs are used.
    async fn shell(&mut self) -> Option<&mut RootShell> {
        if self.shell.as_ref().is_some_and(|s| !s.usable()) {
            // A request was given up half way (stopped, timed out): its shell is not reused.
            self.shell = None;
        }
        if self.shell.is_none() && !self.shell_given_up {
            self.shell =
                RootShell::open(&mut self.session, self.sudo.prefix(), self.sudo.stdin()).await;
            self.shell_given_up = self.shell.is_none();
        }
        self.shell.as_mut()
    }

    pub fn pgid_path(&self, step: &Step) -> String {
        format!("{}/{}.pgid", self.workdir, step.id)
    }

    /// Ends the process group of `step` whose id is in `pgid_file` (TERM, then KILL after
    /// 2 s), over this session; the file may be in an earlier session's work directory.
    pub async fn kill_group(&mut self, step: &Step, pgid_file: &str) -> Result<(), TransportError> {
        let script = kill_script(pgid_file);
        let c = self
            .root_collect(&format!("bash -c {}", quote(&script)))
            .await?;
        if c.status.success() {
            Ok(())
        } else {
            Err(TransportError::Other(format!(
                "could not end {} on {}: {}",
                step.id,
                self.name,
                c.stderr.trim()
            )))
        }
    }

    pub fn script_path(&self, step: &Step) -> String {
        format!("{}/{}.sh", self.workdir, step.id)
    }

    /// The exact command a step runs with, and what goes on its stdin (for confirmations).
    pub fn command_for(&self, step: &Step) -> String {
        let files = match step.files.len() {
            0 => String::new(),
            1 => "1 file, then ".to_string(),
            n => format!("{n} files, then "),
        };
        if self.shell_given_up {
            return format!(
                "{}\n# on stdin: {files}the script of {}",
                payload::command(self.sudo.prefix(), &self.pgid_path(step)),
                step.id
            );
        }
        format!(
            "# on the stdin of the node's root shell (started once per connection with the command below): a request line, {files}the script of {}\n{}",
            step.id,
            self.shell
                .as_ref()
                .map(|s| s.command.clone())
                .unwrap_or_else(|| super::root_shell::command(self.sudo.prefix()))
        )
    }

    /// Uploads and runs one step, streaming its redacted output as `Log` events, and a
    /// `StepQuiet` when it prints nothing for `quiet_after` (then every `QUIET_REPEAT`).
    /// Returns the exit status, the last lines of error output and the reported lines.
    pub async fn run_step(
        &mut self,
        step: &Step,
        values: &RunValues,
        redactor: &Redactor,
        events: &mpsc::Sender<Event>,
        quiet_after: std::time::Duration,
    ) -> Result<(ExitStatus, StepOutput), NodeError> {
        let mut files = Vec::with_capacity(step.files.len());
        for f in &step.files {
            let content = values.fill(&f.content).map_err(|p| {
                NodeError::Remote(format!(
                    "internal: no value for {} when writing {}",
                    p.name(),
                    f.path
                ))
            })?;
            files.push((f, content));
        }
        let (script, pgid) = (self.script_path(step), self.pgid_path(step));
        let stream = payload::compose(step, &files, &script);
        let (tx, mut rx) = mpsc::channel::<Output>(1024);
        let limits = self.timeouts;
        let node = self.name.clone();
        let (prefix, sudo_stdin) = (self.sudo.prefix(), self.sudo.stdin());
        let run = async {
            if let Some(shell) = self.shell().await {
                return shell.run(&pgid, &stream, &tx, limits).await;
            }
            let mut stdin = sudo_stdin.unwrap_or_default();
            stdin.extend(stream);
            let command = payload::command(prefix, &pgid);
            self.session.exec(&command, Some(stdin), tx).await
        };
        let forward = async {
            let mut tail: std::collections::VecDeque<String> = Default::default();
            let mut reported = Vec::new();
            let mut last = tokio::time::Instant::now();
            let mut next_quiet = last + quiet_after;
            loop {
                let o = tokio::select! {
                    o = rx.recv() => o,
                    _ = tokio::time::sleep_until(next_quiet) => {
                        let _ = events
                            .send(Event::StepQuiet {
                                node: node.clone(),
                                step: step.id.clone(),
                                quiet_for: last.elapsed(),
                            })
                            .await;
                        next_quiet += QUIET_REPEAT;
                        continue;
                    }
                };
                let Some(o) = o else { break };
                last = tokio::time::Instant::now();
                next_quiet = last + quiet_after;
                let (stream, line) = match o {
                    Output::Stdout(l) => (Stream::Stdout, l),
                    Output::Stderr(l) => (Stream::Stderr, l),
                };
                let line = redactor.redact(&line);
                if step.reports_cluster_nodes
                    && stream == Stream::Stdout
                    && line.starts_with("kha-node ")
                {
                    reported.push(line.clone());
                }
                if stream == Stream::Stderr || line.starts_with("kha-tui:") {
                    tail.push_back(line.clone());
                    if tail.len() > 3 {
                        tail.pop_front();
                    }
                }
                let _ = events
                    .send(Event::Log {
                        node: node.clone(),
                        step: step.id.clone(),
                        stream,
                        line,
                    })
                    .await;
            }
            StepOutput {
                tail: tail.into_iter().collect::<Vec<_>>().join(" | "),
                reported,
            }
        };
        let (status, output) = tokio::join!(run, forward);
        Ok((status?, output))
    }

    /// Removes the work directory (best effort) and closes the connection.
    pub async fn finish(mut self) {
        // Its stdin closes: the shell ends before the work directory goes. A shell that made
        // the work directory removes it itself (`root_shell::setup_command`).
        if let Some(shell) = self.shell.take()
            && shell.close().await
        {
            self.session.close().await;
            return;
        }
        let _ = collect(
            &mut self.session,
            &format!("rm -rf {}", quote(&self.workdir)),
            None,
        )
        .await;
        self.session.close().await;
    }
}

/// Shell text that ends the process group whose id is in `pgid_file` (TERM, then KILL for
/// what is left after 2 s) and removes the file. Succeeds when the group is gone.
pub fn kill_script(pgid_file: &str) -> String {
    format!(
        "f={f}; [ -f \"$f\" ] || exit 0; g=$(cat \"$f\"); case $g in ''|*[!0-9]*) exit 0;; esac; \
kill -TERM -- \"-$g\" 2>/dev/null || {{ rm -f \"$f\"; exit 0; }}; \
i=0; while kill -0 -- \"-$g\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; \
kill -KILL -- \"-$g\" 2>/dev/null; rm -f \"$f\"; exit 0",
        f = quote(pgid_file)
    )
}

#[cfg(test)]
mod tests {
    use super::kill_script;

    /// The kill script ends a real process group (the step and its children) and removes the
    /// pgid file; run with the local bash, as it runs on a node.
    #[test]
    fn kill_script_ends_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pgid = dir.path().join("s.pgid");
        let script = dir.path().join("s.sh");
        std::fs::write(&script, "sleep 60 & sleep 60\n").unwrap();
        let mut child = std::process::Command::new("setsid")
            .arg("-w")
            .arg("bash")
            .arg("-c")
            .arg("echo $$ > \"$0\"; exec bash \"$1\" </dev/null")
            .arg(&pgid)
            .arg(&script)
            .spawn()
            .unwrap();
        let g = loop {
            if let Ok(t) = std::fs::read_to_string(&pgid)
                && !t.trim().is_empty()
            {
                break t.trim().to_string();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let st = std::process::Command::new("bash")
            .arg("-c")
            .arg(kill_script(pgid.to_str().unwrap()))
            .status()
            .unwrap();
        assert!(st.success());
        let _ = child.wait();
        let alive = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("kill -0 -- -{g}"))
            .status()
            .unwrap();
        assert!(!alive.success(), "process group {g} is gone");
        assert!(!pgid.exists());
    }
}
