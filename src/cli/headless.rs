//! The headless viewer: engine events as lines prefixed by node, questions on the terminal.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{CheckStatus, Event, Failure, StepOutcome};

/// Asks "Go ahead? [y/N]" on the terminal. `None` when the run was stopped (Ctrl-C) before an
/// answer: the read is on a thread of its own, so a stop does not wait for Enter.
async fn ask_yes(stop: &CancellationToken) -> Option<bool> {
    eprint!("Go ahead? [y/N] ");
    let _ = std::io::stderr().flush();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A plain thread, not spawn_blocking: the runtime would wait for it on exit.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let _ = tx.send(matches!(line.trim(), "y" | "Y" | "yes"));
    });
    tokio::select! {
        yes = rx => Some(yes.unwrap_or(false)),
        _ = stop.cancelled() => {
            eprintln!();
            None
        }
    }
}

/// Prints events until the channel closes. `confirm_on_tty`: ask y/N for sensitive steps;
/// `stop` ends a question at once (Ctrl-C).
pub async fn print_events(
    mut rx: mpsc::Receiver<Event>,
    confirm_on_tty: bool,
    stop: CancellationToken,
) {
    let mut phases: Vec<String> = vec![];
    // A simulation keeps nothing: its state and logs went to a directory removed at the end.
    let mut sim = false;
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::RunStarted {
                cluster,
                nodes,
                phases: p,
                simulated,
            } => {
                phases = p.iter().map(|p| p.name.clone()).collect();
                sim = simulated;
                let sim = if simulated {
                    " — SIMULATION, no host is touched"
                } else {
                    ""
                };
                println!(
                    "kha-tui: cluster {cluster}, {} hosts, {} phases{sim}",
                    nodes.len(),
                    p.len()
                );
            }
            Event::NodeConnecting { .. } => {}
            Event::NodeConnected { node, detail } => println!("[{node}] connected ({detail})"),
            Event::NodeUnreachable {
                node,
                failure,
                error,
            } => {
                // The error names what failed (authentication, sudo, the network).
                let tag = if failure == Failure::HostKeyChanged {
                    "HOST KEY CHANGED"
                } else {
                    "unreachable"
                };
                println!("[{node}] {tag}: {error}");
            }
            Event::HostKeyQuestion {
                node,
                host,
                algorithm,
                fingerprint,
                reply,
            } => {
                println!(
                    "[{node}] unknown {algorithm} host key for {host}: {fingerprint} — refused (pass --accept-new-host-keys to trust it)"
                );
                let _ = reply.send(false);
            }
            // Passing checks are in the log file; the terminal shows what needs attention.
            Event::PreflightResult(r) if r.status == CheckStatus::Pass => {}
            Event::PreflightResult(r) => {
                let s = match r.status {
                    CheckStatus::Pass => "ok  ",
                    CheckStatus::Warn => "WARN",
                    CheckStatus::Fail => "FAIL",
                };
                if r.fix.is_empty() {
                    println!("[{}] preflight {s} {}: {}", r.node, r.check, r.found);
                } else {
                    println!(
                        "[{}] preflight {s} {}: {} — {}",
                        r.node, r.check, r.found, r.fix
                    );
                }
            }
            Event::PreflightDone { blocking } => {
                if blocking.is_empty() {
                    println!("kha-tui: preflight passed");
                } else {
                    println!(
                        "kha-tui: preflight found {} blocking problem(s)",
                        blocking.len()
                    );
                }
            }
            Event::PhaseStarted { index, name } => {
                println!("== phase {}/{}: {name}", index + 1, phases.len())
            }
            Event::StepStarted {
                node, step, title, ..
            } => println!("[{node}] {step}: {title}"),
            Event::Log { node, line, .. } => println!("[{node}]   {line}"),
            Event::StepFinished {
                node,
                step,
                outcome,
                duration,
            } => match outcome {
                StepOutcome::Succeeded => {
                    println!("[{node}] {step}: ok ({:.1}s)", duration.as_secs_f64())
                }
                StepOutcome::SkippedDone => {
                    println!("[{node}] {step}: done in an earlier run, skipped")
                }
                StepOutcome::NotRun { reason } => println!("[{node}] {step}: not run: {reason}"),
                StepOutcome::Failed { failure, reason } => {
                    println!("[{node}] {step}: FAILED ({failure}): {reason}")
                }
                StepOutcome::Interrupted { reason } => {
                    println!("[{node}] {step}: interrupted: {reason}")
                }
            },
            Event::ConfirmationNeeded {
                step,
                nodes,
                title,
                detail,
                command,
                reply,
            } => {
                let answer = if confirm_on_tty {
                    eprintln!(
                        "\n{title} on {}:\n  {detail}\n  runs: {command}",
                        nodes.join(", ")
                    );
                    ask_yes(&stop).await
                } else {
                    Some(false)
                };
                let yes = answer == Some(true);
                println!(
                    "kha-tui: {step} {}",
                    match answer {
                        Some(true) => "confirmed",
                        Some(false) => "not confirmed",
                        None => "not confirmed: stopped by the operator",
                    }
                );
                let _ = reply.send(yes);
            }
            Event::PhaseFinished {
                name, ok, duration, ..
            } => {
                println!(
                    "== {name} {} after {:.1}s",
                    if ok { "done" } else { "incomplete" },
                    duration.as_secs_f64()
                )
            }
            Event::NodeIdentityChanged { node, detail } => {
                println!(
                    "[{node}] WARNING: this is not the machine the state recorded ({detail}); its earlier records were set aside and every step runs again"
                )
            }
            Event::StepQuiet {
                node,
                step,
                quiet_for,
            } => println!("[{node}] {step}: no output for {}s", quiet_for.as_secs()),
            Event::Stopping { reason } => {
                println!("kha-tui: stopping ({reason}); ending remote commands…")
            }
            Event::ClusterNodes { nodes } => {
                for n in nodes {
                    println!(
                        "kha-tui: node {} {} {} {}",
                        n.name,
                        if n.ready { "Ready" } else { "NotReady" },
                        n.roles,
                        n.version
                    );
                }
            }
            Event::LbPairState { vip, states } => {
                let said: Vec<String> = states
                    .iter()
                    .map(|(n, s)| format!("{n} {}", s.as_deref().unwrap_or("-")))
                    .collect();
                let holder = states
                    .iter()
                    .find(|(_, s)| s.as_deref() == Some("MASTER"))
                    .map(|(n, _)| n.as_str())
                    .unwrap_or("no load balancer");
                println!("kha-tui: vip {vip} on {holder} ({})", said.join(", "));
            }
            Event::RunFinished(s) => {
                // remove-node's and reset's plans say they are done, not that a cluster is ready.
                let day2 = phases.iter().any(|p| {
                    p == "remove"
                        || p.starts_with("reset-")
                        || p == "backup"
                        || p.starts_with("restore-")
                        || p.starts_with("certs-")
                });
                if s.ok && day2 {
                    println!(
                        "kha-tui: done in {:.0}s   (logs: {})",
                        s.total.as_secs_f64(),
                        s.log_dir
                    );
                } else if s.ok {
                    println!(
                        "kha-tui: cluster ready in {:.0}s — endpoint {}, kubeconfig {}",
                        s.total.as_secs_f64(),
                        s.endpoint,
                        s.kubeconfig
                    );
                    if sim {
                        println!("kha-tui: simulation: no state, logs or host keys were kept");
                    } else {
                        println!("kha-tui: next: kubectl get nodes   (logs: {})", s.log_dir);
                    }
                } else {
                    for (node, step, reason) in &s.failures {
                        println!("kha-tui: FAILED on {node} at {step}: {reason}");
                    }
                    if let Some(why) = &s.stopped {
                        println!("kha-tui: stopped: {why}");
                    }
                    if sim {
                        println!(
                            "kha-tui: simulation not finished; it kept no state, so running it again starts over"
                        );
                    } else {
                        println!(
                            "kha-tui: not finished; run the same command again to resume (state: {}, logs: {})",
                            s.state_file, s.log_dir
                        );
                    }
                }
            }
        }
    }
}

/// Whether questions can be asked on this terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Ctrl-C cancels `stop` (the run then ends its remote commands and reports) after printing
/// `saying`; abort the returned task once the run is over.
pub fn cancel_on_ctrl_c(stop: &CancellationToken, saying: String) -> tokio::task::JoinHandle<()> {
    let stop = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("{saying}");
            stop.cancel();
        }
    })
}
