//! The `kha-tui` command line's words: every subcommand and its options (clap), and the
//! options shared by the commands that run a plan (`RunArgs`), turned into the engine's
//! `Options`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::cli as klib;
use crate::engine::{Dirs, Options};

#[derive(Parser)]
#[command(
    name = "kha-tui",
    version,
    about = "Turn bare Ubuntu/Debian hosts into a highly available Kubernetes cluster with kubeadm"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The OpenSSH client config to read, as `ssh -F FILE` (over the inventory's `[ssh] config`
    /// and `~/.ssh/config`).
    #[arg(short = 'F', long = "ssh-config", global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// The whole wizard against a simulated fleet (the seed topology, editable): nothing is
    /// touched. Clearly labelled SIMULATION on screen.
    Demo {
        /// This node fails once mid-run, so retry and resume can be seen.
        #[arg(long, value_name = "NODE")]
        fail: Option<String>,
        /// Speed factor (1 = about a minute for the whole install).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// The wizard for real hosts over SSH (the default when no command is given).
    Wizard {
        /// An inventory to start from (read, never overwritten).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the table of supported Kubernetes minors, containerd and Calico versions.
    Versions,
    /// Validate an inventory: every problem is listed with its key and the fix.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print what would run on which node, in which order, with the exact scripts and files.
    Plan {
        #[arg(long, short)]
        config: PathBuf,
        /// Only this node's steps.
        #[arg(long)]
        node: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Text format: list the steps without their scripts and files.
        #[arg(long)]
        brief: bool,
    },
    /// Connect to every node and check it against what kubeadm needs; changes nothing.
    Preflight {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Install the cluster: preflight, then every phase. A re-run resumes where the last one
    /// stopped: done steps are skipped, the failed one is retried.
    Apply {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// Answer yes to every confirmation (kubeadm init uploads certificates).
        #[arg(long)]
        yes: bool,
        /// Preflight checks that do not block (by name, e.g. ports, or "all"); repeatable.
        #[arg(long = "ignore-preflight", value_name = "CHECK")]
        ignore_preflight: Vec<String>,
        /// Work on this node only (with --from: redo its steps from STEP on).
        #[arg(long)]
        node: Option<String>,
        #[arg(long, value_name = "STEP", requires = "node")]
        from: Option<String>,
    },
    /// The cluster as it is now: nodes, etcd members, HAProxy's backends (and who holds the
    /// virtual address), certificate expiry, bootstrap tokens, and what is wrong with the
    /// action that fixes it. Read-only. Exit status 0 healthy, 1 problems found.
    Status {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Add the inventory's nodes that the cluster does not have yet (or the one given with
    /// --name/--address/--role, written into the inventory first, comments kept): preflight on
    /// the new nodes, prepare, join with fresh secrets, HAProxy updated for a new control plane.
    /// Nothing runs again on the existing nodes. A re-run resumes.
    AddNode {
        #[arg(long, short)]
        config: PathBuf,
        /// A node to add to the inventory first.
        #[arg(long, requires_all = ["address", "role"])]
        name: Option<String>,
        #[arg(long, requires = "name")]
        address: Option<String>,
        /// control-plane or worker.
        #[arg(long, requires = "name")]
        role: Option<String>,
        #[command(flatten)]
        run: RunArgs,
        /// Preflight checks that do not block (by name, or "all"); repeatable.
        #[arg(long = "ignore-preflight", value_name = "CHECK")]
        ignore_preflight: Vec<String>,
    },
    /// Remove a node: drain it, kubeadm reset and clean it up, remove its etcd member (a control
    /// plane), delete its Node object, update HAProxy, and take it out of the inventory
    /// (comments kept). Refuses the last control plane, and a removal that breaks etcd's quorum
    /// unless --force.
    RemoveNode {
        /// The node's name in the inventory.
        name: String,
        #[arg(long, short)]
        config: PathBuf,
        /// Remove it even though etcd loses its quorum.
        #[arg(long)]
        force: bool,
        /// The node is dead: skip its drain and its own reset; its etcd member and Node object
        /// are removed from a healthy control plane.
        #[arg(long)]
        unreachable: bool,
        /// Confirm a worker's removal without asking.
        #[arg(long)]
        yes: bool,
        /// Confirm a control plane's removal without a terminal: its name, typed again.
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
        /// How long the drain may take before it is called blocked (seconds).
        #[arg(long, value_name = "SECS", default_value_t = crate::day2::remove_plan::DRAIN_TIMEOUT_SECS)]
        drain_timeout: u64,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Take the whole cluster down: on every node kubeadm reset -f and what kubeadm leaves
    /// (CNI files and links, kube-proxy/Calico rules, etcd and kubelet data, /etc/kubernetes);
    /// the LB's kubeconfig removed, HAProxy (and keepalived) back to the distro default;
    /// kha-tui's state for the cluster archived. An interrupted reset re-runs to completion.
    Reset {
        #[arg(long, short)]
        config: PathBuf,
        /// Confirm without a terminal: the cluster's name, typed again.
        #[arg(long, value_name = "CLUSTER")]
        confirm: Option<String>,
        /// Also remove kubelet, kubeadm, kubectl, cri-tools (and HAProxy on the LBs).
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Failover drill on the installed cluster: counts real API requests per second while it
    /// stops one apiserver (and, with a load-balancer pair, HAProxy on the LB holding the
    /// virtual address), restores everything and reports how long the endpoint failed.
    Drill {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// Do not ask before stopping anything.
        #[arg(long)]
        yes: bool,
    },
    /// The preflight's one-key fixes, headless (the wizard's `f`): runs preflight, shows each
    /// fix kha-tui has for what it found (swap on; ports a host firewall keeps closed), asks,
    /// applies them and runs preflight again. Exit status 0 when preflight then passes.
    Fix {
        #[arg(long, short)]
        config: PathBuf,
        /// Only this node's findings.
        #[arg(long)]
        node: Option<String>,
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Back up the cluster: an etcd snapshot taken on a control plane whose member is healthy
    /// (inside its etcd container), checked, with /etc/kubernetes/pki (the CAs, the
    /// service-account keys), copied here into kha-tui's data dir (backups/, 0600 files) named
    /// by cluster and UTC time.
    Backup {
        #[arg(long, short)]
        config: PathBuf,
        /// Keep this many of the cluster's backups (the newest); older ones are removed.
        #[arg(long, default_value_t = 7)]
        keep: usize,
        /// Instead of a backup now: a systemd timer on this machine that runs this backup
        /// daily (as the user who asked; with sudo, the user sudo was run by). Its last result
        /// shows in `kha-tui status` and the cluster view.
        #[arg(long)]
        install_timer: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Restore the whole control plane from a backup: etcd and the API servers stopped on every
    /// control plane, the snapshot restored on each member, started again, quorum and every
    /// node Ready waited for. Asks for the cluster's name; a stopped restore resumes.
    Restore {
        #[arg(long, short)]
        config: PathBuf,
        /// The backup (a .tar `kha-tui backup` wrote).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Confirm without a terminal: the cluster's name, typed again.
        #[arg(long, value_name = "CLUSTER")]
        confirm: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Certificates: every control plane's `kubeadm certs check-expiration` in one table (the
    /// soonest per node and the CAs; under 30 days flagged, exit status 1). `certs renew`:
    /// `kubeadm certs renew all` on each control plane in turn with its static pods restarted,
    /// then the admin kubeconfig on the load balancer renewed.
    Certs {
        /// `renew` to renew them.
        #[arg(value_parser = ["renew"])]
        action: Option<String>,
        #[arg(long, short)]
        config: PathBuf,
        /// Renew without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Upgrade the cluster one Kubernetes minor at a time, in kubeadm's order: an etcd snapshot,
    /// containerd (and Calico) first where the target needs newer ones, the first control plane
    /// (kubeadm upgrade apply), the others one at a time, then the workers in batches (cordon,
    /// drain, kubeadm upgrade node, kubelet, uncordon). Refuses a skipped minor and an unhealthy
    /// cluster; an interrupted upgrade continues where it stopped when run again.
    Upgrade {
        #[arg(long, short)]
        config: PathBuf,
        /// The next Kubernetes minor, 1.NN.
        #[arg(long, value_name = "1.NN")]
        to: String,
        /// Workers drained and upgraded at the same time.
        #[arg(long, value_name = "N", default_value_t = 1)]
        max_unavailable: usize,
        /// How long a worker's drain may take before it is called blocked (seconds).
        #[arg(long, value_name = "SECS", default_value_t = crate::day2::remove_plan::DRAIN_TIMEOUT_SECS)]
        drain_timeout: u64,
        /// Do not ask before upgrading.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// First-time access: generate kha-tui's key if it does not exist (ed25519, 0600), then on
    /// every host that refuses it ask ONE login password (masked; read from stdin when stdin is
    /// not a terminal), install the public key in authorized_keys (once; modes fixed) and log
    /// in again with the key. Hosts that accept the key are not asked. Exit status 0 when every
    /// host logs in with the key.
    SshSetup {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        args: crate::cli::ssh_setup::Args,
    },
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// Trust and remember host keys never seen before (changed keys are always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Nodes worked on at the same time.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// Ask for the sudo password (needed when sudo is not NOPASSWD).
    #[arg(long)]
    pub ask_sudo_password: bool,
    /// Read the sudo password from this file (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub sudo_password_file: Option<PathBuf>,
    /// Ask for the passphrase of the SSH private key.
    #[arg(long)]
    pub ask_key_passphrase: bool,
    /// Keep state, logs and accepted host keys under this directory instead of the user's.
    #[arg(long, value_name = "DIR", conflicts_with = "simulate")]
    pub data_dir: Option<PathBuf>,
    /// Run against a simulated fleet instead of SSH: no host is touched, and kha-tui's state,
    /// logs and known_hosts are neither read nor written (a throw-away directory is used).
    #[arg(long)]
    pub simulate: bool,
    /// With --simulate: this node fails once, mid-run.
    #[arg(long, value_name = "NODE", requires = "simulate")]
    pub fail: Option<String>,
    /// With --simulate: speed factor (1 = about a minute for the whole install).
    #[arg(long, default_value_t = 1.0, requires = "simulate")]
    pub speed: f64,
}

impl RunArgs {
    /// Where state, logs and learned host keys are kept: the simulation's scratch dir, else
    /// `--data-dir`, else the user's.
    pub fn dirs(&self, scratch: Option<&SimScratch>) -> anyhow::Result<Dirs> {
        Ok(match (scratch, &self.data_dir) {
            (Some(s), _) => Dirs::under(&s.0),
            (None, Some(d)) => Dirs::under(d),
            (None, None) => Dirs::for_user()?,
        })
    }

    /// `scratch`: the throw-away directory of a simulated run (see [`SimScratch`]).
    pub fn options(&self, scratch: Option<&SimScratch>) -> anyhow::Result<Options> {
        let mut o = Options::new(self.dirs(scratch)?);
        o.concurrency = self.concurrency.max(1);
        o.accept_new_host_keys = self.accept_new_host_keys;
        o.simulated = self.simulate;
        if let Some(f) = &self.sudo_password_file {
            o.sudo_password = Some(klib::password_from_file(f)?);
        } else if self.ask_sudo_password {
            o.sudo_password = Some(klib::ask_secret("sudo password for the nodes: ")?);
        }
        if self.ask_key_passphrase {
            o.key_passphrase = Some(klib::ask_secret("SSH key passphrase: ")?);
        }
        Ok(o)
    }
}

/// Where a simulated run keeps its state and logs while it runs: a fresh directory of its own,
/// removed when the run ends, so a simulation never reads or writes the operator's state, logs
/// or known_hosts (a real apply of a same-named cluster must not find simulated steps "done").
pub struct SimScratch(PathBuf);

impl SimScratch {
    pub fn create() -> anyhow::Result<SimScratch> {
        use std::os::unix::fs::DirBuilderExt as _;
        let dir = std::env::temp_dir().join(format!("kha-tui-simulate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(SimScratch(dir))
    }
}

impl Drop for SimScratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
