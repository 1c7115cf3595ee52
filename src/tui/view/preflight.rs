use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{fit, role_short, trunc, window_top, wrap};
use crate::engine::events::CheckStatus;
use crate::tui::model::{Conn, Model};

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let pf = &m.preflight;
    let connected = pf
        .nodes
        .iter()
        .filter(|n| n.conn == Conn::Connected)
        .count();
    let changed: Vec<_> = pf
        .nodes
        .iter()
        .filter(|n| n.conn == Conn::KeyChanged)
        .collect();
    let state = if let Some((node, fix)) = &pf.fixing {
        format!("fixing {fix} on {node}…")
    } else if pf.running {
        "checking…".to_string()
    } else if pf.blocking.is_some() {
        let b = pf.blockers().len();
        if b == 0 {
            "done — nothing blocks the run".into()
        } else {
            format!("done — {b} problem(s) block the run")
        }
    } else {
        "not run".into()
    };
    let banner_h = if changed.is_empty() { 0 } else { 2 };
    let grid_h = (pf.nodes.len() as u16 + 3).min(area.height.saturating_sub(banner_h + 5).max(4));
    let [grid, banner, checks] = Layout::vertical([
        Constraint::Length(grid_h),
        Constraint::Length(banner_h),
        Constraint::Min(3),
    ])
    .areas(area);

    // The node grid.
    let w = grid.width.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled(
        fit(
            &format!(
                " {:<10} {:<6} {:<15} {:<13} {}",
                "Node", "Role", "Address", "SSH", "System · checks"
            ),
            w,
        ),
        t.dim(),
    )];
    let rows = grid_h.saturating_sub(3) as usize;
    let top = window_top(pf.selected, pf.nodes.len(), rows);
    for (i, n) in pf.nodes.iter().enumerate().skip(top).take(rows) {
        let (ssh, ssh_style) = match n.conn {
            Conn::Waiting => ("○ waiting", t.dim()),
            Conn::Connecting => ("◌ connecting…", t.running()),
            Conn::Connected => ("✓ connected", t.ok()),
            Conn::Unreachable => ("✗ unreachable", t.err()),
            Conn::KeyChanged => ("⚠ KEY CHANGED", t.danger()),
        };
        let (p, wn, fl) = (
            n.count(CheckStatus::Pass),
            n.count(CheckStatus::Warn),
            n.count(CheckStatus::Fail),
        );
        let on = i == pf.selected;
        let base = if on && !pf.on_checks {
            t.selected()
        } else {
            Style::new()
        };
        let mut spans = vec![
            Span::styled(
                format!("{}{:<10} ", if on { "▶" } else { " " }, trunc(&n.name, 10)),
                base.patch(t.bold()),
            ),
            Span::styled(
                format!("{:<6} {:<15} ", role_short(n.role), trunc(&n.address, 15)),
                base,
            ),
            Span::styled(format!("{ssh:<13} "), base.patch(ssh_style)),
        ];
        let rest = w.saturating_sub(49);
        if matches!(n.conn, Conn::Unreachable | Conn::KeyChanged) {
            spans.push(Span::styled(fit(&n.detail, rest), base.patch(t.err())));
        } else {
            let mut sys = trunc(&n.detail, rest.saturating_sub(14));
            if !n.checks.is_empty() {
                sys.push_str(if sys.is_empty() { "" } else { " · " });
            }
            spans.push(Span::styled(sys, base));
            if !n.checks.is_empty() {
                spans.push(Span::styled(format!("{p}✓ "), base.patch(t.ok())));
                spans.push(Span::styled(
                    format!("{wn}! "),
                    base.patch(if wn > 0 { t.warn() } else { t.dim() }),
                ));
                spans.push(Span::styled(
                    format!("{fl}✗"),
                    base.patch(if fl > 0 { t.err() } else { t.dim() }),
                ));
            }
        }
        lines.push(Line::from(spans));
    }
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " Connect and preflight · {connected}/{} connected · {state} ",
                pf.nodes.len()
            ),
            t.title(),
        ))
        .border_style(if pf.on_checks { t.dim() } else { t.running() });
    f.render_widget(Paragraph::new(lines).block(block), grid);

    if let Some(n) = changed.first() {
        let more = if changed.len() > 1 {
            format!(" (and {} more)", changed.len() - 1)
        } else {
            String::new()
        };
        // The whole warning and its fix are in the pane below when the node is selected.
        let text = format!(
            "⚠ HOST KEY CHANGED for {} ({}){more}: blocked, nothing runs there. Select it (↑↓) for the warning and the fix below.",
            n.name, n.address
        );
        let lines: Vec<Line> = wrap(&text, banner.width as usize - 2)
            .into_iter()
            .take(2)
            .map(|l| Line::styled(fit(&format!(" {l}"), banner.width as usize), t.danger()))
            .collect();
        f.render_widget(Paragraph::new(lines), banner);
    }

    // Checks of the selected node; for a node that cannot be reached, why (whole, wrapped).
    let w = checks.width.saturating_sub(2) as usize;
    let rows = checks.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let node = pf.nodes.get(pf.selected);
    if let Some(n) = node {
        if matches!(n.conn, Conn::Unreachable | Conn::KeyChanged) && !n.detail.is_empty() {
            let style = if n.conn == Conn::KeyChanged {
                t.danger()
            } else {
                t.err()
            };
            for l in wrap(&n.detail, w.saturating_sub(2)) {
                lines.push(Line::styled(format!(" {l}"), style));
            }
        }
        // How the node is reached and where each setting came from (inventory, ssh config
        // line): after a connection error, which it explains.
        if let Some(host) = m.cluster.as_ref().and_then(|c| c.host(&n.name)) {
            let a = crate::plan::access::Access::of(host);
            let via = format!("via {} · key {}", a.address(), a.identity);
            for l in wrap(&via, w.saturating_sub(2)) {
                lines.push(Line::styled(format!(" {l}"), t.dim()));
            }
            for l in wrap(&format!("from {}", a.sources_line()), w.saturating_sub(2)) {
                lines.push(Line::styled(format!(" {l}"), t.dim()));
            }
            if let Some(j) = &a.jump {
                for l in wrap(&format!("jump: {j}"), w.saturating_sub(2)) {
                    lines.push(Line::styled(format!(" {l}"), t.dim()));
                }
            }
        }
        if n.checks.is_empty() {
            lines.push(Line::styled(
                match n.conn {
                    Conn::Unreachable | Conn::KeyChanged => {
                        " no checks: the node cannot be reached"
                    }
                    _ if pf.running => " waiting for results…",
                    _ => " no results",
                },
                t.dim(),
            ));
        }
        for (i, c) in n.checks.iter().enumerate() {
            let ignored = pf.ignored.contains(&c.check);
            let (s, style) = match c.status {
                CheckStatus::Pass => ("✓", t.ok()),
                CheckStatus::Warn => ("!", t.warn()),
                CheckStatus::Fail if ignored => ("-", t.dim()),
                CheckStatus::Fail => ("✗", t.err()),
            };
            let on = pf.on_checks && i == pf.check;
            if on {
                selected_line = lines.len();
            }
            let base = if on { t.selected() } else { Style::new() };
            let mut tail = String::new();
            if c.status != CheckStatus::Pass {
                if let Some(fx) = &c.fixable {
                    tail = format!("  [f: {fx}]");
                }
                if ignored {
                    tail.push_str("  (ignored)");
                }
            }
            let what = if c.status == CheckStatus::Pass || c.fix.is_empty() {
                c.found.clone()
            } else {
                format!("{} — {}", c.found, c.fix)
            };
            // What was found and the fix wrap under the check, never cut.
            let room = w.saturating_sub(16).max(10);
            let parts = wrap(&format!("{what}{tail}"), room);
            for (k, part) in parts.into_iter().enumerate() {
                let head = if k == 0 {
                    vec![
                        Span::styled(format!(" {s} "), base.patch(style)),
                        Span::styled(format!("{:<13}", trunc(&c.check, 13)), base.patch(t.bold())),
                    ]
                } else {
                    vec![Span::styled(" ".repeat(16), base)]
                };
                let mut spans = head;
                spans.push(Span::styled(fit(&part, room), base));
                lines.push(Line::from(spans));
            }
        }
    }
    let top = if selected_line >= rows {
        selected_line + 1 - rows
    } else {
        0
    };
    let lines: Vec<Line> = lines.into_iter().skip(top).take(rows).collect();
    let title = match node {
        Some(n) if n.conn == Conn::KeyChanged => format!(" {} · host key changed ", n.name),
        Some(n) if n.conn == Conn::Unreachable => format!(" {} · cannot be reached ", n.name),
        Some(n) => format!(" Checks · {} ", n.name),
        None => " Checks ".into(),
    };
    let block = Block::bordered()
        .title(Span::styled(title, t.title()))
        .border_style(if pf.on_checks { t.running() } else { t.dim() });
    f.render_widget(Paragraph::new(lines).block(block), checks);
}
