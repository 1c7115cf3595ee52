//! The three inventory form pages: focus, editing, saving, and moving on to Connect.

use super::*;

pub(super) fn form_action(m: &mut Model, page: Page, a: Action) -> Vec<Command> {
    let Some(f) = m.form.as_mut() else {
        m.screen = Screen::Welcome;
        return vec![];
    };
    f.page = page;
    match a {
        Action::FocusNext => f.focus_vertical(1),
        Action::FocusPrev => f.focus_vertical(-1),
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
        Action::RemoveRow => f.remove_row(),
        Action::ToggleRole => f.toggle_role(),
        Action::Save => {
            let (file, _) = f.to_file();
            return vec![Command::Save {
                path: m.save_path.clone(),
                text: file.to_toml(),
            }];
        }
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
            let errors = f.errors_on(page);
            if errors > 0 {
                f.focus_first_error(page);
                m.status = Some((
                    Level::Error,
                    format!(
                        "{errors} error(s) on this page: fix them first (the reason is beside each red field)"
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
                let first = Page::ALL.into_iter().find(|p| f.errors_on(*p) > 0);
                if let Some(p) = first {
                    f.focus_first_error(p);
                    m.screen = Screen::Form(p);
                }
                m.status = Some((
                    Level::Error,
                    format!("{} error(s) remain: fix them first", f.errors()),
                ));
                return vec![];
            }
            let (file, _) = f.to_file();
            let cluster = match validate::check(&file) {
                Ok((c, _)) => c,
                Err(issues) => {
                    m.status = Some((
                        Level::Error,
                        issues
                            .first()
                            .map(|i| i.to_string())
                            .unwrap_or_else(|| "the inventory is not valid".into()),
                    ));
                    return vec![];
                }
            };
            let text = file.to_toml();
            let mut cmds = vec![Command::Save {
                path: m.save_path.clone(),
                text: text.clone(),
            }];
            m.plan = PlanReview {
                plan: Some(crate::plan::build(&cluster)),
                selected: 0,
                node: None,
            };
            m.screen = Screen::Preflight;
            // Run preflight again only when the inventory changed (or it never ran).
            if m.preflight.for_inventory.as_deref() != Some(text.as_str())
                || m.preflight.nodes.is_empty()
            {
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
            return cmds;
        }
        _ => {}
    }
    vec![]
}
