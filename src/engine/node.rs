//! One node's connection as the engine uses it: how to become root (sudo with or without a
//! password, or none), a private work directory, running a step (files installed as root,
//! then the script) with its output streamed and redacted, and reading a file as root.

use std::time::Instant;

use tokio::sync::mpsc;

use super::events::{Event, Stream};
use super::secrets::{Redactor, RunValues};
use crate::plan::Step;
use crate::shell::quote;
use crate::transport::{ExitStatus, Output, Session, TransportError};

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
}

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
    /// After connecting: find out how to become root, make the work directory, read the OS.
    pub async fn setup(
        name: &str,
        mut session: S,
        user: &str,
        sudo_password: Option<&str>,
    ) -> Result<NodeConn<S>, NodeError> {
        let sudo = if user == "root" {
            Sudo::Root
        } else if collect(&mut session, "sudo -n true", None)
            .await?
            .status
            .success()
        {
            Sudo::NoPassword
        } else if let Some(pw) = sudo_password {
            let s = Sudo::Password(pw.to_string());
            let c = collect(&mut session, &format!("{}true", s.prefix()), s.stdin()).await?;
            if !c.status.success() {
                return Err(NodeError::Sudo(format!(
                    "sudo on {name} refused the password given for user {user}"
                )));
            }
            s
        } else {
            return Err(NodeError::Sudo(format!(
                "sudo on {name} asks user {user} for a password: give it with --ask-sudo-password or --sudo-password-file, or allow NOPASSWD for {user}"
            )));
        };
        let wd = collect(
            &mut session,
            "umask 077 && mktemp -d /tmp/kha-tui.XXXXXXXX",
            None,
        )
        .await?;
        let workdir = wd.stdout.trim().to_string();
        if !wd.status.success() || !workdir.starts_with("/tmp/kha-tui.") {
            return Err(NodeError::Remote(format!(
                "cannot make a work directory on {name}: {}",
                wd.stderr.trim()
            )));
        }
        let os = collect(
            &mut session,
            ". /etc/os-release 2>/dev/null && printf '%s' \"$PRETTY_NAME\"",
            None,
        )
        .await
        .map(|c| c.stdout.trim().to_string())
        .unwrap_or_default();
        Ok(NodeConn {
            name: name.to_string(),
            session,
            sudo,
            workdir,
            os,
        })
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

    /// The wrapper that installs the step's files as root, then runs its script with its
    /// environment. Every value in it is quoted; no operator value is on the command line.
    pub fn wrapper(&self, step: &Step, staged: &[String]) -> String {
        let mut w = String::from("set -eu\numask 077\n");
        for (f, src) in step.files.iter().zip(staged) {
            let parent = std::path::Path::new(&f.path)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/".into());
            let parent_mode = if parent == "/etc/kha" || parent.starts_with("/etc/kha/") {
                "0700"
            } else {
                "0755"
            };
            let tmp = format!("{}.kha-tmp", f.path);
            w.push_str(&format!(
                "[ -d {p} ] || install -d -m {parent_mode} {p}\ninstall -m {:04o} -o root -g root {s} {t}\nmv -f {t} {d}\nrm -f {s}\n",
                f.mode,
                p = quote(&parent),
                s = quote(src),
                t = quote(&tmp),
                d = quote(&f.path),
            ));
        }
        w.push_str("exec env");
        for (k, v) in &step.env {
            w.push_str(&format!(" {}", quote(&format!("{k}={v}"))));
        }
        w.push_str(&format!(" bash {}\n", quote(&self.script_path(step))));
        w
    }

    pub fn script_path(&self, step: &Step) -> String {
        format!("{}/{}.sh", self.workdir, step.id)
    }

    pub fn wrapper_path(&self, step: &Step) -> String {
        format!("{}/run-{}.sh", self.workdir, step.id)
    }

    /// The exact command line a step runs with (for confirmations and logs).
    pub fn command_for(&self, step: &Step) -> String {
        format!(
            "{}bash {}",
            self.sudo.prefix(),
            quote(&self.wrapper_path(step))
        )
    }

    /// Uploads and runs one step, streaming its redacted output as `Log` events.
    /// Returns the exit status and the last lines of error output.
    pub async fn run_step(
        &mut self,
        step: &Step,
        values: &RunValues,
        redactor: &Redactor,
        events: &mpsc::Sender<Event>,
    ) -> Result<(ExitStatus, String), NodeError> {
        let mut staged = Vec::new();
        for (i, f) in step.files.iter().enumerate() {
            let content = values.fill(&f.content).map_err(|p| {
                NodeError::Remote(format!(
                    "internal: no value for {} when writing {}",
                    p.name(),
                    f.path
                ))
            })?;
            let path = format!("{}/file-{}-{i}", self.workdir, step.id);
            self.session
                .upload(&path, content.as_bytes(), 0o600)
                .await?;
            staged.push(path);
        }
        self.session
            .upload(&self.script_path(step), step.script.as_bytes(), 0o600)
            .await?;
        self.session
            .upload(
                &self.wrapper_path(step),
                self.wrapper(step, &staged).as_bytes(),
                0o600,
            )
            .await?;

        let command = self.command_for(step);
        let (tx, mut rx) = mpsc::channel::<Output>(1024);
        let run = self.session.exec(&command, self.sudo.stdin(), tx);
        let node = self.name.clone();
        let forward = async {
            let mut tail: std::collections::VecDeque<String> = Default::default();
            while let Some(o) = rx.recv().await {
                let (stream, line) = match o {
                    Output::Stdout(l) => (Stream::Stdout, l),
                    Output::Stderr(l) => (Stream::Stderr, l),
                };
                let line = redactor.redact(&line);
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
            tail.into_iter().collect::<Vec<_>>().join(" | ")
        };
        let started = Instant::now();
        let (status, tail) = tokio::join!(run, forward);
        let _ = started;
        Ok((status?, tail))
    }

    /// Removes the work directory (best effort) and closes the connection.
    pub async fn finish(mut self) {
        let _ = collect(
            &mut self.session,
            &format!("rm -rf {}", quote(&self.workdir)),
            None,
        )
        .await;
        self.session.close().await;
    }
}
