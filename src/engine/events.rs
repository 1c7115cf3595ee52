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

/// Why a step or a connection failed, typed so viewers never guess from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// SSH authentication refused (key, password or agent).
    AuthRefused,
    /// TCP refused, no route, connect timeout.
    Unreachable,
    /// The host key changed: a security warning; never accepted.
    HostKeyChanged,
    /// An unknown host key that no one accepted.
    HostKeyUnknown,
    /// The private key is unreadable, or encrypted and no passphrase was given.
    KeyUnusable,
    /// `sudo -n` refused, or the sudo password was wrong.
    SudoRefused,
    /// The command failed with this exit status.
    Exited(u32),
    /// The session ended without an exit status.
    NoExitStatus,
    /// The step's idle limit (`idle`) or its time limit passed.
    TimedOut {
        idle: bool,
        after: Duration,
    },
    /// The session dropped while the step ran.
    ConnectionLost,
    /// The operator stopped the run (TUI Stop / Ctrl-C).
    Cancelled,
    Other,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::AuthRefused => f.write_str("authentication refused"),
            Failure::Unreachable => f.write_str("unreachable"),
            Failure::HostKeyChanged => f.write_str("host key changed"),
            Failure::HostKeyUnknown => f.write_str("unknown host key refused"),
            Failure::KeyUnusable => f.write_str("private key unusable"),
            Failure::SudoRefused => f.write_str("sudo refused"),
            Failure::Exited(n) => write!(f, "exit status {n}"),
            Failure::NoExitStatus => f.write_str("ended without an exit status"),
            Failure::TimedOut { idle: true, after } => {
                write!(f, "timed out after {} with no output", clock(*after))
            }
            Failure::TimedOut { idle: false, after } => {
                write!(f, "timed out after {}", clock(*after))
            }
            Failure::ConnectionLost => f.write_str("connection lost"),
            Failure::Cancelled => f.write_str("stopped by the operator"),
            Failure::Other => f.write_str("failed"),
        }
    }
}

/// "10m00s", "45s", "1h02m03s": durations in failure texts.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    /// Why it failed and the last lines of its output (redacted).
    Failed {
        failure: Failure,
        reason: String,
    },
    /// Was running when the operator stopped the run.
    Interrupted {
        reason: String,
    },
    /// Not run: already done in an earlier run (resume).
    SkippedDone,
    /// Not run because something it depends on failed or the run was stopped.
    NotRun {
        reason: String,
    },
}

impl std::fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepOutcome::Succeeded => f.write_str("succeeded"),
            StepOutcome::Failed { failure, reason } if reason.is_empty() => {
                write!(f, "failed: {failure}")
            }
            StepOutcome::Failed { failure, reason } => write!(f, "failed ({failure}): {reason}"),
            StepOutcome::Interrupted { reason } => write!(f, "interrupted: {reason}"),
            StepOutcome::SkippedDone => f.write_str("done in an earlier run, skipped"),
            StepOutcome::NotRun { reason } => write!(f, "not run: {reason}"),
        }
    }
}

/// A node as the cluster itself reports it (`kubectl get nodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub name: String,
    pub ready: bool,
    pub version: String,
    pub roles: String,
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
        /// What went wrong; `Failure::HostKeyChanged` must be shown as a security warning.
        failure: Failure,
        error: String,
    },
    /// The node's host key fingerprint or machine-id differ from what the state recorded: its
    /// records were set aside, so every step runs again there.
    NodeIdentityChanged {
        node: String,
        detail: String,
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
    /// The running step printed nothing for `quiet_for` (first after `Options::quiet_after`,
    /// 30 s by default, then every 10 s).
    StepQuiet {
        node: String,
        step: String,
        quiet_for: Duration,
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
    /// Cancellation began; remote commands are being ended. `RunFinished` follows once every
    /// node task has really stopped.
    Stopping {
        reason: String,
    },
    /// What the cluster itself reports at the end.
    ClusterNodes {
        nodes: Vec<ClusterNode>,
    },
    RunFinished(RunSummary),
    /// The load-balancer pair: each LB's keepalived state (MASTER, BACKUP, FAULT, STOP; `None`
    /// before keepalived ran there), in inventory order. The MASTER holds `vip`.
    LbPairState {
        vip: String,
        states: LbStates,
    },
}

/// Each LB of the pair with its keepalived state (`None` before keepalived ran there).
pub type LbStates = Vec<(String, Option<String>)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub ok: bool,
    /// Set when the run stopped early (failure, refusal, Ctrl-C): why.
    pub stopped: Option<String>,
    /// Nodes with a failed step, with the step and the reason.
    pub failures: Vec<(String, String, String)>,
    pub phase_durations: Vec<(String, Duration)>,
    pub total: Duration,
    /// Wall time summed over every run of this cluster (resumes add up).
    pub total_all_runs: Duration,
    /// As `Event::ClusterNodes`; empty if unknown.
    pub cluster_nodes: Vec<ClusterNode>,
    pub endpoint: String,
    /// Where the kubeconfig was written (on the LB node) and where logs/state are (locally).
    pub kubeconfig: String,
    pub log_dir: String,
    pub state_file: String,
}

impl From<&crate::transport::TransportError> for Failure {
    fn from(e: &crate::transport::TransportError) -> Failure {
        use crate::transport::TransportError as T;
        match e {
            T::Connect { .. } | T::ConnectTimeout { .. } => Failure::Unreachable,
            T::HostKeyUnknown { .. } => Failure::HostKeyUnknown,
            T::HostKeyChanged { .. } => Failure::HostKeyChanged,
            T::AuthFailed { .. } => Failure::AuthRefused,
            T::KeyEncrypted { .. } | T::KeyUnreadable { .. } => Failure::KeyUnusable,
            T::IdleTimeout { secs } => Failure::TimedOut {
                idle: true,
                after: Duration::from_secs(*secs),
            },
            T::CommandTimeout { secs } => Failure::TimedOut {
                idle: false,
                after: Duration::from_secs(*secs),
            },
            T::Disconnected(_) => Failure::ConnectionLost,
            T::Other(_) => Failure::Other,
            T::ViaBastion { kind, .. } => {
                use crate::transport::BastionFailure as B;
                match kind {
                    B::Unreachable => Failure::Unreachable,
                    B::HostKeyUnknown => Failure::HostKeyUnknown,
                    B::HostKeyChanged => Failure::HostKeyChanged,
                    B::AuthRefused => Failure::AuthRefused,
                    B::KeyUnusable => Failure::KeyUnusable,
                    B::Other => Failure::Other,
                }
            }
        }
    }
}

impl From<Option<u32>> for Failure {
    /// A command's exit status that was not success.
    fn from(code: Option<u32>) -> Failure {
        code.map(Failure::Exited).unwrap_or(Failure::NoExitStatus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_plain_words() {
        assert_eq!(Failure::Exited(100).to_string(), "exit status 100");
        assert_eq!(
            Failure::TimedOut {
                idle: true,
                after: Duration::from_secs(600)
            }
            .to_string(),
            "timed out after 10m00s with no output"
        );
        assert_eq!(Failure::Cancelled.to_string(), "stopped by the operator");
        let o = StepOutcome::Failed {
            failure: Failure::Exited(1),
            reason: "E: boom".into(),
        };
        assert_eq!(o.to_string(), "failed (exit status 1): E: boom");
    }
}
