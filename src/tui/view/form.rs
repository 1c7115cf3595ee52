use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{fit, trunc, wrap};
use crate::inventory::{Issue, Severity};
use crate::plan::{INIT_MARK, INIT_MEANS};
use crate::tui::form::{Col, FieldId, Form, Page, Role};
use crate::tui::model::Model;
use crate::tui::theme::Theme;
use crate::versions::{Status, Table};

const LABEL: usize = 20;

/// The visible part of a single-line value, `w` cells wide, with the cursor when focused.
pub fn value_spans(text: &str, cursor: Option<usize>, w: usize, t: &Theme) -> Vec<Span<'static>> {
    let chars: Vec<char> = text.chars().collect();
    let w = w.max(1);
    let start = match cursor {
        Some(c) if c >= w => c + 1 - w,
        _ => 0,
    };
    let vis: String = chars.iter().skip(start).take(w).collect();
    match cursor {
        None => vec![Span::styled(fit(&vis, w), t.input())],
        Some(c) => {
            let at = c - start;
            let before: String = vis.chars().take(at).collect();
            let under: String = vis.chars().nth(at).map(String::from).unwrap_or(" ".into());
            let after: String = vis.chars().skip(at + 1).collect();
            let rest = w.saturating_sub(at + 1);
            vec![
                Span::styled(before, t.input()),
                Span::styled(under, t.input().patch(t.cursor())),
                Span::styled(fit(&after, rest), t.input()),
            ]
        }
    }
}

fn first_issue(f: &Form, id: FieldId) -> Option<(&Issue, usize)> {
    let all: Vec<&Issue> = f.issues_of(id).collect();
    all.first().map(|i| (*i, all.len()))
}

fn issue_style(t: &Theme, i: &Issue) -> Style {
    match i.severity {
        Severity::Error => t.err(),
        Severity::Warning => t.warn(),
    }
}

fn sym(i: &Issue) -> &'static str {
    match i.severity {
        Severity::Error => "✗",
        Severity::Warning => "!",
    }
}

/// A field's line(s): label, value, and the reason beside it (wrapped under itself).
fn field_lines(
    m: &Model,
    f: &Form,
    id: FieldId,
    w: usize,
    hint: Option<String>,
) -> Vec<Line<'static>> {
    let t = &m.theme;
    let focused = f.focused() == Some(id);
    let issue = first_issue(f, id);
    let vw = 26usize.min(w.saturating_sub(LABEL + 10)).max(8);
    let mut label_style = if focused { t.bold() } else { Style::new() };
    if let Some((i, _)) = issue {
        label_style = issue_style(t, i);
    }
    let mut spans = vec![
        Span::styled(if focused { " › " } else { "   " }, t.running()),
        Span::styled(fit(id.label(), LABEL - 3), label_style),
    ];
    match f.choice(id) {
        Some(c) => {
            let text = format!("◂ {c} ▸");
            let style = if focused {
                t.input().patch(t.bold())
            } else {
                t.input()
            };
            spans.push(Span::styled(fit(&text, vw), style));
        }
        None => {
            let field = f.field(id).expect("a text field");
            let mut v = value_spans(field.text(), focused.then(|| field.cursor()), vw, t);
            if let Some((i, _)) = issue {
                for s in &mut v {
                    s.style = s.style.patch(issue_style(t, i));
                }
            }
            spans.extend(v);
        }
    }
    let side = w.saturating_sub(LABEL + vw + 2);
    let mut out = Vec::new();
    let reason: Option<(String, Style)> = match issue {
        Some((i, n)) => {
            let more = if n > 1 {
                format!(" (+{} more)", n - 1)
            } else {
                String::new()
            };
            Some((format!("{} {}{more}", sym(i), i.message), issue_style(t, i)))
        }
        None => hint.map(|h| (h, t.dim())),
    };
    match reason {
        Some((text, style)) if side >= 12 => {
            let parts = wrap(&text, side);
            let max = if issue.is_some() { 3 } else { 1 };
            let n = parts.len();
            for (k, p) in parts.into_iter().take(max).enumerate() {
                let p = if k + 1 == max && n > max {
                    trunc(&format!("{p} …"), side)
                } else {
                    p
                };
                if k == 0 {
                    spans.push(Span::raw("  "));
                    spans.push(Span::styled(p, style));
                    out.push(Line::from(std::mem::take(&mut spans)));
                } else {
                    out.push(Line::from(vec![
                        Span::raw(" ".repeat(LABEL + vw + 2)),
                        Span::styled(p, style),
                    ]));
                }
            }
        }
        _ => out.push(Line::from(spans)),
    }
    out
}

fn section(t: &Theme, title: &str) -> Line<'static> {
    Line::styled(format!(" {title}"), t.title())
}

pub fn draw(m: &Model, page: Page, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let Some(form) = &m.form else { return };
    let detail_text = detail_lines(m, form, area.width.saturating_sub(2) as usize);
    let [tabs, body, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(detail_text.len() as u16),
    ])
    .areas(area);

    // Page tabs with their error counts.
    let mut spans = vec![Span::styled(" Inventory ", t.bold())];
    for p in Page::ALL {
        let e = form.errors_on(p);
        let style = if p == page { t.crumb() } else { t.dim() };
        spans.push(Span::styled(
            format!(" {} {} ", p.number(), short(p)),
            style,
        ));
        if e > 0 {
            spans.push(Span::styled(format!("✗{e}"), t.err()));
        }
        spans.push(Span::raw(" "));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), tabs);

    let w = body.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    // The focused field's lines (first, past the last), to keep it in view.
    let mut focus_span = (0, 0);
    let mut field = |lines: &mut Vec<Line<'static>>, id: FieldId, hint: Option<String>| {
        let start = lines.len();
        lines.extend(field_lines(m, form, id, w, hint));
        if form.focused() == Some(id) {
            focus_span = (start, lines.len());
        }
    };
    match page {
        Page::Access => {
            lines.push(section(
                t,
                "Load balancer — this node runs HAProxy in front of the control planes",
            ));
            for id in [
                FieldId::LbName,
                FieldId::LbAddress,
                FieldId::LbEndpoint,
                FieldId::LbPort,
            ] {
                field(&mut lines, id, None);
            }
            lines.push(section(t, "SSH — how kha-tui reaches every node"));
            for id in [FieldId::SshUser, FieldId::SshPort, FieldId::Auth] {
                field(&mut lines, id, None);
            }
            if !form.use_agent {
                field(&mut lines, FieldId::IdentityFile, None);
            } else {
                lines.push(Line::styled(
                    "   keys offered by the ssh-agent at $SSH_AUTH_SOCK",
                    t.dim(),
                ));
            }
            lines.push(section(
                t,
                "Pair (optional) — a second LB; keepalived moves the virtual IP",
            ));
            for id in [
                FieldId::LbVip,
                FieldId::LbRouterId,
                FieldId::BackupName,
                FieldId::BackupAddress,
            ] {
                field(&mut lines, id, None);
            }
        }
        Page::Nodes => lines.extend(node_tables(
            m,
            form,
            w,
            body.height.saturating_sub(2) as usize,
        )),
        Page::Cluster => {
            let table = Table::get();
            let k8s_hint = table.find(&form.kubernetes).map(|v| {
                format!(
                    "{} · containerd ≥ {}{}",
                    match v.status {
                        Status::Supported => "supported",
                        Status::EndOfLife => "end of life",
                    },
                    v.containerd_min,
                    if v.cgroup_v2 { " · cgroup v2" } else { "" }
                )
            });
            let calico_hint = table
                .find(&form.kubernetes)
                .map(|v| format!("known-good with {}: {}", v.minor, v.calico.join(", ")));
            for (id, hint) in [
                (FieldId::ClusterName, None),
                (FieldId::Kubernetes, k8s_hint),
                (FieldId::Calico, calico_hint),
                (FieldId::PodSubnet, None),
                (FieldId::ServiceSubnet, None),
                (FieldId::Containerd, None),
            ] {
                field(&mut lines, id, hint);
            }
            lines.push(section(
                t,
                "Mirrors — optional; an http:// one needs its signing key's fingerprint",
            ));
            for id in [
                FieldId::PackageMirror,
                FieldId::PackageMirrorKey,
                FieldId::ContainerdMirror,
                FieldId::ContainerdMirrorKey,
                FieldId::ManifestMirror,
            ] {
                field(&mut lines, id, None);
            }
        }
    }
    let others = form.other_issues(page);
    if !others.is_empty() {
        lines.push(Line::raw(""));
        for i in others {
            for (k, l) in wrap(
                &format!("{} {}: {}", sym(i), i.key, i.message),
                w.saturating_sub(2),
            )
            .into_iter()
            .enumerate()
            {
                lines.push(Line::styled(
                    format!("{}{l}", if k == 0 { " " } else { "   " }),
                    issue_style(t, i),
                ));
            }
        }
    }
    // A page taller than the terminal (80×24 with errors) scrolls to keep the focused field in
    // view, and says that more is below or above. On the last field it scrolls to the end, so
    // the issues listed under the fields can be read too.
    let h = body.height.saturating_sub(2) as usize;
    let on_last = form.focus + 1 >= form.focusables(page).len();
    let end = if on_last {
        lines.len().max(focus_span.1)
    } else {
        focus_span.1
    };
    let top = end.saturating_sub(h).min(focus_span.0);
    let below = lines.len() > top + h;
    let lines: Vec<Line> = lines.into_iter().skip(top).collect();
    let mut block = Block::bordered()
        .title(Span::styled(
            format!(" {}. {} ", page.number(), page.title()),
            t.title(),
        ))
        .border_style(t.dim());
    let more = match (top > 0, below) {
        (true, true) => Some(" ↑↓ more "),
        (true, false) => Some(" ↑ more "),
        (false, true) => Some(" ↓ more "),
        (false, false) => None,
    };
    if let Some(more) = more {
        block = block.title_bottom(Span::styled(more, t.dim()));
    }
    f.render_widget(Paragraph::new(lines).block(block), body);

    f.render_widget(Paragraph::new(detail_text), detail);
}

/// Under the page: the focused field's reason and whole fix (or its help), then the page's
/// verdict and the file it saves to. `dw` is the width for the text.
fn detail_lines(m: &Model, form: &Form, dw: usize) -> Vec<Line<'static>> {
    let t = &m.theme;
    let mut d: Vec<Line> = Vec::new();
    if let Some(id) = form.focused() {
        match first_issue(form, id) {
            Some((i, _)) => {
                let text = if i.fix.is_empty() {
                    format!("{}: {}", id.key(), i.message)
                } else {
                    format!("{}: fix: {}", id.key(), i.fix)
                };
                // The whole fix (a fix cut off is no fix), up to four lines.
                for l in wrap(&text, dw).into_iter().take(4) {
                    d.push(Line::styled(format!(" {l}"), issue_style(t, i)));
                }
            }
            None => {
                for l in wrap(&format!("{}: {}", id.label(), id.help()), dw)
                    .into_iter()
                    .take(2)
                {
                    d.push(Line::styled(format!(" {l}"), t.dim()));
                }
            }
        }
    }
    while d.len() < 2 {
        d.push(Line::raw(""));
    }
    let (e, wn) = (form.errors(), form.warnings());
    let (verdict, style) = if e > 0 {
        (
            format!(" ✗ {e} error(s), {wn} warning(s) — Ctrl-G goes to each; Next waits for none"),
            t.err(),
        )
    } else if wn > 0 {
        (format!(" ✓ valid, with {wn} warning(s)"), t.warn())
    } else {
        (" ✓ valid — `kha-tui check` agrees".to_string(), t.ok())
    };
    let file = match &form.path {
        Some(p) => format!(
            "{}{}",
            if form.unsaved() { "unsaved · " } else { "" },
            p.display()
        ),
        None => "new: Ctrl-S asks where to save".into(),
    };
    let room = dw.saturating_sub(verdict.chars().count() + 3);
    // A path keeps its file name when cut; the note for a new file is not a path: it is shown
    // whole or shortened to what it means.
    let file = match &form.path {
        Some(_) if room >= 12 => format!(" · {}", trunc_start(&file, room)),
        None if room >= file.chars().count() => format!(" · {file}"),
        None if room >= 12 => " · new, not saved".into(),
        _ => String::new(),
    };
    d.push(Line::from(vec![
        Span::styled(verdict, style),
        Span::styled(file, t.dim()),
    ]));
    d
}

/// Keeps the end of a long path (its file name), eliding the start.
fn trunc_start(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n + 1 - w).collect();
        format!("…{tail}")
    }
}

fn short(p: Page) -> &'static str {
    match p {
        Page::Access => "LB & SSH",
        Page::Nodes => "Nodes",
        Page::Cluster => "Kubernetes",
    }
}

const COLS: [(Col, usize); 4] = [
    (Col::Name, 11),
    (Col::Address, 16),
    (Col::User, 9),
    (Col::Port, 5),
];

fn node_tables(m: &Model, form: &Form, w: usize, height: usize) -> Vec<Line<'static>> {
    let t = &m.theme;
    let focused = form.focused();
    let mut lines = Vec::new();
    let defaults = [
        String::new(),
        String::new(),
        form.ssh_user.text().to_string(),
        form.ssh_port.text().to_string(),
    ];
    let used: usize = 3 + COLS.iter().map(|(_, cw)| cw + 1).sum::<usize>();
    let side = w.saturating_sub(used + 1);
    // When the tables do not fit, show the rows around the focus.
    let rows_fit = height.saturating_sub(4);
    let frow = match focused {
        Some(FieldId::Node { row, .. }) => row,
        _ => 0,
    };
    let top = super::window_top(frow, form.rows.len(), rows_fit);
    for role in [Role::ControlPlane, Role::Worker] {
        let count = form.rows.iter().filter(|r| r.role == role).count();
        let title = match role {
            Role::ControlPlane => {
                format!("Control planes ({count}) — three for HA; {INIT_MARK} {INIT_MEANS}")
            }
            Role::Worker => format!("Workers ({count})"),
        };
        lines.push(Line::styled(format!(" {title}"), t.title()));
        let mut head = vec![Span::raw("   ")];
        let fcol = match focused {
            Some(FieldId::Node { row, col })
                if form.rows.get(row).is_some_and(|r| r.role == role) =>
            {
                Some(col)
            }
            _ => None,
        };
        for (c, cw) in &COLS {
            let style = if fcol == Some(*c) { t.bold() } else { t.dim() };
            head.push(Span::styled(fit(col_title(*c), cw + 1), style));
        }
        lines.push(Line::from(head));
        if count == 0 {
            lines.push(Line::styled(
                "   (none — Ctrl-N adds a node, Ctrl-T moves the focused one here)",
                t.dim(),
            ));
        }
        for (row, r) in form.rows.iter().enumerate() {
            if r.role != role || row < top || row >= top + rows_fit.max(1) {
                continue;
            }
            let on_row = matches!(focused, Some(FieldId::Node { row: fr, .. }) if fr == row);
            let init = form.init_row() == Some(row);
            let mut spans = vec![
                Span::styled(if on_row { " ›" } else { "  " }, t.running()),
                Span::styled(if init { INIT_MARK } else { " " }, t.warn()),
            ];
            let mut row_issue: Option<&Issue> = None;
            for (k, (col, cw)) in COLS.iter().enumerate() {
                let id = FieldId::Node { row, col: *col };
                let field = r.cell(*col);
                let cell_focus = focused == Some(id);
                let issue = form.issues_of(id).next();
                if row_issue.is_none() {
                    row_issue = issue;
                }
                if field.text().is_empty() && !cell_focus && !defaults[k].is_empty() {
                    spans.push(Span::styled(
                        fit(&defaults[k], *cw),
                        t.input().patch(t.dim()),
                    ));
                } else {
                    let mut v = super::form::value_spans(
                        field.text(),
                        cell_focus.then(|| field.cursor()),
                        *cw,
                        t,
                    );
                    if let Some(i) = issue {
                        for s in &mut v {
                            s.style = s.style.patch(issue_style(t, i));
                        }
                    }
                    if cell_focus {
                        // The focused cell stands out as a whole, not only by its cursor.
                        for s in &mut v {
                            s.style = s.style.patch(t.focus_cell());
                        }
                    }
                    spans.extend(v);
                }
                spans.push(Span::raw(" "));
            }
            if let Some(i) = row_issue
                && side >= 8
            {
                spans.push(Span::styled(
                    trunc(&format!("{} {}", sym(i), i.message), side),
                    issue_style(t, i),
                ));
            } else if init && side >= 8 {
                spans.push(Span::styled(
                    trunc(&format!("{INIT_MARK} {INIT_MEANS}"), side),
                    t.dim(),
                ));
            }
            lines.push(Line::from(spans));
        }
    }
    lines
}

fn col_title(c: Col) -> &'static str {
    match c {
        Col::Name => "Name",
        Col::Address => "Address",
        Col::User => "User",
        Col::Port => "Port",
    }
}
