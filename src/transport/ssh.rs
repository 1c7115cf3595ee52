//! The real transport: SSH with russh.
//!
//! - One connection per node ([`SshSession`]), reused for every command; each command is a fresh
//!   `session` channel with `exec`.
//! - Host keys are checked against OpenSSH's known_hosts files and kha-tui's own (see
//!   [`SshConfig`]); an unknown key is put to the operator as a [`HostKeyQuestion`] and saved to
//!   kha-tui's file when accepted; a changed key stops the connection before anything runs.
//! - The connect timeout covers TCP connect, handshake and authentication, but not the time the
//!   operator takes to answer a host-key question: the clock restarts after the answer. If the
//!   server gave up on us meanwhile (OpenSSH's `LoginGraceTime`), the connection is retried once;
//!   the key is known by then.
//! - A command that reports an `exit-signal` instead of an `exit-status` ends with
//!   `ExitStatus(Some(128 + signal number))` (Linux numbering, as a shell reports it in `$?`), or
//!   `ExitStatus(None)` for a signal without a known number. Both are failures.
//! - Timeouts: `idle` = no output (and no stdin progress) for that long, `command` = the whole
//!   command. Either sends the remote command SIGTERM (best effort: OpenSSH passes it to the
//!   remote shell) and closes its channel; the connection stays usable. After the exit status,
//!   output still in flight is read for up to 3 s more, so a daemon that keeps the command's
//!   stdout open does not hang the step.
//! - Authentication errors: `KeyEncrypted` (no passphrase given), `KeyUnreadable` (missing or
//!   bad file, or a wrong passphrase: reason "the passphrase is wrong"), `AuthFailed` (the server
//!   said no, or the ssh-agent is unreachable / empty), `Connect` / `ConnectTimeout`.
//! - A key marked `@revoked` in a known_hosts file, or a host certificate, is refused with
//!   `TransportError::Other`.
//! - Passwords and passphrases never appear in errors (russh's errors do not carry them either).

mod known_hosts;
mod lines;

use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::{Algorithm, HashAlg, PrivateKey, PublicKey};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect, MethodSet, Sig, client};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};

use self::known_hosts::{KnownHosts, Verdict};
use self::lines::LineSplitter;
use super::{
    Auth, ExitStatus, HostKeyQuestion, Output, Session, Target, Timeouts, Transport, TransportError,
};
use crate::shell::quote;

/// After a command's exit status arrived, output still in flight is read for at most this long
/// (restarted by each packet) before the channel is closed from our side. This ends commands that
/// left a daemon holding their stdout open.
const AFTER_EXIT: Duration = Duration::from_secs(3);

/// stdin is sent in pieces of this size, so that progress counts as activity for the idle timer.
const STDIN_CHUNK: usize = 32 * 1024;

/// How kha-tui checks and records host keys, and where the ssh-agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// known_hosts files to consult, in order (missing ones are skipped); typically the user's
    /// `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
    pub known_hosts: Vec<PathBuf>,
    /// kha-tui's own known_hosts (the engine passes its data dir's `known_hosts`): consulted
    /// too, and where keys the operator accepts are appended (created 0600, parents 0700).
    pub learned_known_hosts: PathBuf,
    /// The ssh-agent socket for [`Auth::Agent`]; `None` = `$SSH_AUTH_SOCK` at connect time.
    pub agent_socket: Option<PathBuf>,
}

impl SshConfig {
    /// OpenSSH's default known_hosts files (`~/.ssh/known_hosts`, `~/.ssh/known_hosts2`,
    /// `/etc/ssh/ssh_known_hosts`, `/etc/ssh/ssh_known_hosts2`) plus kha-tui's own file.
    pub fn with_openssh_defaults(learned_known_hosts: PathBuf) -> Self {
        let mut known_hosts = Vec::new();
        if let Some(dirs) = directories::BaseDirs::new() {
            let ssh = dirs.home_dir().join(".ssh");
            known_hosts.push(ssh.join("known_hosts"));
            known_hosts.push(ssh.join("known_hosts2"));
        }
        known_hosts.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
        known_hosts.push(PathBuf::from("/etc/ssh/ssh_known_hosts2"));
        SshConfig {
            known_hosts,
            learned_known_hosts,
            agent_socket: None,
        }
    }
}

/// Opens SSH sessions to nodes.
#[derive(Debug, Clone)]
pub struct SshTransport {
    known: Arc<KnownHosts>,
    /// Private keys already read and decrypted (once per run, whatever the number of hosts).
    keys: Arc<tokio::sync::Mutex<std::collections::HashMap<PathBuf, Arc<PrivateKey>>>>,
    agent_socket: Option<PathBuf>,
}

impl SshTransport {
    pub fn new(config: SshConfig) -> Self {
        SshTransport {
            known: Arc::new(KnownHosts::new(
                config.known_hosts,
                config.learned_known_hosts,
            )),
            keys: Default::default(),
            agent_socket: config.agent_socket,
        }
    }
}

/// One authenticated connection to a node.
pub struct SshSession {
    handle: client::Handle<Client>,
    timeouts: Timeouts,
    /// The server's host key fingerprint ("SHA256:…"), for the node identity check.
    host_key: Option<String>,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Transport for SshTransport {
    type Session = SshSession;

    async fn connect(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> Result<SshSession, TransportError> {
        // Never dial the node directly when the operator's config routes it through a bastion.
        super::refuse_unsupported_route(target)?;
        // Local problems with the key come first, before any network traffic.
        let key = self.key_for(&target.auth).await?;
        // known_hosts is read once per run, off the async workers; the host key check in the
        // handshake then only looks it up.
        let known = self.known.clone();
        tokio::task::spawn_blocking(move || known.preload())
            .await
            .map_err(|e| TransportError::Other(format!("reading known_hosts failed: {e}")))?
            .map_err(TransportError::Other)?;
        let mut retried = false;
        loop {
            let accepted = Arc::new(AtomicBool::new(false));
            let result = self
                .connect_once(target, questions.clone(), key.clone(), accepted.clone())
                .await;
            match result {
                Err(
                    TransportError::Connect { .. }
                    | TransportError::ConnectTimeout { .. }
                    | TransportError::Disconnected(_),
                ) if accepted.load(Ordering::SeqCst) && !retried => retried = true,
                other => return other,
            }
        }
    }
}

impl SshTransport {
    /// The private key of `auth`, read and decrypted the first time it is needed only.
    async fn key_for(&self, auth: &Auth) -> Result<Option<Arc<PrivateKey>>, TransportError> {
        let Auth::KeyFile { path, .. } = auth else {
            return Ok(None);
        };
        let mut keys = self.keys.lock().await;
        if let Some(k) = keys.get(path) {
            return Ok(Some(k.clone()));
        }
        let key = load_key(auth).await?;
        if let Some(k) = &key {
            keys.insert(path.clone(), k.clone());
        }
        Ok(key)
    }

    /// One connection attempt under the connect timeout, which pauses while a host-key question
    /// waits for the operator.
    async fn connect_once(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
        key: Option<Arc<PrivateKey>>,
        accepted: Arc<AtomicBool>,
    ) -> Result<SshSession, TransportError> {
        let (asking_tx, mut asking_rx) = watch::channel(false);
        let client = Client {
            node: target.node.clone(),
            host: target.host.clone(),
            port: target.port,
            known: self.known.clone(),
            questions,
            asking: asking_tx,
            accepted,
            seen_key: Default::default(),
        };
        let mut attempt = pin!(self.establish(target, client, key));
        let limit = target.timeouts.connect;
        let mut deadline = Instant::now() + limit;
        let mut watching = true;
        loop {
            let asking = *asking_rx.borrow();
            tokio::select! {
                result = &mut attempt => return result,
                _ = sleep_until(deadline), if !asking => {
                    return Err(TransportError::ConnectTimeout {
                        host: target.host.clone(),
                        port: target.port,
                        secs: limit.as_secs(),
                    });
                }
                changed = asking_rx.changed(), if watching => match changed {
                    Ok(()) => {
                        if !*asking_rx.borrow_and_update() {
                            // The operator answered: a full connect timeout from here.
                            deadline = Instant::now() + limit;
                        }
                    }
                    Err(_) => watching = false,
                },
            }
        }
    }

    async fn establish(
        &self,
        target: &Target,
        client: Client,
        key: Option<Arc<PrivateKey>>,
    ) -> Result<SshSession, TransportError> {
        let connect_error = |reason: String| TransportError::Connect {
            host: target.host.clone(),
            port: target.port,
            reason,
        };
        let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let _ = stream.set_nodelay(true);

        let preferred_types = self
            .known
            .recorded_types(&target.host, target.port)
            .unwrap_or_default();
        let config = client_config(&target.timeouts, &preferred_types);
        let seen_key = client.seen_key.clone();
        let mut handle = client::connect_stream(Arc::new(config), stream, client)
            .await
            .map_err(|e| match e {
                ClientError::Refused(e) => e,
                ClientError::Russh(e) => connect_error(format!("SSH handshake failed: {e}")),
            })?;
        self.authenticate(&mut handle, target, key).await?;
        let host_key = seen_key.lock().expect("lock").clone();
        Ok(SshSession {
            handle,
            timeouts: target.timeouts,
            host_key,
        })
    }

    async fn authenticate(
        &self,
        handle: &mut client::Handle<Client>,
        target: &Target,
        key: Option<Arc<PrivateKey>>,
    ) -> Result<(), TransportError> {
        let failed = |reason: String| TransportError::AuthFailed {
            user: target.user.clone(),
            host: target.host.clone(),
            reason,
        };
        let lost = |e: russh::Error| {
            TransportError::Disconnected(format!("during authentication with {}: {e}", target.host))
        };
        match &target.auth {
            Auth::KeyFile { path, .. } => {
                let Some(key) = key else {
                    return Err(TransportError::Other("private key was not loaded".into()));
                };
                let hash = rsa_hash(handle, key.algorithm()).await.map_err(lost)?;
                let result = handle
                    .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
                    .await
                    .map_err(lost)?;
                match result {
                    client::AuthResult::Success => Ok(()),
                    client::AuthResult::Failure {
                        remaining_methods,
                        partial_success,
                    } => Err(failed(rejection(
                        &format!("the key {} was not accepted", path.display()),
                        &remaining_methods,
                        partial_success,
                    ))),
                }
            }
            Auth::Password(password) => {
                let result = handle
                    .authenticate_password(&target.user, password.as_str())
                    .await
                    .map_err(lost)?;
                match result {
                    client::AuthResult::Success => Ok(()),
                    client::AuthResult::Failure {
                        remaining_methods,
                        partial_success,
                    } => Err(failed(rejection(
                        "the password was not accepted",
                        &remaining_methods,
                        partial_success,
                    ))),
                }
            }
            Auth::Agent => {
                let agent = match &self.agent_socket {
                    Some(socket) => AgentClient::connect_uds(socket).await,
                    None => AgentClient::connect_env().await,
                };
                let mut agent =
                    agent.map_err(|e| failed(format!("cannot reach the ssh-agent: {e}")))?;
                let identities = agent
                    .request_identities()
                    .await
                    .map_err(|e| failed(format!("cannot list the ssh-agent's keys: {e}")))?;
                let mut reason = "the ssh-agent holds no keys".to_string();
                for identity in identities {
                    // Certificates would need a host-side CA setup kha-tui does not do.
                    let AgentIdentity::PublicKey { key, comment } = identity else {
                        continue;
                    };
                    let hash = rsa_hash(handle, key.algorithm()).await.map_err(lost)?;
                    match handle
                        .authenticate_publickey_with(&target.user, key, hash, &mut agent)
                        .await
                    {
                        Ok(client::AuthResult::Success) => return Ok(()),
                        Ok(client::AuthResult::Failure {
                            remaining_methods,
                            partial_success,
                        }) => {
                            reason = rejection(
                                "no key of the ssh-agent was accepted",
                                &remaining_methods,
                                partial_success,
                            );
                        }
                        // The agent declined to sign with this key; the next may do.
                        Err(e) => {
                            reason = format!("the ssh-agent failed to sign with {comment}: {e}")
                        }
                    }
                    if handle.is_closed() {
                        break;
                    }
                }
                Err(failed(reason))
            }
        }
    }
}

/// The signature hash for an RSA key: the best one the server announces (`server-sig-algs`), or
/// SHA-1 for old servers that announce none. `None` for other key types.
async fn rsa_hash(
    handle: &client::Handle<Client>,
    algorithm: Algorithm,
) -> Result<Option<HashAlg>, russh::Error> {
    if !algorithm.is_rsa() {
        return Ok(None);
    }
    Ok(handle.best_supported_rsa_hash().await?.flatten())
}

fn rejection(what: &str, methods: &MethodSet, partial_success: bool) -> String {
    let methods: Vec<&str> = methods.iter().map(<&str>::from).collect();
    if partial_success {
        format!(
            "the server wants a further authentication step ({}), which kha-tui does not support",
            methods.join(", ")
        )
    } else if methods.is_empty() {
        what.to_string()
    } else {
        format!("{what} (the server accepts: {})", methods.join(", "))
    }
}

/// Reads and, with its passphrase, decrypts a private key file; `None` for other auth kinds.
async fn load_key(auth: &Auth) -> Result<Option<Arc<PrivateKey>>, TransportError> {
    let Auth::KeyFile { path, passphrase } = auth else {
        return Ok(None);
    };
    let (p, pass) = (path.clone(), passphrase.clone());
    let result = tokio::task::spawn_blocking(move || {
        let loaded = russh::keys::load_secret_key(&p, pass.as_deref());
        // A failure with a passphrase on an encrypted key: the passphrase is wrong.
        let wrong_passphrase = loaded.is_err()
            && pass.is_some()
            && matches!(
                russh::keys::load_secret_key(&p, None),
                Err(russh::keys::Error::KeyIsEncrypted)
            );
        (loaded, wrong_passphrase)
    })
    .await;
    let (loaded, wrong_passphrase) =
        result.map_err(|e| TransportError::Other(format!("loading the key failed: {e}")))?;
    let display = path.display().to_string();
    match loaded {
        Ok(key) => Ok(Some(Arc::new(key))),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            Err(TransportError::KeyEncrypted { path: display })
        }
        Err(_) if wrong_passphrase => Err(TransportError::KeyUnreadable {
            path: display,
            reason: "the passphrase is wrong".into(),
        }),
        Err(e) => Err(TransportError::KeyUnreadable {
            path: display,
            reason: e.to_string(),
        }),
    }
}

/// russh client configuration: keepalives (no inactivity timeout, so an idle but healthy
/// connection stays up between steps), and host-key algorithms ordered so that types already
/// recorded for the host come first, as OpenSSH does — otherwise a host known by its ECDSA key
/// would be "unknown" when it offers Ed25519 first.
fn client_config(timeouts: &Timeouts, recorded: &[Algorithm]) -> client::Config {
    let mut preferred = russh::Preferred::default();
    let defaults = preferred.key.to_vec();
    let recorded_first = |a: &Algorithm| {
        let kind = if matches!(a, Algorithm::Rsa { .. }) {
            Algorithm::Rsa { hash: None }
        } else {
            a.clone()
        };
        !recorded.contains(&kind)
    };
    let mut ordered = defaults;
    ordered.sort_by_key(recorded_first); // stable: keeps the default order within each group
    preferred.key = ordered.into();
    client::Config {
        keepalive_interval: (!timeouts.keepalive.is_zero()).then_some(timeouts.keepalive),
        keepalive_max: 3,
        inactivity_timeout: None,
        nodelay: true,
        preferred,
        ..Default::default()
    }
}

/// Why the handshake stopped: russh's own errors, or our verdict on the host key.
#[derive(Debug)]
enum ClientError {
    Russh(russh::Error),
    Refused(TransportError),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Russh(e)
    }
}

/// The russh handler: decides about the server's host key.
struct Client {
    node: String,
    host: String,
    port: u16,
    known: Arc<KnownHosts>,
    questions: Option<mpsc::Sender<HostKeyQuestion>>,
    /// true while a question waits for the operator (the connect timeout pauses).
    asking: watch::Sender<bool>,
    /// Set when the operator accepted the key during this attempt.
    accepted: Arc<AtomicBool>,
    /// The fingerprint of the key the server offered.
    seen_key: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, ClientError> {
        // Checked once per connection: do not keep the operator's channel open afterwards.
        let questions = self.questions.take();
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                return Err(ClientError::Refused(TransportError::Other(format!(
                    "{} presented a host certificate; kha-tui trusts only host keys in known_hosts",
                    self.host
                ))));
            }
        };
        let algorithm = key.algorithm().as_str().to_string();
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        *self.seen_key.lock().expect("lock") = Some(fingerprint.clone());
        let verdict = self
            .known
            .check(&self.host, self.port, key)
            .map_err(|e| ClientError::Refused(TransportError::Other(e)))?;
        match verdict {
            Verdict::Known => Ok(true),
            Verdict::Changed { file, line } => {
                Err(ClientError::Refused(TransportError::HostKeyChanged {
                    host: self.host.clone(),
                    algorithm,
                    fingerprint,
                    known_hosts: file.display().to_string(),
                    line,
                }))
            }
            Verdict::Revoked { file, line } => {
                Err(ClientError::Refused(TransportError::Other(format!(
                    "the {algorithm} host key of {} ({fingerprint}) is marked @revoked in {}:{line}; refused",
                    self.host,
                    file.display()
                ))))
            }
            Verdict::Unknown => self.ask(questions, key, algorithm, fingerprint).await,
        }
    }
}

impl Client {
    /// Puts an unknown key to the operator; saves it when accepted.
    async fn ask(
        &mut self,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
        key: &PublicKey,
        algorithm: String,
        fingerprint: String,
    ) -> Result<bool, ClientError> {
        let unknown = TransportError::HostKeyUnknown {
            host: self.host.clone(),
            fingerprint: fingerprint.clone(),
        };
        let Some(questions) = questions else {
            return Err(ClientError::Refused(unknown));
        };
        let (answer_tx, answer_rx) = oneshot::channel();
        let question = HostKeyQuestion {
            node: self.node.clone(),
            host: self.host.clone(),
            port: self.port,
            algorithm,
            fingerprint,
            answer: answer_tx,
        };
        self.asking.send_replace(true);
        let answer = match questions.send(question).await {
            Ok(()) => answer_rx.await.unwrap_or(false),
            Err(_) => false,
        };
        drop(questions);
        self.asking.send_replace(false);
        if !answer {
            return Err(ClientError::Refused(unknown));
        }

        let (known, host, port, key) = (
            self.known.clone(),
            self.host.clone(),
            self.port,
            key.clone(),
        );
        let saved = tokio::task::spawn_blocking(move || known.learn(&host, port, &key)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ClientError::Refused(TransportError::Other(format!(
                    "cannot save the host key of {} to {}: {e}",
                    self.host,
                    self.known.write.display()
                ))));
            }
            Err(e) => return Err(ClientError::Refused(TransportError::Other(e.to_string()))),
        }
        self.accepted.store(true, Ordering::SeqCst);
        Ok(true)
    }
}

/// Where a command's output lines go.
enum Sink<'a> {
    Channel(&'a mpsc::Sender<Output>),
    /// For uploads: keeps (at most this many) lines for the error message.
    Collect(&'a mut Vec<Output>, usize),
}

impl Sink<'_> {
    async fn push(&mut self, line: Output) {
        match self {
            // A receiver that went away is not our problem: keep draining the channel.
            Sink::Channel(tx) => {
                let _ = tx.send(line).await;
            }
            Sink::Collect(lines, max) => {
                if lines.len() < *max {
                    lines.push(line);
                }
            }
        }
    }
}

/// `$?` for a process killed by `signal` (Linux numbers); `None` if the number is unknown.
fn signal_exit_code(signal: &Sig) -> Option<u32> {
    let number = match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(name) => match name.as_str() {
            "USR2" => 12,
            "BUS" => 7,
            "TRAP" => 5,
            "XCPU" => 24,
            "XFSZ" => 25,
            "SYS" => 31,
            _ => return None,
        },
    };
    Some(128 + number)
}

/// The shell command for an atomic upload: a temporary file next to `path` (written with umask
/// 077, so never readable by others, even before the chmod), then `mv` over `path`. Every path is
/// quoted; a relative path gets `./` so that no name can look like an option.
fn upload_command(path: &str, mode: u32, nonce: u64) -> Result<String, TransportError> {
    if mode > 0o7777 {
        return Err(TransportError::Other(format!(
            "invalid file mode {mode:o} for {path}"
        )));
    }
    let (dir, name) = match path.rfind('/') {
        Some(i) => (path[..=i].to_string(), &path[i + 1..]),
        None => ("./".to_string(), path),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(TransportError::Other(format!(
            "upload path {path:?} does not name a file"
        )));
    }
    let target = format!("{dir}{name}");
    let tmp = quote(&format!("{dir}.{name}.kha-tmp-{nonce:016x}"));
    let target = quote(&target);
    Ok(format!(
        "umask 077; cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {target} || {{ rm -f {tmp}; exit 1; }}"
    ))
}

impl SshSession {
    /// Runs one command on a fresh channel. See [`Session::exec`].
    async fn run(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        sink: &mut Sink<'_>,
    ) -> Result<ExitStatus, TransportError> {
        let t = self.timeouts;
        let started = Instant::now();
        let command_deadline = started + t.command;
        let lost = |e: russh::Error| TransportError::Disconnected(e.to_string());

        let channel =
            tokio::time::timeout(t.idle.min(t.command), self.handle.channel_open_session())
                .await
                .map_err(|_| TransportError::IdleTimeout {
                    secs: t.idle.as_secs(),
                })?
                .map_err(lost)?;
        let (mut rx, tx) = channel.split();
        tx.exec(true, command).await.map_err(lost)?;

        // Milliseconds since `started` of the last stdin progress, for the idle timer.
        let stdin_progress = AtomicU64::new(0);
        let elapsed_ms = || started.elapsed().as_millis() as u64;
        let mut writer = pin!(async {
            for chunk in stdin.as_deref().unwrap_or_default().chunks(STDIN_CHUNK) {
                tx.data_bytes(chunk.to_vec()).await?;
                stdin_progress.store(elapsed_ms(), Ordering::Relaxed);
            }
            tx.eof().await
        });
        let mut writing = true;

        let mut stdout = LineSplitter::default();
        let mut stderr = LineSplitter::default();
        let mut status: Option<ExitStatus> = None;
        let mut last_activity = Instant::now();
        let mut idle_deadline = last_activity + t.idle;
        let mut closed = false;

        let outcome: Result<(), TransportError> = loop {
            tokio::select! {
                biased;
                msg = rx.wait() => {
                    match msg {
                        Some(ChannelMsg::Data { data }) => {
                            for line in stdout.push(&data) {
                                sink.push(Output::Stdout(line)).await;
                            }
                        }
                        Some(ChannelMsg::ExtendedData { data, ext }) => {
                            if ext == 1 {
                                for line in stderr.push(&data) {
                                    sink.push(Output::Stderr(line)).await;
                                }
                            }
                        }
                        Some(ChannelMsg::ExitStatus { exit_status }) => {
                            status = Some(ExitStatus(Some(exit_status)));
                        }
                        Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                            status = Some(ExitStatus(signal_exit_code(&signal_name)));
                        }
                        Some(ChannelMsg::Failure) => {
                            break Err(TransportError::Other(
                                "the server refused to run the command".into(),
                            ));
                        }
                        // OpenSSH sends EOF before exit-status: keep reading until Close.
                        Some(ChannelMsg::Close) => {
                            closed = true;
                            break Ok(());
                        }
                        None => {
                            closed = true;
                            break match status {
                                Some(_) => Ok(()),
                                None => Err(TransportError::Disconnected(
                                    "the connection closed while the command ran".into(),
                                )),
                            };
                        }
                        Some(_) => continue,
                    }
                    last_activity = Instant::now();
                    idle_deadline = last_activity
                        + if status.is_some() { t.idle.min(AFTER_EXIT) } else { t.idle };
                }
                result = &mut writer, if writing => {
                    writing = false;
                    // A command that exits without reading all of stdin makes the write fail;
                    // its exit status tells what happened.
                    let _ = result;
                }
                _ = sleep_until(idle_deadline) => {
                    let progress =
                        started + Duration::from_millis(stdin_progress.load(Ordering::Relaxed));
                    let active = last_activity.max(progress);
                    if status.is_none() && Instant::now() < active + t.idle {
                        idle_deadline = active + t.idle;
                        continue;
                    }
                    break match status {
                        Some(_) => Ok(()),
                        None => Err(TransportError::IdleTimeout { secs: t.idle.as_secs() }),
                    };
                }
                _ = sleep_until(command_deadline) => {
                    break match status {
                        Some(_) => Ok(()),
                        None => Err(TransportError::CommandTimeout { secs: t.command.as_secs() }),
                    };
                }
            }
        };

        if let Some(line) = stdout.finish() {
            sink.push(Output::Stdout(line)).await;
        }
        if let Some(line) = stderr.finish() {
            sink.push(Output::Stderr(line)).await;
        }
        if !closed {
            // Timed out, refused, or the command is done but something holds its output open.
            // Best effort: OpenSSH delivers the signal to the remote shell; without a pty,
            // closing the channel does not kill anything.
            if status.is_none() {
                let _ = tx.signal(Sig::TERM).await;
            }
            let _ = tx.close().await;
        }
        outcome?;
        Ok(status.unwrap_or(ExitStatus(None)))
    }
}

impl Session for SshSession {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> Result<ExitStatus, TransportError> {
        self.run(command, stdin, &mut Sink::Channel(&out)).await
    }

    async fn upload(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), TransportError> {
        let command = upload_command(path, mode, rand::random())?;
        let mut lines = Vec::new();
        let status = self
            .run(
                &command,
                Some(content.to_vec()),
                &mut Sink::Collect(&mut lines, 20),
            )
            .await?;
        if status.success() {
            return Ok(());
        }
        let stderr: Vec<String> = lines
            .into_iter()
            .filter_map(|l| match l {
                Output::Stderr(l) => Some(l),
                Output::Stdout(_) => None,
            })
            .collect();
        let code = status
            .0
            .map_or("no exit status".to_string(), |c| format!("exit {c}"));
        Err(TransportError::Other(format!(
            "upload of {path} failed ({code}): {}",
            stderr.join("; ")
        )))
    }

    fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }

    fn host_key(&self) -> Option<String> {
        self.host_key.clone()
    }

    async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_command_round_trips_hostile_paths_through_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "plain.txt",
            "with space",
            "it's",
            "-rf",
            "$(touch x)",
            "new\nline",
        ] {
            let path = format!("{}/{name}", dir.path().display());
            let cmd = upload_command(&path, 0o640, 42).unwrap();
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"content\n").unwrap();
            assert!(child.wait().unwrap().success(), "{name:?}");
            assert_eq!(std::fs::read(&path).unwrap(), b"content\n");
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o640, "{name:?}");
        }
        // Only the uploaded files are left: no temporary files, nothing injected.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6);
    }

    #[test]
    fn upload_command_cleans_up_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = format!("{}/missing-dir/file", dir.path().display());
        let cmd = upload_command(&path, 0o600, 1).unwrap();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success());
    }

    #[test]
    fn upload_command_relative_path_and_bad_input() {
        let cmd = upload_command("-file", 0o600, 1).unwrap();
        assert!(cmd.contains("mv -f ./.-file.kha-tmp-0000000000000001 ./-file"));
        assert!(upload_command("/etc/", 0o600, 1).is_err());
        assert!(upload_command("x", 0o10000, 1).is_err());
    }

    #[test]
    fn signals_map_to_shell_exit_codes() {
        assert_eq!(signal_exit_code(&Sig::KILL), Some(137));
        assert_eq!(signal_exit_code(&Sig::TERM), Some(143));
        assert_eq!(signal_exit_code(&Sig::Custom("USR2".into())), Some(140));
        assert_eq!(signal_exit_code(&Sig::Custom("WINCH".into())), None);
    }

    #[test]
    fn recorded_host_key_types_are_preferred() {
        let config = client_config(&Timeouts::default(), &[Algorithm::Rsa { hash: None }]);
        let keys = config.preferred.key.to_vec();
        assert!(
            keys[..3].iter().all(|a| matches!(a, Algorithm::Rsa { .. })),
            "{keys:?}"
        );
        assert_eq!(keys[3], Algorithm::Ed25519);
        let config = client_config(&Timeouts::default(), &[]);
        assert_eq!(config.preferred.key[0], Algorithm::Ed25519);
        assert_eq!(
            config.keepalive_interval,
            Some(Timeouts::default().keepalive)
        );
        assert_eq!(config.inactivity_timeout, None);
    }
}
