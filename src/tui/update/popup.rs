//! Dialogs: host keys, confirmations, stop, quit, passwords, save-as, help, scripts. Every
//! yes/no dialog takes y and n; Enter answers the highlighted button.

use super::*;

pub(super) fn popup_action(m: &mut Model, a: Action) -> Vec<Command> {
    let page = m.page_rows();
    if let Some(Popup::Day2(_)) = m.popups.front() {
        return crate::tui::day2_wizard::action(m, a);
    }
    if let Some(Popup::KeyPassword { .. }) = m.popups.front() {
        return crate::tui::key_setup::popup_action(m, a);
    }
    let Some(p) = m.popups.front_mut() else {
        return vec![];
    };
    match p {
        Popup::HostKey {
            yes,
            reply,
            node,
            fingerprint,
            ..
        } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo | Action::DialogYes => {
                let answer = a == Action::DialogYes || (a == Action::DialogEnter && *yes);
                let reply = reply.take();
                if answer {
                    let key = (node.clone(), fingerprint.clone());
                    m.accepted_keys.push(key);
                }
                m.popups.pop_front();
                return reply
                    .map(|reply| Command::Answer { reply, yes: answer })
                    .into_iter()
                    .collect();
            }
            _ => {}
        },
        Popup::Confirm {
            yes,
            reply,
            typed,
            scroll,
            chosen,
            ..
        } => match a {
            Action::DialogToggle => {
                *yes = !*yes;
                *chosen = true;
            }
            Action::Up => *scroll = scroll.saturating_sub(1),
            Action::Down => *scroll += 1,
            Action::PageUp => *scroll = scroll.saturating_sub(page / 2),
            Action::PageDown => *scroll += page / 2,
            Action::DialogEnter if !*chosen && typed.is_none() => {
                // Never answered by an Enter the operator did not aim at this dialog.
                m.status = Some((
                    Level::Warn,
                    "Choose first: y runs it, n does not (or Tab to a button, then Enter)".into(),
                ));
            }
            Action::DialogEnter | Action::DialogNo | Action::DialogYes => {
                let mut answer = a == Action::DialogYes || (a == Action::DialogEnter && *yes);
                if answer
                    && let Some((want, got)) = typed
                    && got.text() != want.as_str()
                {
                    let want = want.clone();
                    m.status = Some((
                        Level::Error,
                        format!("Type the cluster name {want:?} to confirm, or choose No"),
                    ));
                    answer = false;
                    if a != Action::DialogNo {
                        return vec![];
                    }
                }
                let reply = reply.take();
                m.popups.pop_front();
                m.status = None;
                return reply
                    .map(|reply| Command::Answer { reply, yes: answer })
                    .into_iter()
                    .collect();
            }
            _ => {}
        },
        Popup::Stop { yes } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo | Action::DialogYes => {
                let stop = a == Action::DialogYes || (a == Action::DialogEnter && *yes);
                m.popups.pop_front();
                if stop {
                    m.run.stopping = true;
                    info(
                        m,
                        "Stopping: ending the commands running on the nodes; waiting until every node has stopped".into(),
                    );
                    return vec![Command::Stop];
                }
            }
            _ => {}
        },
        Popup::Quit { yes } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo | Action::DialogYes => {
                let quit = a == Action::DialogYes || (a == Action::DialogEnter && *yes);
                m.popups.pop_front();
                if quit {
                    // Busy: stop the engine and quit once it reports that it stopped (asked
                    // again while waiting: quit now).
                    if m.busy() && !m.quit_when_stopped {
                        m.quit_when_stopped = true;
                        if m.run.running {
                            m.run.stopping = true;
                        }
                        info(
                            m,
                            "Quitting once every node has stopped: ending the commands running on the nodes…".into(),
                        );
                        return vec![Command::Stop];
                    }
                    m.quit = true;
                    return vec![Command::Quit];
                }
            }
            _ => {}
        },
        Popup::Secrets { fields, focus } => match a {
            Action::FocusNext => *focus = (*focus + 1) % 3,
            Action::FocusPrev => *focus = (*focus + 2) % 3,
            Action::DialogNo => {
                m.popups.pop_front();
            }
            Action::DialogEnter => {
                let v = |f: &Field| Some(f.text().to_string()).filter(|t| !t.is_empty());
                m.secrets = Secrets {
                    sudo_password: v(&fields[0]),
                    key_passphrase: v(&fields[1]),
                    ssh_password: v(&fields[2]),
                };
                m.popups.pop_front();
                info(
                    m,
                    "Passwords kept for this session (never written); checking again".into(),
                );
                return preflight_action(m, Action::Rerun);
            }
            _ => {}
        },
        Popup::SaveAs {
            field,
            then_connect,
        } => match a {
            Action::DialogNo => {
                m.popups.pop_front();
                info(m, "Not saved".into());
            }
            Action::DialogEnter => {
                let typed = field.text().trim().to_string();
                if typed.is_empty() {
                    m.status = Some((Level::Error, "type where to save the inventory".into()));
                    return vec![];
                }
                let then_connect = *then_connect;
                let path = validate::expand_home(&typed);
                m.popups.pop_front();
                // A new inventory never silently replaces a file (or a link) already there.
                if std::fs::symlink_metadata(&path).is_ok() {
                    m.popups.push_front(Popup::Overwrite {
                        path,
                        then_connect,
                        yes: false,
                    });
                    return vec![];
                }
                return form::save_to(m, path, then_connect);
            }
            _ => {}
        },
        Popup::Overwrite {
            path,
            then_connect,
            yes,
        } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo | Action::DialogYes => {
                let replace = a == Action::DialogYes || (a == Action::DialogEnter && *yes);
                let (path, then_connect) = (path.clone(), *then_connect);
                m.popups.pop_front();
                if replace {
                    return form::save_to(m, path, then_connect);
                }
                info(
                    m,
                    format!("Not saved: {} is left as it was", path.display()),
                );
            }
            _ => {}
        },
        Popup::Script { lines, scroll, .. } => {
            let max = lines.len().saturating_sub(1);
            if scroll_by(a, scroll, max, page) {
                m.popups.pop_front();
            }
        }
        Popup::Help { under, scroll } => {
            let max = under.len().saturating_sub(1);
            if scroll_by(a, scroll, max, page) {
                m.popups.pop_front();
            }
        }
        // Handled above, by day2_wizard and key_setup.
        Popup::Day2(_) | Popup::KeyPassword { .. } => {}
    }
    vec![]
}

/// Scrolling of the full-screen text popups (scripts, help); true = close it.
fn scroll_by(a: Action, scroll: &mut usize, max: usize, page: usize) -> bool {
    match a {
        Action::Close => return true,
        Action::Up => *scroll = scroll.saturating_sub(1),
        Action::Down => *scroll = (*scroll + 1).min(max),
        Action::PageUp => *scroll = scroll.saturating_sub(page),
        Action::PageDown => *scroll = (*scroll + page).min(max),
        Action::Home => *scroll = 0,
        Action::End => *scroll = max,
        _ => {}
    }
    false
}

/// Steps whose confirmation must be typed: anything that resets or wipes.
pub fn is_destructive(step: &str, title: &str) -> bool {
    let s = format!("{step} {title}").to_ascii_lowercase();
    [
        "reset",
        "wipe",
        "destroy",
        "delete",
        "teardown",
        "remove-node",
    ]
    .iter()
    .any(|w| s.contains(w))
}
