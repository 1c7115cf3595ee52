//! Runs a plan through a `Transport`: connects to every node, runs the preflight, then the
//! plan's steps as a dependency graph (each as soon as what it waits for is done, exclusive
//! resources one at a time), emitting events for a viewer and keeping state so that a re-run
//! resumes. Files: `runner` (the run), `connect` (connect + preflight), `scheduler` (the graph),
//! `node_task` (one node's connection and work), `values` (run values), `state` and
//! `state_writer` (what is done), `pump` (log files).

mod connect;
pub mod events;
pub mod fanout;
pub mod firewall;
pub mod fix;
pub mod logs;
#[cfg(test)]
mod names_no_step_test;
pub mod node;
#[cfg(test)]
mod node_local_test;
pub mod node_setup;
pub mod node_task;
pub mod payload;
pub mod preflight;
pub mod preflight_pair;
mod pump;
pub mod root_shell;
pub mod run_lock;
mod runner;
pub mod scheduler;
pub mod secrets;
pub mod state;
pub mod state_writer;
pub mod values;
pub mod vrrp_secret;
pub mod vrrp_watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use connect::host_key_policy;
pub use events::{CheckResult, CheckStatus, ClusterNode, Event, Failure, RunSummary, StepOutcome};
pub use runner::{apply, apply_plan, run_preflight, target_for};

use crate::transport::Timeouts;

/// Where kha-tui keeps its state, logs and learned host keys (all private to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub state: PathBuf,
    pub logs: PathBuf,
    /// kha-tui's own known_hosts: host keys the operator accepted.
    pub known_hosts: PathBuf,
}

impl Dirs {
    /// The user's directories (XDG on Linux): state in ~/.local/state/kha-tui, data in
    /// ~/.local/share/kha-tui.
    pub fn for_user() -> anyhow::Result<Dirs> {
        let p = directories::ProjectDirs::from("", "", "kha-tui")
            .ok_or_else(|| anyhow::anyhow!("no home directory: cannot place kha-tui's state"))?;
        let state = p
            .state_dir()
            .unwrap_or_else(|| p.data_local_dir())
            .to_path_buf();
        Ok(Dirs {
            logs: state.join("logs"),
            state,
            known_hosts: p.data_dir().join("known_hosts"),
        })
    }

    /// Everything under one directory (tests, demos).
    pub fn under(root: &Path) -> Dirs {
        Dirs {
            state: root.join("state"),
            logs: root.join("logs"),
            known_hosts: root.join("known_hosts"),
        }
    }
}

#[derive(Clone)]
pub struct Options {
    /// Nodes worked on at the same time within a phase.
    pub concurrency: usize,
    /// Answer every confirmation with yes (`--yes`).
    pub assume_yes: bool,
    /// A viewer answers questions (confirmations, unknown host keys). Without it and without
    /// `assume_yes`, a step needing confirmation stops the run with a clear message.
    pub interactive: bool,
    /// Trust and remember unknown host keys without asking (`--accept-new-host-keys`).
    pub accept_new_host_keys: bool,
    /// Preflight checks (by name, or "all") that do not block `apply`.
    pub ignore_preflight: Vec<String>,
    pub skip_preflight: bool,
    /// Work on this node only (`--node`).
    pub only_node: Option<String>,
    /// With `only_node`: forget that this step and the ones after it on that node were done.
    pub from_step: Option<String>,
    pub dirs: Dirs,
    pub sudo_password: Option<String>,
    pub ssh_password: Option<String>,
    pub key_passphrase: Option<String>,
    /// Certificates uploaded longer ago than this are uploaded again before a control-plane
    /// join (kubeadm deletes them after two hours).
    pub cert_upload_window: Duration,
    pub timeouts: Timeouts,
    /// A running step that prints nothing for this long is reported (`Event::StepQuiet`),
    /// then again every 10 s while it stays quiet. 30 s.
    pub quiet_after: Duration,
    /// Shown on the viewer (demo / `--simulate`).
    pub simulated: bool,
    /// A node that is another machine than the one the state knew (host key or machine-id)
    /// stops the run before anything runs, instead of running everything there again. For the
    /// destructive plans (reset, remove-node): an address that now leads to another machine
    /// must not get `kubeadm reset -f`.
    pub other_machine_stops: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("concurrency", &self.concurrency)
            .field("assume_yes", &self.assume_yes)
            .field("interactive", &self.interactive)
            .field("only_node", &self.only_node)
            .field("from_step", &self.from_step)
            .field("dirs", &self.dirs)
            .field(
                "sudo_password",
                &self.sudo_password.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Options {
    pub fn new(dirs: Dirs) -> Options {
        Options {
            concurrency: 10,
            assume_yes: false,
            interactive: false,
            accept_new_host_keys: false,
            ignore_preflight: vec![],
            skip_preflight: false,
            only_node: None,
            from_step: None,
            dirs,
            sudo_password: None,
            ssh_password: None,
            key_passphrase: None,
            cert_upload_window: Duration::from_secs(2 * 3600 - 10 * 60),
            timeouts: Timeouts::default(),
            quiet_after: node::QUIET_AFTER,
            simulated: false,
            other_machine_stops: false,
        }
    }
}
