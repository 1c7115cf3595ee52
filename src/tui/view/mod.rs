//! `view(&Model, &mut Frame)`: pure drawing. Nothing here changes state; every list draws only
//! the rows that fit.

mod cluster;
mod day2_dialog;
mod done;
mod drill;
mod form;
mod key_password;
mod plan;
mod popup;
mod preflight;
mod run;
#[cfg(test)]
mod small_terminal_tests;
mod upgrade;
mod welcome;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::keymap;
use super::model::{Level, Model, Screen};
use super::theme::Theme;

pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    if area.width < 20 || area.height < 6 {
        f.render_widget(Paragraph::new("terminal too small"), area);
        return;
    }
    let footer = footer_lines(m, area.width);
    let [header, body, status, foot] = split(m, area, footer.len());
    draw_header(m, f, header);
    match m.screen {
        Screen::Welcome => welcome::draw(m, f, body),
        Screen::Form(page) => form::draw(m, page, f, body),
        Screen::Preflight => preflight::draw(m, f, body),
        Screen::Plan => plan::draw(m, f, body),
        Screen::Run => run::draw(m, f, body),
        Screen::Done => done::draw(m, f, body),
        Screen::Drill => drill::draw(m, f, body),
        Screen::Cluster => cluster::draw(m, f, body),
    }
    if let Some((level, text)) = &m.status {
        let t = &m.theme;
        let (sym, style) = match level {
            Level::Info => ("ℹ", t.ok()),
            Level::Warn => ("!", t.warn()),
            Level::Error => ("✗", t.err()),
        };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!(" {sym} "), style),
                Span::styled(fit(text, status.width.saturating_sub(3) as usize), style),
            ])),
            status,
        );
    }
    f.render_widget(Paragraph::new(footer), foot);
    if let Some(p) = m.popups.front() {
        popup::draw(m, p, f, body);
    }
}

/// Header, body, status line and footer (`footer_h` lines).
fn split(m: &Model, area: Rect, footer_h: usize) -> [Rect; 4] {
    let status_h = u16::from(m.status.is_some());
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(status_h),
        Constraint::Length(footer_h as u16),
    ])
    .areas(area)
}

/// Where the run screen's log pane is (border included) at the terminal size of the last
/// resize: `update` pages by its height.
pub fn log_pane(m: &Model) -> Rect {
    let area = Rect::new(0, 0, m.size.0, m.size.1);
    let body = split(m, area, footer_lines(m, area.width).len())[1];
    run::log_area(m, body)
}

pub use run::wrapped_rows;

const CRUMBS: [&str; 6] = ["Welcome", "Inventory", "Connect", "Plan", "Run", "Done"];

fn draw_header(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let mut spans = vec![Span::styled(
        " kha-tui ",
        t.header().add_modifier(ratatui::style::Modifier::BOLD),
    )];
    let sim = if m.simulated { " SIMULATION " } else { "" };
    let cur = m.screen.crumb();
    let full: usize = CRUMBS.iter().map(|c| c.len() + 3).sum::<usize>() + 9 + sim.len() + 2;
    if full <= area.width as usize {
        for (i, c) in CRUMBS.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" › ", t.header()));
            }
            let style = if i == cur {
                t.crumb()
            } else if i < cur {
                t.header()
            } else {
                t.header().patch(t.dim())
            };
            spans.push(Span::styled(
                format!("{}{c}", if i == cur { " " } else { "" }),
                style,
            ));
            if i == cur {
                spans.push(Span::styled(" ", style));
            }
        }
    } else {
        spans.push(Span::styled(
            format!(" {}/6 {} ", cur + 1, CRUMBS[cur]),
            t.crumb(),
        ));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + sim.len());
    spans.push(Span::styled(" ".repeat(pad), t.header()));
    if m.simulated {
        spans.push(Span::styled(sim, t.sim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.header()), area);
}

/// The footer, from the keymap: one line, or two when the keys do not fit in one.
pub fn footer_lines(m: &Model, width: u16) -> Vec<Line<'static>> {
    let t = &m.theme;
    let entry = |hint: &str, label: &str| hint.chars().count() + label.chars().count() + 4;
    // Save, help and quit always show: the other keys give way to them on a narrow terminal.
    let pinned = |a: keymap::Action| {
        matches!(
            a,
            keymap::Action::Save | keymap::Action::Help | keymap::Action::QuitAsk
        )
    };
    let all: Vec<keymap::Binding> = keymap::bindings(m)
        .into_iter()
        .filter(|b| !b.hint.is_empty())
        .collect();
    let reserved: usize = all
        .iter()
        .filter(|b| pinned(b.action))
        .map(|b| entry(b.hint, b.label))
        .sum();
    let width = width as usize;
    let mut pending = reserved;
    let mut lines: Vec<Vec<Span<'static>>> = vec![vec![]];
    let mut used = 0usize;
    let mut full = false;
    for bd in &all {
        let w = entry(bd.hint, bd.label);
        let pin = pinned(bd.action);
        if pin {
            pending -= w;
        } else if full {
            continue;
        }
        // On the second (last) line, room is left for the pinned keys still to come.
        let fits = |used: usize, lines: usize| {
            used == 0 || used + w + if lines == 2 && !pin { pending } else { 0 } <= width
        };
        if !fits(used, lines.len()) {
            if lines.len() == 1 {
                lines.push(vec![]);
                used = 0;
            }
            if !fits(used, 2) || (used == 0 && !pin && w + pending > width) {
                // Later keys are less important: none of them jumps ahead of this one.
                full |= !pin;
                continue;
            }
        }
        let cur = lines.last_mut().expect("a line");
        cur.push(Span::styled(format!(" {} ", bd.hint), t.key()));
        cur.push(Span::raw(format!(" {} ", bd.label)));
        used += w;
    }
    lines.into_iter().map(Line::from).collect()
}

/// Truncates to `w` characters (with an ellipsis) and pads with spaces to exactly `w`.
pub fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        let mut out = String::with_capacity(w);
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - n));
        out
    } else if w == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(w - 1).collect();
        out.push('…');
        out
    }
}

/// Truncates to at most `w` characters, with an ellipsis.
pub fn trunc(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else if w == 0 {
        String::new()
    } else {
        let mut out: String = s.chars().take(w - 1).collect();
        out.push('…');
        out
    }
}

/// Word-wraps to lines of at most `w` characters (long words are cut).
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let cl = cur.chars().count();
            let wl = word.chars().count();
            if cl == 0 && wl > w {
                out.push(word.chars().take(w).collect());
                word = word.chars().skip(w).collect();
                continue;
            }
            if cl + usize::from(cl > 0) + wl <= w {
                if cl > 0 {
                    cur.push(' ');
                }
                cur.push_str(&word);
                break;
            }
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// A progress bar of `w` cells.
pub fn bar(done: usize, total: usize, w: usize, t: &Theme, style: Style) -> Vec<Span<'static>> {
    let filled = (done.min(total) * w).checked_div(total).unwrap_or(0);
    vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(w - filled), t.dim()),
    ]
}

/// The first row of a window of `height` rows over `len` rows that keeps `selected` visible,
/// near the middle once the list scrolls.
pub fn window_top(selected: usize, len: usize, height: usize) -> usize {
    if len <= height || height == 0 {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

pub fn role_short(r: crate::inventory::Role) -> &'static str {
    match r {
        crate::inventory::Role::LoadBalancer => "lb",
        crate::inventory::Role::ControlPlane => "cp",
        crate::inventory::Role::Worker => "worker",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_fit() {
        assert_eq!(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(window_top(0, 100, 10), 0);
        assert_eq!(window_top(50, 100, 10), 45);
        assert_eq!(window_top(99, 100, 10), 90);
    }
}
