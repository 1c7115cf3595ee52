//! The key reference of README's "Keys" section, generated from the one keymap: every binding
//! of every screen and dialog, in the states the fixtures put the wizard in. README must contain
//! it verbatim (a test compares them), and the `?` overlay lists the same bindings.

use crossterm::event::KeyCode;

use super::fixtures::{self, feed, key};
use super::form::{Col, FieldId, Page};
use super::keymap::{self, Binding};
use super::model::Model;

/// (section title, the states that make up that section).
fn sections() -> Vec<(&'static str, Vec<Model>)> {
    let welcome_path = || {
        let mut m = fixtures::welcome();
        feed(&mut m, [key(KeyCode::Down), key(KeyCode::Enter)]);
        m
    };
    let access_choice = || {
        let mut m = fixtures::form(Page::Access);
        let f = m.form.as_mut().expect("form");
        f.focus = f
            .focusables(Page::Access)
            .iter()
            .position(|id| *id == FieldId::Auth)
            .expect("auth");
        m
    };
    let worker_row = || {
        let mut m = fixtures::form_nodes_invalid();
        let f = m.form.as_mut().expect("form");
        f.focus = 5 * Col::ALL.len();
        m
    };
    let checks_pane = || {
        let mut m = fixtures::preflight_done();
        feed(&mut m, [key(KeyCode::Tab)]);
        m
    };
    let quit = || {
        let mut m = fixtures::plan_review();
        feed(&mut m, [key(KeyCode::Char('q'))]);
        m
    };
    vec![
        ("Welcome", vec![fixtures::welcome(), welcome_path()]),
        (
            "Inventory forms",
            vec![
                access_choice(),
                fixtures::form(Page::Nodes),
                worker_row(),
                fixtures::form_invalid_cidr(),
            ],
        ),
        (
            "Connect (preflight)",
            vec![fixtures::preflight_done(), checks_pane()],
        ),
        ("Plan", vec![fixtures::plan_review()]),
        ("Run", vec![fixtures::run_running(), fixtures::run_failed()]),
        ("Done", vec![fixtures::done()]),
        ("Host-key question", vec![fixtures::preflight_host_key()]),
        ("Confirmation before a step", vec![fixtures::confirm_init()]),
        (
            "Confirmation that needs the cluster name typed",
            vec![fixtures::confirm_reset()],
        ),
        (
            "Stop and Quit questions",
            vec![fixtures::stop_dialog(), quit()],
        ),
        ("Passwords", vec![fixtures::preflight_passwords()]),
        ("Save as", vec![fixtures::save_as()]),
        (
            "Script and help views",
            vec![fixtures::plan_script(), fixtures::help_nodes()],
        ),
    ]
}

/// One section's rows: (keys, what they do), each once, in keymap order.
fn rows(states: &[Model]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for m in states {
        let list: Vec<Binding> = keymap::bindings(m);
        for b in list {
            let row = (b.key_names(), b.label.to_string());
            if !v.contains(&row) {
                v.push(row);
            }
        }
    }
    v
}

/// The Markdown of README's key tables.
pub fn markdown() -> String {
    let mut out = String::from(
        "<!-- keys:begin (generated from src/tui/keymap.rs; `cargo test --lib keys_reference` checks it) -->\n",
    );
    for (title, states) in sections() {
        out.push_str(&format!(
            "\n**{title}**\n\n| keys | what they do |\n| --- | --- |\n"
        ));
        for (k, label) in rows(&states) {
            let k = k.replace('|', "\\|");
            out.push_str(&format!("| {k} | {label} |\n"));
        }
    }
    out.push_str("\n<!-- keys:end -->\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readme() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
    }

    #[test]
    fn readme_key_tables_are_the_keymap() {
        let want = markdown();
        let readme = readme();
        let got = readme
            .find("<!-- keys:begin")
            .and_then(|a| readme.find("<!-- keys:end -->").map(|b| &readme[a..b + 17]))
            .unwrap_or("(README has no generated key section)");
        if got.trim_end() != want.trim_end() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/target/README-keys.md"),
                &want,
            )
            .ok();
            panic!(
                "README's key tables differ from the keymap; the generated text is in target/README-keys.md:\n{want}"
            );
        }
    }

    #[test]
    fn the_help_overlay_lists_what_readme_lists_for_that_screen() {
        let readme = readme();
        for (title, states) in sections() {
            let at = readme
                .find(&format!("**{title}**"))
                .unwrap_or_else(|| panic!("README has no {title:?} key table"));
            let section = &readme[at..];
            let end = section
                .find("\n**")
                .or_else(|| section.find("<!-- keys:end"))
                .unwrap_or(section.len());
            let section = &section[..end];
            for mut m in states {
                let overlay: Vec<(String, &str)> = if m.popups.is_empty() {
                    // The overlay itself, opened by F1 on this state.
                    feed(&mut m, [key(KeyCode::F(1))]);
                    assert!(
                        matches!(
                            m.popups.front(),
                            Some(super::super::model::Popup::Help { .. })
                        ),
                        "F1 opens the help overlay on {title}"
                    );
                    keymap::help_rows(&m)
                } else {
                    // A dialog's own keys.
                    keymap::bindings(&m)
                        .into_iter()
                        .map(|b| (b.key_names(), b.label))
                        .collect()
                };
                assert!(!overlay.is_empty());
                for (k, label) in overlay {
                    let row = format!("| {} | {label} |", k.replace('|', "\\|"));
                    assert!(
                        section.contains(&row),
                        "{title}: the overlay shows {row:?}, README does not"
                    );
                }
            }
        }
    }
}
