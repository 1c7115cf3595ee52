//! The SSH transport against a real OpenSSH sshd that each test starts on 127.0.0.1 (loopback
//! only) at a free port, with its own config, host key and authorized_keys in a temp dir.
//!
//! Needs root and /usr/sbin/sshd, ssh-keygen (ssh-agent, ssh-add, useradd, chpasswd for some
//! tests). Without them the tests print "skipping: …" and pass, except under CI=true, where
//! they fail.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use kha_tui::transport::ssh::{SshConfig, SshTransport};
use kha_tui::transport::{
    Auth, ExitStatus, HostKeyQuestion, Output, Session, Target, Timeouts, Transport, TransportError,
};
use tokio::sync::mpsc;

#[path = "common/sshd.rs"]
mod sshd;

use sshd::{Sshd, keygen, public_key_line};

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("cannot run the SSH transport tests under CI: {why}");
    }
    eprintln!("skipping: {why}");
    None
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// OpenSSH's fingerprint of a public key file, e.g. "SHA256:…".
fn fingerprint(pubkey: &Path) -> String {
    let out = run(Command::new("ssh-keygen").arg("-lf").arg(pubkey));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A private sshd on 127.0.0.1 (tests/common/sshd.rs) and its directory.
struct Lab {
    sshd: Sshd,
    port: u16,
    host_key: PathBuf,
    dir: tempfile::TempDir,
}

impl Lab {
    fn start() -> Option<Lab> {
        Lab::start_with("")
    }

    /// With extra sshd_config lines.
    fn start_with(extra: &str) -> Option<Lab> {
        if let Err(why) = sshd::prerequisites() {
            return skip(&why);
        }
        let dir = tempfile::tempdir().unwrap();
        let sshd = Sshd::start(dir.path(), &["127.0.0.1"], extra);
        Some(Lab {
            port: sshd.port,
            host_key: sshd.host_key.clone(),
            sshd,
            dir,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn authorize(&self, private: &Path) {
        self.sshd.authorize(private);
    }

    /// A fresh authorized key of `kind`.
    fn user_key(&self, kind: &str) -> PathBuf {
        let key = keygen(self.dir.path(), &format!("id_{kind}"), kind, "");
        self.authorize(&key);
        key
    }

    fn host_key_entry(&self) -> String {
        format!(
            "[127.0.0.1]:{} {}",
            self.port,
            public_key_line(&self.host_key)
        )
    }

    fn fingerprint(&self) -> String {
        fingerprint(&self.host_key.with_extension("pub"))
    }

    fn target(&self, user: &str, auth: Auth) -> Target {
        Target {
            node: "node1".into(),
            host: "127.0.0.1".into(),
            port: self.port,
            user: user.into(),
            auth,
            timeouts: Timeouts {
                connect: Duration::from_secs(10),
                idle: Duration::from_secs(20),
                command: Duration::from_secs(60),
                keepalive: Duration::from_secs(5),
            },
            more_keys: Vec::new(),
            jumps: Vec::new(),
            proxy_command: None,
        }
    }

    fn key_target(&self, key: &Path) -> Target {
        self.target(
            "root",
            Auth::KeyFile {
                path: key.to_path_buf(),
                passphrase: None,
            },
        )
    }

    /// A transport whose user known_hosts already has this sshd's key.
    fn trusting_transport(&self) -> SshTransport {
        let user_known = self.path("user_known_hosts");
        std::fs::write(&user_known, format!("{}\n", self.host_key_entry())).unwrap();
        SshTransport::new(SshConfig {
            known_hosts: vec![user_known],
            learned_known_hosts: self.path("data/known_hosts"),
            agent_socket: None,
        })
    }

    /// A transport that knows no host keys; kha-tui's file goes to `data/nested/known_hosts`.
    fn fresh_transport(&self) -> SshTransport {
        SshTransport::new(SshConfig {
            known_hosts: vec![self.path("no_such_known_hosts")],
            learned_known_hosts: self.path("data/nested/known_hosts"),
            agent_socket: None,
        })
    }

    async fn connect(&self, target: &Target) -> <SshTransport as Transport>::Session {
        self.trusting_transport()
            .connect(target, None)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }
}

/// Runs `command`, collecting its output lines.
async fn exec(
    session: &mut impl Session,
    command: &str,
    stdin: Option<Vec<u8>>,
) -> (Result<ExitStatus, TransportError>, Vec<Output>) {
    let (tx, mut rx) = mpsc::channel(16);
    let collect = async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            lines.push(line);
        }
        lines
    };
    let (status, lines) = tokio::join!(session.exec(command, stdin, tx), collect);
    (status, lines)
}

fn stdout(lines: &[&str]) -> Vec<Output> {
    lines
        .iter()
        .map(|l| Output::Stdout(l.to_string()))
        .collect()
}

async fn assert_key_login(kind: &str) {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key(kind);
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let (status, lines) = exec(&mut session, "echo ok; id -un", None).await;
    assert_eq!(status.unwrap(), ExitStatus(Some(0)));
    assert_eq!(lines, stdout(&["ok", "root"]));
    session.close().await;
}

#[tokio::test]
async fn key_auth_ed25519() {
    assert_key_login("ed25519").await;
}

#[tokio::test]
async fn key_auth_ecdsa() {
    assert_key_login("ecdsa").await;
}

/// OpenSSH ≥ 8.8 refuses SHA-1 `ssh-rsa` signatures: logging in proves rsa-sha2 is used.
#[tokio::test]
async fn key_auth_rsa_with_sha2_signatures() {
    assert_key_login("rsa").await;
}

#[tokio::test]
async fn unauthorized_key_is_auth_failed() {
    let Some(lab) = Lab::start() else { return };
    let key = keygen(lab.dir.path(), "stranger", "ed25519", "");
    let err = lab
        .trusting_transport()
        .connect(&lab.key_target(&key), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed { .. }), "{err}");
}

#[tokio::test]
async fn encrypted_key_needs_its_passphrase() {
    let Some(lab) = Lab::start() else { return };
    let secret = "correct horse battery";
    let key = keygen(lab.dir.path(), "id_locked", "ed25519", secret);
    lab.authorize(&key);
    let transport = lab.trusting_transport();
    let with = |passphrase: Option<&str>| {
        lab.target(
            "root",
            Auth::KeyFile {
                path: key.clone(),
                passphrase: passphrase.map(String::from),
            },
        )
    };

    let err = transport.connect(&with(None), None).await.unwrap_err();
    assert!(matches!(err, TransportError::KeyEncrypted { .. }), "{err}");

    let err = transport
        .connect(&with(Some("wrong guess")), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::KeyUnreadable { .. }), "{err}");
    assert!(!err.to_string().contains("wrong guess"));

    let mut session = transport.connect(&with(Some(secret)), None).await.unwrap();
    let (status, lines) = exec(&mut session, "echo unlocked", None).await;
    assert!(status.unwrap().success());
    assert_eq!(lines, stdout(&["unlocked"]));
}

#[tokio::test]
async fn missing_key_file_is_key_unreadable() {
    let Some(lab) = Lab::start() else { return };
    let err = lab
        .trusting_transport()
        .connect(&lab.key_target(&lab.path("nope")), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::KeyUnreadable { .. }), "{err}");
}

/// A local user `khatest` with a password known to this test run.
fn password_user() -> Option<&'static str> {
    static PASSWORD: OnceLock<Option<String>> = OnceLock::new();
    PASSWORD
        .get_or_init(|| {
            let exists = Command::new("id")
                .arg("khatest")
                .output()
                .is_ok_and(|o| o.status.success());
            if !exists {
                let made = Command::new("useradd")
                    .args(["-m", "-s", "/bin/sh", "khatest"])
                    .status()
                    .is_ok_and(|s| s.success());
                if !made {
                    return skip("cannot create the test user khatest (useradd)");
                }
            }
            let password = format!("pw-{:016x}", rand::random::<u64>());
            let child = Command::new("chpasswd").stdin(Stdio::piped()).spawn();
            let ok = child.is_ok_and(|mut child| {
                let written = child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(format!("khatest:{password}\n").as_bytes())
                    .is_ok();
                written && child.wait().is_ok_and(|s| s.success())
            });
            if !ok {
                return skip("cannot set the password of khatest (chpasswd)");
            }
            Some(password)
        })
        .as_deref()
}

#[tokio::test]
async fn password_auth_right_and_wrong() {
    let Some(lab) = Lab::start() else { return };
    let Some(password) = password_user() else {
        return;
    };
    let transport = lab.trusting_transport();

    let target = lab.target("khatest", Auth::Password(password.to_string()));
    assert!(!format!("{target:?}").contains(password));
    let mut session = transport.connect(&target, None).await.unwrap();
    let (status, lines) = exec(&mut session, "id -un", None).await;
    assert!(status.unwrap().success());
    assert_eq!(lines, stdout(&["khatest"]));

    let wrong = "not-the-password";
    let err = transport
        .connect(&lab.target("khatest", Auth::Password(wrong.into())), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed { .. }), "{err}");
    assert!(!err.to_string().contains(wrong) && !format!("{err:?}").contains(wrong));
}

/// ssh-agent in the foreground on a socket of the lab.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn agent_auth() {
    let Some(lab) = Lab::start() else { return };
    let socket = lab.path("agent.sock");
    let Ok(child) = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return skip("no ssh-agent").unwrap_or(());
    };
    let _agent = Agent(child);
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The agent holds an unauthorized key first and the authorized one second.
    let stranger = keygen(lab.dir.path(), "stranger", "ecdsa", "");
    let key = lab.user_key("ed25519");
    for k in [&stranger, &key] {
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(k)
            .env("SSH_AUTH_SOCK", &socket)
            .stderr(Stdio::null()));
    }

    let user_known = lab.path("user_known_hosts");
    std::fs::write(&user_known, format!("{}\n", lab.host_key_entry())).unwrap();
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![user_known],
        learned_known_hosts: lab.path("data/known_hosts"),
        agent_socket: Some(socket.clone()),
    });
    let mut session = transport
        .connect(&lab.target("root", Auth::Agent), None)
        .await
        .unwrap();
    let (status, lines) = exec(&mut session, "echo via-agent", None).await;
    assert!(status.unwrap().success());
    assert_eq!(lines, stdout(&["via-agent"]));

    // An agent that does not exist is an authentication failure, not a crash.
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![lab.path("user_known_hosts")],
        learned_known_hosts: lab.path("data/known_hosts"),
        agent_socket: Some(lab.path("no-agent.sock")),
    });
    let err = transport
        .connect(&lab.target("root", Auth::Agent), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed { .. }), "{err}");
}

/// Connects while answering the one host-key question with `answer`; returns the question's
/// (node, host, port, algorithm, fingerprint).
async fn connect_answering(
    transport: &SshTransport,
    target: &Target,
    answer: bool,
) -> (
    Result<<SshTransport as Transport>::Session, TransportError>,
    (String, String, u16, String, String),
) {
    let (tx, mut rx) = mpsc::channel::<HostKeyQuestion>(1);
    let asker = async move {
        let q = rx.recv().await.expect("a host-key question");
        let seen = (q.node, q.host, q.port, q.algorithm, q.fingerprint);
        q.answer.send(answer).unwrap();
        assert!(rx.recv().await.is_none(), "asked twice");
        seen
    };
    tokio::join!(transport.connect(target, Some(tx)), asker)
}

#[tokio::test]
async fn unknown_host_key_is_asked_refused_then_saved() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let target = lab.key_target(&key);
    let transport = lab.fresh_transport();
    let learned = lab.path("data/nested/known_hosts");

    let (result, seen) = connect_answering(&transport, &target, false).await;
    let expected = (
        "node1".to_string(),
        "127.0.0.1".to_string(),
        lab.port,
        "ssh-ed25519".to_string(),
        lab.fingerprint(),
    );
    assert_eq!(seen, expected);
    match result {
        Err(TransportError::HostKeyUnknown { fingerprint, .. }) => {
            assert_eq!(fingerprint, lab.fingerprint())
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }
    assert!(!learned.exists(), "a refused key must not be saved");

    let (result, seen) = connect_answering(&transport, &target, true).await;
    assert_eq!(seen, expected);
    let mut session = result.unwrap();
    let (status, _) = exec(&mut session, "true", None).await;
    assert!(status.unwrap().success());
    assert_eq!(
        std::fs::read_to_string(&learned).unwrap(),
        format!("{}\n", lab.host_key_entry())
    );
    assert_eq!(mode(&learned), 0o600);
    assert_eq!(mode(&lab.path("data/nested")), 0o700);
    assert_eq!(mode(&lab.path("data")), 0o700);

    // Known now: no question, even with a channel to ask on.
    let (tx, mut rx) = mpsc::channel(1);
    transport.connect(&target, Some(tx)).await.unwrap();
    assert!(rx.try_recv().is_err(), "asked about a saved key");
}

#[tokio::test]
async fn unknown_host_key_without_question_channel_is_refused() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let err = lab
        .fresh_transport()
        .connect(&lab.key_target(&key), None)
        .await
        .unwrap_err();
    match err {
        TransportError::HostKeyUnknown { fingerprint, host } => {
            assert_eq!(fingerprint, lab.fingerprint());
            assert_eq!(host, "127.0.0.1");
        }
        other => panic!("expected HostKeyUnknown, got {other:?}"),
    }
}

#[tokio::test]
async fn question_wait_does_not_count_against_the_connect_timeout() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut target = lab.key_target(&key);
    target.timeouts.connect = Duration::from_secs(1);
    let (tx, mut rx) = mpsc::channel::<HostKeyQuestion>(1);
    let asker = async move {
        let q = rx.recv().await.unwrap();
        // The operator thinks for longer than the connect timeout.
        tokio::time::sleep(Duration::from_secs(2)).await;
        q.answer.send(true).unwrap();
    };
    let transport = lab.fresh_transport();
    let (result, ()) = tokio::join!(transport.connect(&target, Some(tx)), asker);
    result.unwrap();
    // One connection besides the readiness probe: the wait did not need the retry.
    let log = std::fs::read_to_string(lab.path("sshd.log")).unwrap();
    assert_eq!(log.matches("Connection from").count(), 2, "{log}");
}

/// sshd drops a client that has not logged in within LoginGraceTime; a key accepted after that
/// is saved, and the connection is made again without asking.
#[tokio::test]
async fn slow_answer_past_the_server_grace_time_reconnects() {
    let Some(lab) = Lab::start_with("LoginGraceTime 1\n") else {
        return;
    };
    let key = lab.user_key("ed25519");
    let (tx, mut rx) = mpsc::channel::<HostKeyQuestion>(1);
    let asker = async move {
        let q = rx.recv().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1600)).await;
        q.answer.send(true).unwrap();
        assert!(rx.recv().await.is_none(), "asked twice");
    };
    let transport = lab.fresh_transport();
    let target = lab.key_target(&key);
    let (result, ()) = tokio::join!(transport.connect(&target, Some(tx)), asker);
    let mut session = result.unwrap();
    let (status, _) = exec(&mut session, "true", None).await;
    assert!(status.unwrap().success());
    let log = std::fs::read_to_string(lab.path("sshd.log")).unwrap();
    assert_eq!(log.matches("Connection from").count(), 3, "{log}");
}

#[tokio::test]
async fn changed_host_key_is_refused_with_file_and_line() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let impostor = keygen(lab.dir.path(), "other_host_key", "ed25519", "");
    let user_known = lab.path("user_known_hosts");
    std::fs::write(
        &user_known,
        format!(
            "# a comment\n10.9.9.9 {}\n[127.0.0.1]:{} {}\n",
            public_key_line(&impostor),
            lab.port,
            public_key_line(&impostor)
        ),
    )
    .unwrap();
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![user_known.clone()],
        learned_known_hosts: lab.path("data/known_hosts"),
        agent_socket: None,
    });
    let (tx, mut rx) = mpsc::channel(1);
    let err = transport
        .connect(&lab.key_target(&key), Some(tx))
        .await
        .unwrap_err();
    match &err {
        TransportError::HostKeyChanged {
            host,
            algorithm,
            fingerprint,
            known_hosts,
            line,
        } => {
            assert_eq!(host, "127.0.0.1");
            assert_eq!(algorithm, "ssh-ed25519");
            assert_eq!(fingerprint, &lab.fingerprint());
            assert_eq!(known_hosts, &user_known.display().to_string());
            assert_eq!(*line, 3);
        }
        other => panic!("expected HostKeyChanged, got {other:?}"),
    }
    assert!(
        rx.try_recv().is_err(),
        "a changed key must not be asked about"
    );
    assert!(!lab.path("data/known_hosts").exists());
}

#[tokio::test]
async fn hashed_and_bracketed_known_hosts_entries_are_accepted() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let target = lab.key_target(&key);
    let check = |file: PathBuf| {
        let transport = SshTransport::new(SshConfig {
            known_hosts: vec![file],
            learned_known_hosts: lab.path("data/known_hosts"),
            agent_socket: None,
        });
        let target = target.clone();
        async move { transport.connect(&target, None).await.map(|_| ()) }
    };

    let plain = lab.path("plain_known_hosts");
    std::fs::write(&plain, format!("{}\n", lab.host_key_entry())).unwrap();
    check(plain).await.unwrap();

    let hashed = lab.path("hashed_known_hosts");
    std::fs::write(&hashed, format!("{}\n", lab.host_key_entry())).unwrap();
    run(Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&hashed)
        .stdout(Stdio::null())
        .stderr(Stdio::null()));
    let text = std::fs::read_to_string(&hashed).unwrap();
    assert!(text.starts_with("|1|"), "{text}");
    check(hashed).await.unwrap();
    assert!(!lab.path("data/known_hosts").exists());
}

#[tokio::test]
async fn exec_streams_stdout_and_stderr_in_order_with_exit_status() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let (status, lines) = exec(
        &mut session,
        "echo a; sleep 0.2; echo b >&2; sleep 0.2; printf 'c\\r\\nd'; exit 3",
        None,
    )
    .await;
    assert_eq!(status.unwrap(), ExitStatus(Some(3)));
    assert_eq!(
        lines,
        vec![
            Output::Stdout("a".into()),
            Output::Stderr("b".into()),
            Output::Stdout("c".into()),
            Output::Stdout("d".into()),
        ]
    );
}

#[tokio::test]
async fn exec_reuses_one_connection_for_many_commands() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let mut clients = Vec::new();
    for i in 0..6 {
        let (status, lines) = exec(&mut session, &format!("echo {i} $SSH_CLIENT"), None).await;
        assert!(status.unwrap().success());
        let [Output::Stdout(line)] = &lines[..] else {
            panic!("{lines:?}")
        };
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some(i.to_string().as_str()));
        clients.push(words.collect::<Vec<_>>().join(" "));
    }
    clients.dedup();
    assert_eq!(clients.len(), 1, "one TCP connection: {clients:?}");
}

#[tokio::test]
async fn exec_delivers_stdin_then_eof() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;

    // 1.3 MB through `cat`: stdin is written while output streams back.
    let input: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
    let (status, lines) = exec(&mut session, "cat", Some(input.clone().into_bytes())).await;
    assert!(status.unwrap().success());
    assert_eq!(lines.len(), 100_000);
    assert_eq!(lines[0], Output::Stdout("line 0".into()));
    assert_eq!(lines[99_999], Output::Stdout("line 99999".into()));

    // Without stdin the command sees EOF at once.
    let (status, lines) = exec(&mut session, "cat; echo done", None).await;
    assert!(status.unwrap().success());
    assert_eq!(lines, stdout(&["done"]));
}

#[tokio::test]
async fn exec_output_arrives_before_the_command_ends() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let flag = lab.path("go-on");
    // The command waits until the test has seen its first line: no timing involved.
    let command = format!(
        "echo first; while [ ! -e '{}' ]; do sleep 0.05; done; echo second",
        flag.display()
    );
    let (tx, mut rx) = mpsc::channel(16);
    let watcher = async {
        let first = rx.recv().await;
        std::fs::write(&flag, "").unwrap();
        let second = rx.recv().await;
        (first, second)
    };
    let run = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(session.exec(&command, None, tx), watcher)
    });
    let (status, (first, second)) = run.await.expect("the first line never arrived");
    assert!(status.unwrap().success());
    assert_eq!(first, Some(Output::Stdout("first".into())));
    assert_eq!(second, Some(Output::Stdout("second".into())));
}

/// A background process that keeps the command's stdout open keeps OpenSSH's channel open after
/// the exit status; the command still ends (a few seconds after its exit), with its status.
#[tokio::test]
async fn command_that_leaves_a_daemon_holding_stdout_still_finishes() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let (status, lines) = exec(&mut session, "sleep 8 & echo started; exit 4", None).await;
    assert_eq!(status.unwrap(), ExitStatus(Some(4)));
    assert_eq!(lines, stdout(&["started"]));
}

#[tokio::test]
async fn exit_signal_is_a_failure() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let (status, _) = exec(&mut session, "kill -9 $$", None).await;
    let status = status.unwrap();
    assert_eq!(status, ExitStatus(Some(128 + 9)));
    assert!(!status.success());
}

#[tokio::test]
async fn idle_timeout_fires_and_the_session_stays_usable() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut target = lab.key_target(&key);
    // Generous against a slow login shell on a loaded machine (root's .bashrc may be heavy).
    target.timeouts.idle = Duration::from_secs(2);
    let mut session = lab.connect(&target).await;
    let (status, lines) = exec(&mut session, "echo start; exec sleep 10", None).await;
    assert!(
        matches!(status, Err(TransportError::IdleTimeout { .. })),
        "{status:?}"
    );
    assert_eq!(lines, stdout(&["start"]));

    let (status, lines) = exec(&mut session, "echo still-here", None).await;
    assert!(status.unwrap().success());
    assert_eq!(lines, stdout(&["still-here"]));
}

#[tokio::test]
async fn command_timeout_fires_even_while_output_flows() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut target = lab.key_target(&key);
    target.timeouts.command = Duration::from_secs(2);
    let mut session = lab.connect(&target).await;
    let (status, lines) = exec(
        &mut session,
        "i=0; while [ $i -lt 100 ]; do echo tick; sleep 0.1; i=$((i+1)); done",
        None,
    )
    .await;
    assert!(
        matches!(status, Err(TransportError::CommandTimeout { .. })),
        "{status:?}"
    );
    assert!(!lines.is_empty());
}

#[tokio::test]
async fn upload_writes_content_and_mode_atomically() {
    let Some(lab) = Lab::start() else { return };
    let key = lab.user_key("ed25519");
    let mut session = lab.connect(&lab.key_target(&key)).await;
    let dir = lab.path("up load");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("it's \"x\" $HOME.conf");
    let path = file.to_str().unwrap();

    session.upload(path, b"first\n", 0o640).await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"first\n");
    assert_eq!(mode(&file), 0o640);

    let secret: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    session.upload(path, &secret, 0o600).await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), secret);
    assert_eq!(mode(&file), 0o600);
    // Nothing but the file: the temporary was renamed.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let missing = lab.path("no-such-dir/file");
    let err = session
        .upload(missing.to_str().unwrap(), b"x", 0o600)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("No such file or directory"),
        "{err}"
    );
}

#[tokio::test]
async fn refused_and_silent_ports_are_connect_errors() {
    // No sshd needed: a closed port and a listener that never speaks SSH.
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![],
        learned_known_hosts: std::env::temp_dir().join("kha-unused-known_hosts"),
        agent_socket: None,
    });
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut target = Target {
        node: "n".into(),
        host: "127.0.0.1".into(),
        port,
        user: "root".into(),
        auth: Auth::Password("unused".into()),
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            ..Timeouts::default()
        },
        more_keys: Vec::new(),
        jumps: Vec::new(),
        proxy_command: None,
    };
    let err = transport.connect(&target, None).await.unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err}");

    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    target.port = silent.local_addr().unwrap().port();
    let err = transport.connect(&target, None).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ConnectTimeout { .. }),
        "{err}"
    );
}

/// A node the ssh config routes through a ProxyCommand is refused before any traffic, naming
/// the node and the config line, instead of being dialled directly.
#[tokio::test]
async fn proxy_command_is_refused_not_bypassed() {
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![],
        learned_known_hosts: std::env::temp_dir().join("kha-unused-known_hosts"),
        agent_socket: None,
    });
    // A listener that would see any connection attempt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = Target {
        node: "master1".into(),
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
        user: "root".into(),
        auth: Auth::Agent,
        timeouts: Timeouts::default(),
        more_keys: Vec::new(),
        jumps: Vec::new(),
        proxy_command: Some("nc bastion 22 (/home/op/.ssh/config:4)".into()),
    };
    let err = transport
        .connect(&target, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ProxyCommand"), "{err}");
    assert!(err.contains("use ProxyJump"), "{err}");
    assert!(
        err.contains("master1") && err.contains("/home/op/.ssh/config:4"),
        "{err}"
    );
    assert!(listener.accept().is_err(), "the node was dialled directly");
}

/// With more keys (the ssh config's other IdentityFiles), a refused key is followed by the
/// next one, in order, as ssh does.
#[tokio::test]
async fn a_refused_key_is_followed_by_the_next_identity_file() {
    let Some(lab) = Lab::start() else { return };
    let refused = keygen(lab.dir.path(), "id_refused", "ed25519", "");
    let accepted = lab.user_key("ed25519");
    let mut target = lab.key_target(&refused);
    target.more_keys = vec![lab.path("no_such_key"), accepted.clone()];
    let mut session = lab.connect(&target).await;
    let (status, _) = exec(&mut session, "true", None).await;
    assert!(status.unwrap().success());
    session.close().await;
    // Without it: refused, naming the key.
    target.more_keys.clear();
    let err = lab
        .trusting_transport()
        .connect(&target, None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed { .. }), "{err}");
}
