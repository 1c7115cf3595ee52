//! `kha-tui fix`: the headless form of the wizard's `f` on the preflight screen. Runs preflight,
//! shows every fix kha-tui knows for what it found (what it runs, on which node), asks once
//! (or `--yes`), applies them through `engine::fix` and runs preflight again.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::headless;
use crate::engine::{self, CheckResult, CheckStatus, Options};
use crate::inventory::Cluster;
use crate::transport::Transport;

/// The findings a fix exists for, on `only` (a node name) or every node.
pub fn fixable(c: &Cluster, results: &[CheckResult], only: Option<&str>) -> Vec<CheckResult> {
    results
        .iter()
        .filter(|r| r.status != CheckStatus::Pass && r.fixable.is_some())
        .filter(|r| only.is_none_or(|n| n == r.node))
        .filter(|r| engine::fix::fix_step(c, &r.node, r.fixable.as_deref().unwrap_or("")).is_some())
        .cloned()
        .collect()
}

async fn preflight<T: Transport>(t: &Arc<T>, c: &Cluster, opts: &Options) -> Vec<CheckResult> {
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, CancellationToken::new()));
    let results = engine::run_preflight(t.clone(), c, opts, tx, CancellationToken::new()).await;
    let _ = printer.await;
    results
}

/// Returns whether preflight passes after the fixes (or, with nothing to fix, as it is).
/// Without `yes` it asks on the terminal; without a terminal nothing runs.
pub async fn run<T: Transport>(
    t: Arc<T>,
    c: &Cluster,
    opts: &Options,
    only: Option<&str>,
    yes: bool,
) -> anyhow::Result<bool> {
    let results = preflight(&t, c, opts).await;
    let found = fixable(c, &results, only);
    if found.is_empty() {
        println!("kha-tui: no finding that kha-tui can fix");
        return Ok(engine::preflight::blocking(&results, &opts.ignore_preflight).is_empty());
    }
    println!("kha-tui fix will run:");
    for r in &found {
        let step = engine::fix::fix_step(c, &r.node, r.fixable.as_deref().unwrap_or(""))
            .expect("filtered");
        let env: Vec<String> = step.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "  [{}] {}: {} ({})\n      found: {}\n      {}",
            r.node,
            step.id,
            step.title,
            env.join(" "),
            r.found,
            r.fix
        );
    }
    if !yes {
        if !headless::stdin_is_terminal() {
            anyhow::bail!(
                "there is no terminal to ask on, so nothing ran; run it from a terminal or pass --yes"
            );
        }
        eprint!("Go ahead? [y/N] ");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            println!("kha-tui: nothing ran");
            return Ok(false);
        }
    }
    let (tx, rx) = mpsc::channel(1024);
    let printer = tokio::spawn(headless::print_events(rx, false, CancellationToken::new()));
    let mut failed = vec![];
    for r in &found {
        let fix = r.fixable.as_deref().unwrap_or("");
        if let Err(e) = engine::fix::fix(t.clone(), c, &r.node, fix, opts, tx.clone()).await {
            failed.push(format!("{} on {}: {e}", r.check, r.node));
        }
    }
    drop(tx);
    let _ = printer.await;
    anyhow::ensure!(failed.is_empty(), "fixes failed: {}", failed.join("; "));
    println!("kha-tui: fixes applied; preflight again:");
    let again = preflight(&t, c, opts).await;
    Ok(engine::preflight::blocking(&again, &opts.ignore_preflight).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(node: &str, status: CheckStatus, fixable: Option<&str>) -> CheckResult {
        CheckResult {
            node: node.into(),
            check: "x".into(),
            status,
            found: String::new(),
            fix: String::new(),
            fixable: fixable.map(str::to_string),
        }
    }

    #[test]
    fn only_known_fixes_of_problems_on_the_chosen_node() {
        let all = [
            r("worker1", CheckStatus::Warn, Some("swap-off")),
            r(
                "worker2",
                CheckStatus::Fail,
                Some("firewall-open 10250/tcp"),
            ),
            r("worker3", CheckStatus::Pass, Some("swap-off")),
            r("worker3", CheckStatus::Fail, Some("reboot")),
            r("worker3", CheckStatus::Fail, None),
        ];
        let nodes = |v: Vec<CheckResult>| v.into_iter().map(|r| r.node).collect::<Vec<_>>();
        let c = crate::inventory::validate::check(
            &crate::inventory::parse(crate::inventory::EXAMPLE).unwrap(),
        )
        .unwrap()
        .0;
        assert_eq!(nodes(fixable(&c, &all, None)), ["worker1", "worker2"]);
        assert_eq!(nodes(fixable(&c, &all, Some("worker2"))), ["worker2"]);
    }
}
