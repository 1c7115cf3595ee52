//! Jump hosts in the SSH transport, against real OpenSSH sshds on 127.0.0.1 (loopback
//! only): a bastion and a node behind it. The lab test (tests/ssh_reach.rs) proves the same on
//! a network the machine cannot reach; here: one bastion connection for every node, the
//! bastion's host key checked like a node's, a bastion that does not forward, errors that say
//! "via bastion", and a chain of two bastions (a third sshd).
//!
//! Needs root and /usr/sbin/sshd, ssh-keygen; without them the tests print "skipping: …" and
//! pass, except under CI=true, where they fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kha_tui::transport::ssh::{SshConfig, SshTransport};
use kha_tui::transport::{
    Auth, BastionFailure, JumpHop, Output, Session, Target, Timeouts, Transport, TransportError,
};
use tokio::sync::mpsc;

#[path = "common/sshd.rs"]
mod sshd;

use sshd::{Sshd, keygen, public_key_line};

struct Pair {
    bastion: Sshd,
    node: Sshd,
    key: PathBuf,
    dir: tempfile::TempDir,
}

/// A bastion sshd (with `bastion_extra` in its config) and a node sshd, both letting `key` in.
fn pair(bastion_extra: &str) -> Option<Pair> {
    if let Err(why) = sshd::prerequisites() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("cannot run the jump host tests under CI: {why}");
        }
        eprintln!("skipping: {why}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    std::fs::create_dir_all(dir.path().join("n")).unwrap();
    let bastion = Sshd::start(&dir.path().join("b"), &["127.0.0.1"], bastion_extra);
    let node = Sshd::start(&dir.path().join("n"), &["127.0.0.1"], "");
    let key = keygen(dir.path(), "id_ed25519", "ed25519", "");
    bastion.authorize(&key);
    node.authorize(&key);
    Some(Pair {
        bastion,
        node,
        key,
        dir,
    })
}

impl Pair {
    fn entry(sshd: &Sshd, key: &Path) -> String {
        format!("[127.0.0.1]:{} {}", sshd.port, public_key_line(key))
    }

    /// A transport whose known_hosts has the node's key and `bastion_key` for the bastion.
    fn transport(&self, bastion_key: &Path) -> SshTransport {
        self.trusting(
            "known_hosts",
            &[
                Pair::entry(&self.bastion, bastion_key),
                Pair::entry(&self.node, &self.node.host_key),
            ],
        )
    }

    /// A transport whose known_hosts (the file `name` in the test's directory) holds exactly
    /// `entries`.
    fn trusting(&self, name: &str, entries: &[String]) -> SshTransport {
        let known = self.dir.path().join(name);
        std::fs::write(&known, entries.join("\n") + "\n").unwrap();
        SshTransport::new(SshConfig {
            known_hosts: vec![known],
            learned_known_hosts: self.dir.path().join("data/known_hosts"),
            agent_socket: None,
        })
    }

    fn target(&self, node: &str) -> Target {
        let auth = Auth::KeyFile {
            path: self.key.clone(),
            passphrase: None,
        };
        Target {
            node: node.into(),
            host: "127.0.0.1".into(),
            port: self.node.port,
            user: "root".into(),
            auth: auth.clone(),
            timeouts: Timeouts {
                connect: Duration::from_secs(10),
                idle: Duration::from_secs(20),
                command: Duration::from_secs(60),
                keepalive: Duration::from_secs(5),
            },
            more_keys: Vec::new(),
            jumps: vec![JumpHop {
                name: format!("root@127.0.0.1:{}", self.bastion.port),
                host: "127.0.0.1".into(),
                port: self.bastion.port,
                user: "root".into(),
                auth,
            }],
            proxy_command: None,
        }
    }
}

/// Connections to `sshd` other than the probe `Sshd::start` makes to see it listen.
fn connections(sshd: &Sshd) -> usize {
    let log = sshd.log();
    log.matches("Connection from").count() - log.matches("kex_exchange_identification").count()
}

fn logins(sshd: &Sshd) -> usize {
    sshd.log().matches("Accepted publickey").count()
}

async fn echo(session: &mut impl Session) -> Vec<Output> {
    let (tx, mut rx) = mpsc::channel(16);
    let status = session.exec("echo via-bastion", None, tx).await.unwrap();
    assert!(status.success());
    let mut lines = Vec::new();
    while let Some(l) = rx.recv().await {
        lines.push(l);
    }
    lines
}

/// Three nodes behind one bastion: one login on the bastion carries all three sessions; the
/// node sees three logins.
#[tokio::test]
async fn nodes_behind_a_bastion_share_one_connection_to_it() {
    let Some(p) = pair("") else { return };
    let transport = p.transport(&p.bastion.host_key);
    let mut sessions = Vec::new();
    let connects = ["master1", "master2", "worker1"].map(|n| {
        let (t, target) = (transport.clone(), p.target(n));
        async move { t.connect(&target, None).await }
    });
    for s in futures_join(connects).await {
        sessions.push(s.unwrap_or_else(|e| panic!("connect: {e}")));
    }
    for s in &mut sessions {
        assert_eq!(echo(s).await, vec![Output::Stdout("via-bastion".into())]);
    }
    assert_eq!(logins(&p.bastion), 1, "{}", p.bastion.log());
    assert_eq!(logins(&p.node), 3, "{}", p.node.log());
    for s in sessions {
        s.close().await;
    }
}

/// All of them at once, as the engine connects.
async fn futures_join<F: std::future::Future>(fs: [F; 3]) -> [F::Output; 3] {
    let [a, b, c] = fs;
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}

/// The bastion's key is checked like a node's: a changed key stops everything before the node
/// is dialled, and every node behind it says "via bastion …" with OpenSSH's warning.
#[tokio::test]
async fn a_bastion_with_a_changed_key_is_refused_before_any_node() {
    let Some(p) = pair("") else { return };
    let impostor = keygen(p.dir.path(), "impostor", "ed25519", "");
    let transport = p.transport(&impostor);
    for node in ["master1", "master2"] {
        let err = transport.connect(&p.target(node), None).await.unwrap_err();
        match &err {
            TransportError::ViaBastion { bastion, kind, .. } => {
                assert_eq!(bastion, &format!("root@127.0.0.1:{}", p.bastion.port));
                assert_eq!(*kind, BastionFailure::HostKeyChanged);
            }
            other => panic!("expected ViaBastion, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.starts_with("via bastion root@127.0.0.1:"), "{text}");
        assert!(
            text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{text}"
        );
    }
    assert_eq!(
        connections(&p.node),
        0,
        "the node was reached: {}",
        p.node.log()
    );
}

/// A bastion that does not forward (`AllowTcpForwarding no`): the node's error says the
/// bastion could not connect onwards — and proves the node is not dialled directly.
#[tokio::test]
async fn a_bastion_that_does_not_forward_is_said() {
    let Some(p) = pair("AllowTcpForwarding no\n") else {
        return;
    };
    let transport = p.transport(&p.bastion.host_key);
    let err = transport
        .connect(&p.target("master1"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the bastion could not connect onwards"),
        "{err}"
    );
    assert_eq!(connections(&p.node), 0, "{}", p.node.log());
}

/// An unknown bastion key goes to the operator's question channel like a node's, named as
/// the bastion; accepted, it is saved and the node is reached.
#[tokio::test]
async fn an_unknown_bastion_key_is_asked_about() {
    let Some(p) = pair("") else { return };
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![],
        learned_known_hosts: p.dir.path().join("data/known_hosts"),
        agent_socket: None,
    });
    let (tx, mut rx) = mpsc::channel::<kha_tui::transport::HostKeyQuestion>(4);
    let asked = tokio::spawn(async move {
        let mut nodes = Vec::new();
        while let Some(q) = rx.recv().await {
            nodes.push(q.node.clone());
            let _ = q.answer.send(true);
        }
        nodes
    });
    let mut s = transport
        .connect(&p.target("master1"), Some(tx))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(echo(&mut s).await.len(), 1);
    s.close().await;
    let nodes = asked.await.unwrap();
    assert_eq!(
        nodes,
        vec![
            format!("bastion root@127.0.0.1:{}", p.bastion.port),
            "master1".to_string()
        ]
    );
    let saved = std::fs::read_to_string(p.dir.path().join("data/known_hosts")).unwrap();
    assert_eq!(saved.lines().count(), 2, "{saved}");
}

/// A refused bastion key: every node behind it gets the same answer without a second question;
/// the next run (`forget_failed_bastions`, what a new wizard run does) asks again.
#[tokio::test]
async fn a_refused_bastion_is_asked_about_once_per_run() {
    let Some(p) = pair("") else { return };
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![],
        learned_known_hosts: p.dir.path().join("data/known_hosts"),
        agent_socket: None,
    });
    let answering = |yes: bool| {
        let (tx, mut rx) = mpsc::channel::<kha_tui::transport::HostKeyQuestion>(4);
        let asked = tokio::spawn(async move {
            let mut n = 0;
            while let Some(q) = rx.recv().await {
                n += 1;
                let _ = q.answer.send(yes);
            }
            n
        });
        (tx, asked)
    };
    let (tx, asked) = answering(false);
    for node in ["master1", "master2"] {
        let err = transport
            .connect(&p.target(node), Some(tx.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::ViaBastion {
                    kind: BastionFailure::HostKeyUnknown,
                    ..
                }
            ),
            "{err}"
        );
    }
    drop(tx);
    assert_eq!(asked.await.unwrap(), 1, "asked once for both nodes");
    transport.forget_failed_bastions();
    let (tx, asked) = answering(true);
    let s = transport
        .connect(&p.target("master1"), Some(tx))
        .await
        .unwrap();
    s.close().await;
    assert_eq!(asked.await.unwrap(), 2, "the bastion, then the node");
}

/// A chain of two (`ProxyJump a,b`): the node is reached through the second bastion, which is
/// reached through the first; each hop logs one login however many nodes are behind it, and
/// a changed key on the second hop stops the node before it is dialled, naming that hop.
#[tokio::test]
async fn a_chain_of_two_bastions_carries_every_node_and_checks_each_hop() {
    if let Err(why) = sshd::prerequisites() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipping: {why}");
        return;
    }
    // The second bastion first: the first may forward only to it (PermitOpen), so a transport
    // that opened the node's channel on the first hop would be refused there.
    let second_dir = tempfile::tempdir().unwrap();
    let second = Sshd::start(second_dir.path(), &["127.0.0.1"], "");
    let Some(p) = pair(&format!("PermitOpen 127.0.0.1:{}\n", second.port)) else {
        return;
    };
    second.authorize(&p.key);
    let known = |second_key: &Path| {
        p.trusting(
            "known_hosts_chain",
            &[
                Pair::entry(&p.bastion, &p.bastion.host_key),
                Pair::entry(&second, second_key),
                Pair::entry(&p.node, &p.node.host_key),
            ],
        )
    };
    let target = |node: &str| {
        let mut t = p.target(node);
        let mut hop = t.jumps[0].clone();
        hop.name = format!("root@127.0.0.1:{}", second.port);
        hop.port = second.port;
        t.jumps.push(hop);
        t
    };

    // A changed key on the second hop: refused there, the node never dialled.
    let impostor = keygen(p.dir.path(), "impostor2", "ed25519", "");
    let err = known(&impostor)
        .connect(&target("master1"), None)
        .await
        .unwrap_err();
    match &err {
        TransportError::ViaBastion { bastion, kind, .. } => {
            assert_eq!(bastion, &format!("root@127.0.0.1:{}", second.port));
            assert_eq!(*kind, BastionFailure::HostKeyChanged);
        }
        other => panic!("expected ViaBastion for the second hop, got {other:?}"),
    }
    assert_eq!(
        connections(&p.node),
        0,
        "the node was reached: {}",
        p.node.log()
    );
    assert_eq!(logins(&second), 0, "{}", second.log());

    // The first bastion alone cannot reach the node (PermitOpen): only the chain carries it.
    let alone = known(&second.host_key)
        .connect(&p.target("master1"), None)
        .await;
    assert!(
        alone.is_err(),
        "the first bastion forwarded to the node itself"
    );
    assert_eq!(connections(&p.node), 0, "{}", p.node.log());

    // The right keys: three nodes through the chain, one login per hop.
    let transport = known(&second.host_key);
    let b1_before = logins(&p.bastion);
    let connects = ["master1", "master2", "worker1"].map(|n| {
        let (t, target) = (transport.clone(), target(n));
        async move { t.connect(&target, None).await }
    });
    let mut sessions = Vec::new();
    for s in futures_join(connects).await {
        sessions.push(s.unwrap_or_else(|e| panic!("connect through the chain: {e}")));
    }
    for s in &mut sessions {
        assert_eq!(echo(s).await, vec![Output::Stdout("via-bastion".into())]);
    }
    assert_eq!(logins(&p.bastion) - b1_before, 1, "{}", p.bastion.log());
    assert_eq!(logins(&second), 1, "{}", second.log());
    assert_eq!(logins(&p.node), 3, "{}", p.node.log());
    for s in sessions {
        s.close().await;
    }
}

/// The node's own key is checked behind a bastion exactly as when dialled directly: a changed
/// node key is refused as the node's (not the bastion's) with OpenSSH's warning, nothing runs
/// there, and the bastion itself was logged in to (its key was right).
#[tokio::test]
async fn a_changed_node_key_behind_a_good_bastion_is_the_nodes_refusal() {
    let Some(p) = pair("") else { return };
    let impostor = keygen(p.dir.path(), "node-impostor", "ed25519", "");
    let transport = p.trusting(
        "known_hosts_node_changed",
        &[
            Pair::entry(&p.bastion, &p.bastion.host_key),
            Pair::entry(&p.node, &impostor),
        ],
    );
    let err = transport
        .connect(&p.target("master1"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::HostKeyChanged { .. }),
        "the node's own refusal, not the bastion's: {err:?}"
    );
    assert!(
        err.to_string()
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{err}"
    );
    assert_eq!(logins(&p.node), 0, "{}", p.node.log());
    assert_eq!(logins(&p.bastion), 1, "{}", p.bastion.log());
    // With the node's right key known (a new run: known_hosts files are read once per run),
    // the node is reached through the same bastion.
    let fresh = p.transport(&p.bastion.host_key);
    let mut s = fresh
        .connect(&p.target("master1"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        echo(&mut s).await,
        vec![Output::Stdout("via-bastion".into())]
    );
    s.close().await;
}
