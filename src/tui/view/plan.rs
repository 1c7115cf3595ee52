use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{fit, trunc, window_top};
use crate::plan::{INIT_MARK, INIT_MEANS, Mode};
use crate::tui::model::{Model, PlanRow};

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let Some(p) = &m.plan.plan else { return };
    let rows = m.plan.rows();
    let w = area.width.saturating_sub(2) as usize;
    // Borders and the two summary lines.
    let h = area.height.saturating_sub(4) as usize;
    let steps = p.steps().count();
    let nodes = m.plan.nodes().len();
    let filter = m.plan.node.clone().unwrap_or_else(|| "all nodes".into());
    let mut lines = vec![
        Line::styled(
            fit(
                &format!(
                    " {} · Kubernetes {} · endpoint {}",
                    p.cluster, p.kubernetes_version, p.endpoint
                ),
                w,
            ),
            t.dim(),
        ),
        Line::from(vec![
            Span::styled(format!(" {INIT_MARK} "), t.warn()),
            Span::styled(
                fit(
                    &format!(
                        "{} {INIT_MEANS} · {steps} steps on {nodes} nodes · showing {filter}",
                        p.init_node
                    ),
                    w.saturating_sub(3),
                ),
                t.dim(),
            ),
        ]),
    ];
    let sel = m.plan.selected.min(rows.len().saturating_sub(1));
    let top = window_top(sel, rows.len(), h);
    for (i, r) in rows.iter().enumerate().skip(top).take(h) {
        let on = i == sel;
        let base = if on { t.selected() } else { Style::new() };
        match *r {
            PlanRow::Phase(pi) => {
                let ph = &p.phases[pi];
                let mode = match ph.mode {
                    Mode::Parallel => "nodes in parallel",
                    Mode::Serial => "one at a time",
                };
                // The mode once: a title that already says it is not repeated.
                let text = if ph.title.contains(mode) {
                    format!("— {}", ph.title)
                } else {
                    format!("— {} ({mode})", ph.title)
                };
                let fold = if m.plan.folded.contains(&pi) {
                    "▸"
                } else {
                    "▾"
                };
                let head = format!(
                    "{}{fold} {} {} ",
                    if on { "▶" } else { " " },
                    pi + 1,
                    ph.name
                );
                let used = head.chars().count();
                lines.push(Line::from(vec![
                    Span::styled(head, base.patch(t.title())),
                    Span::styled(fit(&text, w.saturating_sub(used)), base.patch(t.dim())),
                ]));
            }
            PlanRow::Step(pi, si) => {
                let s = &p.phases[pi].steps[si];
                let mut spans = vec![
                    Span::styled(format!("  {} ", if on { "▶" } else { " " }), base),
                    // The same mark as the node table's, before the name.
                    Span::styled(p.mark(&s.node), base.patch(t.warn())),
                    Span::styled(format!("{:<9} ", trunc(&s.node, 9)), base.patch(t.bold())),
                    Span::styled(
                        format!("{:<16} ", trunc(&s.id, 16)),
                        base.patch(t.running()),
                    ),
                ];
                let mut flag = String::new();
                if s.confirm.is_some() {
                    flag.push_str(" ⚠ asks first");
                }
                if s.sensitive {
                    flag.push_str(" (secrets)");
                }
                let room = w.saturating_sub(32 + flag.chars().count());
                spans.push(Span::styled(fit(&s.title, room), base));
                spans.push(Span::styled(flag, base.patch(t.warn())));
                lines.push(Line::from(spans));
            }
        }
    }
    let block = Block::bordered()
        .title(Span::styled(
            " Plan review — every step, per node, in order ",
            t.title(),
        ))
        .border_style(t.dim());
    f.render_widget(Paragraph::new(lines).block(block), area);
}
