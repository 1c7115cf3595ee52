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
//! - A key marked `@revoked` in a known_hosts file is refused with `TransportError::Other`.
//! - Host certificates: asked for only where an `@cert-authority` line matches the host; one is
//!   accepted as OpenSSH accepts it (a host certificate from a listed CA, neither revoked, in its
//!   window, the dialled name among its principals or none listed, no critical options), else
//!   refused with the reason. A certified host is never learned into known_hosts.
//! - Jump hosts: each bastion is connected once (its host key checked like a node's) and shared
//!   by every node behind it through `direct-tcpip` channels; its failure reaches each of them as
//!   `TransportError::ViaBastion`.
//! - Passwords and passphrases never appear in errors (russh's errors do not carry them either).

mod auth;
mod cluster;
mod handler;
mod known_hosts;
mod lines;
mod session;
pub use cluster::{add_config_known_hosts, cluster_transport, ssh_config};

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

use self::auth::*;
use self::handler::*;
use self::known_hosts::{KnownHosts, Verdict};
use self::lines::LineSplitter;
use super::{
    Auth, CommandStream, ExitStatus, HostKeyQuestion, Output, Session, StreamEvent, Target,
    Timeouts, Transport, TransportError,
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
    /// One connection per bastion (keyed by the chain of `user@host:port` up to it), shared by
    /// every node behind it; a bastion that failed keeps its error for the run, so that the
    /// operator is asked about its key once and every node behind it says the same.
    bastions: BastionPool,
}

#[derive(Clone, Default)]
struct BastionPool(Arc<tokio::sync::Mutex<std::collections::HashMap<String, Arc<BastionSlot>>>>);

impl std::fmt::Debug for BastionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BastionPool")
    }
}

/// A bastion's connection (or why there is none), locked while it is being made so that the
/// nodes behind it wait for the one connection instead of each dialling their own.
type BastionSlot = tokio::sync::Mutex<Option<Result<Arc<client::Handle<Client>>, BastionError>>>;

#[derive(Debug, Clone)]
struct BastionError {
    reason: String,
    kind: super::BastionFailure,
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
            bastions: Default::default(),
        }
    }
}

/// One authenticated connection to a node.
pub struct SshSession {
    handle: client::Handle<Client>,
    /// The last bastion on the way, kept while this session lives (the pool keeps it too).
    _via: Option<Arc<client::Handle<Client>>>,
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

    fn use_inventory(&self, _cluster: &crate::inventory::Cluster) {
        self.forget_failed_bastions();
    }

    async fn connect(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> Result<SshSession, TransportError> {
        // Never dial the node directly when the operator's config routes it through a command.
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
        let via = self.through_bastions(target, questions.clone()).await?;
        self.connect_with_retry(target, questions, key, via).await
    }
}

impl SshTransport {
    /// Bastions that failed are tried again by the next connection (a new run: the operator
    /// may have fixed the key or answered differently); working ones stay shared.
    pub fn forget_failed_bastions(&self) {
        if let Ok(mut pool) = self.bastions.0.try_lock() {
            pool.retain(|_, slot| !matches!(slot.try_lock().as_deref(), Ok(Some(Err(_)))));
        }
    }

    /// The connection to the last bastion on the way to `target` (each hop reached through the
    /// one before it), made once and shared; `None` when the target is dialled directly.
    async fn through_bastions(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
    ) -> Result<Option<Arc<client::Handle<Client>>>, TransportError> {
        let mut via: Option<Arc<client::Handle<Client>>> = None;
        let mut chain = String::new();
        for hop in &target.jumps {
            if !chain.is_empty() {
                chain.push_str(" > ");
            }
            chain.push_str(&hop.key());
            let slot = self
                .bastions
                .0
                .lock()
                .await
                .entry(chain.clone())
                .or_default()
                .clone();
            let mut slot = slot.lock().await;
            let failed = |e: &BastionError| TransportError::ViaBastion {
                bastion: hop.name.clone(),
                reason: e.reason.clone(),
                kind: e.kind,
            };
            let handle = match &*slot {
                Some(Ok(h)) if !h.is_closed() => h.clone(),
                Some(Err(e)) => return Err(failed(e)),
                // Not yet connected, or the connection dropped: (re)connect.
                _ => {
                    let hop_target = Target {
                        node: format!("bastion {}", hop.name),
                        host: hop.host.clone(),
                        port: hop.port,
                        user: hop.user.clone(),
                        auth: hop.auth.clone(),
                        more_keys: Vec::new(),
                        timeouts: target.timeouts,
                        jumps: Vec::new(),
                        proxy_command: None,
                    };
                    let connected = match self.key_for(&hop.auth).await {
                        Ok(key) => {
                            self.connect_with_retry(&hop_target, questions.clone(), key, via)
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    match connected {
                        Ok(session) => {
                            let h = Arc::new(session.handle);
                            *slot = Some(Ok(h.clone()));
                            h
                        }
                        Err(e) => {
                            let e = BastionError {
                                reason: e.to_string(),
                                kind: super::BastionFailure::from(&e),
                            };
                            *slot = Some(Err(e.clone()));
                            return Err(failed(&e));
                        }
                    }
                }
            };
            via = Some(handle);
        }
        Ok(via)
    }

    /// Connects to `target` (directly, or through `via`), once more if the server gave up on
    /// us while the operator answered a host-key question.
    async fn connect_with_retry(
        &self,
        target: &Target,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
        key: Option<Arc<PrivateKey>>,
        via: Option<Arc<client::Handle<Client>>>,
    ) -> Result<SshSession, TransportError> {
        let mut retried = false;
        loop {
            let accepted = Arc::new(AtomicBool::new(false));
            let result = self
                .connect_once(
                    target,
                    questions.clone(),
                    key.clone(),
                    accepted.clone(),
                    via.clone(),
                )
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
        via: Option<Arc<client::Handle<Client>>>,
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
        let mut attempt = pin!(self.establish(target, client, key, via));
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
        via: Option<Arc<client::Handle<Client>>>,
    ) -> Result<SshSession, TransportError> {
        let connect_error = |reason: String| TransportError::Connect {
            host: target.host.clone(),
            port: target.port,
            reason,
        };
        let mut handle = match &via {
            // The bastion opens the TCP connection onwards (`direct-tcpip`, what `ssh -J`
            // asks for); the SSH session to the node runs inside that channel.
            Some(bastion) => {
                let channel = bastion
                    .channel_open_direct_tcpip(
                        target.host.as_str(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| {
                        connect_error(format!("the bastion could not connect onwards: {e}"))
                    })?;
                self.handshake(target, channel.into_stream(), client)
                    .await?
            }
            None => {
                let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                    .await
                    .map_err(|e| connect_error(e.to_string()))?;
                let _ = stream.set_nodelay(true);
                self.handshake(target, stream, client).await?
            }
        };
        self.authenticate(&mut handle.0, target, key).await?;
        let host_key = handle.1.lock().expect("lock").clone();
        Ok(SshSession {
            handle: handle.0,
            _via: via,
            timeouts: target.timeouts,
            host_key,
        })
    }

    /// The SSH handshake over `stream` (host key checked by `client`); the handle and the
    /// fingerprint the server showed.
    async fn handshake<R>(
        &self,
        target: &Target,
        stream: R,
        client: Client,
    ) -> Result<(client::Handle<Client>, SeenKey), TransportError>
    where
        R: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let connect_error = |reason: String| TransportError::Connect {
            host: target.host.clone(),
            port: target.port,
            reason,
        };

        let preferred_types = self
            .known
            .recorded_types(&target.host, target.port)
            .unwrap_or_default();
        let mut config = client_config(&target.timeouts, &preferred_types);
        // Host certificates are asked for only where an @cert-authority line could vouch for
        // one: elsewhere a certificate would only be refused.
        let has_ca = !self
            .known
            .authorities(&target.host, target.port)
            .unwrap_or_default()
            .is_empty();
        if has_ca {
            config.preferred.host_key_certificates = config.preferred.key.clone();
        }
        let seen_key = client.seen_key.clone();
        let handle = client::connect_stream(Arc::new(config), stream, client)
            .await
            .map_err(|e| match e {
                ClientError::Refused(e) => e,
                ClientError::Russh(e) => connect_error(format!("SSH handshake failed: {e}")),
            })?;
        Ok((handle, seen_key))
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
            Auth::KeyFile { path, passphrase } => {
                let Some(key) = key else {
                    return Err(TransportError::Other("private key was not loaded".into()));
                };
                // The key, then the config's other IdentityFiles in order, as ssh tries them.
                let mut tried = vec![path.display().to_string()];
                let mut key = key;
                let mut more = target.more_keys.iter();
                loop {
                    let hash = rsa_hash(handle, key.algorithm()).await.map_err(lost)?;
                    let result = handle
                        .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
                        .await
                        .map_err(lost)?;
                    let (remaining_methods, partial_success) = match result {
                        client::AuthResult::Success => return Ok(()),
                        client::AuthResult::Failure {
                            remaining_methods,
                            partial_success,
                        } => (remaining_methods, partial_success),
                    };
                    // The next key that loads (one that does not is passed over, as ssh does).
                    let next = loop {
                        let Some(p) = more.next() else { break None };
                        let auth = Auth::KeyFile {
                            path: p.clone(),
                            passphrase: passphrase.clone(),
                        };
                        if let Ok(Some(k)) = self.key_for(&auth).await {
                            tried.push(p.display().to_string());
                            break Some(k);
                        }
                    };
                    match next {
                        Some(k) if !partial_success && !handle.is_closed() => key = k,
                        _ => {
                            let what = if tried.len() == 1 {
                                format!("the key {} was not accepted", tried[0])
                            } else {
                                format!("none of the keys {} was accepted", tried.join(", "))
                            };
                            return Err(failed(rejection(
                                &what,
                                &remaining_methods,
                                partial_success,
                            )));
                        }
                    }
                }
            }
            Auth::Password(password) => {
                let result = handle
                    .authenticate_password(&target.user, password.as_str())
                    .await
                    .map_err(lost)?;
                match result {
                    client::AuthResult::Success => Ok(()),
                    // Password auth off but PAM asks (`KbdInteractiveAuthentication yes`): the
                    // same password, typed into PAM's prompts.
                    client::AuthResult::Failure {
                        remaining_methods, ..
                    } if remaining_methods.contains(&russh::MethodKind::KeyboardInteractive)
                        && !handle.is_closed() =>
                    {
                        keyboard_interactive(handle, &target.user, password)
                            .await
                            .map_err(lost)?
                            .map_err(failed)
                    }
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

#[cfg(test)]
mod tests {
    use super::session::*;
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
