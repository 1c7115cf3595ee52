//! The TUI's state. Only the UI task owns it; the engine talks to it through [`Msg::Engine`].

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::KeyEvent;

use super::form::{Field, Form};
use super::logs::{Logs, Window};
use super::theme::Theme;
use crate::engine::events::{
    CheckResult, CheckStatus, Event, NodeInfo, PhaseInfo, Reply, RunSummary,
};
use crate::inventory::{Cluster, Role};
use crate::plan::Plan;

/// The wizard's screens, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Form(super::form::Page),
    Preflight,
    Plan,
    Run,
    Done,
    /// The failover drill, reached from Done.
    Drill,
    /// The cluster as it is now (`day2::status`), refreshed on `r` and every few seconds.
    Cluster,
}

impl Screen {
    /// Position in the header's breadcrumb.
    pub fn crumb(self) -> usize {
        match self {
            Screen::Welcome => 0,
            Screen::Form(_) => 1,
            Screen::Preflight => 2,
            Screen::Plan => 3,
            Screen::Run => 4,
            Screen::Done | Screen::Drill | Screen::Cluster => 5,
        }
    }
}

/// What arrives at `update`.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal was resized (the next frame uses the new size).
    Resize(u16, u16),
    /// Time since the TUI started.
    Tick(Duration),
    Engine(Event),
    /// A background job of the runtime ended (the engine may have sent its own last event already).
    TaskEnded(Task),
    Saved(Result<PathBuf, String>),
    /// A one-key preflight fix finished on a node.
    FixDone {
        node: String,
        fix: String,
        result: Result<(), String>,
    },
    Loaded {
        path: PathBuf,
        result: Result<String, String>,
    },
    /// From the drill's task (see [`super::model_drill`]).
    Drill(super::model_drill::DrillMsg),
    /// A cluster status read ended.
    ClusterStatus(Result<Box<crate::day2::ClusterStatus>, String>),
    /// A day-2 job from the wizard ended (see [`super::day2_wizard`]).
    Day2Ended(Box<super::day2_wizard::Day2Report>),
    /// The upgrade dialog's preflight read ended (see [`super::upgrade_dialog`]).
    UpgradeRead(Result<Box<super::upgrade_dialog::UpgradeRead>, String>),
    /// Installing kha-tui's key with a password ended (see [`super::key_setup`]).
    KeyInstalled(super::key_setup::KeyResults),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Preflight,
    Fix,
    Apply,
}

/// Passwords the operator typed for this session: kept in memory only, never written, never
/// shown (Debug prints whether each is set, nothing more).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pub sudo_password: Option<String>,
    pub key_passphrase: Option<String>,
    pub ssh_password: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "-" };
        f.debug_struct("Secrets")
            .field("sudo_password", &set(&self.sudo_password))
            .field("key_passphrase", &set(&self.key_passphrase))
            .field("ssh_password", &set(&self.ssh_password))
            .finish()
    }
}

/// What `update` asks the runtime to do.
#[derive(Debug)]
pub enum Command {
    /// Write the inventory TOML.
    Save {
        path: PathBuf,
        text: String,
    },
    /// Read an inventory file; answered by [`Msg::Loaded`].
    Load {
        path: PathBuf,
    },
    /// Connect to every node and run the preflight checks.
    Preflight {
        cluster: Box<Cluster>,
        ignore: Vec<String>,
        secrets: Secrets,
    },
    /// Run a preflight fix (`CheckResult::fixable`) on one node, then its checks again.
    Fix {
        cluster: Box<Cluster>,
        node: String,
        fix: String,
        secrets: Secrets,
    },
    /// Run (or resume) the plan.
    Apply {
        cluster: Box<Cluster>,
        ignore: Vec<String>,
        secrets: Secrets,
    },
    /// Answer an engine question.
    Answer {
        reply: Reply,
        yes: bool,
    },
    /// Read the cluster's status (the status plan, read-only); answered by
    /// [`Msg::ClusterStatus`].
    Status {
        cluster: Box<Cluster>,
        /// The inventory's path, for the fixes offered.
        config: String,
        secrets: Secrets,
        /// Host keys accepted in this session (node, fingerprint).
        accepted: Vec<(String, String)>,
    },
    /// Cancel the running engine task.
    Stop,
    Quit,
    /// Prepare the failover drill (connect, find who is who; stops nothing) and wait for
    /// [`Command::DrillAnswer`].
    DrillPrepare {
        cluster: Box<Cluster>,
        secrets: Secrets,
    },
    /// The operator's answer to the drill's question: run it, or end it without stopping anything.
    DrillAnswer {
        yes: bool,
    },
    /// Add a node, remove one, or reset the cluster (the day-2 plans on the engine); answered
    /// by [`Msg::Day2Ended`].
    Day2 {
        job: Box<super::day2_wizard::Day2Job>,
        secrets: Secrets,
    },
    /// The upgrade's preflight for minor `to` (read-only: the status plan, the nodes'
    /// containerd, `kubeadm upgrade plan`); answered by [`Msg::UpgradeRead`].
    UpgradePrepare {
        cluster: Box<Cluster>,
        config: String,
        to: String,
        secrets: Secrets,
    },
    /// Install kha-tui's key on `nodes` with their login password (`kha-tui ssh-setup`'s
    /// code); answered by [`Msg::KeyInstalled`].
    InstallKey {
        cluster: Box<Cluster>,
        nodes: Vec<String>,
        password: super::key_setup::KeyPassword,
        secrets: Secrets,
    },
}

/// One option of the welcome screen.
#[derive(Debug, Clone)]
pub struct Source {
    pub label: String,
    /// Where it came from (shown; `None` for built-in texts).
    pub path: Option<PathBuf>,
    /// The TOML text, or why it could not be read.
    pub text: Result<String, String>,
}

#[derive(Debug, Clone)]
pub struct Welcome {
    /// Preset inventories (a given --config, the saved one, the demo's seed).
    pub sources: Vec<Source>,
    /// Index over: [continue editing (when a form exists)] + sources + "load a file" + "new".
    pub selected: usize,
    pub path: Field,
    /// Keys go to the path field (Enter on "Load an inventory file…" starts typing, Esc ends).
    pub typing_path: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WelcomeItem {
    Continue,
    Source(usize),
    LoadFile,
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Waiting,
    Connecting,
    Connected,
    Unreachable,
    /// The host key changed: nothing runs there.
    KeyChanged,
}

#[derive(Debug, Clone)]
pub struct PreflightNode {
    pub name: String,
    pub role: Role,
    pub address: String,
    pub conn: Conn,
    /// OS once connected, or the error.
    pub detail: String,
    pub checks: Vec<CheckResult>,
}

impl PreflightNode {
    pub fn count(&self, s: CheckStatus) -> usize {
        self.checks.iter().filter(|c| c.status == s).count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Preflight {
    pub nodes: Vec<PreflightNode>,
    pub selected: usize,
    /// Focus on the checks list (else on the node grid).
    pub on_checks: bool,
    pub check: usize,
    pub running: bool,
    /// The inventory this preflight ran for (to know when it must run again).
    pub for_inventory: Option<String>,
    /// `PreflightDone.blocking`, once preflight finished.
    pub blocking: Option<Vec<CheckResult>>,
    /// Check names the operator chose to ignore (`--ignore-preflight`).
    pub ignored: Vec<String>,
    /// Fix running: (node, fix).
    pub fixing: Option<(String, String)>,
}

impl Preflight {
    pub fn for_cluster(c: &Cluster) -> Preflight {
        Preflight {
            nodes: c
                .all_hosts()
                .map(|n| PreflightNode {
                    name: n.name.clone(),
                    role: n.role,
                    address: n.address.to_string(),
                    conn: Conn::Waiting,
                    detail: String::new(),
                    checks: Vec::new(),
                })
                .collect(),
            ..Default::default()
        }
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut PreflightNode> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }

    /// Failed checks that stop the run and are not ignored, plus unreachable nodes.
    pub fn blockers(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| matches!(n.conn, Conn::Unreachable | Conn::KeyChanged))
            .map(|n| format!("{} is unreachable", n.name))
            .collect();
        for n in &self.nodes {
            for c in &n.checks {
                if c.status == CheckStatus::Fail && !self.ignored.contains(&c.check) {
                    v.push(format!("{}: {} failed", n.name, c.check));
                }
            }
        }
        if let Some(b) = &self.blocking {
            for c in b {
                let s = format!("{}: {} failed", c.node, c.check);
                if !self.ignored.contains(&c.check) && !v.contains(&s) {
                    v.push(s);
                }
            }
        }
        v
    }

    pub fn selected_check(&self) -> Option<&CheckResult> {
        self.nodes.get(self.selected)?.checks.get(self.check)
    }
}

/// A row of the plan review list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRow {
    Phase(usize),
    Step(usize, usize),
}

#[derive(Debug, Clone, Default)]
pub struct PlanReview {
    pub plan: Option<Plan>,
    pub selected: usize,
    /// Show only this node's steps.
    pub node: Option<String>,
    /// Phases folded to their header (Enter on a header folds and unfolds it).
    pub folded: Vec<usize>,
}

impl PlanReview {
    pub fn rows(&self) -> Vec<PlanRow> {
        let mut v = Vec::new();
        if let Some(p) = &self.plan {
            for (i, ph) in p.phases.iter().enumerate() {
                let steps: Vec<usize> = ph
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| self.node.as_ref().is_none_or(|n| &s.node == n))
                    .map(|(j, _)| j)
                    .collect();
                if steps.is_empty() {
                    continue;
                }
                v.push(PlanRow::Phase(i));
                if !self.folded.contains(&i) {
                    v.extend(steps.into_iter().map(|j| PlanRow::Step(i, j)));
                }
            }
        }
        v
    }

    pub fn nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if let Some(p) = &self.plan {
            for (_, s) in p.steps() {
                if !v.contains(&s.node) {
                    v.push(s.node.clone());
                }
            }
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    Pending,
    Connecting,
    Running,
    Done,
    Failed,
    Unreachable,
    KeyChanged,
    /// Not run because of another failure or a stop.
    Stopped,
}

#[derive(Debug, Clone)]
pub struct NodeCard {
    pub info: NodeInfo,
    pub name: Arc<str>,
    pub status: NodeStatus,
    /// Step id and title running now (or the last one).
    pub step: Option<(String, String)>,
    /// Steps finished (succeeded or already done earlier).
    pub done: usize,
    pub started: Option<Duration>,
    pub finished: Option<Duration>,
    /// Why it failed or stopped.
    pub error: Option<String>,
    /// The step that failed, how, and its last lines of output.
    pub failure: Option<FailedStep>,
    /// The running step printed nothing: (how long, as `StepQuiet` said; when it said so).
    /// Cleared by the step's next line or its end.
    pub quiet: Option<(Duration, Duration)>,
    /// Shown on the card: e.g. the node's identity changed since the state was recorded.
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub step: String,
    /// In plain words: "exit status 100", "timed out after 10:00 with no output", …
    pub what: String,
    /// The last lines the step printed (redacted by the engine).
    pub last_lines: Vec<String>,
}

impl NodeCard {
    pub fn new(info: NodeInfo) -> NodeCard {
        NodeCard {
            name: info.name.as_str().into(),
            info,
            status: NodeStatus::Pending,
            step: None,
            done: 0,
            started: None,
            finished: None,
            error: None,
            failure: None,
            quiet: None,
            warning: None,
        }
    }

    pub fn elapsed(&self, now: Duration) -> Option<Duration> {
        let s = self.started?;
        Some(self.finished.unwrap_or(now).saturating_sub(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseStatus {
    Pending,
    Running,
    Ok,
    Failed,
}

#[derive(Debug, Clone)]
pub struct PhaseState {
    pub info: PhaseInfo,
    pub status: PhaseStatus,
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub cluster: String,
    pub nodes: Vec<NodeCard>,
    pub index: HashMap<String, usize>,
    pub phases: Vec<PhaseState>,
    pub selected: usize,
    /// Log pane shows every node interleaved, with a node prefix.
    pub all: bool,
    /// Log pane position: `None` = follow the end; else the number of the top line.
    pub top: Option<u64>,
    pub logs: Logs,
    /// What the log pane shows when it is not the tail's end (see `log_pane::refresh`).
    pub window: Option<Window>,
    /// The engine's log directory: the pane pages from the files under it.
    pub log_root: Option<PathBuf>,
    /// What the cluster itself reported at the end (`ClusterNodes`).
    pub cluster_nodes: Option<Vec<crate::engine::events::ClusterNode>>,
    /// The load-balancer pair's VIP and each LB's keepalived state (`LbPairState`), latest.
    pub lb_pair: Option<(String, crate::engine::events::LbStates)>,
    pub running: bool,
    /// Runs started (2 and more = retries that resume).
    pub runs: u32,
    pub started: Option<Duration>,
    pub summary: Option<RunSummary>,
    /// The run was asked to stop (Ctrl-C answered yes).
    pub stopping: bool,
}

impl Dashboard {
    pub fn total_steps(&self) -> usize {
        self.nodes.iter().map(|n| n.info.steps).sum()
    }
    pub fn done_steps(&self) -> usize {
        self.nodes.iter().map(|n| n.done.min(n.info.steps)).sum()
    }
    pub fn failed(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                matches!(
                    self.nodes[i].status,
                    NodeStatus::Failed | NodeStatus::Unreachable | NodeStatus::KeyChanged
                )
            })
            .collect()
    }
    /// The log ring the pane shows.
    pub fn ring_index(&self) -> Option<usize> {
        if self.all { None } else { Some(self.selected) }
    }
}

/// A dialog over the screen; it sees the keys first.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a handful at most, never in a hot path
pub enum Popup {
    HostKey {
        node: String,
        host: String,
        algorithm: String,
        fingerprint: String,
        reply: Option<Reply>,
        yes: bool,
    },
    Confirm {
        step: String,
        nodes: Vec<String>,
        title: String,
        detail: String,
        command: String,
        reply: Option<Reply>,
        yes: bool,
        /// For destructive steps: the cluster name to type, and what was typed.
        typed: Option<(String, Field)>,
        scroll: usize,
        /// The operator chose a button (←→/Tab): only then does Enter answer, so a stray Enter
        /// meant for the screen below never answers it.
        chosen: bool,
    },
    /// Ctrl-C during a run.
    Stop {
        yes: bool,
    },
    Quit {
        yes: bool,
    },
    /// Passwords for this session: sudo, the key's passphrase, SSH password (masked).
    Secrets {
        fields: [Field; 3],
        focus: usize,
    },
    /// Where to save a new inventory (the path typed, prefilled with the default).
    SaveAs {
        field: Field,
        /// Go on to Connect once saved (Enter on the last page), else just save (Ctrl-S).
        then_connect: bool,
    },
    /// "Save as" named a file that already exists: replace it? (default No).
    Overwrite {
        path: std::path::PathBuf,
        then_connect: bool,
        yes: bool,
    },
    /// Every key of the screen under it, from the keymap (`?`).
    Help {
        under: Vec<super::keymap::Binding>,
        scroll: usize,
    },
    /// A step's exact script.
    Script {
        title: String,
        lines: Vec<String>,
        scroll: usize,
    },
    /// Add a node, remove one, reset the cluster (from the cluster view).
    Day2(Box<super::day2_wizard::Day2Dialog>),
    /// The login password to install kha-tui's key on the nodes that refused it (masked).
    KeyPassword {
        field: super::key_setup::MaskedField,
        nodes: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// How the TUI was started.
#[derive(Debug, Clone)]
pub struct Setup {
    pub simulated: bool,
    /// Where the inventory is saved.
    pub save_path: PathBuf,
    pub sources: Vec<Source>,
}

pub struct Model {
    pub screen: Screen,
    pub simulated: bool,
    pub theme: Theme,
    /// Time since start (from ticks), for elapsed times.
    pub now: Duration,
    pub save_path: PathBuf,
    pub welcome: Welcome,
    pub form: Option<Form>,
    /// The validated cluster of the last complete form.
    pub cluster: Option<Cluster>,
    pub preflight: Preflight,
    pub plan: PlanReview,
    pub run: Dashboard,
    /// Dialogs, first = on top.
    pub popups: VecDeque<Popup>,
    pub status: Option<(Level, String)>,
    /// Host keys the operator accepted in this session, (node, fingerprint): a second connection
    /// to the same node with the same key is not asked about again.
    pub accepted_keys: Vec<(String, String)>,
    /// Passwords given in this session (see [`Secrets`]).
    pub secrets: Secrets,
    pub quit: bool,
    /// Quit was confirmed while the engine was busy: it was told to stop, and kha-tui quits once
    /// it reports that it stopped (RunFinished, or its task ended).
    pub quit_when_stopped: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The terminal's size (columns, rows), for paging by the visible height.
    pub size: (u16, u16),
    /// Keys are ignored until then: a question that opens while the operator types does not
    /// take the keystroke meant for the screen below.
    pub keys_ignored_until: Duration,
    pub drill: super::model_drill::DrillScreen,
    pub cluster_view: super::cluster_view::ClusterView,
    /// The inventory file day-2 operations edit (the --config one when kha-tui opened on the
    /// cluster view).
    pub inventory: super::day2_wizard::Inventory,
    /// The day-2 job on the dashboard.
    pub day2: super::day2_wizard::Day2Run,
    /// Nodes that refused the key, and the install with a password (`K` on Connect).
    pub key_setup: super::key_setup::KeySetup,
}

impl Model {
    pub fn new(setup: Setup) -> Model {
        Model {
            screen: Screen::Welcome,
            simulated: setup.simulated,
            theme: Theme::from_env(),
            now: Duration::ZERO,
            save_path: setup.save_path,
            welcome: Welcome {
                sources: setup.sources,
                selected: 0,
                path: Field::new(""),
                typing_path: false,
                error: None,
            },
            form: None,
            cluster: None,
            preflight: Preflight::default(),
            plan: PlanReview::default(),
            run: Dashboard::default(),
            popups: VecDeque::new(),
            status: None,
            accepted_keys: Vec::new(),
            secrets: Secrets::default(),
            quit: false,
            quit_when_stopped: false,
            dirty: true,
            size: (100, 30),
            keys_ignored_until: Duration::ZERO,
            drill: Default::default(),
            cluster_view: Default::default(),
            inventory: Default::default(),
            day2: Default::default(),
            key_setup: Default::default(),
        }
    }

    pub fn welcome_items(&self) -> Vec<WelcomeItem> {
        let mut v = Vec::new();
        if self.form.is_some() {
            v.push(WelcomeItem::Continue);
        }
        v.extend((0..self.welcome.sources.len()).map(WelcomeItem::Source));
        v.push(WelcomeItem::LoadFile);
        v.push(WelcomeItem::New);
        v
    }

    pub fn welcome_item(&self) -> WelcomeItem {
        let items = self.welcome_items();
        items[self.welcome.selected.min(items.len() - 1)]
    }

    /// The cluster name for dialogs and headers.
    pub fn cluster_name(&self) -> String {
        if !self.run.cluster.is_empty() {
            return self.run.cluster.clone();
        }
        if let Some(c) = &self.cluster {
            return c.name.clone();
        }
        self.form
            .as_ref()
            .map(|f| f.cluster_name.text().to_string())
            .unwrap_or_default()
    }

    /// The form holds edits that are not in any file yet.
    pub fn unsaved_edits(&self) -> bool {
        self.form.as_ref().is_some_and(|f| f.unsaved())
    }

    /// Rows a page of a full-height list holds at the current terminal size.
    pub fn page_rows(&self) -> usize {
        (self.size.1 as usize).saturating_sub(7).max(1)
    }

    /// A run is going on (Ctrl-C asks to stop it).
    pub fn busy(&self) -> bool {
        self.run.running
            || self.preflight.running
            || self.preflight.fixing.is_some()
            || self.drill.running()
            || self.day2.running
    }
}
