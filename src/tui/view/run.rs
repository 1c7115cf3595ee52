use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bar, fit, trunc, window_top};
use crate::plan::{INIT_MARK, INIT_MEANS};
use crate::tui::logs::{LineKind, LogLine};
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

/// The lines of the banner above the cards: why the run stopped, and for a failed step its
/// status and last lines of output, so the cause is readable without the log pane.
fn banner_lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = &m.theme;
    let d = &m.run;
    let failed = d.failed();
    if d.running || (failed.is_empty() && d.summary.as_ref().is_none_or(|s| s.ok)) {
        return vec![];
    }
    let mut out = Vec::new();
    match failed.first() {
        Some(&i) => {
            let c = &d.nodes[i];
            let more = if failed.len() > 1 {
                format!(" (+{} more node(s))", failed.len() - 1)
            } else {
                String::new()
            };
            let head = match &c.failure {
                Some(fs) => format!("✗ {}: {} failed — {}{more}", c.info.name, fs.step, fs.what),
                None => format!(
                    "✗ {}: {}{more}",
                    c.info.name,
                    c.error.clone().unwrap_or_else(|| "failed".into())
                ),
            };
            out.push(Line::styled(fit(&format!(" {head}"), width), t.danger()));
            if let Some(fs) = &c.failure {
                // The last lines, wrapped, newest kept whole first, within BANNER_ROWS rows.
                let mut rows: Vec<String> = Vec::new();
                for l in fs.last_lines.iter().rev() {
                    let wrapped = wrap(l, width.saturating_sub(5));
                    if !rows.is_empty() && rows.len() + wrapped.len() > BANNER_ROWS {
                        break;
                    }
                    rows.splice(0..0, wrapped);
                }
                rows.truncate(BANNER_ROWS);
                for r in rows {
                    out.push(Line::styled(fit(&format!("   │ {r}"), width), t.err()));
                }
            }
            out.push(Line::styled(
                fit("   r retries (resumes: steps done are skipped)", width),
                t.dim(),
            ));
        }
        None => out.push(Line::styled(
            fit(
                &format!(
                    " ■ {} — r resumes (steps done are skipped)",
                    d.summary
                        .as_ref()
                        .and_then(|s| s.stopped.clone())
                        .unwrap_or_else(|| "stopped".into())
                ),
                width,
            ),
            t.danger(),
        )),
    }
    out
}

/// Rows of a failed step's last lines in the banner.
const BANNER_ROWS: usize = 4;

/// Gauge, timeline, banner, cards, log pane.
fn areas(m: &Model, area: Rect) -> [Rect; 5] {
    let banner_h = banner_lines(m, area.width as usize).len() as u16;
    let banner_h = banner_h.min(area.height.saturating_sub(8));
    let [gauge, timeline, banner, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(4),
    ])
    .areas(area);
    let nodes_w = if main.width >= 110 { 42 } else { 34 }.min(main.width / 2);
    let [cards, logs] =
        Layout::horizontal([Constraint::Length(nodes_w), Constraint::Min(10)]).areas(main);
    [gauge, timeline, banner, cards, logs]
}

/// The log pane inside the run screen's `body`.
pub fn log_area(m: &Model, body: Rect) -> Rect {
    areas(m, body)[4]
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let failed = d.failed();
    let [gauge, timeline, banner, cards, logs] = areas(m, area);

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

    if banner.height > 0 {
        f.render_widget(
            Paragraph::new(banner_lines(m, banner.width as usize)),
            banner,
        );
    }

    // The load-balancer pair, above the cards: which LB holds the VIP, and each one's state.
    let cards = match &d.lb_pair {
        Some((vip, states)) if cards.height > 6 => {
            let [top, rest] =
                Layout::vertical([Constraint::Length(2), Constraint::Min(4)]).areas(cards);
            f.render_widget(
                Paragraph::new(pair_lines(vip, states, t, top.width as usize)),
                top,
            );
            rest
        }
        _ => cards,
    };
    draw_cards(m, f, cards);
    draw_logs(m, f, logs);
}

/// "VIP 10.0.0.5 on lb" and "lb MASTER · lb2 BACKUP", from keepalived's own states.
pub fn pair_lines(
    vip: &str,
    states: &[(String, Option<String>)],
    t: &Theme,
    w: usize,
) -> Vec<Line<'static>> {
    let masters: Vec<&str> = states
        .iter()
        .filter(|(_, s)| s.as_deref() == Some("MASTER"))
        .map(|(n, _)| n.as_str())
        .collect();
    let (holder, style) = match masters.as_slice() {
        [one] => (format!("on {one}"), t.ok()),
        [] => ("on no load balancer".to_string(), t.err()),
        many => (format!("on {} (split brain)", many.join(" and ")), t.err()),
    };
    let mut spans = vec![Span::raw(" ")];
    for (i, (n, s)) in states.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.dim()));
        }
        let st = s.as_deref().unwrap_or("—");
        let look = match st {
            "MASTER" => t.ok(),
            "BACKUP" => t.dim(),
            "—" => t.dim(),
            _ => t.err(),
        };
        spans.push(Span::styled(format!("{n} "), t.bold()));
        spans.push(Span::styled(st.to_string(), look));
    }
    vec![
        Line::from(vec![
            Span::styled(" ◆ VIP ", t.bold()),
            Span::styled(fit(&format!("{vip} {holder}"), w.saturating_sub(7)), style),
        ]),
        Line::from(spans),
    ]
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

/// One node's card. `mark` goes before the name: the init node's mark, as in the node table.
fn card_lines(
    c: &NodeCard,
    now: Duration,
    w: usize,
    tall: bool,
    on: bool,
    mark: &'static str,
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
    let mut l1 = vec![
        Span::styled(
            format!("{}{sym}", if on { "▶" } else { " " }),
            base.patch(style),
        ),
        Span::styled(mark, base.patch(t.warn())),
    ];
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
    let quiet = match c.quiet {
        Some((quiet_for, at)) if c.status == NodeStatus::Running => {
            format!("quiet {} · ", clock(quiet_for + now.saturating_sub(at)))
        }
        _ => String::new(),
    };
    let what = match (&c.error, &c.step) {
        // The typed failure and the step's last line, so the cause shows on the card itself.
        _ if failed && c.failure.is_some() => {
            let fs = c.failure.as_ref().expect("checked");
            let mut s = format!("{}: {}", fs.step, fs.what);
            if let Some(l) = fs.last_lines.last() {
                s.push_str(&format!(" · {l}"));
            }
            s
        }
        (Some(e), _) if failed || c.status == NodeStatus::Stopped => e.clone(),
        _ if c.status == NodeStatus::Stopped => "stopped".into(),
        _ if c.warning.is_some() && c.status != NodeStatus::Running => {
            c.warning.clone().unwrap_or_default()
        }
        (_, Some((id, title))) if c.status == NodeStatus::Running => {
            let what = if tall { title } else { id };
            let warn = if c.warning.is_some() { "⚠ " } else { "" };
            format!("{warn}{quiet}{what}")
        }
        _ if c.status == NodeStatus::Done => "all steps done".into(),
        _ if c.status == NodeStatus::Pending && c.done > 0 => "waiting for the next phase".into(),
        _ => String::new(),
    };
    let what_style = if failed {
        t.err()
    } else if !quiet.is_empty() || c.warning.is_some() {
        t.warn()
    } else {
        t.dim()
    };
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
    let init = m.plan.plan.as_ref().map(|p| p.init_node.as_str());
    let mut lines = Vec::new();
    for (i, c) in d.nodes.iter().enumerate().skip(top).take(fit_n) {
        let mark = if Some(c.info.name.as_str()) == init {
            INIT_MARK
        } else {
            " "
        };
        lines.extend(card_lines(c, m.now, w, tall, i == d.selected, mark, t));
    }
    // What the mark means, on the pane's last row when the cards leave it free.
    if let Some(init) = init
        && lines.len() < inner_h
    {
        lines.resize(inner_h - 1, Line::default());
        lines.push(Line::from(vec![
            Span::styled(format!(" {INIT_MARK} "), t.warn()),
            Span::styled(
                fit(&format!("{init} {INIT_MEANS}"), w.saturating_sub(3)),
                t.dim(),
            ),
        ]));
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

/// Rows `text` takes when wrapped at `width` columns (continuation rows start with a marker).
pub fn wrapped_rows(text: &str, width: usize) -> usize {
    wrap(text, width).len()
}

/// The marker that starts a continuation row.
pub const CONTINUES: &str = "↪ ";

/// Cuts `text` into rows of at most `width` characters; rows after the first start with
/// [`CONTINUES`].
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return vec![text.to_string()];
    }
    let mut rows = vec![chars[..width].iter().collect::<String>()];
    let rest = width - CONTINUES.chars().count();
    for chunk in chars[width..].chunks(rest) {
        let mut r = String::from(CONTINUES);
        r.extend(chunk);
        rows.push(r);
    }
    rows
}

fn draw_logs(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.run;
    let h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(2) as usize;
    let prefix_w = if d.all { 9 } else { 0 };
    // The paused window (or the file's end while the tail is short), else the tail's end.
    let tail = d.logs.ring(d.ring_index());
    let (lines, start, total, paused): (Vec<&LogLine>, u64, u64, bool) = match &d.window {
        Some(win) => (
            win.lines.iter().collect(),
            win.start,
            win.total,
            d.top.is_some(),
        ),
        None => {
            let start = tail.window_start(None, h);
            (tail.window(start, h).collect(), start, tail.end(), false)
        }
    };
    let mut rows: Vec<Line> = Vec::with_capacity(h);
    let mut shown = 0usize;
    for l in &lines {
        let style = match l.kind {
            LineKind::Stdout => Style::new(),
            LineKind::Stderr => t.warn(),
            LineKind::Marker => t.running(),
            LineKind::Failure => t.err(),
        };
        for (k, part) in wrap(&l.text, w.saturating_sub(prefix_w))
            .into_iter()
            .enumerate()
        {
            let mut spans = Vec::with_capacity(2);
            if d.all {
                if k == 0 {
                    let idx = d.index.get(&*l.node).copied().unwrap_or(NODE_COLORS.len());
                    let ns = if t.color {
                        Style::new().fg(NODE_COLORS[idx % NODE_COLORS.len()])
                    } else {
                        t.bold()
                    };
                    spans.push(Span::styled(format!("{} ", fit(&l.node, 8)), ns));
                } else {
                    spans.push(Span::raw(" ".repeat(prefix_w)));
                }
            }
            if k > 0 {
                let (mark, rest) = part.split_at(CONTINUES.len());
                spans.push(Span::styled(mark.to_string(), t.dim()));
                spans.push(Span::styled(rest.to_string(), style));
            } else {
                spans.push(Span::styled(part, style));
            }
            rows.push(Line::from(spans));
        }
        shown += 1;
        // Paused: the top line stays on top. Following: the last lines stay in view.
        if paused && rows.len() >= h {
            break;
        }
    }
    if rows.len() > h {
        if paused {
            rows.truncate(h);
        } else {
            rows.drain(..rows.len() - h);
        }
    }
    let who = if d.all {
        "all nodes".to_string()
    } else {
        d.nodes
            .get(d.selected)
            .map(|c| c.info.name.clone())
            .unwrap_or_default()
    };
    let pos = if paused {
        format!(
            "paused {}–{}/{}",
            start + 1,
            (start + shown as u64).min(total),
            total
        )
    } else {
        "follow".to_string()
    };
    let block = Block::bordered()
        .title(Span::styled(format!(" Log · {who} · {pos} "), t.title()))
        .border_style(t.dim());
    // Only the window's lines are wrapped: a frame stays O(height) whatever is buffered.
    f.render_widget(Paragraph::new(rows).block(block), area);
}
