//! Dialogs: host keys, confirmations, stop, quit, passwords, scripts.

use super::*;

pub(super) fn popup_action(m: &mut Model, a: Action) -> Vec<Command> {
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
            Action::DialogEnter | Action::DialogNo => {
                let answer = a == Action::DialogEnter && *yes;
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
            ..
        } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::Up => *scroll = scroll.saturating_sub(1),
            Action::Down => *scroll += 1,
            Action::PageUp => *scroll = scroll.saturating_sub(8),
            Action::PageDown => *scroll += 8,
            Action::DialogEnter | Action::DialogNo => {
                let mut answer = a == Action::DialogEnter && *yes;
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
                    if a == Action::DialogEnter {
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
            Action::DialogEnter | Action::DialogNo => {
                let stop = a == Action::DialogEnter && *yes;
                m.popups.pop_front();
                if stop {
                    m.run.stopping = true;
                    info(
                        m,
                        "Stopping: running steps are cancelled; a new run resumes".into(),
                    );
                    return vec![Command::Stop];
                }
            }
            _ => {}
        },
        Popup::Quit { yes } => match a {
            Action::DialogToggle => *yes = !*yes,
            Action::DialogEnter | Action::DialogNo => {
                let quit = a == Action::DialogEnter && *yes;
                m.popups.pop_front();
                if quit {
                    m.quit = true;
                    let mut v = Vec::new();
                    if m.busy() {
                        v.push(Command::Stop);
                    }
                    v.push(Command::Quit);
                    return v;
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
        Popup::Script { lines, scroll, .. } => {
            let max = lines.len().saturating_sub(1);
            match a {
                Action::Close => {
                    m.popups.pop_front();
                }
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::Down => *scroll = (*scroll + 1).min(max),
                Action::PageUp => *scroll = scroll.saturating_sub(15),
                Action::PageDown => *scroll = (*scroll + 15).min(max),
                Action::Home => *scroll = 0,
                Action::End => *scroll = max,
                _ => {}
            }
        }
    }
    vec![]
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
