//! The day-2 dialogs over the cluster view: pick a node to remove, confirm its removal (the
//! name typed for a control plane; `unreachable` as a choice when it does not answer), reset
//! (the cluster's name typed; what goes and what stays), and the new node's form. Pure drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::popup::frame_at;
use super::wrap;
use crate::inventory::Role;
use crate::tui::day2_wizard::{ADD_FIELDS, Day2Dialog, Offer};
use crate::tui::field::Field;
use crate::tui::model::Model;
use crate::tui::theme::Theme;

const W: u16 = 78;

fn para(lines: &mut Vec<Line<'static>>, t: &Theme, s: &str, w: usize) {
    lines.extend(wrap(s, w).into_iter().map(|l| Line::styled(l, t.dim())));
}

pub(super) fn field_line(
    label: &str,
    f: &Field,
    focused: bool,
    w: usize,
    t: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{} {label:<8} ", if focused { "▸" } else { " " }),
        if focused { t.bold() } else { t.dim() },
    )];
    spans.extend(super::form::value_spans(
        f.text(),
        focused.then(|| f.cursor()),
        w.saturating_sub(12),
        t,
    ));
    Line::from(spans)
}

fn error(lines: &mut Vec<Line<'static>>, t: &Theme, e: &Option<String>, w: usize) {
    if let Some(e) = e {
        lines.push(Line::raw(""));
        lines.extend(wrap(e, w).into_iter().map(|l| Line::styled(l, t.err())));
    }
}

pub fn draw(m: &Model, d: &Day2Dialog, f: &mut Frame, area: Rect) {
    if let Day2Dialog::Upgrade(u) = d {
        return super::upgrade::draw(m, u, f, area);
    }
    let t = &m.theme;
    let w = W.min(area.width).saturating_sub(4) as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let title = match d {
        Day2Dialog::Pick { nodes, selected } => {
            let offered = crate::tui::day2_wizard::offers(m);
            para(
                &mut lines,
                t,
                "Which node should leave the cluster? Nodes that did not answer the last read come first.",
                w,
            );
            lines.push(Line::raw(""));
            for (i, (name, role, answers)) in nodes.iter().enumerate() {
                let style = if i == *selected {
                    t.selected()
                } else {
                    Default::default()
                };
                lines.push(Line::styled(
                    format!(
                        " {} {name:<16} {:<14} {}",
                        if i == *selected { "▸" } else { " " },
                        role.label(),
                        if !*answers {
                            "does not answer"
                        } else if offered.contains(&Offer::Remove(name.clone())) {
                            "a problem names it"
                        } else {
                            ""
                        }
                    ),
                    style,
                ));
            }
            " Remove a node "
        }
        Day2Dialog::Remove {
            node,
            role,
            answers,
            typed,
            unreachable,
            error: e,
        } => {
            let what = if *role == Role::ControlPlane {
                format!(
                    "{node} is drained, `kubeadm reset -f` and the cleanup run on it, its etcd member is removed from a control plane that stays, its Node object is deleted, and HAProxy's backends on every load balancer are rendered without it."
                )
            } else {
                format!(
                    "{node} is drained, `kubeadm reset -f` and the cleanup run on it, and its Node object is deleted."
                )
            };
            para(&mut lines, t, &what, w);
            para(
                &mut lines,
                t,
                "The inventory file loses its [[nodes]] entry (comments kept).",
                w,
            );
            if !*answers {
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    format!("{node} did not answer the last read."),
                    t.warn(),
                ));
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("[{}] unreachable", if *unreachable { "x" } else { " " }),
                        t.bold(),
                    ),
                    Span::styled(
                        " — it is dead: no drain and no reset on it; its member and Node object are removed from the cluster (Tab)",
                        t.dim(),
                    ),
                ]));
            }
            lines.push(Line::raw(""));
            if *role == Role::ControlPlane {
                lines.push(Line::styled(
                    format!("Type {node} to remove this control plane, then Enter:"),
                    t.bold(),
                ));
                lines.push(field_line("name", typed, true, w, t));
            } else {
                lines.push(Line::styled("y removes it; n or Esc keeps it.", t.bold()));
            }
            error(&mut lines, t, e, w);
            " Remove a node "
        }
        Day2Dialog::Reset {
            cluster,
            hosts,
            typed,
            error: e,
        } => {
            para(
                &mut lines,
                t,
                &format!(
                    "Takes Kubernetes off every host of {cluster}: {}.",
                    hosts.join(", ")
                ),
                w,
            );
            para(
                &mut lines,
                t,
                "Removed: `kubeadm reset -f`, /etc/kubernetes, /var/lib/etcd, /var/lib/kubelet, /etc/cni/net.d, /var/lib/cni, /var/lib/calico, the CNI links (cali*, tunl0, vxlan.calico), the iptables/nftables and IPVS rules kube-proxy and Calico made; the LB's kubeconfig and HAProxy's kube-apiserver config (and keepalived's); kha-tui's state is archived.",
                w,
            );
            para(
                &mut lines,
                t,
                "Packages stay installed (kha-tui reset --purge removes them).",
                w,
            );
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("Type the cluster's name, {cluster}, then Enter:"),
                t.bold(),
            ));
            lines.push(field_line("cluster", typed, true, w, t));
            error(&mut lines, t, e, w);
            " Reset the cluster "
        }
        Day2Dialog::Add {
            fields,
            role,
            focus,
            error: e,
            error_at,
            confirm,
        } => {
            if let Some(ok) = confirm {
                let (_, c) = ok.as_ref();
                let n = c.nodes.last();
                let name = n.map(|n| n.name.clone()).unwrap_or_default();
                let addr = n.map(|n| n.address.to_string()).unwrap_or_default();
                para(
                    &mut lines,
                    t,
                    &format!("Add {name} ({}) at {addr}:", role.label()),
                    w,
                );
                para(
                    &mut lines,
                    t,
                    "1. its [[nodes]] entry is written to the inventory file (comments kept);",
                    w,
                );
                para(
                    &mut lines,
                    t,
                    "2. preflight on it (and its uniqueness against the existing nodes);",
                    w,
                );
                let join = if *role == Role::ControlPlane {
                    "3. prepare, then join as a control plane with a fresh token and freshly uploaded certificates; HAProxy's backends on every load balancer updated and validated."
                } else {
                    "3. prepare, then join with a fresh token. Nothing else changes on the existing nodes."
                };
                para(&mut lines, t, join, w);
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "y adds it; n goes back to the form.",
                    t.bold(),
                ));
                " Add a node — review "
            } else {
                para(
                    &mut lines,
                    t,
                    "The new node, checked like the inventory (names and addresses unique). The user may stay empty: the inventory's [ssh] user, then your ssh config, apply.",
                    w,
                );
                lines.push(Line::raw(""));
                for (i, label) in ADD_FIELDS.iter().enumerate() {
                    let mut l = field_line(label, &fields[i], *focus == i, w, t);
                    if *error_at == Some(i) {
                        l.spans.push(Span::styled("  ✗", t.err()));
                    }
                    lines.push(l);
                }
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{} {:<8} ", if *focus == 3 { "▸" } else { " " }, "role"),
                        if *focus == 3 { t.bold() } else { t.dim() },
                    ),
                    Span::styled(
                        format!("‹ {} ›", role.label()),
                        if *focus == 3 {
                            t.focus_cell()
                        } else {
                            Default::default()
                        },
                    ),
                ]));
                error(&mut lines, t, e, w);
                " Add a node "
            }
        }
        Day2Dialog::Upgrade(_) => return,
    };
    let r = frame_at(f, area, W, lines.len() as u16 + 2);
    let block = Block::bordered()
        .title(Span::styled(title, t.dialog()))
        .border_style(t.dialog());
    f.render_widget(
        Paragraph::new(lines).block(block.padding(Padding::horizontal(1))),
        r,
    );
}
