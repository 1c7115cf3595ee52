//! The key reference of README's "Keys" section, generated from the one keymap: every binding
//! of every screen and dialog, in the states the fixtures put the wizard in. README must contain
//! it verbatim (a test compares them), and the `?` overlay lists the same bindings.

use crossterm::event::KeyCode;

use super::fixtures::{self, feed, key};
use super::form::{Col, FieldId, Page};
use super::keymap::{self, Action, Binding};
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
            vec![
                fixtures::preflight_done(),
                checks_pane(),
                super::fixtures_key_setup::preflight_key_refused(),
            ],
        ),
        ("Plan", vec![fixtures::plan_review()]),
        ("Run", vec![fixtures::run_running(), fixtures::run_failed()]),
        ("Done", vec![fixtures::done()]),
        (
            "Failover drill",
            vec![
                super::fixtures_drill::drill_confirm(),
                {
                    let mut m = super::fixtures_drill::drill_confirm();
                    feed(&mut m, [key(KeyCode::Char('y'))]);
                    m
                },
                super::fixtures_drill::drill(),
            ],
        ),
        (
            "Cluster view",
            vec![fixtures::cluster_view(), fixtures::cluster_view_problems()],
        ),
        (
            "Add a node (cluster view, a)",
            vec![
                super::fixtures_day2::day2_add(),
                {
                    let mut m = super::fixtures_day2::day2_add();
                    // To the role (the field before the name).
                    feed(&mut m, [key(KeyCode::BackTab), key(KeyCode::BackTab)]);
                    m
                },
                super::fixtures_day2::day2_add_review(),
            ],
        ),
        (
            "Remove a node (cluster view, x)",
            vec![
                super::fixtures_day2::day2_pick(),
                super::fixtures_day2::day2_remove_cp(),
                super::fixtures_day2::day2_remove_unreachable_worker(),
            ],
        ),
        (
            "Reset the cluster (cluster view, R)",
            vec![super::fixtures_day2::day2_reset()],
        ),
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
        (
            "Install kha-tui's key (Connect, K)",
            vec![super::fixtures_key_setup::preflight_install_key()],
        ),
        ("Save as", vec![fixtures::save_as()]),
        (
            "Script and help views",
            vec![fixtures::plan_script(), fixtures::help_nodes()],
        ),
    ]
}

/// README's section of the text fields' line editing (one for every screen and dialog).
const TEXT_SECTION: &str = "Text fields (wherever one has the cursor)";

/// One section's rows: (keys, what they do), each once, in keymap order. The text fields' keys
/// have their own section.
fn rows(states: &[Model]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for m in states {
        let list: Vec<Binding> = keymap::bindings(m);
        for b in list.iter().filter(|b| b.action != Action::EditText) {
            let row = (b.key_names(), b.label.to_string());
            if !v.contains(&row) {
                v.push(row);
            }
        }
    }
    v
}

/// The text fields' rows: each edit once, with every key any state gives it (a state where
/// another binding takes a key lists fewer).
fn text_rows(states: &[Model]) -> Vec<(Vec<String>, String)> {
    let mut v: Vec<(Vec<String>, String)> = Vec::new();
    for m in states {
        for b in keymap::bindings(m)
            .iter()
            .filter(|b| b.action == Action::EditText)
        {
            let names: Vec<String> = b.keys.iter().map(|k| k.name()).collect();
            match v.iter_mut().find(|(_, l)| l == b.label) {
                Some((keys, _)) => {
                    for n in names {
                        if !keys.contains(&n) {
                            keys.push(n);
                        }
                    }
                }
                None => v.push((names, b.label.to_string())),
            }
        }
    }
    v
}

/// Every state of every section.
fn all_states() -> Vec<Model> {
    sections().into_iter().flat_map(|(_, s)| s).collect()
}

fn table(title: &str, rows: &[(String, String)]) -> String {
    let mut out = format!("\n**{title}**\n\n| keys | what they do |\n| --- | --- |\n");
    for (k, label) in rows {
        let k = k.replace('|', "\\|");
        out.push_str(&format!("| {k} | {label} |\n"));
    }
    out
}

/// The Markdown of README's key tables.
pub fn markdown() -> String {
    let mut out = String::from(
        "<!-- keys:begin (generated from src/tui/keymap.rs; `cargo test --lib keys_reference` checks it) -->\n",
    );
    for (title, states) in sections() {
        out.push_str(&table(title, &rows(&states)));
    }
    let text: Vec<(String, String)> = text_rows(&all_states())
        .into_iter()
        .map(|(keys, label)| (keys.join(" / "), label))
        .collect();
    out.push_str(&table(TEXT_SECTION, &text));
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

    /// README's table under `**title**`.
    fn readme_section(readme: &str, title: &str) -> String {
        let at = readme
            .find(&format!("**{title}**"))
            .unwrap_or_else(|| panic!("README has no {title:?} key table"));
        let section = &readme[at..];
        let end = section
            .find("\n**")
            .or_else(|| section.find("<!-- keys:end"))
            .unwrap_or(section.len());
        section[..end].to_string()
    }

    #[test]
    fn the_help_overlay_lists_what_readme_lists_for_that_screen() {
        let readme = readme();
        let text_section = readme_section(&readme, TEXT_SECTION);
        // The text fields' row for `label`: its keys.
        let text_keys = |label: &str| -> Vec<String> {
            text_section
                .lines()
                .find(|l| l.ends_with(&format!(" | {label} |")))
                .map(|l| {
                    let keys = l.trim_start_matches("| ").split(" | ").next().unwrap_or("");
                    keys.split(" / ").map(str::to_string).collect()
                })
                .unwrap_or_default()
        };
        let mut text_seen = 0;
        for (title, states) in sections() {
            let section = readme_section(&readme, title);
            for mut m in states {
                let text: Vec<(String, &str)> = keymap::bindings(&m)
                    .into_iter()
                    .filter(|b| b.action == Action::EditText)
                    .map(|b| (b.key_names(), b.label))
                    .collect();
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
                    if k.is_empty() {
                        continue; // the text fields' heading
                    }
                    if text.contains(&(k.clone(), label)) {
                        // A text field's key: in README's text-field section, with that key.
                        let listed = text_keys(label);
                        for key in k.split(" / ") {
                            assert!(
                                listed.iter().any(|l| l == key),
                                "{title}: the overlay shows {key} for {label:?}, README's {TEXT_SECTION:?} does not"
                            );
                        }
                        text_seen += 1;
                        continue;
                    }
                    let row = format!("| {} | {label} |", k.replace('|', "\\|"));
                    assert!(
                        section.contains(&row),
                        "{title}: the overlay shows {row:?}, README does not"
                    );
                }
            }
        }
        assert!(text_seen > 0, "no overlay listed a text field's keys");
    }

    /// The keymap's text-field keys are the ones the field edits with, and every one of those
    /// is listed.
    #[test]
    fn the_text_field_keys_are_the_fields_own() {
        use crossterm::event::{KeyEvent, KeyModifiers};
        let listed: Vec<keymap::KeySpec> = all_states()
            .iter()
            .flat_map(keymap::bindings)
            .filter(|b| b.action == Action::EditText)
            .flat_map(|b| b.keys)
            .collect();
        for k in &listed {
            assert!(
                super::super::field::is_edit_key(&KeyEvent::new(k.code, k.mods)),
                "{} is listed for text fields but the field ignores it",
                k.name()
            );
        }
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let plain = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let mut edits: Vec<KeyEvent> = "aekuwbfh".chars().map(ctrl).collect();
        edits.extend(
            [
                KeyCode::Backspace,
                KeyCode::Delete,
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::Home,
                KeyCode::End,
            ]
            .map(plain),
        );
        for e in edits {
            assert!(super::super::field::is_edit_key(&e));
            assert!(
                listed.iter().any(|k| k.matches(&e)),
                "{e:?} edits a text field but no keymap entry lists it"
            );
        }
    }
}
