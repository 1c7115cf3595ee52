//! Connect screen: the preflight grid, fixes, ignores, passwords.

use super::*;

pub(super) fn preflight_action(m: &mut Model, a: Action) -> Vec<Command> {
    let pf = &mut m.preflight;
    match a {
        Action::Up | Action::Down => {
            let d: isize = if a == Action::Up { -1 } else { 1 };
            if pf.on_checks {
                let n = pf
                    .nodes
                    .get(pf.selected)
                    .map(|n| n.checks.len())
                    .unwrap_or(0);
                if n > 0 {
                    pf.check = (pf.check as isize + d).clamp(0, n as isize - 1) as usize;
                }
            } else if !pf.nodes.is_empty() {
                pf.selected =
                    (pf.selected as isize + d).clamp(0, pf.nodes.len() as isize - 1) as usize;
                pf.check = 0;
            }
        }
        Action::SwitchPane => {
            pf.on_checks = !pf.on_checks;
            pf.check = 0;
        }
        Action::Ignore => {
            if let Some(c) = pf.selected_check() {
                let name = c.check.clone();
                if let Some(i) = pf.ignored.iter().position(|x| *x == name) {
                    pf.ignored.remove(i);
                } else {
                    pf.ignored.push(name);
                }
            }
        }
        Action::Fix => {
            let Some(cluster) = m.cluster.clone() else {
                return vec![];
            };
            let node = pf.nodes.get(pf.selected);
            let check = if pf.on_checks {
                pf.selected_check().cloned()
            } else {
                node.and_then(|n| {
                    n.checks
                        .iter()
                        .find(|c| c.status != CheckStatus::Pass && c.fixable.is_some())
                        .cloned()
                })
            };
            if let Some(c) = check
                && let Some(fix) = &c.fixable
            {
                pf.fixing = Some((c.node.clone(), fix.clone()));
                let msg = format!("Fixing {} on {}: {fix}…", c.check, c.node);
                let cmd = Command::Fix {
                    cluster: Box::new(cluster),
                    node: c.node.clone(),
                    fix: fix.clone(),
                    secrets: m.secrets.clone(),
                };
                info(m, msg);
                return vec![cmd];
            }
        }
        Action::InstallKey => return crate::tui::key_setup::open(m),
        Action::Secrets => {
            let f = |v: &Option<String>| Field::new(v.as_deref().unwrap_or(""));
            let s = &m.secrets;
            m.popups.push_front(Popup::Secrets {
                fields: [
                    f(&s.sudo_password),
                    f(&s.key_passphrase),
                    f(&s.ssh_password),
                ],
                focus: 0,
            });
        }
        Action::Rerun => {
            if let Some(c) = m.cluster.clone() {
                let keep = std::mem::take(pf);
                *pf = Preflight::for_cluster(&c);
                pf.ignored = keep.ignored;
                pf.for_inventory = keep.for_inventory;
                pf.selected = keep.selected.min(pf.nodes.len().saturating_sub(1));
                pf.running = true;
                return vec![Command::Preflight {
                    cluster: Box::new(c),
                    ignore: pf.ignored.clone(),
                    secrets: m.secrets.clone(),
                }];
            }
        }
        Action::Back => {
            if let Some(f) = &m.form {
                m.screen = Screen::Form(f.page.max(Page::Cluster));
            }
        }
        Action::Next => {
            if pf.running || pf.fixing.is_some() {
                m.status = Some((Level::Warn, "Preflight is still running".into()));
                return vec![];
            }
            let blockers = pf.blockers();
            if !blockers.is_empty() {
                let more = if blockers.len() > 1 {
                    format!(" (+{} more)", blockers.len() - 1)
                } else {
                    String::new()
                };
                m.status = Some((
                    Level::Error,
                    format!(
                        "Blocked: {}{more} — fix (f), ignore (i) or re-run (r)",
                        blockers[0]
                    ),
                ));
                return vec![];
            }
            m.screen = Screen::Plan;
        }
        _ => {}
    }
    vec![]
}
