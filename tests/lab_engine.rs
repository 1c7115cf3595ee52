//! The engine over real SSH on lab hosts, for what only a real node shows. Checked outside
//! kha-tui with `lab exec HOST ps`, `ls` and marks the steps leave on the hosts.
//!
//! One lab (`lb,light:16`: one full host, sixteen sshd-only ones) for every scenario; they run
//! side by side, each on hosts of its own. The engine's scenarios get three light hosts each
//! (LB, control plane, worker) and stand-in steps (short shell):
//! - stop mid-step, and a step abandoned at its idle limit (tests/lab_engine/stop.rs);
//! - a quiet step reported quiet (quiet.rs);
//! - a failed state save stops the run (state_save.rs);
//! - a session lost mid-step (lost.rs);
//! - a node's steps run in one long-lived root shell (shell.rs).
//!
//! The CLI's scenario (cli_ctrl_c.rs) types Ctrl-C into the real `kha-tui apply` in tmux, with
//! the real plan on the full host `lb` (and the last light host as its control plane).
//!
//! `KHA_LAB_ENGINE=quiet,lost` runs only those scenarios.

#[path = "lab_engine/cli_ctrl_c.rs"]
mod cli_ctrl_c;
#[path = "common/lab.rs"]
mod lab;
#[path = "lab_engine/lost.rs"]
mod lost;
#[path = "common/prereq.rs"]
mod prereq;
#[path = "lab_engine/quiet.rs"]
mod quiet;
#[path = "lab_engine/run.rs"]
mod run;
#[path = "lab_engine/shell.rs"]
mod shell;
#[path = "lab_engine/state_save.rs"]
mod state_save;
#[path = "lab_engine/stop.rs"]
mod stop;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::{Duration, Instant};

use run::Scene;

type Scenario = (&'static str, fn(&Scene));

const SCENARIOS: &[Scenario] = &[
    ("stop", stop::stopped_mid_step),
    ("timeout", stop::abandoned_at_idle_limit),
    ("quiet", quiet::quiet_steps_are_reported),
    ("save", state_save::a_failed_save_stops_the_run),
    ("lost", lost::a_lost_session_is_cleaned_up_and_resumed),
    ("shell", shell::steps_share_one_root_shell),
];

/// The CLI's scenario: on `lb` and the light host no engine scenario uses.
const CLI: Scenario = ("cli", cli_ctrl_c::ctrl_c_in_apply_ends_the_remote_step);

fn wanted(name: &str) -> bool {
    match std::env::var("KHA_LAB_ENGINE") {
        Ok(list) => list.split(',').any(|x| x.trim() == name),
        Err(_) => true,
    }
}

#[test]
fn engine_on_lab_hosts() {
    if !lab::available("engine_on_lab_hosts") {
        return;
    }
    let t0 = Instant::now();
    let lights = 3 * SCENARIOS.len() + 1;
    let lab = lab::Lab::up(&format!("lb,light:{lights}"));
    println!("lab up: {:.0?}", lab.up_time);
    let light: Vec<lab::Host> = lab
        .hosts
        .iter()
        .filter(|h| h.kind == "light")
        .cloned()
        .collect();
    let mut hosts: Vec<Vec<lab::Host>> = light.chunks(3).map(<[_]>::to_vec).collect();
    hosts.truncate(SCENARIOS.len());
    hosts.push(vec![lab.host("lb").clone(), light[lights - 1].clone()]);
    let all: Vec<&Scenario> = SCENARIOS.iter().chain([&CLI]).collect();
    let results: Vec<(&str, Duration, Result<(), String>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = all
            .iter()
            .zip(&hosts)
            .filter(|((name, _), _)| wanted(name))
            .map(|((name, f), hosts)| {
                let scene = Scene {
                    lab: &lab,
                    hosts,
                    name,
                };
                (
                    *name,
                    sc.spawn(move || {
                        let t = Instant::now();
                        f(&scene);
                        t.elapsed()
                    }),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| match h.join() {
                Ok(d) => (name, d, Ok(())),
                Err(e) => {
                    let msg = prereq::panic_message(&*e);
                    (name, Duration::ZERO, Err(msg))
                }
            })
            .collect()
    });
    let mut failed = vec![];
    for (name, took, r) in &results {
        match r {
            Ok(()) => println!("{name}: ok in {took:.0?}"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    println!("all scenarios: {:.0?}", t0.elapsed());
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
