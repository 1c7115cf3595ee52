//! The cluster view: nodes, etcd members, HAProxy's backends per LB (and the VIP holder),
//! certificate expiry (the soonest marked, under 30 days red), bootstrap tokens, and every
//! problem with the action that fixes it. Pure drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::fit;
use crate::day2::status_checks::CERT_WARN_DAYS;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

fn head(t: &Theme, s: String) -> Line<'static> {
    Line::styled(s, t.title())
}

fn row(cells: Vec<(String, Style)>) -> Line<'static> {
    Line::from(
        cells
            .into_iter()
            .map(|(s, st)| Span::styled(s, st))
            .collect::<Vec<_>>(),
    )
}

fn col(s: &str, w: usize) -> String {
    format!("{:<w$} ", fit(s, w))
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let v = &m.cluster_view;
    let w = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let state = match (&v.status, v.loading) {
        (_, true) => "reading the cluster…".to_string(),
        (Some(_), false) => "r refreshes; it refreshes by itself every 10 s".into(),
        (None, false) => String::new(),
    };
    let Some(s) = &v.status else {
        let msg = v.error.clone().unwrap_or_else(|| state.clone());
        f.render_widget(
            Paragraph::new(vec![
                Line::raw(""),
                Line::styled(
                    format!(" {msg}"),
                    if v.error.is_some() { t.err() } else { t.dim() },
                ),
            ])
            .block(Block::bordered().title(" Cluster ")),
            area,
        );
        return;
    };
    let verdict = if s.healthy {
        Line::styled(
            format!(" ✓ {} is healthy — {}", s.cluster, s.endpoint),
            t.ok().patch(t.bold()),
        )
    } else {
        Line::styled(
            format!(
                " ✗ {} — {} problem(s), fixes below — {}",
                s.cluster,
                s.problems.len(),
                s.endpoint
            ),
            t.err().patch(t.bold()),
        )
    };
    lines.push(verdict);
    if let Some(e) = &v.error {
        lines.push(Line::styled(format!(" last refresh failed: {e}"), t.warn()));
    }
    lines.push(Line::styled(format!(" {state}"), t.dim()));
    if !s.problems.is_empty() {
        lines.push(head(t, " Problems".into()));
        for p in &s.problems {
            lines.push(Line::styled(
                format!(" ✗ {}", fit(&p.what, w.saturating_sub(3))),
                t.err(),
            ));
            lines.push(Line::styled(
                format!("   fix: {}", fit(&p.fix, w.saturating_sub(8))),
                t.dim(),
            ));
        }
        // What the wizard does about them from here, on one line (the first one on f).
        let offers: Vec<String> = crate::tui::day2_wizard::offers(m)
            .iter()
            .enumerate()
            .map(|(i, o)| match o {
                crate::tui::day2_wizard::Offer::Remove(n) if i == 0 => format!("f removes {n}"),
                crate::tui::day2_wizard::Offer::Remove(n) => format!("x removes {n}"),
                crate::tui::day2_wizard::Offer::Command(c) => format!("in a shell: {c}"),
            })
            .collect();
        if !offers.is_empty() {
            let s = format!(" ▸ here: {}", offers.join(" · "));
            lines.push(Line::styled(fit(&s, w), t.key()));
        }
    }

    let ok_or = |good: bool| if good { t.ok() } else { t.err() };
    lines.push(head(t, format!(" Nodes ({})", s.nodes.len())));
    for n in &s.nodes {
        let roles = if n.roles.is_empty() {
            "worker".to_string()
        } else {
            n.roles.join(",")
        };
        lines.push(row(vec![
            (format!("   {}", col(&n.name, 14)), Style::default()),
            (col(&n.status, 10), ok_or(n.ready)),
            (col(&roles, 14), t.dim()),
            (col(&n.version, 9), Style::default()),
            (n.age.clone(), t.dim()),
        ]));
    }

    lines.push(head(t, format!(" etcd ({} members)", s.etcd_members.len())));
    for e in &s.etcd_members {
        let name = if e.name.is_empty() {
            "(unstarted)"
        } else {
            &e.name
        };
        let health = match e.healthy {
            Some(true) => "healthy",
            Some(false) => "UNHEALTHY",
            None => "no answer",
        };
        let size = e
            .db_size
            .map(|b| format!("{:.1} MiB", b as f64 / 1048576.0))
            .unwrap_or_else(|| "-".into());
        lines.push(row(vec![
            (format!("   {}", col(name, 14)), Style::default()),
            (col(health, 10), ok_or(e.healthy == Some(true))),
            (col(if e.leader { "leader" } else { "" }, 7), t.bold()),
            (col(&size, 9), t.dim()),
            (e.id.clone(), t.dim()),
        ]));
    }

    for lb in &s.load_balancers {
        let vip = match lb.holds_vip {
            Some(true) => " — holds the virtual address",
            _ => "",
        };
        lines.push(head(t, format!(" HAProxy on {}{vip}", lb.name)));
        if let Some(e) = &lb.error {
            lines.push(Line::styled(
                format!("   {}", fit(e, w.saturating_sub(3))),
                t.err(),
            ));
        }
        for b in &lb.backends {
            lines.push(row(vec![
                (format!("   {}", col(&b.name, 14)), Style::default()),
                (col(&b.status, 10), ok_or(b.up)),
                (col(&format!("{} sess", b.sessions), 9), t.dim()),
                (col(&b.address, 22), t.dim()),
                (b.check.clone(), t.dim()),
            ]));
        }
    }
    if let Some(vip) = &s.vip {
        let who = if vip.holders.is_empty() {
            "nobody".into()
        } else {
            vip.holders.join(", ")
        };
        lines.push(Line::styled(
            format!(" virtual address {}: held by {who}", vip.address),
            ok_or(vip.holders.len() == 1),
        ));
    }

    // Certificates: per control plane, its soonest leaf certificate (the soonest of all marked).
    lines.push(head(t, " Certificates (soonest per control plane)".into()));
    let mut nodes: Vec<&str> = s.certificates.iter().map(|c| c.node.as_str()).collect();
    nodes.dedup();
    for n in nodes {
        if let Some(c) = s
            .certificates
            .iter()
            .filter(|c| c.node == n && !c.authority)
            .min_by_key(|c| c.residual_days)
        {
            let style = if c.residual_days < CERT_WARN_DAYS {
                t.err()
            } else if c.soonest {
                t.warn()
            } else {
                Style::default()
            };
            lines.push(row(vec![
                (
                    format!(" {} {}", if c.soonest { "▸" } else { " " }, col(n, 14)),
                    style,
                ),
                (col(&c.name, 24), style),
                (col(&c.residual, 10), style),
                (c.expires.clone(), t.dim()),
            ]));
        }
    }
    let toks = if s.tokens.is_empty() {
        "none".to_string()
    } else {
        s.tokens
            .iter()
            .map(|k| format!("{} ({})", k.id, k.ttl))
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(row(vec![
        (" Bootstrap tokens: ".into(), t.title()),
        (toks, Style::default()),
    ]));

    if let Some(b) = &s.last_backup {
        lines.push(row(vec![
            (" Last backup: ".into(), t.title()),
            (
                crate::day2::backup_store::describe(b),
                if b.ok { Style::default() } else { t.err() },
            ),
        ]));
    }

    let inner_h = area.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(inner_h);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((v.scroll.min(max_scroll), 0))
            .block(Block::bordered().title(" Cluster ")),
        area,
    );
}
