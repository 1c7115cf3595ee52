//! The terminal UI: a wizard from the first keystroke to "cluster ready", and a pure view on
//! the engine's events (the engine does not know it exists).
//!
//! Structure: [`model`] (state), [`update`] (`update(&mut Model, Msg) -> Vec<Command>`, synchronous,
//! unit-tested), [`view`] (`view(&Model, &mut Frame)`, pure), [`keymap`] (the one keymap the footer
//! is drawn from), [`runtime`] (the one `select!` loop, the engine tasks, the log file).

pub mod cluster_view;
mod day2_task;
pub mod day2_wizard;
mod drill_task;
pub mod field;
pub mod fixtures;
pub mod fixtures_day2;
pub mod fixtures_drill;
pub mod fixtures_key_setup;
pub mod fixtures_upgrade;
pub mod form;
mod form_ids;
mod form_nodes;
pub mod home;
pub mod key_setup;
pub mod keymap;
mod keymap_day2;
mod keymap_dialogs;
mod keymap_drill;
pub mod keys_reference;
pub mod log_pane;
pub mod logs;
pub mod model;
pub mod model_drill;
pub mod runtime;
pub mod theme;
pub mod trust;
pub mod update;
pub mod upgrade_dialog;
mod upgrade_task;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;

pub use model::{Command, Model, Msg, Screen, Setup, Source};
pub use update::update;
pub use view::view;

use crate::engine::{Dirs, Options};
use crate::inventory::EXAMPLE;
use crate::transport::sim::{SimFleet, SimOptions};

/// `kha-tui demo`: the whole wizard against a simulated fleet.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// This node fails once mid-run, so that retry and resume can be seen (`--fail NODE`).
    pub fail_node: Option<String>,
    /// 1.0 = the install takes about a minute; larger is faster.
    pub speed: f64,
    /// This node presents an unknown host key, so the host-key dialog can be seen.
    pub unknown_host_key: Option<String>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            fail_node: None,
            speed: 1.0,
            unknown_host_key: Some("worker3".into()),
        }
    }
}

/// Runs the demo: the seed topology prefilled (editable), a simulated fleet behind the same
/// `Transport` trait, SIMULATION on screen at all times. State and logs go to a fresh temporary
/// directory `$TMPDIR/kha-tui-demo-PID`; its state is removed at the end (every demo runs the whole
/// flow), its logs are kept. The edited inventory is saved where the operator says (suggested:
/// `demo.toml` in kha-tui's config directory).
pub async fn run_demo(opts: DemoOptions) -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("kha-tui-demo-{}", std::process::id()));
    let dirs = Dirs::under(&root);
    let save_path = runtime::config_dir()
        .unwrap_or_else(|| root.clone())
        .join("demo.toml");
    // worker1 starts with swap on, so the preflight's one-key fix (f) can be seen.
    let fleet = Arc::new(
        SimFleet::new(SimOptions {
            fail_node: opts.fail_node.clone(),
            speed: opts.speed,
            unknown_host_key: opts.unknown_host_key.clone(),
        })
        .with_swap_on("worker1"),
    );
    let mut engine_opts = Options::new(dirs.clone());
    engine_opts.interactive = true;
    engine_opts.simulated = true;
    let model = Model::new(Setup {
        simulated: true,
        save_path,
        sources: vec![Source {
            label: "The seed topology: 1 LB, 3 control planes, 3 workers (editable)".into(),
            path: None,
            text: Ok(EXAMPLE.to_string()),
        }],
    });
    let log = runtime::Logger::open(&dirs.logs.join("tui.log"));
    let r = runtime::run(fleet, model, engine_opts, log).await;
    let _ = std::fs::remove_dir_all(&dirs.state);
    let _ = std::fs::remove_file(&dirs.known_hosts);
    r
}

/// Runs the wizard against real hosts over SSH. `config`: an inventory to offer first; Ctrl-S
/// writes back to it (comments kept). A new inventory is saved where the operator says
/// (`<config dir>/cluster.toml` suggested).
pub async fn run_wizard(config: Option<PathBuf>) -> anyhow::Result<()> {
    let dirs = Dirs::for_user()?;
    let save_path = runtime::config_dir()
        .ok_or_else(|| anyhow::anyhow!("no home directory: cannot place kha-tui's config"))?
        .join("cluster.toml");
    let mut sources = Vec::new();
    if let Some(p) = &config {
        sources.push(Source {
            label: "Continue with the --config inventory".into(),
            path: Some(p.clone()),
            text: std::fs::read_to_string(p).map_err(|e| e.to_string()),
        });
    }
    if save_path.exists() && config.as_deref() != Some(save_path.as_path()) {
        sources.push(Source {
            label: "Continue with the saved inventory".into(),
            path: Some(save_path.clone()),
            text: std::fs::read_to_string(&save_path).map_err(|e| e.to_string()),
        });
    }
    // Trusts what the CLI trusts, the chosen inventory's [ssh] known_hosts included.
    let transport = Arc::new(trust::WizardSsh::new(dirs.known_hosts.clone()));
    let mut engine_opts = Options::new(dirs.clone());
    engine_opts.interactive = true;
    let mut model = Model::new(Setup {
        simulated: false,
        save_path,
        sources,
    });
    // An installed cluster opens on its cluster view (the home screen once a cluster exists).
    if let Some(p) = &config
        && let Some((text, c)) = home::installed_inventory(&dirs.state, p)
    {
        home::open(&mut model, text, p.clone(), c);
    }
    let log = runtime::Logger::open(&dirs.logs.join("tui.log"));
    runtime::run(transport, model, engine_opts, log).await
}

#[cfg(test)]
mod cluster_backup_tests;
#[cfg(test)]
mod day2_wizard_tests;
#[cfg(test)]
mod key_setup_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod update_tests_forms;
#[cfg(test)]
mod upgrade_dialog_tests;
