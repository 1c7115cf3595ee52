//! The upgrade dialog over the cluster view: the minor the cluster runs and the ones above it
//! (only the next can run; a later one shows kubeadm's path), the preflight's answer —
//! kha-tui's notes (containerd, Calico), the plan's phases, `kubeadm upgrade plan` as the first
//! control plane printed it (scrollable) — and the cluster's name to type. Pure drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::popup::frame_at;
use super::wrap;
use crate::tui::model::Model;
use crate::tui::theme::Theme;
use crate::tui::upgrade_dialog::{Stage, UpgradeDialog};

const W: u16 = 100;

fn para(lines: &mut Vec<Line<'static>>, s: &str, w: usize, style: Style) {
    lines.extend(wrap(s, w).into_iter().map(|l| Line::styled(l, style)));
}

fn targets_line(u: &UpgradeDialog, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!(" {} → ", u.from), t.bold())];
    for (i, m) in u.targets.iter().enumerate() {
        let label = if i == 0 {
            format!(" {m} (next) ")
        } else {
            format!(" {m} ")
        };
        spans.push(Span::styled(
            label,
            if i == u.selected {
                t.focus_cell()
            } else {
                t.dim()
            },
        ));
    }
    if u.targets.len() > 1 {
        spans.push(Span::styled("   Tab: another minor", t.dim()));
    }
    Line::from(spans)
}

/// kubeadm's output in a plain box of `│` lines (tabs as spaces, cut at the dialog's width).
fn kubeadm_lines(out: &[String], w: usize, t: &Theme) -> Vec<Line<'static>> {
    out.iter()
        .map(|l| {
            let l = l.replace('\t', "    ");
            let l: String = l.chars().take(w.saturating_sub(2)).collect();
            Line::styled(format!("│ {l}"), t.dim())
        })
        .collect()
}

/// `body` seen through a window of `rows` lines from `scroll`, with where it stands when it
/// does not fit.
fn window(body: Vec<Line<'static>>, scroll: usize, rows: usize, t: &Theme) -> Vec<Line<'static>> {
    if body.len() <= rows {
        return body;
    }
    let rows = rows.saturating_sub(1).max(1);
    let from = scroll.min(body.len().saturating_sub(rows));
    let n = body.len();
    let mut v: Vec<Line<'static>> = body.into_iter().skip(from).take(rows).collect();
    v.push(Line::styled(
        format!("  lines {}–{} of {n} (PgUp/PgDn)", from + 1, from + v.len()),
        t.dim(),
    ));
    v
}

pub fn draw(m: &Model, u: &UpgradeDialog, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let w = W.min(area.width).saturating_sub(4) as usize;
    let first = m
        .cluster
        .as_ref()
        .map(|c| c.first_control_plane().name.clone())
        .unwrap_or_default();
    // head (what runs, the minors), body (the preflight's answer; scrolls), tail (the name).
    let mut head: Vec<Line<'static>> = Vec::new();
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut tail: Vec<Line<'static>> = Vec::new();

    if u.targets.is_empty() {
        para(
            &mut head,
            &format!(
                "{} runs Kubernetes {}, the newest minor in kha-tui's versions table (`kha-tui versions` lists them): nothing to upgrade.",
                u.cluster, u.from
            ),
            w,
            Style::default(),
        );
    } else {
        para(
            &mut head,
            &format!(
                "{} runs Kubernetes {} (its lowest kubelet). kubeadm upgrades one minor at a time; an interrupted upgrade continues here.",
                u.cluster, u.from
            ),
            w,
            t.dim(),
        );
        head.push(targets_line(u, t));
        head.push(Line::raw(""));
        if let Some(why) = u.refusal() {
            para(&mut lines, &why, w, t.err());
        } else {
            match &u.stage {
                Stage::Newest => {}
                Stage::Reading => para(
                    &mut lines,
                    &format!(
                        "Preflight: reading the cluster (every node Ready, etcd healthy, HAProxy's backends UP), containerd on every node, and `kubeadm upgrade plan` on {first}…"
                    ),
                    w,
                    t.dim(),
                ),
                Stage::Failed(e) => para(
                    &mut lines,
                    &format!("The preflight failed, nothing runs: {e}"),
                    w,
                    t.err(),
                ),
                Stage::Read(r) => {
                    match &r.upgrade {
                        Err(e) => para(
                            &mut lines,
                            &format!("Refused, nothing runs: {e}"),
                            w,
                            t.err(),
                        ),
                        Ok(up) => {
                            for n in &up.notes {
                                para(&mut lines, &format!("• {n}"), w, t.warn());
                            }
                            if !up.notes.is_empty() {
                                lines.push(Line::raw(""));
                            }
                            para(
                                &mut lines,
                                "First an etcd backup into kha-tui's data dir (as kha-tui backup), then:",
                                w,
                                Style::default(),
                            );
                            for (i, ph) in up.plan.phases.iter().enumerate() {
                                let n = ph.steps.len();
                                para(
                                    &mut lines,
                                    &format!(
                                        "{}. {} ({n} step{})",
                                        i + 1,
                                        ph.title,
                                        if n == 1 { "" } else { "s" }
                                    ),
                                    w,
                                    t.dim(),
                                );
                            }
                            tail.push(Line::raw(""));
                            tail.push(Line::styled(
                                format!(
                                    "Type the cluster's name, {}, then Enter, to upgrade it to {}:",
                                    u.cluster, up.to
                                ),
                                t.bold(),
                            ));
                            tail.push(super::day2_dialog::field_line(
                                "cluster", &u.typed, true, w, t,
                            ));
                        }
                    }
                    lines.push(Line::raw(""));
                    lines.push(Line::styled(
                        format!("kubeadm upgrade plan on {first}:"),
                        t.title(),
                    ));
                    lines.extend(kubeadm_lines(&r.kubeadm_plan, w, t));
                    if r.kubeadm_plan.is_empty() {
                        lines.push(Line::styled("│ (it printed nothing)", t.dim()));
                    }
                }
            }
        }
    }
    if let Some(e) = &u.error {
        tail.push(Line::raw(""));
        para(&mut tail, e, w, t.err());
    }
    // The body gets what the head and the name leave of the screen.
    let room = (area.height as usize)
        .saturating_sub(head.len() + tail.len() + 2)
        .max(2);
    head.extend(window(lines, u.scroll, room, t));
    head.extend(tail);
    let lines = head;
    let r = frame_at(f, area, W, lines.len() as u16 + 2);
    let block = Block::bordered()
        .title(Span::styled(" Upgrade Kubernetes ", t.dialog()))
        .border_style(t.dialog());
    f.render_widget(
        Paragraph::new(lines).block(block.padding(Padding::horizontal(1))),
        r,
    );
}
