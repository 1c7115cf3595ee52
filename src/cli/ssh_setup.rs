//! `kha-tui ssh-setup`: first-time access. Every host of the inventory is tried with the key
//! kha-tui will log in with ([`super::ssh_setup_key`]); the hosts that refuse it are asked for
//! ONE login password (masked on the terminal, or the first line of stdin when stdin is not a
//! terminal), logged in to with it (password auth, or keyboard-interactive where password auth
//! is off but PAM asks), and given the public key by `assets/scripts/ssh-authorize-key.sh`
//! (the key on its stdin, never in argv). Then each is logged in to again with the key.
//!
//! Host keys are checked as for every connection (known_hosts, a changed key refused, the ssh
//! config's `StrictHostKeyChecking`, jump hosts with their own keys). The password is held in
//! zeroizing memory, is never printed, logged or stored, and hosts that accept the key are
//! never asked for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use zeroize::{Zeroize as _, Zeroizing};

pub use super::ssh_setup_cli::headless;

use super::ssh_setup_key::ReadyKey;
use crate::assets::scripts;
use crate::engine::{self, Options};
use crate::inventory::Cluster;
use crate::shell::quote;
use crate::transport::{
    Auth, HostKeyQuestion, Output, Session as _, Target, Transport, TransportError,
};

/// `kha-tui ssh-setup`'s options besides `--config`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    /// The private key to install (its public half) and log in with, for every host; created
    /// (ed25519) when missing. Default: each host's identity_file (inventory or ssh config).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Trust and remember host keys never seen before (changed keys are always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Ask for the passphrase of an existing, encrypted key.
    #[arg(long)]
    pub ask_key_passphrase: bool,
    /// Keep accepted host keys under this directory instead of the user's.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How one host ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The key was accepted from the start: no password asked for this host.
    AlreadyHadKey,
    /// Installed with the password; the key logs in now. `was_listed`: the line was already in
    /// authorized_keys (the modes were fixed).
    KeyInstalled { was_listed: bool },
    /// Why not, in words that name the host and what to do.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::AlreadyHadKey => f.write_str("already had the key"),
            Outcome::KeyInstalled { was_listed: false } => f.write_str("key installed"),
            Outcome::KeyInstalled { was_listed: true } => {
                f.write_str("key installed (it was in authorized_keys already; ~/.ssh modes fixed)")
            }
            Outcome::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// One host to set up: how to reach it with the key, and whether host-key questions about it
/// may be asked / are accepted without asking (the ssh config's StrictHostKeyChecking).
#[derive(Debug, Clone)]
pub struct Host {
    pub target: Target,
    pub may_ask: bool,
    pub auto_accept: bool,
}

/// The hosts of `cluster`, each reached with `key` (and only that key: the question is whether
/// the node accepts it).
pub fn hosts(
    cluster: &Cluster,
    opts: &Options,
    keys: &HashMap<String, Arc<ReadyKey>>,
) -> Vec<Host> {
    cluster
        .all_hosts()
        .filter_map(|n| {
            let key = keys.get(&n.name)?;
            let mut target = engine::target_for(n, opts);
            target.auth = Auth::KeyFile {
                path: key.path.clone(),
                passphrase: key.passphrase.as_ref().map(|p| p.to_string()),
            };
            target.more_keys.clear();
            let (may_ask, auto_accept) = engine::host_key_policy(n, opts);
            Some(Host {
                target,
                may_ask,
                auto_accept,
            })
        })
        .collect()
}

/// Tries the key on every host at once; the hosts that refuse it (`AuthFailed`) come back as
/// `None` (they need the password), the others with their outcome.
pub async fn probe<T: Transport>(
    t: &Arc<T>,
    hosts: &[Host],
    questions: Option<&mpsc::Sender<HostKeyQuestion>>,
) -> Vec<Option<Outcome>> {
    let runs = hosts.iter().map(|h| {
        let t = t.clone();
        let q = questions.filter(|_| h.may_ask).cloned();
        let target = h.target.clone();
        async move {
            match t.connect(&target, q).await {
                Ok(s) => {
                    s.close().await;
                    Some(Outcome::AlreadyHadKey)
                }
                Err(TransportError::AuthFailed { .. }) => None,
                Err(e) => Some(Outcome::Failed(e.to_string())),
            }
        }
    });
    futures_join_all(runs).await
}

/// Logs in to `host` with `password`, installs `key`'s public line, then logs in with the key.
pub async fn install<T: Transport>(
    t: &Arc<T>,
    host: &Host,
    key: &ReadyKey,
    password: &str,
    questions: Option<&mpsc::Sender<HostKeyQuestion>>,
) -> Outcome {
    let q = || questions.filter(|_| host.may_ask).cloned();
    let mut with_password = host.target.clone();
    with_password.auth = Auth::Password(password.to_string());
    let connected = t.connect(&with_password, q()).await;
    if let Auth::Password(p) = &mut with_password.auth {
        p.zeroize();
    }
    let mut session = match connected {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let (tx, mut rx) = mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(o) = rx.recv().await {
            lines.push(o);
        }
        lines
    });
    let command = format!("bash -c {}", quote(scripts::SSH_AUTHORIZE_KEY));
    let stdin = format!("{}\n", key.public_line).into_bytes();
    let status = session.exec(&command, Some(stdin), tx).await;
    session.close().await;
    let lines = collect.await.unwrap_or_default();
    let last = lines.iter().rev().find_map(|o| match o {
        Output::Stdout(l) => Some(l.trim().to_string()),
        Output::Stderr(_) => None,
    });
    let said = |lines: &[Output]| {
        lines
            .iter()
            .map(|o| match o {
                Output::Stdout(l) | Output::Stderr(l) => l.as_str(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let was_listed = match status {
        Ok(s) if s.success() && last.as_deref() == Some("installed") => false,
        Ok(s) if s.success() && last.as_deref() == Some("present") => true,
        Ok(s) => {
            return Outcome::Failed(format!(
                "installing the key as {} failed (exit {}): {}",
                host.target.user,
                s.0.map_or("unknown".into(), |c| c.to_string()),
                said(&lines)
            ));
        }
        Err(e) => return Outcome::Failed(format!("installing the key failed: {e}")),
    };
    match t.connect(&host.target, q()).await {
        Ok(s) => {
            s.close().await;
            Outcome::KeyInstalled { was_listed }
        }
        Err(e) => Outcome::Failed(format!(
            "the key is in {}'s authorized_keys now, but logging in with it still fails: {e}",
            host.target.user
        )),
    }
}

/// Every host's outcome: probe, then (only if some refused the key) `password()` once and the
/// install on those. Used by the command line and the wizard alike.
pub async fn run<T: Transport>(
    t: Arc<T>,
    hosts: &[Host],
    keys: &HashMap<String, Arc<ReadyKey>>,
    questions: Option<mpsc::Sender<HostKeyQuestion>>,
    password: impl FnOnce(&[&Host]) -> anyhow::Result<Zeroizing<String>>,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    let probed = probe(&t, hosts, questions.as_ref()).await;
    let refused: Vec<&Host> = hosts
        .iter()
        .zip(&probed)
        .filter(|(_, o)| o.is_none())
        .map(|(h, _)| h)
        .collect();
    let mut installed = HashMap::new();
    if !refused.is_empty() {
        // Without a password the hosts that refused the key say so; the others keep their
        // outcome (nothing was changed anywhere).
        let pw = match password(&refused) {
            Ok(pw) => pw,
            Err(e) => {
                for h in &refused {
                    let why = format!(
                        "refuses the key {} and no password was given for it: {e:#}",
                        key_of(keys, h)
                    );
                    installed.insert(h.target.node.clone(), Outcome::Failed(why));
                }
                return Ok(collect(hosts, probed, installed));
            }
        };
        let runs = refused.iter().map(|h| {
            let t = t.clone();
            let pw = &pw;
            let q = questions.as_ref();
            async move {
                let key = &keys[&h.target.node];
                (h.target.node.clone(), install(&t, h, key, pw, q).await)
            }
        });
        installed.extend(futures_join_all(runs).await);
    }
    Ok(collect(hosts, probed, installed))
}

fn key_of(keys: &HashMap<String, Arc<ReadyKey>>, h: &Host) -> String {
    keys.get(&h.target.node)
        .map_or_else(String::new, |k| k.path.display().to_string())
}

/// Each host's outcome, in the order of `hosts`: the probe's, else the install's.
fn collect(
    hosts: &[Host],
    probed: Vec<Option<Outcome>>,
    mut installed: HashMap<String, Outcome>,
) -> Vec<(String, Outcome)> {
    hosts
        .iter()
        .zip(probed)
        .map(|(h, o)| {
            let node = h.target.node.clone();
            let o = o.unwrap_or_else(|| {
                installed
                    .remove(&node)
                    .unwrap_or_else(|| Outcome::Failed("not tried".into()))
            });
            (node, o)
        })
        .collect()
}

/// Runs futures side by side (tokio has no join_all of its own; the futures crate is not a
/// dependency), results in order.
async fn futures_join_all<F: std::future::Future>(
    fs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut fs: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = fs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in fs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("ready")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_the_operator_is_told() {
        assert_eq!(Outcome::AlreadyHadKey.to_string(), "already had the key");
        assert_eq!(
            Outcome::KeyInstalled { was_listed: false }.to_string(),
            "key installed"
        );
        assert!(
            Outcome::Failed("authentication as root@h failed: x".into())
                .to_string()
                .contains("root@h")
        );
    }

    #[tokio::test]
    async fn join_all_keeps_the_order_of_its_futures() {
        let slow = async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            1
        };
        let fast = async { 2 };
        let out = futures_join_all(vec![
            Box::pin(slow) as std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>,
            Box::pin(fast),
        ])
        .await;
        assert_eq!(out, vec![1, 2]);
    }
}
