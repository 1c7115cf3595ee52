use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{fit, trunc, wrap};
use crate::tui::model::{Model, Popup};
use crate::tui::theme::Theme;

fn buttons(no: &str, yes: &str, yes_on: bool, t: &Theme, danger: bool) -> Line<'static> {
    let on = |b: bool| if b { t.button_on() } else { t.button_off() };
    let yes_style = if yes_on && danger {
        t.danger()
    } else {
        on(yes_on)
    };
    Line::from(vec![
        Span::raw("  "),
        Span::styled(format!("[ {no} ]"), on(!yes_on)),
        Span::raw("   "),
        Span::styled(format!("[ {yes} ]"), yes_style),
    ])
}

/// A command's lines wrapped to `w` columns, each continuation indented like its line.
fn wrap_command(command: &str, w: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in command.lines() {
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        let n = indent.chars().count().min(w / 2);
        let indent: String = indent.chars().take(n).collect();
        for part in wrap(line, w.saturating_sub(n).max(1)) {
            out.push(format!("{indent}{part}"));
        }
    }
    out
}

pub(super) fn frame_at(f: &mut Frame, area: Rect, w: u16, h: u16) -> Rect {
    let r = area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    );
    f.render_widget(Clear, r);
    r
}

pub fn draw(m: &Model, p: &Popup, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    match p {
        Popup::Day2(d) => super::day2_dialog::draw(m, d, f, area),
        Popup::KeyPassword { field, nodes } => {
            super::key_password::draw(m, &field.0, nodes, f, area)
        }
        Popup::HostKey {
            node,
            host,
            algorithm,
            fingerprint,
            yes,
            ..
        } => {
            let w = 76.min(area.width).saturating_sub(4) as usize;
            let mut lines: Vec<Line> = wrap(
                &format!("{node} ({host}) offers a host key kha-tui has never seen:"),
                w,
            )
            .into_iter()
            .map(Line::raw)
            .collect();
            lines.extend([
                Line::raw(""),
                Line::from(vec![Span::styled(format!("  {algorithm}  "), t.dim())]),
                Line::styled(
                    format!("  {}", trunc(fingerprint, w.saturating_sub(2))),
                    t.bold(),
                ),
                Line::raw(""),
            ]);
            for l in wrap(
                "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the node. Accept (y) remembers it in kha-tui's known_hosts; reject (n) connects nowhere.",
                w,
            ) {
                lines.push(Line::styled(l, t.dim()));
            }
            lines.push(Line::raw(""));
            lines.push(buttons("Reject", "Accept", *yes, t, false));
            let r = frame_at(f, area, 76, lines.len() as u16 + 2);
            let block = Block::bordered()
                .title(Span::styled(" Unknown host key ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Confirm {
            step,
            nodes,
            title,
            detail,
            command,
            yes,
            typed,
            scroll,
            ..
        } => {
            let w = 96.min(area.width).saturating_sub(4) as usize;
            let title_lines = wrap(title, w);
            // The command whole: long lines wrap (indent kept) and the block scrolls, never cut.
            let cmd_lines = wrap_command(command, w.saturating_sub(1));
            let want = 2
                + title_lines.len()
                + wrap(detail, w).len().min(4)
                + cmd_lines.len()
                + 3
                + usize::from(typed.is_some())
                + 2;
            let r = frame_at(f, area, 96, (want as u16).clamp(10, area.height));
            let mut head: Vec<Line> = title_lines
                .into_iter()
                .map(|l| Line::styled(l, t.bold()))
                .collect();
            head.extend([
                Line::from(vec![
                    Span::styled("step  ", t.dim()),
                    Span::raw(trunc(step, w.saturating_sub(6))),
                ]),
                Line::from(vec![
                    Span::styled("on    ", t.dim()),
                    Span::styled(trunc(&nodes.join(", "), w.saturating_sub(6)), t.warn()),
                ]),
            ]);
            for l in wrap(detail, w).into_iter().take(4) {
                head.push(Line::raw(l));
            }
            let mut tail: Vec<Line> = Vec::new();
            if let Some((want, got)) = typed {
                let ok = got.text() == want;
                let mut spans = vec![Span::styled(
                    format!("Type the cluster name ({want}) to confirm: "),
                    t.warn(),
                )];
                spans.extend(super::form::value_spans(
                    got.text(),
                    Some(got.cursor()),
                    20,
                    t,
                ));
                spans.push(Span::styled(if ok { " ✓" } else { "" }, t.ok()));
                tail.push(Line::from(spans));
            }
            tail.push(buttons("No (n)", "Yes, run it (y)", *yes, t, true));
            let inner_h = r.height.saturating_sub(2) as usize;
            let cmd_h = inner_h.saturating_sub(head.len() + tail.len() + 2).max(1);
            let top = (*scroll).min(cmd_lines.len().saturating_sub(cmd_h));
            let mut lines = head;
            lines.push(Line::styled(
                fit(
                    &format!(
                        "─ exact command{} ",
                        if cmd_lines.len() > cmd_h {
                            format!(
                                " (lines {}–{} of {}, ↑↓ scroll)",
                                top + 1,
                                (top + cmd_h).min(cmd_lines.len()),
                                cmd_lines.len()
                            )
                        } else {
                            String::new()
                        }
                    ),
                    w,
                ),
                t.dim(),
            ));
            for l in cmd_lines.iter().skip(top).take(cmd_h) {
                lines.push(Line::styled(format!(" {l}"), t.running()));
            }
            for _ in cmd_lines.len().saturating_sub(top).min(cmd_h)..cmd_h {
                lines.push(Line::raw(""));
            }
            lines.push(Line::raw(""));
            lines.extend(tail);
            let block = Block::bordered()
                .title(Span::styled(
                    " Confirm — this step asks first (default: No) ",
                    t.dialog(),
                ))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Stop { yes } => {
            let w = 62.min(area.width).saturating_sub(4) as usize;
            let mut lines: Vec<Line> = wrap(
                "Stop the run? kha-tui ends the commands running on the nodes now and starts nothing new; the screen says stopping until every node has stopped. Steps already done stay done; a step that was cut off runs again from its start when you resume (r).",
                w,
            )
            .into_iter()
            .map(Line::raw)
            .collect();
            lines.push(Line::raw(""));
            lines.push(buttons("Keep running (n)", "Stop (y)", *yes, t, true));
            let r = frame_at(f, area, 62, lines.len() as u16 + 2);
            let block = Block::bordered()
                .title(Span::styled(" Stop? ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Quit { yes } => {
            let w = 56.min(area.width).saturating_sub(4) as usize;
            let text = if m.quit_when_stopped {
                "kha-tui is waiting for the nodes to stop. Quit now without waiting? Commands may still be running on the nodes.".to_string()
            } else if m.run.running {
                "Quit kha-tui? The run is stopped first: the commands running on the nodes are ended, and kha-tui exits once every node has stopped. A later run resumes; steps already done stay done.".to_string()
            } else if m.busy() {
                "Quit kha-tui? The checks still running are stopped first; kha-tui exits once they have.".to_string()
            } else if m.unsaved_edits() && m.screen == crate::tui::model::Screen::Welcome {
                // Ctrl-S does nothing here: the way back to the form is what saves them.
                "Quit kha-tui? Your edits to the inventory are not saved and will be lost (n, then go back to the form; Ctrl-S there saves them).".to_string()
            } else if m.unsaved_edits() {
                "Quit kha-tui? Your edits to the inventory are not saved and will be lost (n, then Ctrl-S saves them).".to_string()
            } else {
                match m.form.as_ref().and_then(|f| f.path.as_ref()) {
                    Some(p) => format!("Quit kha-tui? The inventory is saved in {}.", p.display()),
                    None => "Quit kha-tui?".to_string(),
                }
            };
            let mut lines: Vec<Line> = wrap(&text, w).into_iter().map(Line::raw).collect();
            lines.push(Line::raw(""));
            lines.push(buttons("Stay (n)", "Quit (y)", *yes, t, false));
            let r = frame_at(f, area, 56, lines.len() as u16 + 2);
            let block = Block::bordered()
                .title(Span::styled(" Quit? ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Overwrite { path, yes, .. } => {
            let w = 64.min(area.width).saturating_sub(4) as usize;
            let text = format!(
                "{} already exists. Replace it with this inventory? (n keeps it; Ctrl-S then asks for another path)",
                path.display()
            );
            let mut lines: Vec<Line> = wrap(&text, w).into_iter().map(Line::raw).collect();
            lines.push(Line::raw(""));
            lines.push(buttons("Keep it (n)", "Replace (y)", *yes, t, true));
            let r = frame_at(f, area, 64, lines.len() as u16 + 2);
            let block = Block::bordered()
                .title(Span::styled(" Replace the file? ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Secrets { fields, focus } => {
            let r = frame_at(f, area, 70, 11);
            let mut lines = vec![
                Line::styled(
                    "Kept in memory for this session only: never written, never shown.",
                    t.dim(),
                ),
                Line::raw(""),
            ];
            for (i, label) in ["sudo password", "key passphrase", "SSH password"]
                .iter()
                .enumerate()
            {
                let fld = &fields[i];
                let masked = "•".repeat(fld.text().chars().count());
                let on = i == *focus;
                let mut spans = vec![Span::styled(
                    format!("{} {:<16}", if on { "›" } else { " " }, label),
                    if on { t.bold() } else { Style::new() },
                )];
                spans.extend(super::form::value_spans(
                    &masked,
                    on.then(|| fld.cursor()),
                    30,
                    t,
                ));
                lines.push(Line::from(spans));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "Empty = not needed (NOPASSWD sudo, agent or unencrypted key).",
                t.dim(),
            ));
            let block = Block::bordered()
                .title(Span::styled(" Passwords ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::SaveAs { field, .. } => {
            let w = 76.min(area.width).saturating_sub(4) as usize;
            let mut lines: Vec<Line> = wrap(
                "Where should this inventory be saved? Later saves go to the same file; `kha-tui check --config FILE` checks it.",
                w,
            )
            .into_iter()
            .map(|l| Line::styled(l, t.dim()))
            .collect();
            lines.push(Line::raw(""));
            let mut spans = vec![Span::raw("path ")];
            spans.extend(super::form::value_spans(
                field.text(),
                Some(field.cursor()),
                w.saturating_sub(6),
                t,
            ));
            lines.push(Line::from(spans));
            let r = frame_at(f, area, 76, lines.len() as u16 + 2);
            let block = Block::bordered()
                .title(Span::styled(" Save the inventory as ", t.dialog()))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Help { scroll, .. } => {
            let rows = crate::tui::keymap::help_rows(m);
            let kw = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0)
                .min(30);
            let w = 72.min(area.width).saturating_sub(4) as usize;
            let mut lines: Vec<Line> = Vec::new();
            for (keys, label) in &rows {
                if keys.is_empty() {
                    // A heading (the text field's keys), or the blank line above it.
                    lines.push(Line::styled(label.to_string(), t.title()));
                    continue;
                }
                for (i, l) in wrap(label, w.saturating_sub(kw + 2))
                    .into_iter()
                    .enumerate()
                {
                    let k = if i == 0 { keys.as_str() } else { "" };
                    lines.push(Line::from(vec![
                        Span::styled(fit(k, kw), t.key()),
                        Span::raw("  "),
                        Span::raw(l),
                    ]));
                }
            }
            let h = (lines.len() as u16 + 2).min(area.height);
            let r = frame_at(f, area, 72, h);
            let inner = r.height.saturating_sub(2) as usize;
            let top = (*scroll).min(lines.len().saturating_sub(inner));
            // Say so when the list goes on below (a small terminal): ↓ scrolls to it.
            let more = top + inner < lines.len();
            let lines: Vec<Line> = lines.into_iter().skip(top).collect();
            let block = Block::bordered()
                .title(Span::styled(" Keys on this screen ", t.dialog()))
                .title_bottom(Span::styled(
                    if more {
                        " Esc closes · ↓ more "
                    } else {
                        " Esc closes "
                    },
                    t.dim(),
                ))
                .border_style(t.dialog());
            f.render_widget(
                Paragraph::new(lines)
                    .block(block.padding(ratatui::widgets::Padding::horizontal(1))),
                r,
            );
        }
        Popup::Script {
            title,
            lines: text,
            scroll,
        } => {
            let r = area;
            f.render_widget(Clear, r);
            let h = r.height.saturating_sub(2) as usize;
            let w = r.width.saturating_sub(2) as usize;
            let top = (*scroll).min(text.len().saturating_sub(h));
            let nw = text.len().to_string().len();
            let lines: Vec<Line> = text
                .iter()
                .enumerate()
                .skip(top)
                .take(h)
                .map(|(i, l)| {
                    Line::from(vec![
                        Span::styled(format!("{:>nw$} ", i + 1), t.dim()),
                        Span::styled(
                            trunc(l, w.saturating_sub(nw + 1)),
                            if l.starts_with('#') {
                                t.dim()
                            } else {
                                Style::new()
                            },
                        ),
                    ])
                })
                .collect();
            let block = Block::bordered()
                .title(Span::styled(
                    format!(" {} ", trunc(title, w.saturating_sub(20))),
                    t.title(),
                ))
                .title_bottom(Span::styled(
                    format!(
                        " lines {}–{} of {} ",
                        top + 1,
                        (top + h).min(text.len()),
                        text.len()
                    ),
                    t.dim(),
                ))
                .border_style(t.running());
            f.render_widget(Paragraph::new(lines).block(block), r);
        }
    }
}
