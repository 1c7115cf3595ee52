use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bar, fit, trunc, window_top};
use crate::tui::logs::LineKind;
use crate::tui::model::{Dashboard, Model, NodeCard, NodeStatus, PhaseStatus};
use crate::tui::theme::Theme;
use crate::tui::update::clock;

pub fn status_look(s: NodeStatus, t: &Theme) -> (&'static str, &'static str, Style) {
    match s {
        NodeStatus::Pending => ("○", "waiting", t.dim()),
        NodeStatus::Connecting => ("◌", "connecting", t.running()),
        NodeStatus::Running => ("●", "running", t.running()),
        NodeStatus::Done => ("✓", "done", t.ok()),
        NodeStatus::Failed => ("✗", "FAILED", t.err()),
        NodeStatus::Unreachable => ("✗", "UNREACHABLE", t.err()),
        NodeStatus::KeyChanged => ("⚠", "KEY CHANGED", t.err()),
        NodeStatus::Stopped => ("■", "stopped", t.warn()),
    }
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let failed = d.failed();
    let banner_h =
        u16::from(!d.running && (!failed.is_empty() || d.summary.as_ref().is_some_and(|s| !s.ok)));
    let [gauge, timeline, banner, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(4),
    ])
    .areas(area);

    // Overall progress.
    let (done, total) = (d.done_steps(), d.total_steps());
    let elapsed = d
        .started
        .map(|s| m.now.saturating_sub(s))
        .unwrap_or_default();
    let state = if d.stopping {
        "stopping…".to_string()
    } else if d.running {
        "running".into()
    } else if let Some(s) = &d.summary {
        if s.ok {
            "finished".into()
        } else {
            "stopped".into()
        }
    } else {
        "starting…".into()
    };
    let right = format!(
        " {done}/{total} steps · {} · {state}{}",
        clock(d.summary.as_ref().map(|s| s.total).unwrap_or(elapsed)),
        if d.runs > 1 {
            format!(" · run {}", d.runs)
        } else {
            String::new()
        }
    );
    let bw = (gauge.width as usize).saturating_sub(right.chars().count() + 10);
    let pct = (done * 100).checked_div(total).unwrap_or(0);
    let mut spans = vec![Span::styled(format!(" {pct:>3}% "), t.bold())];
    spans.extend(bar(
        done,
        total,
        bw,
        t,
        if failed.is_empty() {
            t.gauge()
        } else {
            t.err()
        },
    ));
    spans.push(Span::raw(right));
    f.render_widget(Paragraph::new(Line::from(spans)), gauge);

    // Phase timeline.
    f.render_widget(
        Paragraph::new(timeline_line(d, t, timeline.width as usize)),
        timeline,
    );

    if banner_h > 0 {
        let text = match failed.first() {
            Some(&i) => {
                let c = &d.nodes[i];
                format!(
                    "✗ {} failed: {} — r retries (resumes: steps done are skipped)",
                    c.info.name,
                    c.error.clone().unwrap_or_default()
                )
            }
            None => format!(
                "■ {} — r resumes (steps done are skipped)",
                d.summary
                    .as_ref()
                    .and_then(|s| s.stopped.clone())
                    .unwrap_or_else(|| "stopped".into())
            ),
        };
        f.render_widget(
            Paragraph::new(Line::styled(
                fit(&format!(" {text}"), banner.width as usize),
                t.danger(),
            )),
            banner,
        );
    }

    // Node cards | log pane.
    let nodes_w = if main.width >= 110 { 42 } else { 34 }.min(main.width / 2);
    let [cards, logs] =
        Layout::horizontal([Constraint::Length(nodes_w), Constraint::Min(10)]).areas(main);
    draw_cards(m, f, cards);
    draw_logs(m, f, logs);
}

fn short_phase(name: &str) -> &str {
    match name {
        "load-balancer" => "lb",
        "join-control-planes" => "join-cp",
        "join-workers" => "join-wk",
        n => n,
    }
}

fn timeline_line(d: &Dashboard, t: &Theme, w: usize) -> Line<'static> {
    let long: usize = d
        .phases
        .iter()
        .map(|p| p.info.name.chars().count() + 5)
        .sum();
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in d.phases.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim()));
        }
        let (s, style) = match p.status {
            PhaseStatus::Pending => ("·", t.dim()),
            PhaseStatus::Running => ("▶", t.running()),
            PhaseStatus::Ok => ("✓", t.ok()),
            PhaseStatus::Failed => ("✗", t.err()),
        };
        let name = if long + 1 > w {
            short_phase(&p.info.name)
        } else {
            &p.info.name
        };
        let dur = match (p.duration, long + 1 + d.phases.len() * 5 <= w) {
            (Some(du), true) => format!(" {}", clock(du)),
            _ => String::new(),
        };
        spans.push(Span::styled(format!("{s} {name}{dur}"), style));
    }
    Line::from(spans)
}

fn card_lines(
    c: &NodeCard,
    now: Duration,
    w: usize,
    tall: bool,
    on: bool,
    t: &Theme,
) -> Vec<Line<'static>> {
    let (sym, word, style) = status_look(c.status, t);
    let base = if on { t.selected() } else { Style::new() };
    let role = match c.info.role {
        crate::inventory::Role::LoadBalancer => "lb",
        crate::inventory::Role::ControlPlane => "cp",
        crate::inventory::Role::Worker => "wk",
    };
    let head = format!("{:<9} {role} {}", trunc(&c.info.name, 9), c.info.address);
    let room = w.saturating_sub(3);
    let word_fits = head.chars().count() + 1 + word.len() <= room;
    let mut l1 = vec![Span::styled(
        format!("{}{sym} ", if on { "▶" } else { " " }),
        base.patch(style),
    )];
    if word_fits {
        l1.push(Span::styled(
            fit(&head, room - word.len()),
            base.patch(t.bold()),
        ));
        l1.push(Span::styled(word.to_string(), base.patch(style)));
    } else {
        l1.push(Span::styled(fit(&head, room), base.patch(t.bold())));
    }
    let count = format!(" {}/{}", c.done.min(c.info.steps), c.info.steps);
    let el = c
        .elapsed(now)
        .map(|e| format!(" {}", clock(e)))
        .unwrap_or_default();
    let failed = matches!(
        c.status,
        NodeStatus::Failed | NodeStatus::Unreachable | NodeStatus::KeyChanged
    );
    let what = match (&c.error, &c.step) {
        (Some(e), _) if failed || c.status == NodeStatus::Stopped => e.clone(),
        _ if c.status == NodeStatus::Stopped => "stopped".into(),
        (_, Some((id, title))) if c.status == NodeStatus::Running => {
            if tall {
                title.clone()
            } else {
                id.clone()
            }
        }
        _ if c.status == NodeStatus::Done => "all steps done".into(),
        _ if c.status == NodeStatus::Pending && c.done > 0 => "waiting for the next phase".into(),
        _ => String::new(),
    };
    let what_style = if failed { t.err() } else { t.dim() };
    let bw = if tall {
        w.saturating_sub(3 + count.len() + el.len())
    } else {
        8.min(w / 3)
    };
    let bar_style = match c.status {
        NodeStatus::Failed | NodeStatus::Unreachable | NodeStatus::KeyChanged => t.err(),
        NodeStatus::Done => t.ok(),
        _ => t.running(),
    };
    let mut l2 = vec![Span::raw("   ")];
    l2.extend(bar(c.done, c.info.steps, bw, t, bar_style));
    l2.push(Span::raw(count));
    l2.push(Span::styled(el, t.dim()));
    let mut out = vec![Line::from(l1)];
    if tall {
        out.push(Line::from(l2));
        out.push(Line::styled(
            format!("   {}", trunc(&what, w.saturating_sub(3))),
            what_style,
        ));
    } else {
        let used: usize = l2.iter().map(|s| s.width()).sum();
        l2.push(Span::styled(
            format!(" {}", trunc(&what, w.saturating_sub(used + 1))),
            what_style,
        ));
        out.push(Line::from(l2));
    }
    out
}

fn draw_cards(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let inner_h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(2) as usize;
    let n = d.nodes.len();
    let tall = n * 3 <= inner_h;
    let per = if tall { 3 } else { 2 };
    let fit_n = (inner_h / per).max(1);
    let top = window_top(d.selected, n, fit_n);
    let mut lines = Vec::new();
    for (i, c) in d.nodes.iter().enumerate().skip(top).take(fit_n) {
        lines.extend(card_lines(c, m.now, w, tall, i == d.selected, t));
    }
    let ready = d
        .nodes
        .iter()
        .filter(|c| c.status == NodeStatus::Done)
        .count();
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Nodes · {ready}/{n} done "),
            t.title(),
        ))
        .border_style(t.dim());
    f.render_widget(Paragraph::new(lines).block(block), area);
}

const NODE_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
    Color::Green,
    Color::Yellow,
    Color::LightRed,
];

fn draw_logs(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(2) as usize;
    let ring = d.logs.ring(d.ring_index());
    let start = ring.window_start(d.top, h);
    let prefix_w = if d.all { 9 } else { 0 };
    let mut lines = Vec::with_capacity(h);
    for l in ring.window(start, h) {
        let mut spans = Vec::with_capacity(2);
        if d.all {
            let idx = d.index.get(&*l.node).copied().unwrap_or(NODE_COLORS.len());
            let style = if t.color {
                Style::new().fg(NODE_COLORS[idx % NODE_COLORS.len()])
            } else {
                t.bold()
            };
            spans.push(Span::styled(format!("{} ", fit(&l.node, 8)), style));
        }
        let style = match l.kind {
            LineKind::Stdout => Style::new(),
            LineKind::Stderr => t.warn(),
            LineKind::Marker => t.running(),
            LineKind::Failure => t.err(),
        };
        spans.push(Span::styled(
            trunc(&l.text, w.saturating_sub(prefix_w)),
            style,
        ));
        lines.push(Line::from(spans));
    }
    let who = if d.all {
        "all nodes".to_string()
    } else {
        d.nodes
            .get(d.selected)
            .map(|c| c.info.name.clone())
            .unwrap_or_default()
    };
    let pos = match d.top {
        None => "follow".to_string(),
        Some(_) => format!(
            "paused {}–{}/{}",
            start + 1,
            (start + h as u64).min(ring.end()),
            ring.end()
        ),
    };
    let block = Block::bordered()
        .title(Span::styled(format!(" Log · {who} · {pos} "), t.title()))
        .border_style(t.dim());
    // Lines are cut, never wrapped: the window stays O(height) whatever is buffered.
    f.render_widget(Paragraph::new(lines).block(block), area);
}
