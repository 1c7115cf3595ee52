//! Welcome screen: choose an inventory (a given file, the saved one, load a path, or new).

use super::*;

pub(super) fn welcome_action(m: &mut Model, a: Action) -> Vec<Command> {
    let n = m.welcome_items().len();
    match a {
        Action::Up => {
            m.welcome.selected = (m.welcome.selected + n - 1) % n;
            m.welcome.typing_path = false;
        }
        Action::Down => {
            m.welcome.selected = (m.welcome.selected + 1) % n;
            m.welcome.typing_path = false;
        }
        Action::Back => m.welcome.typing_path = false,
        Action::Next => match m.welcome_item() {
            WelcomeItem::Continue => {
                if let Some(f) = &m.form {
                    m.screen = Screen::Form(f.page);
                }
            }
            WelcomeItem::Source(i) => {
                let src = &m.welcome.sources[i];
                match src
                    .text
                    .clone()
                    .and_then(|t| Form::from_text(&t, src.path.clone()))
                {
                    Ok(form) => open_form(m, form),
                    Err(e) => {
                        let at = src
                            .path
                            .as_ref()
                            .map(|p| format!("{}: ", p.display()))
                            .unwrap_or_default();
                        m.welcome.error = Some(format!("{at}{e}"));
                    }
                }
            }
            WelcomeItem::LoadFile if !m.welcome.typing_path => m.welcome.typing_path = true,
            WelcomeItem::LoadFile => {
                let p = m.welcome.path.text().trim().to_string();
                if p.is_empty() {
                    m.welcome.error = Some("type the path of an inventory file first".into());
                } else {
                    return vec![Command::Load {
                        path: validate::expand_home(&p),
                    }];
                }
            }
            WelcomeItem::New => open_form(m, Form::blank()),
        },
        _ => {}
    }
    vec![]
}
