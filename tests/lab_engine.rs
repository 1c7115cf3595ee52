//! The engine over real SSH on lab hosts, for what only a real node shows. Checked outside
//! kha-tui with `lab exec HOST ps`, `ls` and marks the steps leave on the hosts.
//!
//! One lab (`light:15`: sshd-only hosts) for every scenario; they run side by side, each on
//! three hosts of its own (LB, control plane, worker), with stand-in steps (short shell):
//! - stop mid-step, and a step abandoned at its idle limit (tests/lab_engine/stop.rs);
//! - a quiet step reported quiet (quiet.rs);
//! - a failed state save stops the run (state_save.rs);
//! - a session lost mid-step (lost.rs).
//!
//! `KHA_LAB_ENGINE=quiet,lost` runs only those scenarios.

#[path = "common/lab.rs"]
mod lab;
#[path = "lab_engine/lost.rs"]
mod lost;
#[path = "lab_engine/quiet.rs"]
mod quiet;
#[path = "lab_engine/run.rs"]
mod run;
#[path = "lab_engine/state_save.rs"]
mod state_save;
#[path = "lab_engine/stop.rs"]
mod stop;

use std::time::{Duration, Instant};

use run::Scene;

type Scenario = (&'static str, fn(&Scene));

const SCENARIOS: &[Scenario] = &[
    ("stop", stop::stopped_mid_step),
    ("timeout", stop::abandoned_at_idle_limit),
    ("quiet", quiet::quiet_steps_are_reported),
    ("save", state_save::a_failed_save_stops_the_run),
    ("lost", lost::a_lost_session_is_cleaned_up_and_resumed),
];

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
    let lab = lab::Lab::up(&format!("light:{}", 3 * SCENARIOS.len()));
    println!("lab up: {:.0?}", lab.up_time);
    let results: Vec<(&str, Duration, Result<(), String>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = SCENARIOS
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| wanted(name))
            .map(|(i, (name, f))| {
                let scene = Scene {
                    lab: &lab,
                    hosts: &lab.hosts[3 * i..3 * i + 3],
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
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
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
