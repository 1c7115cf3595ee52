//! The three inventory form pages: focus, editing, saving, and moving on to Connect.

use std::path::PathBuf;

use super::*;

pub(super) fn form_action(m: &mut Model, page: Page, a: Action) -> Vec<Command> {
    let Some(f) = m.form.as_mut() else {
        m.screen = Screen::Welcome;
        return vec![];
    };
    f.page = page;
    match a {
        Action::FocusNext => f.focus_next(1),
        Action::FocusPrev => f.focus_next(-1),
        Action::Down => f.focus_vertical(1),
        Action::Up => f.focus_vertical(-1),
        Action::ChoiceNext | Action::ChoicePrev => {
            if let Some(id) = f.focused() {
                f.cycle(id, if a == Action::ChoiceNext { 1 } else { -1 });
                f.clamp_focus();
            }
        }
        Action::AddRow => {
            let role = f.focused_role();
            f.add_row(role);
        }
        Action::RemoveRow => {
            if let Some(note) = f.remove_row() {
                m.status = Some((Level::Warn, note));
            }
        }
        Action::ToggleRole => {
            if let Err(e) = f.toggle_role() {
                m.status = Some((Level::Error, e));
            }
        }
        Action::MakeFirst => {
            m.status = Some(match f.make_first() {
                Ok(s) => (Level::Info, s),
                Err(e) => (Level::Error, e),
            });
        }
        Action::NextError => {
            if let Some(p) = f.jump_to_next_error() {
                m.screen = Screen::Form(p);
            }
        }
        Action::Save => return save(m, false),
        Action::Back => {
            m.screen = match page {
                Page::Access => Screen::Welcome,
                Page::Nodes => Screen::Form(Page::Access),
                Page::Cluster => Screen::Form(Page::Nodes),
            };
            if let Screen::Form(p) = m.screen {
                f.page = p;
                f.focus = 0;
            }
            if m.screen == Screen::Welcome {
                m.welcome.selected = 0; // "continue editing"
            }
        }
        Action::Next => {
            // On the node tables Enter goes cell by cell; after the last cell, to the next page.
            if page == Page::Nodes
                && matches!(f.focused(), Some(FieldId::Node { .. }))
                && f.enter_next_cell()
            {
                return vec![];
            }
            let errors = f.errors_on(page);
            if errors > 0 {
                f.focus_first_error(page);
                m.status = Some((
                    Level::Error,
                    format!(
                        "{errors} error(s) on this page: each is beside its red field (Ctrl-G: next)"
                    ),
                ));
                return vec![];
            }
            if page != Page::Cluster {
                let next = if page == Page::Access {
                    Page::Nodes
                } else {
                    Page::Cluster
                };
                f.page = next;
                f.focus = 0;
                m.screen = Screen::Form(next);
                return vec![];
            }
            // The last page: everything must be valid.
            if f.errors() > 0 {
                let n = f.errors();
                if let Some(p) = f.jump_to_next_error() {
                    m.screen = Screen::Form(p);
                }
                m.status = Some((
                    Level::Error,
                    format!("{n} error(s) remain: this is the first (Ctrl-G goes to the next)"),
                ));
                return vec![];
            }
            return save(m, true);
        }
        _ => {}
    }
    vec![]
}

/// Ctrl-S, or Enter on the last page (`then_connect`): writes the inventory to the file it came
/// from, or asks where when it has none yet.
pub(super) fn save(m: &mut Model, then_connect: bool) -> Vec<Command> {
    let Some(f) = m.form.as_ref() else {
        return vec![];
    };
    match f.path.clone() {
        Some(path) => save_to(m, path, then_connect),
        None => {
            let suggested = m.save_path.display().to_string();
            m.popups.push_front(Popup::SaveAs {
                field: Field::new(&suggested),
                then_connect,
            });
            vec![]
        }
    }
}

/// Writes to `path` (remembered: later saves go there too), then connects when asked to.
pub(super) fn save_to(m: &mut Model, path: PathBuf, then_connect: bool) -> Vec<Command> {
    let Some(f) = m.form.as_mut() else {
        return vec![];
    };
    let text = f.render();
    // Remembered once written (Msg::Saved), so a failed write leaves the edits unsaved.
    f.saving = Some((path.clone(), text.clone()));
    info(m, format!("Saving to {}…", path.display()));
    let mut cmds = vec![Command::Save {
        path,
        text: text.clone(),
    }];
    if then_connect {
        cmds.extend(connect(m, text));
    }
    cmds
}

/// Validates exactly the saved text (as `kha-tui check` would) and goes to Connect.
fn connect(m: &mut Model, text: String) -> Vec<Command> {
    let checked = crate::inventory::parse(&text)
        .map_err(|e| e.to_string())
        .and_then(|file| {
            crate::inventory::ssh_effective::check(&file).map_err(|issues| {
                issues
                    .first()
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "the inventory is not valid".into())
            })
        });
    let cluster = match checked {
        Ok((c, _)) => c,
        Err(e) => {
            m.status = Some((Level::Error, e));
            return vec![];
        }
    };
    let mut cmds = Vec::new();
    m.plan = PlanReview {
        plan: Some(crate::plan::build(&cluster)),
        selected: 0,
        node: None,
        folded: vec![],
    };
    m.screen = Screen::Preflight;
    // Run preflight again only when the inventory changed (or it never ran).
    if m.preflight.for_inventory.as_deref() != Some(text.as_str()) || m.preflight.nodes.is_empty() {
        let ignored = std::mem::take(&mut m.preflight.ignored);
        m.preflight = Preflight::for_cluster(&cluster);
        m.preflight.ignored = ignored;
        m.preflight.for_inventory = Some(text);
        m.preflight.running = true;
        cmds.push(Command::Preflight {
            cluster: Box::new(cluster.clone()),
            ignore: m.preflight.ignored.clone(),
            secrets: m.secrets.clone(),
        });
    }
    m.cluster = Some(cluster);
    cmds
}
