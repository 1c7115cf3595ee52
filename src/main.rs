//! The `kha-tui` command line: the same pipeline as the TUI, headless.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use kha_tui::cli::{self as klib, headless};
use kha_tui::engine::{self, Dirs, Options};
use kha_tui::inventory::{self, LoadError, Severity};
use kha_tui::plan;
use kha_tui::transport::sim::{SimFleet, SimOptions};
use kha_tui::versions::Table;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "kha-tui",
    version,
    about = "Turn bare Ubuntu/Debian hosts into a highly available Kubernetes cluster with kubeadm"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The OpenSSH client config to read, as `ssh -F FILE` (over the inventory's `[ssh] config`
    /// and `~/.ssh/config`).
    #[arg(short = 'F', long = "ssh-config", global = true, value_name = "FILE")]
    ssh_config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long, value_name = "SECS", default_value_t = kha_tui::day2::remove_plan::DRAIN_TIMEOUT_SECS)]
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
}

#[derive(clap::Args)]
struct RunArgs {
    /// Trust and remember host keys never seen before (changed keys are always refused).
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Nodes worked on at the same time.
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// Ask for the sudo password (needed when sudo is not NOPASSWD).
    #[arg(long)]
    ask_sudo_password: bool,
    /// Read the sudo password from this file (mode 0600).
    #[arg(long, value_name = "FILE")]
    sudo_password_file: Option<PathBuf>,
    /// Ask for the passphrase of the SSH private key.
    #[arg(long)]
    ask_key_passphrase: bool,
    /// Keep state, logs and accepted host keys under this directory instead of the user's.
    #[arg(long, value_name = "DIR", conflicts_with = "simulate")]
    data_dir: Option<PathBuf>,
    /// Run against a simulated fleet instead of SSH: no host is touched, and kha-tui's state,
    /// logs and known_hosts are neither read nor written (a throw-away directory is used).
    #[arg(long)]
    simulate: bool,
    /// With --simulate: this node fails once, mid-run.
    #[arg(long, value_name = "NODE", requires = "simulate")]
    fail: Option<String>,
    /// With --simulate: speed factor (1 = about a minute for the whole install).
    #[arg(long, default_value_t = 1.0, requires = "simulate")]
    speed: f64,
}

impl RunArgs {
    /// `scratch`: the throw-away directory of a simulated run (see [`SimScratch`]).
    fn options(&self, scratch: Option<&SimScratch>) -> anyhow::Result<Options> {
        let dirs = match (scratch, &self.data_dir) {
            (Some(s), _) => Dirs::under(&s.0),
            (None, Some(d)) => Dirs::under(d),
            (None, None) => Dirs::for_user()?,
        };
        let mut o = Options::new(dirs);
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
struct SimScratch(PathBuf);

impl SimScratch {
    fn create() -> anyhow::Result<SimScratch> {
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

/// Refuses `--fail NODE` when the inventory has no such node, listing the ones it has.
fn check_fail_node(fail: Option<&str>, names: &[String]) -> anyhow::Result<()> {
    match fail {
        Some(n) if !names.iter().any(|m| m == n) => anyhow::bail!(
            "--fail {n}: the inventory has no node named {n:?}; its nodes are {}",
            names.join(", ")
        ),
        _ => Ok(()),
    }
}

/// Runs the engine (apply or preflight) headless against SSH or the simulated fleet.
async fn headless(
    cluster: inventory::Cluster,
    args: &RunArgs,
    opts: Options,
    preflight_only: bool,
) -> anyhow::Result<ExitCode> {
    let (tx, rx) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let ask = opts.interactive;
    let printer = tokio::spawn(headless::print_events(rx, ask, stop.clone()));
    let ctrl_c = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "kha-tui: stopping: ending the commands now running on the nodes (Ctrl-C again quits at once and may leave them running)"
                );
                stop.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let ok = if args.simulate {
        let fleet = Arc::new(SimFleet::new(SimOptions {
            fail_node: args.fail.clone(),
            speed: args.speed.max(0.01),
            unknown_host_key: None,
        }));
        run_engine(fleet, cluster, opts, tx, stop, preflight_only).await
    } else {
        // The same trust sources as the wizard (kha_tui::tui::trust).
        run_engine(
            kha_tui::tui::trust::cluster_transport(&cluster, opts.dirs.known_hosts.clone()),
            cluster,
            opts,
            tx,
            stop,
            preflight_only,
        )
        .await
    };
    let _ = printer.await;
    ctrl_c.abort();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn run_engine<T: kha_tui::transport::Transport>(
    t: Arc<T>,
    cluster: inventory::Cluster,
    opts: Options,
    tx: mpsc::Sender<engine::Event>,
    stop: CancellationToken,
    preflight_only: bool,
) -> bool {
    if preflight_only {
        let results = engine::run_preflight(t, &cluster, &opts, tx, stop).await;
        engine::preflight::blocking(&results, &opts.ignore_preflight).is_empty()
    } else {
        engine::apply(t, cluster, opts, tx, stop).await.ok
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kha-tui: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kha-tui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The steps this apply would run that need the operator's yes (kubeadm init), as sentences;
/// steps the state records as done are not run again and need none.
fn needs_confirmation(c: &inventory::Cluster, opts: &Options) -> Vec<String> {
    let state = engine::state::State::load(&opts.dirs.state, &c.name).unwrap_or_default();
    let mut p = plan::build(c);
    if let Some(n) = &opts.only_node {
        p = p.for_node(n);
    }
    p.phases
        .iter()
        .flat_map(|ph| &ph.steps)
        .filter_map(|s| {
            let redo =
                opts.only_node.as_deref() == Some(s.node.as_str()) && opts.from_step.is_some();
            let why = s.confirm.as_ref()?;
            (redo || !state.is_done(&s.node, &s.id))
                .then(|| format!("{} on {} needs a yes: {why}", s.id, s.node))
        })
        .collect()
}

/// Every host of the inventory by name: the load balancer, then the nodes.
fn host_names(c: &inventory::Cluster) -> Vec<String> {
    std::iter::once(c.lb.name.clone())
        .chain(c.nodes.iter().map(|n| n.name.clone()))
        .collect()
}

/// `-F FILE`, set once from the command line.
static SSH_CONFIG: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// Loads an inventory, printing every problem; `None` when it has errors.
fn load(path: &std::path::Path) -> anyhow::Result<Option<inventory::Cluster>> {
    let ssh_config = SSH_CONFIG.get().cloned().flatten();
    match inventory::load_with(path, ssh_config.as_deref()) {
        Ok((cluster, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            Ok(Some(cluster))
        }
        Err(LoadError::Invalid { path, issues }) => {
            let n = issues
                .iter()
                .filter(|i| i.severity == Severity::Error)
                .count();
            for i in &issues {
                eprintln!("{i}");
            }
            eprintln!("{path}: {n} error(s); nothing was run");
            Ok(None)
        }
        Err(e) => Err(e).context("inventory"),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let _ = SSH_CONFIG.set(cli.ssh_config.clone());
    match cli.command.unwrap_or(Command::Wizard { config: None }) {
        Command::Demo { fail, speed } => {
            // The demo starts from the seed topology: --fail must name one of its hosts.
            let seed = inventory::parse(inventory::EXAMPLE).map_err(anyhow::Error::msg)?;
            let names: Vec<String> = std::iter::once(seed.load_balancer.name.clone())
                .chain(seed.nodes.iter().map(|n| n.name.clone()))
                .collect();
            check_fail_node(fail.as_deref(), &names)?;
            let opts = kha_tui::tui::DemoOptions {
                fail_node: fail,
                speed: speed.max(0.01),
                ..Default::default()
            };
            kha_tui::tui::run_demo(opts).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Wizard { config } => {
            kha_tui::tui::run_wizard(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Versions => {
            print!("{}", Table::get().render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => match load(&config)? {
            Some(c) => {
                println!(
                    "{}: valid — cluster {}, Kubernetes {}, {} control plane(s), {} worker(s), endpoint {}",
                    config.display(),
                    c.name,
                    c.versions.minor,
                    c.control_planes().count(),
                    c.workers().count(),
                    c.control_plane_endpoint()
                );
                Ok(ExitCode::SUCCESS)
            }
            None => Ok(ExitCode::FAILURE),
        },
        Command::Plan {
            config,
            node,
            format,
            brief,
        } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let mut p = plan::build(&c);
            if let Some(n) = &node {
                anyhow::ensure!(
                    c.host(n).is_some(),
                    "no node named {n:?} in {}",
                    config.display()
                );
                p = p.for_node(n);
            }
            let access = plan::access::of_cluster(&c, node.as_deref());
            match format {
                Format::Text => print!(
                    "{}\n{}",
                    plan::access::to_text(&access),
                    plan::to_text(&p, !brief)
                ),
                Format::Json => {
                    // The plan's own JSON, with how each node is reached beside it.
                    let mut v: serde_json::Value = serde_json::from_str(&plan::to_json(&p))?;
                    v["access"] = serde_json::to_value(&access)?;
                    println!("{}", serde_json::to_string_pretty(&v)?)
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Preflight { config, run } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            check_fail_node(run.fail.as_deref(), &host_names(&c))?;
            let scratch = run.simulate.then(SimScratch::create).transpose()?;
            let opts = run.options(scratch.as_ref())?;
            print!(
                "{}",
                plan::access::to_text(&plan::access::of_cluster(&c, None))
            );
            headless(c, &run, opts, true).await
        }
        Command::Apply {
            config,
            run,
            yes,
            ignore_preflight,
            node,
            from,
        } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            check_fail_node(run.fail.as_deref(), &host_names(&c))?;
            let scratch = run.simulate.then(SimScratch::create).transpose()?;
            let mut opts = run.options(scratch.as_ref())?;
            opts.assume_yes = yes;
            opts.interactive = !yes && headless::stdin_is_terminal();
            opts.ignore_preflight = ignore_preflight;
            opts.only_node = node;
            opts.from_step = from;
            if !opts.assume_yes && !opts.interactive {
                let waiting = needs_confirmation(&c, &opts);
                if !waiting.is_empty() {
                    for w in &waiting {
                        eprintln!("kha-tui: {w}");
                    }
                    eprintln!(
                        "kha-tui: there is no terminal to ask on, so nothing was run and nothing changed; run it from a terminal to be asked, or pass --yes"
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
            headless(c, &run, opts, false).await
        }
        Command::Status {
            config,
            format,
            run,
        } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            anyhow::ensure!(
                !run.simulate,
                "status --simulate: the simulated fleet has no cluster to read; run `kha-tui demo` to see the cluster view"
            );
            kha_tui::cli::day2::status(
                c,
                &config,
                matches!(format, Format::Json),
                run.options(None)?,
            )
            .await
        }
        Command::AddNode {
            config,
            name,
            address,
            role,
            run,
            ignore_preflight,
        } => {
            anyhow::ensure!(
                !run.simulate,
                "add-node --simulate: not available; `kha-tui demo` shows the wizard"
            );
            if let (Some(n), Some(a), Some(r)) = (&name, &address, &role) {
                kha_tui::day2::inventory_edit::edit_file(&config, |t| {
                    kha_tui::day2::inventory_edit::with_node_added(t, n, a, r)
                })
                .map_err(anyhow::Error::msg)?;
                eprintln!("kha-tui: added {n} ({r}, {a}) to {}", config.display());
            }
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let mut opts = run.options(None)?;
            opts.ignore_preflight = ignore_preflight;
            kha_tui::cli::day2::add_node(c, &config, opts).await
        }
        Command::RemoveNode {
            name,
            config,
            force,
            unreachable,
            yes,
            confirm,
            drain_timeout,
            run,
        } => {
            anyhow::ensure!(
                !run.simulate,
                "remove-node --simulate: not available; `kha-tui demo` shows the wizard"
            );
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let opts = run.options(None)?;
            let o = kha_tui::day2::remove_plan::RemoveOptions {
                force,
                unreachable,
                drain_timeout: Some(drain_timeout),
            };
            kha_tui::cli::day2::remove_node(c, &config, opts, &name, &o, yes, confirm.as_deref())
                .await
        }
        Command::Reset {
            config,
            confirm,
            purge,
            run,
        } => {
            anyhow::ensure!(
                !run.simulate,
                "reset --simulate: not available; `kha-tui demo` shows the wizard"
            );
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let opts = run.options(None)?;
            kha_tui::cli::day2::reset(c, opts, confirm.as_deref(), purge).await
        }
        Command::Drill { config, run, yes } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            anyhow::ensure!(
                !run.simulate,
                "--simulate: the drill measures a real cluster and has no simulated form; run it against the installed hosts"
            );
            let opts = run.options(None)?;
            drill(c, opts, yes).await
        }
        Command::Fix {
            config,
            node,
            yes,
            run,
        } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            check_fail_node(run.fail.as_deref(), &host_names(&c))?;
            let names = host_names(&c);
            if let Some(n) = node.as_deref().filter(|n| !names.iter().any(|m| m == n)) {
                anyhow::bail!(
                    "--node {n}: the inventory has no node named {n:?}; its nodes are {}",
                    names.join(", ")
                );
            }
            let scratch = run.simulate.then(SimScratch::create).transpose()?;
            let opts = run.options(scratch.as_ref())?;
            let ok = if run.simulate {
                let fleet = Arc::new(SimFleet::new(SimOptions {
                    fail_node: run.fail.clone(),
                    speed: run.speed.max(0.01),
                    unknown_host_key: None,
                }));
                klib::fix::run(fleet, &c, &opts, node.as_deref(), yes).await?
            } else {
                let t = kha_tui::tui::trust::cluster_transport(&c, opts.dirs.known_hosts.clone());
                klib::fix::run(t, &c, &opts, node.as_deref(), yes).await?
            };
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `kha-tui drill`: prepares (connects, finds who is who, stops nothing), asks (default No),
/// runs, prints and saves the report.
async fn drill(c: inventory::Cluster, opts: Options, yes: bool) -> anyhow::Result<ExitCode> {
    use kha_tui::drill;
    let stop = CancellationToken::new();
    let ctrl_c = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("kha-tui: stopping the drill: restoring what it stopped, then reporting");
                stop.cancel();
            }
        })
    };
    let t = kha_tui::tui::trust::cluster_transport(&c, opts.dirs.known_hosts.clone());
    let prepared = drill::prepare(t, c, opts, stop.clone()).await?;
    eprintln!("kha-tui: the drill will stop, one after the other:");
    for w in &prepared.what {
        eprintln!("  - {w}");
    }
    let go = if yes {
        true
    } else if headless::stdin_is_terminal() {
        eprint!("Go ahead? [y/N] ");
        // Read on a thread of its own, so that Ctrl-C at the question ends it at once.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let _ = tx.send(matches!(line.trim(), "y" | "Y" | "yes"));
        });
        tokio::select! {
            yes = rx => yes.unwrap_or(false),
            _ = stop.cancelled() => false,
        }
    } else {
        eprintln!(
            "kha-tui: there is no terminal to ask on, so nothing was stopped and nothing changed; run it from a terminal to be asked, or pass --yes"
        );
        false
    };
    if !go {
        prepared.cancel().await;
        ctrl_c.abort();
        return Ok(ExitCode::FAILURE);
    }
    let (tx, rx) = mpsc::channel(256);
    let printer = tokio::spawn(drill::print::print_events(rx));
    let (report, saved) = prepared.run(tx).await;
    let _ = printer.await;
    ctrl_c.abort();
    print!("\n{}", report.to_text());
    match saved {
        Some(p) => println!("report saved: {} (and .txt beside it)", p.display()),
        None => eprintln!("kha-tui: the report could not be saved next to the logs"),
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
