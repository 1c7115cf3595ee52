use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bar, fit, trunc};
use crate::tui::model::Model;
use crate::tui::update::clock;

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let w = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let Some(s) = &d.summary else {
        f.render_widget(Paragraph::new("The run has not finished."), area);
        return;
    };
    // Kubernetes nodes as the cluster itself reports them (never the load balancer, never a
    // guess from the inventory).
    let reported = if s.cluster_nodes.is_empty() {
        d.cluster_nodes.clone().unwrap_or_default()
    } else {
        s.cluster_nodes.clone()
    };
    let ready = reported.iter().filter(|n| n.ready).count();
    let time = if s.total_all_runs > s.total + std::time::Duration::from_secs(1) {
        format!(
            "{} over all runs (this run {})",
            clock(s.total_all_runs),
            clock(s.total)
        )
    } else {
        clock(s.total_all_runs.max(s.total))
    };
    if s.ok {
        let count = if reported.is_empty() {
            "the cluster did not report its nodes".to_string()
        } else {
            format!("{ready} of {} Kubernetes nodes Ready", reported.len())
        };
        lines.push(Line::styled(
            format!(" ✓ Cluster {} is ready — {count}", d.cluster),
            t.ok().patch(t.bold()),
        ));
    } else {
        lines.push(Line::styled(
            format!(
                " ✗ The run stopped: {}",
                s.stopped.clone().unwrap_or_default()
            ),
            t.err(),
        ));
    }
    let lb = d
        .nodes
        .iter()
        .find(|c| c.info.role == crate::inventory::Role::LoadBalancer)
        .map(|c| format!("{} ({})", c.info.name, c.info.address))
        .unwrap_or_else(|| "the load balancer".into());
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {k:<12}"), t.dim()),
            Span::raw(trunc(&v, w.saturating_sub(13))),
        ])
    };
    lines.push(kv("Time", time));
    lines.push(kv("Endpoint", format!("https://{}", s.endpoint)));
    // The pair as keepalived last reported it at the end of the run.
    if let Some((vip, states)) = &d.lb_pair {
        let holder = states
            .iter()
            .find(|(_, st)| st.as_deref() == Some("MASTER"))
            .map(|(n, _)| n.as_str())
            .unwrap_or("no load balancer");
        let each: Vec<String> = states
            .iter()
            .map(|(n, st)| format!("{n} {}", st.as_deref().unwrap_or("—")))
            .collect();
        lines.push(kv(
            "Virtual IP",
            format!("{vip} on {holder} ({})", each.join(", ")),
        ));
    }
    lines.push(kv(
        "Kubeconfig",
        if s.kubeconfig.contains(" on ") {
            s.kubeconfig.clone()
        } else {
            format!("{} on {lb}", s.kubeconfig)
        },
    ));
    lines.push(kv("Logs", s.log_dir.clone()));
    lines.push(kv("State", s.state_file.clone()));

    // Nodes as the cluster reports them, several per line.
    let cell = reported
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(8)
        + 12;
    let per_line = (w.saturating_sub(13) / cell).max(1);
    if reported.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(" Nodes       ", t.dim()),
            Span::styled(
                "not reported by the cluster — check with kubectl get nodes",
                t.warn(),
            ),
        ]));
    }
    for (k, chunk) in reported.chunks(per_line).enumerate() {
        let mut spans = vec![Span::styled(
            if k == 0 {
                " Nodes (k8s) "
            } else {
                "             "
            },
            t.dim(),
        )];
        for n in chunk {
            let (sym, style) = if n.ready {
                ("✓", t.ok())
            } else {
                ("✗", t.err())
            };
            spans.push(Span::styled(format!("{sym} "), style));
            let word = if n.ready { "Ready" } else { "NotReady" };
            spans.push(Span::raw(fit(&format!("{} {word}", n.name), cell - 2)));
        }
        lines.push(Line::from(spans));
    }

    // Time per phase.
    lines.push(Line::styled(
        if d.runs > 1 {
            " Time per phase (this run)"
        } else {
            " Time per phase"
        },
        t.title(),
    ));
    let longest = s
        .phase_durations
        .iter()
        .map(|(_, d)| d.as_secs_f64())
        .fold(0.0, f64::max);
    let bw = w.saturating_sub(30).min(40);
    let budget = (area.height as usize).saturating_sub(lines.len() + 6);
    for (name, du) in s.phase_durations.iter().take(budget.max(1)) {
        let filled = if longest > 0.0 {
            ((du.as_secs_f64() / longest) * bw as f64).round() as usize
        } else {
            0
        };
        let mut sp = vec![Span::raw(format!(
            "   {:<20} {:>6} ",
            trunc(name, 20),
            clock(*du)
        ))];
        sp.extend(bar(filled, bw, bw, t, t.gauge()));
        lines.push(Line::from(sp));
    }
    lines.push(Line::styled(" What next", t.title()));
    lines.push(Line::from(vec![
        Span::raw("   on this node:  "),
        Span::styled("kubectl get nodes", t.bold()),
        Span::styled("   (then: kubectl get pods -A)", t.dim()),
    ]));
    if m.simulated {
        lines.push(Line::styled(
            "   SIMULATION: no host was touched (its state is dropped when the demo ends); run `kha-tui` for the real thing.",
            t.warn(),
        ));
    } else {
        lines.push(Line::styled(
            "   keep the state file: a later run resumes from it.",
            t.dim(),
        ));
    }
    let block = Block::bordered()
        .title(Span::styled(" Done ", t.title()))
        .border_style(if s.ok { t.ok() } else { t.err() });
    f.render_widget(Paragraph::new(lines).block(block), area);
}
