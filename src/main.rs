//! The `kha-tui` command line: the same pipeline as the TUI, headless.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use kha_tui::inventory::{self, LoadError, Severity};
use kha_tui::plan;
use kha_tui::versions::Table;

#[derive(Parser)]
#[command(
    name = "kha-tui",
    version,
    about = "Turn bare Ubuntu/Debian hosts into a highly available Kubernetes cluster with kubeadm"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kha-tui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads an inventory, printing every problem; `None` when it has errors.
fn load(path: &std::path::Path) -> anyhow::Result<Option<inventory::Cluster>> {
    match inventory::load(path) {
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
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
            match format {
                Format::Text => print!("{}", plan::to_text(&p, !brief)),
                Format::Json => println!("{}", plan::to_json(&p)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
