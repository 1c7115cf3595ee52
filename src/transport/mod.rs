//! How kha-tui reaches a node: a `Transport` opens a `Session` per node, and a session runs
//! commands (streaming their output line by line) and uploads files. `ssh` is the real one
//! (russh); `sim` is the simulated fleet used by the demo and headless simulation.
//!
//! The engine never builds shell text from operator values without `shell::quote`, and
//! secrets reach a node only inside uploaded 0600 files or on stdin.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub mod sim;
pub mod ssh;

/// Where and as whom to connect; built by the engine from the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Node name, for messages only.
    pub node: String,
    /// IP address or host name to dial.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    /// With `Auth::KeyFile`: more private keys to offer, in order, when the server refuses the
    /// first (the ssh config's other IdentityFiles), with the same passphrase.
    pub more_keys: Vec<std::path::PathBuf>,
    pub timeouts: Timeouts,
    /// The bastions on the way, the first dialled first; empty = dialled directly.
    pub jumps: Vec<JumpHop>,
    /// A `ProxyCommand` the ssh config asks for, with its line: refused (dialling the node
    /// directly would go around what the operator set up).
    pub proxy_command: Option<String>,
}

/// One bastion on the way to a node: dialled (or reached through the hop before it), its host
/// key checked like a node's, logged in to, then asked for a `direct-tcpip` channel onwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHop {
    /// The hop as the operator wrote it, for messages ("via bastion ops@jump:22: …").
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
}

impl JumpHop {
    /// "user@host:port": one connection per key is shared by all the nodes behind it.
    pub fn key(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// A private key file (ed25519, ecdsa, rsa); `passphrase` when the key is encrypted.
    KeyFile {
        path: std::path::PathBuf,
        passphrase: Option<String>,
    },
    /// Keys offered by the ssh-agent at $SSH_AUTH_SOCK.
    Agent,
    /// Password authentication (asked for, never stored).
    Password(String),
}

impl std::fmt::Debug for Auth {
    // Never print a password or passphrase, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::KeyFile { path, passphrase } => f
                .debug_struct("KeyFile")
                .field("path", path)
                .field("passphrase", &passphrase.as_ref().map(|_| "<redacted>"))
                .finish(),
            Auth::Agent => f.write_str("Agent"),
            Auth::Password(_) => f.write_str("Password(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect + SSH handshake + authentication.
    pub connect: Duration,
    /// No output and no exit for this long: the command is abandoned.
    pub idle: Duration,
    /// A whole command may take at most this long.
    pub command: Duration,
    /// Keepalive interval on the connection.
    pub keepalive: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            idle: Duration::from_secs(600),
            command: Duration::from_secs(3600),
            keepalive: Duration::from_secs(15),
        }
    }
}

/// Refuses a target the operator's ssh config routes through a `ProxyCommand`: kha-tui does not
/// run local commands to carry its SSH traffic, and dialling the node directly would go around
/// what the operator set up. Every transport asks this first, the simulated fleet too.
pub fn refuse_unsupported_route(target: &Target) -> Result<(), TransportError> {
    match &target.proxy_command {
        Some(route) => Err(TransportError::Other(format!(
            "{}: the ssh config reaches it through ProxyCommand {route}, which kha-tui does not \
             run (it carries SSH itself); use ProxyJump, or jump = \"user@bastion\" in the \
             inventory",
            target.node
        ))),
        None => Ok(()),
    }
}

/// A host key the transport has not seen before, with the answer channel.
#[derive(Debug)]
pub struct HostKeyQuestion {
    pub node: String,
    pub host: String,
    pub port: u16,
    /// e.g. "ssh-ed25519"
    pub algorithm: String,
    /// OpenSSH-style "SHA256:…" fingerprint.
    pub fingerprint: String,
    /// true = trust it and save it to kha-tui's known_hosts; false = refuse.
    pub answer: oneshot::Sender<bool>,
}

/// Something a command printed, one line at a time, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout(String),
    Stderr(String),
}

/// How a command ended. `None` = the server sent no exit status (never treated as success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub Option<u32>);

impl ExitStatus {
    pub fn success(self) -> bool {
        self.0 == Some(0)
    }
}

/// What a long-lived command (see [`Session::open_stream`]) sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Line(Output),
    /// The command ended (its exit status, as [`Session::exec`] reports it).
    Exited(ExitStatus),
    /// The channel closed: nothing more will come.
    Closed,
}

/// A long-lived command on a channel of its own: bytes sent on `input` go to its stdin (the
/// stdin is closed when `input` is dropped), its output lines come out of `events`.
#[derive(Debug)]
pub struct CommandStream {
    pub input: mpsc::Sender<Vec<u8>>,
    pub events: mpsc::Receiver<StreamEvent>,
}

/// Errors callers react to differently.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("connection to {host}:{port} timed out after {secs}s")]
    ConnectTimeout { host: String, port: u16, secs: u64 },
    #[error("host key for {host} is not known (fingerprint {fingerprint}); refused")]
    HostKeyUnknown { host: String, fingerprint: String },
    #[error(
        "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for {host}! The {algorithm} key now offered has fingerprint {fingerprint}, which does not match the key recorded in {known_hosts}:{line}. Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just changed. Nothing was run on this node. If the change is expected, remove line {line} of {known_hosts} and connect again."
    )]
    HostKeyChanged {
        host: String,
        algorithm: String,
        fingerprint: String,
        known_hosts: String,
        line: usize,
    },
    #[error("authentication as {user}@{host} failed: {reason}")]
    AuthFailed {
        user: String,
        host: String,
        reason: String,
    },
    #[error("private key {path} is encrypted: a passphrase is needed")]
    KeyEncrypted { path: String },
    #[error("cannot read private key {path}: {reason}")]
    KeyUnreadable { path: String, reason: String },
    #[error("command printed nothing for {secs}s and was abandoned")]
    IdleTimeout { secs: u64 },
    #[error("command ran longer than {secs}s and was abandoned")]
    CommandTimeout { secs: u64 },
    #[error("connection lost: {0}")]
    Disconnected(String),
    /// The bastion on the way failed (unreachable, refused its key, refused us): every node
    /// behind it says so.
    #[error("via bastion {bastion}: {reason}")]
    ViaBastion {
        bastion: String,
        reason: String,
        /// What the bastion's own failure was, for the engine's failure kinds.
        kind: BastionFailure,
    },
    #[error("{0}")]
    Other(String),
}

/// The kind of a bastion's failure (its error itself is shared by every node behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BastionFailure {
    Unreachable,
    HostKeyUnknown,
    HostKeyChanged,
    AuthRefused,
    KeyUnusable,
    Other,
}

impl From<&TransportError> for BastionFailure {
    fn from(e: &TransportError) -> Self {
        use TransportError as T;
        match e {
            T::Connect { .. } | T::ConnectTimeout { .. } | T::Disconnected(_) => {
                BastionFailure::Unreachable
            }
            T::HostKeyUnknown { .. } => BastionFailure::HostKeyUnknown,
            T::HostKeyChanged { .. } => BastionFailure::HostKeyChanged,
            T::AuthFailed { .. } => BastionFailure::AuthRefused,
            T::KeyEncrypted { .. } | T::KeyUnreadable { .. } => BastionFailure::KeyUnusable,
            T::ViaBastion { kind, .. } => *kind,
            _ => BastionFailure::Other,
        }
    }
}

/// Opens sessions. One session per node is reused for all of that node's steps.
pub trait Transport: Send + Sync + 'static {
    type Session: Session;

    /// Connects and authenticates. Unknown host keys are put to `questions` (when given) and the
    /// connection waits for the answer; without a question channel they are refused.
    fn connect(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> impl Future<Output = Result<Self::Session, TransportError>> + Send;

    /// The connections that follow are for this inventory: a transport that trusts what the
    /// inventory trusts (its `[ssh] known_hosts`) takes it from here. Nothing by default.
    fn use_inventory(&self, _cluster: &crate::inventory::Cluster) {}
}

pub trait Session: Send + 'static {
    /// Runs `command` (a shell command line for the login shell; callers quote every value),
    /// feeding `stdin` then closing it, and sends each output line to `out` as it arrives.
    fn exec(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> impl Future<Output = Result<ExitStatus, TransportError>> + Send;

    /// Writes `content` to `path` (as the login user) with `mode`, atomically: a temporary
    /// file in the same directory, then rename. The path is quoted, never spliced raw.
    fn upload(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Starts `command` on a channel of its own that stays open, for a process that serves
    /// many requests over its stdin (the node's root shell that runs its steps). `None`: this
    /// transport has no such channels, and callers use [`Session::exec`] for every command.
    fn open_stream(
        &mut self,
        _command: &str,
    ) -> impl Future<Output = Result<Option<CommandStream>, TransportError>> + Send {
        async { Ok(None) }
    }

    /// Time limits for the commands that follow (a step may declare its own).
    fn set_timeouts(&mut self, _timeouts: Timeouts) {}

    /// The fingerprint ("SHA256:…") of the host key this session's server presented, when
    /// known: with /etc/machine-id it tells whether a node is still the same machine.
    fn host_key(&self) -> Option<String> {
        None
    }

    /// Closes the connection politely.
    fn close(self) -> impl Future<Output = ()> + Send;
}
