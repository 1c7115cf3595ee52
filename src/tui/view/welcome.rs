use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{fit, trunc, wrap};
use crate::tui::model::{Model, WelcomeItem};

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let w = area.width.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let intro = "kha-tui turns bare Ubuntu/Debian hosts into a highly available Kubernetes cluster with kubeadm: HAProxy on this load-balancer node in front of the control planes, containerd, kubeadm init and joins, Calico, and every node Ready.";
    for l in wrap(intro, w) {
        lines.push(Line::raw(l));
    }
    let tall = area.height >= 26;
    if tall {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("What will happen", t.title()));
    for l in wrap(
        "describe the nodes → connect over SSH and check them → review every step → run it (asks before kubeadm init) → done: kubeconfig on this node",
        w.saturating_sub(2),
    ) {
        lines.push(Line::raw(format!("  {l}")));
    }
    if tall {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("You need", t.title()));
    for p in [
        "3 control planes: 2 CPU, 2 GB RAM each (Ubuntu 22.04+ / Debian 12+)",
        "workers: 1 CPU, 2 GB RAM each",
        "this node as the load balancer (HAProxy listens on the API port)",
        "root, or a user with sudo, on every node",
        "SSH from this node to all nodes (a key file or the ssh-agent)",
    ] {
        lines.push(Line::raw(format!("  • {}", trunc(p, w.saturating_sub(4)))));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Start", t.title()));
    let items = m.welcome_items();
    let sel = m.welcome.selected.min(items.len() - 1);
    for (i, item) in items.iter().enumerate() {
        let label = match item {
            WelcomeItem::Continue => "Continue editing (nothing was lost)".to_string(),
            WelcomeItem::Source(j) => {
                let s = &m.welcome.sources[*j];
                match &s.path {
                    Some(p) => format!("{} ({})", s.label, p.display()),
                    None => s.label.clone(),
                }
            }
            WelcomeItem::LoadFile => "Load an inventory file…".into(),
            WelcomeItem::New => "Start a new inventory".into(),
        };
        let on = i == sel;
        let text = format!("{} {}", if on { "▶" } else { " " }, label);
        lines.push(Line::styled(
            format!("  {}", fit(&text, w.saturating_sub(2))),
            if on {
                t.selected()
            } else {
                ratatui::style::Style::new()
            },
        ));
        if on && *item == WelcomeItem::LoadFile {
            let field = &m.welcome.path;
            let fw = w.saturating_sub(12).min(60);
            if m.welcome.typing_path {
                let mut spans = vec![Span::raw("      path  ")];
                spans.extend(super::form::value_spans(
                    field.text(),
                    Some(field.cursor()),
                    fw,
                    t,
                ));
                lines.push(Line::from(spans));
            } else {
                lines.push(Line::styled("      Enter: type its path", t.dim()));
            }
        }
    }
    if let Some(e) = &m.welcome.error {
        for l in wrap(&format!("✗ {e}"), w) {
            lines.push(Line::styled(l, t.err()));
        }
    }
    let block = Block::bordered()
        .title(Span::styled(" Welcome to kha-tui ", t.title()))
        .border_style(t.dim());
    f.render_widget(Paragraph::new(lines).block(block), area);
}
