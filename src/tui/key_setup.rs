//! The wizard's first-time access: when nodes refuse kha-tui's key on the Connect screen, `K`
//! offers to install it with a password — one masked field, then the same code as `kha-tui
//! ssh-setup` ([`crate::cli::ssh_setup`]) as a background task, then the connect and preflight
//! again. State here, the updates as functions of the model, the dialog drawn by
//! `view::key_password`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::field::Field;
use super::keymap::Action;
use super::model::{Command, Level, Model, Popup, Secrets};
use crate::cli::ssh_setup::{self, Outcome};
use crate::cli::ssh_setup_key;
use crate::engine::Options;
use crate::inventory::Cluster;
use crate::transport::Transport;

/// Which nodes refused the key in the last connect, and whether an install is under way.
#[derive(Debug, Clone, Default)]
pub struct KeySetup {
    pub refused: BTreeSet<String>,
    pub running: bool,
}

/// The password typed in the dialog, on its way to the task: zeroized when dropped, never in
/// debug output (commands are logged).
pub struct KeyPassword(pub Zeroizing<String>);

impl std::fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPassword(<redacted>)")
    }
}

/// The dialog's text field: its Debug shows nothing of what was typed (popups end up in test
/// and log output).
#[derive(Clone)]
pub struct MaskedField(pub Field);

impl std::fmt::Debug for MaskedField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskedField(<redacted>)")
    }
}

/// What the task reports: each node's outcome, or why nothing was tried.
pub type KeyResults = Result<Vec<(String, Outcome)>, String>;

/// A node's connect failed: remember it when the reason is that the key was refused.
pub fn on_unreachable(m: &mut Model, node: &str, failure: &crate::engine::Failure) {
    if *failure == crate::engine::Failure::AuthRefused {
        m.key_setup.refused.insert(node.to_string());
    } else {
        m.key_setup.refused.remove(node);
    }
}

pub fn on_connected(m: &mut Model, node: &str) {
    m.key_setup.refused.remove(node);
}

/// `K` on the Connect screen: the password dialog for the nodes that refused the key.
pub fn open(m: &mut Model) -> Vec<Command> {
    if m.key_setup.running {
        m.status = Some((Level::Warn, "The key is being installed already".into()));
    } else if m.key_setup.refused.is_empty() {
        m.status = Some((
            Level::Warn,
            "No node refused kha-tui's key: nothing to install".into(),
        ));
    } else {
        m.popups.push_front(Popup::KeyPassword {
            field: MaskedField(Field::new("")),
            nodes: m.key_setup.refused.iter().cloned().collect(),
        });
    }
    vec![]
}

/// The dialog's keys: Enter installs, Esc cancels (text goes to the field, see `update`).
pub fn popup_action(m: &mut Model, a: Action) -> Vec<Command> {
    let Some(Popup::KeyPassword { field, nodes }) = m.popups.front() else {
        return vec![];
    };
    match a {
        Action::DialogNo => {
            m.popups.pop_front();
            m.status = Some((Level::Info, "No key installed".into()));
            vec![]
        }
        Action::DialogEnter => {
            if field.0.text().is_empty() {
                m.status = Some((
                    Level::Error,
                    "Type the nodes' login password (or Esc to cancel)".into(),
                ));
                return vec![];
            }
            let Some(cluster) = m.cluster.clone() else {
                return vec![];
            };
            let password = KeyPassword(Zeroizing::new(field.0.text().to_string()));
            let nodes = nodes.clone();
            m.popups.pop_front();
            m.key_setup.running = true;
            m.status = Some((
                Level::Info,
                format!("Installing kha-tui's key on {}…", nodes.join(", ")),
            ));
            vec![Command::InstallKey {
                cluster: Box::new(cluster),
                nodes,
                password,
                secrets: m.secrets.clone(),
            }]
        }
        _ => vec![],
    }
}

/// The task ended: say how each node went, and connect again when any has the key now.
pub fn done(m: &mut Model, results: KeyResults) -> Vec<Command> {
    m.key_setup.running = false;
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            m.status = Some((Level::Error, format!("The key was not installed: {e}")));
            return vec![];
        }
    };
    let ok: Vec<&str> = results
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::Failed(_)))
        .map(|(n, _)| n.as_str())
        .collect();
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(n, o)| match o {
            Outcome::Failed(e) => Some(format!("{n}: {e}")),
            _ => None,
        })
        .collect();
    let mut text = String::new();
    if !ok.is_empty() {
        text = format!("Key installed on {}; connecting again", ok.join(", "));
    }
    if !failed.is_empty() {
        if !text.is_empty() {
            text.push_str(". ");
        }
        text.push_str(&failed.join("; "));
    }
    let level = if failed.is_empty() {
        Level::Info
    } else {
        Level::Error
    };
    m.status = Some((level, text));
    if ok.is_empty() {
        return vec![];
    }
    let keep = m.status.clone();
    let cmds = super::update::rerun_preflight(m);
    m.status = keep;
    cmds
}

/// The background task: the key of each node ([`node_key`]), then `ssh-setup`'s probe and
/// install on `nodes`.
pub async fn install<T: Transport>(
    t: Arc<T>,
    cluster: &Cluster,
    nodes: &[String],
    password: KeyPassword,
    opts: &Options,
) -> KeyResults {
    let paths = ssh_setup_key::key_paths(cluster, None)?;
    let passphrase = opts.key_passphrase.clone().map(Zeroizing::new);
    let mut by_path: HashMap<std::path::PathBuf, Arc<ssh_setup_key::ReadyKey>> = HashMap::new();
    let mut keys = HashMap::new();
    for (node, path) in paths.into_iter().filter(|(n, _)| nodes.contains(n)) {
        let key = match by_path.get(&path) {
            Some(k) => k.clone(),
            None => {
                let p = path.clone();
                let pass = passphrase.clone();
                let k = tokio::task::spawn_blocking(move || node_key(&p, pass))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("{e:#}"))?;
                let k = Arc::new(k);
                by_path.insert(path, k.clone());
                k
            }
        };
        keys.insert(node, key);
    }
    let hosts = ssh_setup::hosts(cluster, opts, &keys);
    let pw = password.0;
    ssh_setup::run(t, &hosts, &keys, None, move |_| Ok(pw))
        .await
        .map_err(|e| format!("{e:#}"))
}

/// The key at `path`: read (with the session's passphrase when it is encrypted), or generated
/// there — encrypted with that same passphrase when the operator gave one (`p` on the Connect
/// screen), so every run that follows opens it with what it already has; without one, the new
/// key has none (the dialog asks only for the nodes' password).
pub(super) fn node_key(
    path: &std::path::Path,
    session: Option<Zeroizing<String>>,
) -> anyhow::Result<ssh_setup_key::ReadyKey> {
    let for_new = session.clone();
    ssh_setup_key::ensure_key(path, session, move || Ok(for_new))
}

/// For the runtime's log: which nodes, never the password.
pub fn describe(nodes: &[String], secrets: &Secrets) -> String {
    format!(
        "install kha-tui's key on {} ({secrets:?})",
        nodes.join(", ")
    )
}
