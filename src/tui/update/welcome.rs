//! Welcome screen: choose an inventory (a given file, the saved one, load a path, or new).

use super::*;

pub(super) fn welcome_action(m: &mut Model, a: Action) -> Vec<Command> {
    let n = m.welcome_items().len();
    match a {
        Action::Up => m.welcome.selected = (m.welcome.selected + n - 1) % n,
        Action::Down => m.welcome.selected = (m.welcome.selected + 1) % n,
        Action::Next => match m.welcome_item() {
            WelcomeItem::Continue => {
                if let Some(f) = &m.form {
                    m.screen = Screen::Form(f.page);
                }
            }
            WelcomeItem::Source(i) => {
                let src = &m.welcome.sources[i];
                match src.text.clone().and_then(|t| parse(&t)) {
                    Ok(file) => open_form(m, Form::from_file(&file)),
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
