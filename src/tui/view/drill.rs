//! The drill screen: the question (what will stop, where; default No), then the requests
//! counted per second next to the scenario steps as they happen, then a table per scenario.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{fit, trunc};
use crate::drill::record::Second;
use crate::drill::report::ScenarioResult;
use crate::tui::model::Model;
use crate::tui::model_drill::DrillPhase;
use crate::tui::theme::Theme;

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let d = &m.drill;
    let (name, endpoint) = m
        .cluster
        .as_ref()
        .map(|c| (c.name.clone(), c.control_plane_endpoint()))
        .unwrap_or_default();
    let (tag, style) = match &d.phase {
        DrillPhase::Idle | DrillPhase::Preparing => ("preparing", t.running()),
        DrillPhase::Confirm { .. } => ("waiting for your answer", t.warn()),
        DrillPhase::Running => ("running", t.running()),
        DrillPhase::Finished => match &d.report {
            Some(r) if r.ok => ("passed", t.ok()),
            _ => ("FAILED", t.err()),
        },
        DrillPhase::NotRun { .. } => ("not run", t.warn()),
    };
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                fit(
                    &format!(" Failover drill of {name} through https://{endpoint} — "),
                    (head.width as usize).saturating_sub(tag.len() + 1),
                ),
                t.title(),
            ),
            Span::styled(tag, style.patch(t.bold())),
        ])),
        head,
    );
    match &d.phase {
        DrillPhase::Idle | DrillPhase::Preparing => f.render_widget(
            Paragraph::new(
                " Connecting to the load balancers and the control plane, reading the cluster CA and who holds the virtual address. Nothing is stopped yet.",
            )
            .wrap(Wrap { trim: false }),
            body,
        ),
        DrillPhase::NotRun { why } => f.render_widget(
            Paragraph::new(vec![
                Line::styled(format!(" {why}"), t.warn()),
                Line::raw(""),
                Line::styled(" Nothing was stopped.", t.dim()),
            ])
            .wrap(Wrap { trim: false }),
            body,
        ),
        DrillPhase::Confirm { what } => draw_confirm(t, what, f, body),
        DrillPhase::Running | DrillPhase::Finished => {
            // The tables get the room their wrapped lines need; the live panes keep 6 rows.
            let inner_w = body.width.saturating_sub(2).max(1) as usize;
            let table_h = if d.scenarios.is_empty() {
                0
            } else {
                let rows: usize = table_lines(&d.scenarios)
                    .iter()
                    .map(|l| l.chars().count().div_ceil(inner_w).max(1))
                    .sum();
                (rows as u16 + 2).min(body.height.saturating_sub(6))
            };
            let [live, table] =
                Layout::vertical([Constraint::Min(4), Constraint::Length(table_h)]).areas(body);
            let [secs, steps] =
                Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)])
                    .areas(live);
            draw_seconds(t, &d.seconds, f, secs);
            let inner = steps.height.saturating_sub(2) as usize;
            let w = steps.width.saturating_sub(2) as usize;
            let lines: Vec<Line> = d
                .steps
                .iter()
                .skip(d.steps.len().saturating_sub(inner))
                .map(|(s, text)| {
                    Line::from(vec![
                        Span::styled(format!("{s:<11} "), t.dim()),
                        Span::raw(trunc(text, w.saturating_sub(12))),
                    ])
                })
                .collect();
            f.render_widget(
                Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Steps ")),
                steps,
            );
            if table_h > 0 {
                draw_table(t, &d.scenarios, d.saved.as_deref(), f, table);
            }
        }
    }
}

fn draw_confirm(t: &Theme, what: &[String], f: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::styled(" The drill will stop, one after the other:", t.bold()),
        Line::raw(""),
    ];
    for w in what {
        lines.push(Line::raw(format!(" • {w}")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        " Meanwhile kha-tui sends 10 TLS GET /readyz a second through the endpoint and runs kubectl get nodes every second on the load balancer; everything is restored at the end, also after a failure or Ctrl-C.",
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" Go ahead?  ", t.bold()),
        Span::styled(" y = yes ", t.button_off()),
        Span::raw("  "),
        Span::styled(" n / Enter = no ", t.button_on()),
    ]));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Failover drill "),
        ),
        area,
    );
}

/// The newest seconds that fit, newest last: a bar of readyz successes, then the numbers.
fn draw_seconds(t: &Theme, seconds: &[Second], f: &mut Frame, area: Rect) {
    let inner = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = seconds
        .iter()
        .skip(seconds.len().saturating_sub(inner))
        .map(|s| {
            let ok = "█".repeat(s.readyz_ok.min(10) as usize);
            let bad = "█".repeat(s.readyz_failed.min(10) as usize);
            let pad = " ".repeat(10usize.saturating_sub(ok.chars().count() + bad.chars().count()));
            let fail = |n: u32| if n > 0 { t.err() } else { t.dim() };
            Line::from(vec![
                Span::raw(format!(" {:>3}s ", s.at)),
                Span::styled(ok, t.ok()),
                Span::styled(bad, t.err()),
                Span::raw(pad),
                Span::raw(format!(" {:>2}✓ ", s.readyz_ok)),
                Span::styled(format!("{:>2}✗", s.readyz_failed), fail(s.readyz_failed)),
                Span::styled(" │ ", t.dim()),
                Span::raw(format!("{}✓ ", s.kubectl_ok)),
                Span::styled(format!("{}✗", s.kubectl_failed), fail(s.kubectl_failed)),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Per second: readyz │ kubectl "),
        ),
        area,
    );
}

fn ms(v: Option<u64>) -> String {
    v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into())
}

/// The tables as text lines: (line, is a problem, scenario ok) — one source for drawing and for
/// the height they need.
fn table_lines(scenarios: &[ScenarioResult]) -> Vec<String> {
    table_rows(scenarios).into_iter().map(|(l, _)| l).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Row {
    Head(bool),
    Plain,
    Problem,
}

fn table_rows(scenarios: &[ScenarioResult]) -> Vec<(String, Row)> {
    let mut rows = vec![];
    for s in scenarios {
        let mark = if s.ok { "✓" } else { "✗" };
        rows.push((
            format!(
                " {mark} {}: stopped {} at {} · restored at {}",
                s.id, s.stopped, s.stopped_at, s.restored_at
            ),
            Row::Head(s.ok),
        ));
        let tt = &s.totals;
        rows.push((
            format!(
                "   endpoint failed for {} ms · readyz {} ok / {} failed · kubectl get nodes {} ok / {} failed · recovered {}",
                tt.failure_window_ms,
                tt.readyz_ok,
                tt.readyz_failed,
                tt.kubectl_ok,
                tt.kubectl_failed,
                match tt.recovered_at_ms {
                    Some(v) => format!("at +{v} ms"),
                    None if tt.failure_window_ms == 0 => "— never failed".into(),
                    None => "not seen".into(),
                }
            ),
            Row::Plain,
        ));
        rows.push((
            match &s.vip_from {
                Some(from) => format!(
                    "   VIP {from} → {} after {} · holder at the end: {}",
                    s.vip_to.as_deref().unwrap_or("?"),
                    ms(s.vip_moved_after_ms),
                    s.vip_final_holder.as_deref().unwrap_or("?")
                ),
                None => format!(
                    "   HAProxy: backend DOWN after {} · UP {} after the restore",
                    ms(s.backend_down_after_ms),
                    ms(s.backend_up_after_ms)
                ),
            },
            Row::Plain,
        ));
        for p in &s.problems {
            rows.push((format!("   problem: {p}"), Row::Problem));
        }
    }
    rows
}

fn draw_table(
    t: &Theme,
    scenarios: &[ScenarioResult],
    saved: Option<&str>,
    f: &mut Frame,
    area: Rect,
) {
    let lines: Vec<Line> = table_rows(scenarios)
        .into_iter()
        .map(|(text, row)| match row {
            Row::Head(true) => Line::styled(text, t.ok().patch(t.bold())),
            Row::Head(false) => Line::styled(text, t.err().patch(t.bold())),
            Row::Plain => Line::raw(text),
            Row::Problem => Line::styled(text, t.err()),
        })
        .collect();
    let title = match saved {
        Some(p) => format!(" Report — saved to {p} "),
        None => " Report ".to_string(),
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
