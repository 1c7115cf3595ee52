//! The headless viewer of a drill: a line per second with the requests' successes and
//! failures, the scenario steps as they happen, and the tables at the end.

use tokio::sync::mpsc;

use super::DrillEvent;

/// One second as a line: `t+12s  readyz 10 ok 0 failed  kubectl 1 ok 0 failed`.
pub fn second_line(s: &super::record::Second) -> String {
    format!(
        "t+{:>3}s  readyz {:>2} ok {:>2} failed   kubectl get nodes {} ok {} failed",
        s.at, s.readyz_ok, s.readyz_failed, s.kubectl_ok, s.kubectl_failed
    )
}

/// Prints events until the channel closes; the final report is printed by the caller.
pub async fn print_events(mut rx: mpsc::Receiver<DrillEvent>) {
    while let Some(ev) = rx.recv().await {
        match ev {
            DrillEvent::Second(s) => println!("{}", second_line(&s)),
            DrillEvent::Step { scenario, text } => println!("[{scenario}] {text}"),
            DrillEvent::ScenarioDone(s) => println!(
                "[{}] done: endpoint failed for {} ms; {} readyz and {} kubectl get nodes failed",
                s.id, s.totals.failure_window_ms, s.totals.readyz_failed, s.totals.kubectl_failed
            ),
            DrillEvent::Finished(_) => {}
        }
    }
}
