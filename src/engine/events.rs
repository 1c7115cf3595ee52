//! What the engine tells its viewer (the headless CLI or the TUI). One-way: the engine sends,
//! the viewer draws. Questions carry a oneshot `Reply` the viewer answers; dropping it means no.
//! Every text in an event has already been redacted: no token, key or password can appear.

use std::time::Duration;

use tokio::sync::oneshot;

use crate::inventory::Role;

/// An answer channel for a question; dropping it without answering counts as "no".
pub type Reply = oneshot::Sender<bool>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub role: Role,
    pub address: String,
    /// How many steps of the plan run on this node.
    pub steps: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseInfo {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    /// Exit status (None = none was reported) and the last lines of error output.
    Failed {
        exit: Option<u32>,
        reason: String,
    },
    /// Not run: already done in an earlier run (resume).
    SkippedDone,
    /// Not run because something it depends on failed or the run was stopped.
    NotRun {
        reason: String,
    },
}

/// Result of one preflight check on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub node: String,
    /// Stable check name, e.g. "swap", "ports", "cgroup" (what `--ignore-preflight` takes).
    pub check: String,
    pub status: CheckStatus,
    /// What was found, e.g. "swap is on (2.0 GiB)".
    pub found: String,
    /// What is needed and how to fix it (empty when it passed).
    pub fix: String,
    /// A step kha-tui can run to fix it (e.g. "swap-off"), when one exists.
    pub fixable: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug)]
pub enum Event {
    /// The run begins: all nodes and phases, in plan order.
    RunStarted {
        cluster: String,
        nodes: Vec<NodeInfo>,
        phases: Vec<PhaseInfo>,
        simulated: bool,
    },
    NodeConnecting {
        node: String,
    },
    NodeConnected {
        node: String,
        /// e.g. "Debian GNU/Linux 12 (bookworm)" once known; empty before.
        detail: String,
    },
    /// The node could not be reached or authenticated; nothing runs there.
    NodeUnreachable {
        node: String,
        error: String,
        /// The host key changed: the viewer must show this as a security warning.
        host_key_changed: bool,
    },
    /// An unknown host key: accept (and remember) or refuse.
    HostKeyQuestion {
        node: String,
        host: String,
        algorithm: String,
        fingerprint: String,
        reply: Reply,
    },
    PreflightResult(CheckResult),
    /// Preflight finished; `blocking` lists failed checks that stop `apply`.
    PreflightDone {
        blocking: Vec<CheckResult>,
    },
    PhaseStarted {
        index: usize,
        name: String,
    },
    StepStarted {
        node: String,
        step: String,
        title: String,
        phase: String,
    },
    Log {
        node: String,
        step: String,
        stream: Stream,
        line: String,
    },
    StepFinished {
        node: String,
        step: String,
        outcome: StepOutcome,
        duration: Duration,
    },
    /// A sensitive step is about to run: the viewer shows what and where, default No.
    ConfirmationNeeded {
        step: String,
        nodes: Vec<String>,
        title: String,
        detail: String,
        /// The exact command(s) that will run.
        command: String,
        reply: Reply,
    },
    PhaseFinished {
        index: usize,
        name: String,
        ok: bool,
        duration: Duration,
    },
    RunFinished(RunSummary),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub ok: bool,
    /// Set when the run stopped early (failure, refusal, Ctrl-C): why.
    pub stopped: Option<String>,
    /// Nodes with a failed step, with the step and the reason.
    pub failures: Vec<(String, String, String)>,
    pub phase_durations: Vec<(String, Duration)>,
    pub total: Duration,
    pub endpoint: String,
    /// Where the kubeconfig was written (on the LB node) and where logs/state are (locally).
    pub kubeconfig: String,
    pub log_dir: String,
    pub state_file: String,
}
