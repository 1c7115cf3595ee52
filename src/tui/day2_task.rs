//! The runtime side of the wizard's day-2 jobs: the same functions as `kha-tui add-node`,
//! `remove-node` and `reset` (src/day2), their events on the run dashboard's channel, and one
//! [`Msg::Day2Ended`] with the report at the end.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::day2_wizard::{Day2Job, Day2Report};
use super::model::Msg;
use crate::day2::{add_run, inventory_edit, remove_plan::RemoveOptions, remove_run, reset_run};
use crate::engine::{Event, Options, RunSummary};
use crate::inventory::Cluster;
use crate::transport::Transport;

/// The inventory file as it is now, checked.
fn reread(path: &Path) -> Option<(String, Cluster)> {
    let text = std::fs::read_to_string(path).ok()?;
    let file = crate::inventory::parse(&text).ok()?;
    let (c, _) = crate::inventory::ssh_effective::check(&file).ok()?;
    Some((text, c))
}

fn summary_lines(s: &RunSummary) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(why) = &s.stopped {
        v.push(format!("stopped: {why}"));
    }
    for (node, step, reason) in &s.failures {
        v.push(format!(
            "{node}: {step} failed: {}",
            reason.lines().last().unwrap_or("")
        ));
    }
    v
}

pub async fn run<T: Transport>(
    t: Arc<T>,
    job: Day2Job,
    opts: Options,
    events: mpsc::Sender<Event>,
    stop: CancellationToken,
    done: mpsc::UnboundedSender<Msg>,
) {
    let title = job.title();
    let mut r = Day2Report {
        ok: false,
        title: title.clone(),
        lines: vec![],
        inventory: None,
        reset: false,
    };
    match job {
        Day2Job::Add {
            cluster,
            config,
            text,
        } => {
            // The operator said yes to exactly this text (validated in the dialog).
            if let Err(e) = inventory_edit::write(&config, &text) {
                r.lines.push(format!(
                    "cannot write {}: {e}; nothing was changed",
                    config.display()
                ));
            } else {
                r.lines.push(format!(
                    "{} has the new [[nodes]] entry (comments kept)",
                    config.display()
                ));
                let cfg = config.display().to_string();
                match add_run::prepare_addition(t.clone(), &cluster, &opts, &cfg, stop.clone())
                    .await
                {
                    Err(e) => r.lines.push(e.to_string()),
                    Ok(a) => {
                        r.lines.push(format!(
                            "adding {}; join secrets from {}",
                            a.new_nodes.join(", "),
                            a.source
                        ));
                        match add_run::run_addition(t, &a, &opts, events, stop).await {
                            Ok(s) => {
                                r.ok = s.ok;
                                r.lines.extend(summary_lines(&s));
                            }
                            Err(e) => r.lines.push(e.to_string()),
                        }
                    }
                }
                r.inventory = reread(&config);
            }
        }
        Day2Job::Remove {
            cluster,
            config,
            node,
            unreachable,
        } => {
            let o = RemoveOptions {
                unreachable,
                ..Default::default()
            };
            let cfg = config.display().to_string();
            match remove_run::prepare_removal(
                t.clone(),
                &cluster,
                &opts,
                &cfg,
                &node,
                &o,
                stop.clone(),
            )
            .await
            {
                Err(e) => r.lines.push(format!("{e:#}")),
                Ok(Err(refused)) => r
                    .lines
                    .push(format!("refused, nothing was changed: {refused}")),
                Ok(Ok(rm)) => {
                    r.lines.extend(rm.notes.iter().cloned());
                    match remove_run::run_removal(t, &rm, &config, &opts, events, stop).await {
                        Ok(s) => {
                            r.ok = s.ok;
                            if s.ok {
                                r.lines.push(format!(
                                    "{node} removed; {} no longer lists it",
                                    config.display()
                                ));
                            }
                            r.lines.extend(summary_lines(&s));
                        }
                        Err(e) => r.lines.push(format!("{e:#}")),
                    }
                }
            }
            r.inventory = reread(&config);
        }
        Day2Job::Reset { cluster } => {
            match reset_run::run_reset(t, &cluster, false, &opts, events, stop).await {
                Err(e) => r.lines.push(format!("{e:#}")),
                Ok(out) => {
                    r.ok = out.summary.ok;
                    r.reset = out.summary.ok;
                    // What stays first: the per-host lines below may be longer than the dialog.
                    r.lines.push(
                        "packages stay installed (kha-tui reset --purge removes them)".into(),
                    );
                    if let Some(a) = &out.archived {
                        r.lines.push(format!(
                            "kha-tui's state for {} archived to {}",
                            cluster.name,
                            a.display()
                        ));
                    }
                    r.lines.extend(summary_lines(&out.summary));
                    for h in cluster.all_hosts() {
                        let lines = out.report.get(&h.name).cloned().unwrap_or_default();
                        if lines.is_empty() {
                            r.lines
                                .push(format!("{}: (nothing reported in this run)", h.name));
                        }
                        for l in lines {
                            r.lines.push(format!("{}: {l}", h.name));
                        }
                    }
                }
            }
        }
        Day2Job::Upgrade { cluster, upgrade } => {
            super::upgrade_task::run(t, &cluster, &upgrade, &opts, events, stop, &mut r).await;
        }
    }
    if r.lines.is_empty() {
        r.lines.push(if r.ok {
            "done".into()
        } else {
            "did not finish".into()
        });
    }
    let _ = done.send(Msg::Day2Ended(Box::new(r)));
}
