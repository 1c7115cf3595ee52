//! The dialog of `K` on the Connect screen: one masked field for the nodes' login password.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::popup::frame_at;
use super::wrap;
use crate::tui::field::Field;
use crate::tui::model::Model;

pub fn draw(m: &Model, field: &Field, nodes: &[String], f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let width: u16 = 72;
    let inner = width.min(area.width).saturating_sub(4).max(10) as usize;
    let mut lines = Vec::new();
    for l in wrap(
        &format!(
            "{} refused kha-tui's key. With their login password (asked once, never stored) \
             kha-tui installs the key in each one's ~/.ssh/authorized_keys, then connects again \
             with the key.",
            nodes.join(", ")
        ),
        inner,
    ) {
        lines.push(Line::raw(l));
    }
    lines.push(Line::raw(""));
    for l in wrap(&key_line(m), inner) {
        lines.push(Line::styled(l, t.dim()));
    }
    lines.push(Line::raw(""));
    let masked = "•".repeat(field.text().chars().count());
    let mut spans = vec![Span::styled("› login password  ", t.bold())];
    spans.extend(super::form::value_spans(
        &masked,
        Some(field.cursor()),
        30,
        t,
    ));
    lines.push(Line::from(spans));
    let r = frame_at(f, area, width, lines.len() as u16 + 2);
    let block = Block::bordered()
        .title(Span::styled(" Install kha-tui's key ", t.dialog()))
        .border_style(t.dialog());
    f.render_widget(
        Paragraph::new(lines).block(block.padding(ratatui::widgets::Padding::horizontal(1))),
        r,
    );
}

/// Which key goes to the nodes (the inventory's, `~` for the home directory so the screen is
/// the same on every machine), and that a missing one is made, with which passphrase.
fn key_line(m: &Model) -> String {
    let key = m
        .cluster
        .as_ref()
        .and_then(|c| c.all_hosts().find_map(|n| n.ssh.identity_file.clone()));
    let Some(p) = key else {
        return "No key file is set (identity_file): set one on the Access page first".into();
    };
    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    let shown = match home.as_ref().and_then(|h| p.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => p.display().to_string(),
    };
    // A key made here takes the session's passphrase (tui::key_setup::node_key).
    let passphrase = if m.secrets.key_passphrase.is_some() {
        "encrypted with the passphrase given with p"
    } else {
        "no passphrase; p gives it one first"
    };
    format!("Key {shown}: generated if it does not exist (ed25519, {passphrase})")
}
