//! `kha-tui ssh-setup` on the command line: the key's passphrase and the login password asked
//! (masked on the terminal; the password from stdin when stdin is not one), host-key questions,
//! and the report, one line per host. The work itself is [`super::ssh_setup`].

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::ssh_setup::{Args, Host, Outcome, hosts, run};
use super::ssh_setup_key::{self, ReadyKey};
use crate::engine::{self, Options};
use crate::inventory::Cluster;
use crate::transport::HostKeyQuestion;

/// `kha-tui ssh-setup --config F`: exit status 0 when every host logs in with the key.
pub async fn headless(cluster: Cluster, args: &Args) -> anyhow::Result<bool> {
    let dirs = match &args.data_dir {
        Some(d) => engine::Dirs::under(d),
        None => engine::Dirs::for_user()?,
    };
    let tty = std::io::stdin().is_terminal();
    let mut opts = Options::new(dirs);
    opts.accept_new_host_keys = args.accept_new_host_keys;
    opts.interactive = tty;
    let paths =
        ssh_setup_key::key_paths(&cluster, args.key.as_deref()).map_err(anyhow::Error::msg)?;
    let passphrase = if args.ask_key_passphrase {
        Some(Zeroizing::new(super::ask_secret("SSH key passphrase: ")?))
    } else {
        None
    };
    // One ReadyKey per distinct file (usually one for all hosts).
    let mut by_path: HashMap<PathBuf, Arc<ReadyKey>> = HashMap::new();
    let mut keys = HashMap::new();
    for (node, path) in paths {
        let key = match by_path.get(&path) {
            Some(k) => k.clone(),
            None => {
                let k = Arc::new(ssh_setup_key::ensure_key(
                    &path,
                    passphrase.clone(),
                    || new_key_passphrase(&path, tty),
                )?);
                println!(
                    "key {} ({}): {}",
                    k.path.display(),
                    k.fingerprint,
                    if k.generated {
                        format!(
                            "generated now (ed25519, {}; public key in {})",
                            if k.passphrase.is_some() {
                                "with a passphrase"
                            } else {
                                "no passphrase"
                            },
                            ssh_setup_key::public_path(&k.path).display()
                        )
                    } else {
                        "exists".into()
                    }
                );
                by_path.insert(path.clone(), k.clone());
                k
            }
        };
        keys.insert(node, key);
    }
    let hosts = hosts(&cluster, &opts, &keys);
    let transport =
        crate::transport::ssh::cluster_transport(&cluster, opts.dirs.known_hosts.clone());
    let (qtx, qrx) = mpsc::channel(16);
    let auto: HashMap<String, bool> = hosts
        .iter()
        .map(|h| (h.target.node.clone(), h.auto_accept))
        .collect();
    let answering = tokio::spawn(answer_host_keys(qrx, auto, tty));
    let results = run(transport, &hosts, &keys, Some(qtx), |refused| {
        read_password(refused, tty)
    })
    .await;
    answering.abort();
    let results = results?;
    let mut ok = true;
    for (node, outcome) in &results {
        ok &= !matches!(outcome, Outcome::Failed(_));
        println!("{node}: {outcome}");
    }
    Ok(ok)
}

/// The passphrase for a key about to be generated: asked twice on the terminal (empty = none);
/// without a terminal, none.
fn new_key_passphrase(
    path: &std::path::Path,
    tty: bool,
) -> anyhow::Result<Option<Zeroizing<String>>> {
    if !tty {
        return Ok(None);
    }
    for _ in 0..3 {
        let a = Zeroizing::new(super::ask_secret(&format!(
            "Passphrase for the new key {} (empty for none): ",
            path.display()
        ))?);
        let b = Zeroizing::new(super::ask_secret("The same passphrase again: ")?);
        if a == b {
            return Ok(Some(a));
        }
        eprintln!("kha-tui: the two passphrases differ; again");
    }
    anyhow::bail!("the passphrases did not match three times; no key was generated")
}

/// The one login password for the hosts that refused the key: masked on the terminal, else the
/// first line of stdin.
fn read_password(refused: &[&Host], tty: bool) -> anyhow::Result<Zeroizing<String>> {
    let mut who: Vec<String> = refused
        .iter()
        .map(|h| format!("{}@{}", h.target.user, h.target.node))
        .collect();
    who.dedup();
    let pw = if tty {
        Zeroizing::new(super::ask_secret(&format!(
            "Login password for {} (asked once, used to install the key, never stored): ",
            who.join(", ")
        ))?)
    } else {
        eprintln!(
            "kha-tui: reading the login password for {} from stdin",
            who.join(", ")
        );
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().read_line(&mut line)?;
        Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_string())
    };
    anyhow::ensure!(
        !pw.is_empty(),
        "no password for {} (type it at the prompt, or pipe it on stdin); nothing was changed",
        who.join(", ")
    );
    Ok(pw)
}

/// Host keys never seen before: accepted where the flag or the ssh config says so, asked about
/// on the terminal otherwise, refused without one.
async fn answer_host_keys(
    mut rx: mpsc::Receiver<HostKeyQuestion>,
    auto: HashMap<String, bool>,
    tty: bool,
) {
    while let Some(q) = rx.recv().await {
        let yes = if auto.get(&q.node).copied().unwrap_or(false) {
            eprintln!(
                "kha-tui: {}: accepting new {} host key {} of {}:{}",
                q.node, q.algorithm, q.fingerprint, q.host, q.port
            );
            true
        } else if tty {
            let prompt = format!(
                "{}: the {} host key of {}:{} is not known: {}\nTrust it and remember it? [y/N] ",
                q.node, q.algorithm, q.host, q.port, q.fingerprint
            );
            tokio::task::spawn_blocking(move || ask_yes(&prompt))
                .await
                .unwrap_or(false)
        } else {
            false
        };
        let _ = q.answer.send(yes);
    }
}

fn ask_yes(prompt: &str) -> bool {
    use std::io::{BufRead as _, Write as _};
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let mut w = match tty.try_clone() {
        Ok(w) => w,
        Err(_) => return false,
    };
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut line = String::new();
    let _ = std::io::BufReader::new(tty).read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}
