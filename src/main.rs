//! The `kha-tui` command line: the same pipeline as the TUI, headless. The words are in
//! `cli::args`; here each subcommand is sent to the code that does it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;

use kha_tui::cli::apply::{check_fail_node, host_names, needs_confirmation, run_headless};
use kha_tui::cli::args::{Cli, Command, Format, SimScratch};
use kha_tui::cli::{self as klib, headless};
use kha_tui::engine::Options;
use kha_tui::inventory::{self, LoadError, Severity};
use kha_tui::plan;
use kha_tui::transport::sim::{SimFleet, SimOptions};
use kha_tui::versions::Table;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
            run_headless(c, &run, opts, true).await
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
            run_headless(c, &run, opts, false).await
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
        Command::Backup {
            config,
            keep,
            install_timer,
            run,
        } => {
            anyhow::ensure!(!run.simulate, "backup --simulate: not available");
            anyhow::ensure!(keep >= 1, "--keep: give at least 1 (the backup just taken)");
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            if install_timer {
                let abs = |p: &std::path::Path| std::path::absolute(p);
                let user = std::env::var("SUDO_USER")
                    .ok()
                    .filter(|u| !u.is_empty())
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "root".into());
                let spec = kha_tui::day2::backup_timer::TimerSpec {
                    cluster: c.name.clone(),
                    exe: std::env::current_exe()?,
                    config: abs(&config)?,
                    keep,
                    data_dir: run.data_dir.as_deref().map(abs).transpose()?,
                    sudo_password_file: run.sudo_password_file.as_deref().map(abs).transpose()?,
                    user,
                };
                let name = kha_tui::day2::backup_timer::install(
                    &spec,
                    std::path::Path::new("/etc/systemd/system"),
                )?;
                println!(
                    "installed {name}.timer (daily) and {name}.service; run one now: systemctl start {name}.service"
                );
                return Ok(ExitCode::SUCCESS);
            }
            // A run that cannot even start (the timer's --sudo-password-file gone, say) is a
            // failed backup too: recorded, so the cluster view does not go on showing the last ok.
            let opts = run.options(None).inspect_err(|e| {
                if let Ok(d) = run.dirs(None) {
                    let last = kha_tui::day2::backup_store::failed_now(&format!("{e:#}"));
                    let _ = kha_tui::day2::backup_store::record_last(&d, &c.name, &last);
                }
            })?;
            kha_tui::cli::backup::backup(c, opts, keep).await
        }
        Command::Restore {
            config,
            from,
            confirm,
            run,
        } => {
            anyhow::ensure!(!run.simulate, "restore --simulate: not available");
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let opts = run.options(None)?;
            kha_tui::cli::backup::restore(c, opts, &from, confirm.as_deref()).await
        }
        Command::Certs {
            action,
            config,
            yes,
            run,
        } => {
            anyhow::ensure!(!run.simulate, "certs --simulate: not available");
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let opts = run.options(None)?;
            if action.is_some() {
                kha_tui::cli::certs::renew(c, opts, yes).await
            } else {
                kha_tui::cli::certs::show(c, opts).await
            }
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
                let t =
                    kha_tui::transport::ssh::cluster_transport(&c, opts.dirs.known_hosts.clone());
                klib::fix::run(t, &c, &opts, node.as_deref(), yes).await?
            };
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Upgrade {
            config,
            to,
            max_unavailable,
            drain_timeout,
            yes,
            run,
        } => {
            anyhow::ensure!(
                !run.simulate,
                "upgrade --simulate: not available; run it against the installed hosts"
            );
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let opts = run.options(None)?;
            let by = format!(
                "{}@{}",
                std::env::var("USER").unwrap_or_else(|_| "root".into()),
                std::fs::read_to_string("/etc/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_default()
            );
            let o = kha_tui::day2::upgrade_plan::UpgradeOptions {
                to,
                max_unavailable,
                drain_timeout,
                by,
            };
            kha_tui::cli::day2::upgrade(c, &config, opts, &o, yes).await
        }
        Command::SshSetup { config, args } => {
            let Some(c) = load(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            Ok(if klib::ssh_setup::headless(c, &args).await? {
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
    let ctrl_c = kha_tui::cli::headless::cancel_on_ctrl_c(
        &stop,
        "kha-tui: stopping the drill: restoring what it stopped, then reporting".into(),
    );
    let t = kha_tui::transport::ssh::cluster_transport(&c, opts.dirs.known_hosts.clone());
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
