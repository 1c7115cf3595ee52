//! Unit tests of `update` for the forms and the keys: the node table as a spreadsheet, saving
//! where the inventory came from, the first control plane, errors and their jump key, quitting
//! with edits, the help overlay, j/k, y/n and paging by the visible height.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, ctrl, key};
use super::form::{Col, FieldId, Page};
use super::model::*;
use super::update::update;
use super::update_tests::settle;

fn press(m: &mut Model, code: KeyCode) -> Vec<Command> {
    update(m, key(code))
}

fn typed(m: &mut Model, s: &str) {
    for c in s.chars() {
        update(m, key(KeyCode::Char(c)));
    }
}

fn shift_tab(m: &mut Model) {
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
}

fn focused(m: &Model) -> Option<FieldId> {
    m.form.as_ref().unwrap().focused()
}

#[test]
fn a_new_inventory_is_completed_by_keys_alone() {
    let mut m = fixtures::welcome();
    press(&mut m, KeyCode::Up); // "Start a new inventory"
    press(&mut m, KeyCode::Enter);
    // Page 1: LB address, then the key file (Tab moves field by field).
    press(&mut m, KeyCode::Tab);
    typed(&mut m, "192.0.2.10");
    for _ in 0..6 {
        press(&mut m, KeyCode::Tab);
    }
    assert_eq!(focused(&m), Some(FieldId::IdentityFile));
    typed(&mut m, "~/.ssh/lab");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.screen, Screen::Form(Page::Nodes));
    // Page 2: every cell reachable by Tab, row after row; Enter moves on from the last one.
    let addrs = ["192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21"];
    for (row, a) in addrs.iter().enumerate() {
        assert_eq!(
            focused(&m),
            Some(FieldId::Node {
                row,
                col: Col::Name
            })
        );
        press(&mut m, KeyCode::Tab);
        assert_eq!(
            focused(&m),
            Some(FieldId::Node {
                row,
                col: Col::Address
            })
        );
        typed(&mut m, a);
        press(&mut m, KeyCode::Tab);
        typed(&mut m, "ops"); // user
        press(&mut m, KeyCode::Enter); // Enter: the next cell too
        assert_eq!(
            focused(&m),
            Some(FieldId::Node {
                row,
                col: Col::Port
            })
        );
        typed(&mut m, "2222");
        if row + 1 < addrs.len() {
            press(&mut m, KeyCode::Tab);
        }
    }
    // Shift-Tab goes back cell by cell, across the row boundary; ↑↓ by row.
    shift_tab(&mut m);
    assert_eq!(
        focused(&m),
        Some(FieldId::Node {
            row: 3,
            col: Col::User
        })
    );
    press(&mut m, KeyCode::Up);
    assert_eq!(
        focused(&m),
        Some(FieldId::Node {
            row: 2,
            col: Col::User
        })
    );
    press(&mut m, KeyCode::Down);
    press(&mut m, KeyCode::Tab);
    press(&mut m, KeyCode::Enter); // the last cell of the last row
    assert_eq!(m.screen, Screen::Form(Page::Cluster), "{:?}", m.status);
    // Page 3: Enter saves (asks where: a new inventory) and connects.
    press(&mut m, KeyCode::Enter);
    assert!(matches!(m.popups.front(), Some(Popup::SaveAs { .. })));
    update(&mut m, ctrl('u'));
    typed(&mut m, "/tmp/ops/lab.toml");
    let cmds = press(&mut m, KeyCode::Enter);
    let text = match &cmds[0] {
        Command::Save { path, text } => {
            assert_eq!(path.to_str(), Some("/tmp/ops/lab.toml"));
            text.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(m.screen, Screen::Preflight);
    // What was written is what `kha-tui check` accepts, with every typed value.
    let file = crate::inventory::parse(&text).unwrap();
    let (c, _) = crate::inventory::validate::check(&file).unwrap();
    assert_eq!(c.all_hosts().count(), 5);
    assert!(text.contains("port = 2222") && text.contains("user = \"ops\""));
    assert!(text.contains("identity_file = \"~/.ssh/lab\""));
    // Once written, later saves go to the same file without asking.
    update(&mut m, Msg::Saved(Ok("/tmp/ops/lab.toml".into())));
    assert!(!m.unsaved_edits());
    m.screen = Screen::Form(Page::Cluster);
    let cmds = update(&mut m, ctrl('s'));
    assert!(
        matches!(&cmds[..], [Command::Save { path, .. }] if path.to_str() == Some("/tmp/ops/lab.toml"))
    );
}

const COMMENTED: &str = "# the lab, as the operator wrote it\n[cluster]\nname = \"lab\" # keep me\nkubernetes_version = \"1.36\"\n\n[load_balancer]\naddress = \"192.0.2.10\"\n\n[ssh]\nidentity_file = \"~/.ssh/lab\"\n\n# the one that runs kubeadm init\n[[nodes]]\nname = \"cp1\"\naddress = \"192.0.2.11\"\nrole = \"control-plane\"\n\n[[nodes]]\nname = \"w1\"\naddress = \"192.0.2.21\"\nrole = \"worker\"\n";

fn with_config() -> Model {
    let mut m = Model::new(Setup {
        simulated: false,
        save_path: "/home/op/.config/kha-tui/cluster.toml".into(),
        sources: vec![Source {
            label: "Continue with".into(),
            path: Some("/srv/lab/cluster.toml".into()),
            text: Ok(COMMENTED.into()),
        }],
    });
    press(&mut m, KeyCode::Enter);
    m
}

#[test]
fn ctrl_s_saves_to_the_config_file_keeping_its_comments() {
    let mut m = with_config();
    assert_eq!(m.screen, Screen::Form(Page::Access));
    press(&mut m, KeyCode::Enter);
    // Correct the worker's address: row 1, the address cell.
    press(&mut m, KeyCode::Down);
    press(&mut m, KeyCode::Tab);
    update(&mut m, ctrl('u'));
    typed(&mut m, "192.0.2.22");
    let cmds = update(&mut m, ctrl('s'));
    let [Command::Save { path, text }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(path.to_str(), Some("/srv/lab/cluster.toml"));
    assert_eq!(text, &COMMENTED.replace("192.0.2.21", "192.0.2.22"));
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .1
            .contains("/srv/lab/cluster.toml")
    );
    update(&mut m, Msg::Saved(Ok(path.clone())));
    assert_eq!(
        m.status.as_ref().unwrap().1,
        "Saved to /srv/lab/cluster.toml"
    );
    assert!(!m.unsaved_edits());
    // A write that fails leaves the edits unsaved (q would ask).
    typed(&mut m, "3");
    let cmds = update(&mut m, ctrl('s'));
    assert_eq!(cmds.len(), 1);
    update(&mut m, Msg::Saved(Err("permission denied".into())));
    assert!(m.unsaved_edits());
    assert!(
        m.status
            .as_ref()
            .unwrap()
            .1
            .contains("Not saved: permission denied")
    );
}

#[test]
fn valid_on_the_form_means_check_accepts_the_file() {
    // An inventory with no key file and no agent: `check` refuses it, so must the form (no
    // key file is filled in for the operator).
    let text = COMMENTED.replace("identity_file = \"~/.ssh/lab\"\n", "");
    let file = crate::inventory::parse(&text).unwrap();
    assert!(crate::inventory::ssh_effective::check(&file).is_err());
    let f = super::form::Form::from_text(&text, None).unwrap();
    assert_eq!(f.identity_file.text(), "");
    assert!(f.issues_of(FieldId::IdentityFile).next().is_some());
    assert!(f.errors() > 0);
    // And the form is valid exactly when the text it would write passes `check`.
    let f = super::form::Form::from_text(COMMENTED, None).unwrap();
    assert_eq!(f.errors(), 0, "{:?}", f.issues);
    let written = crate::inventory::parse(&f.render()).unwrap();
    assert!(crate::inventory::ssh_effective::check(&written).is_ok());
}

#[test]
fn q_on_welcome_asks_before_losing_edits_and_y_n_answer() {
    let mut m = fixtures::welcome();
    // Nothing edited: q quits.
    press(&mut m, KeyCode::Char('q'));
    assert!(m.quit);
    let mut m = with_config();
    typed(&mut m, "x"); // the LB name
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.screen, Screen::Welcome);
    press(&mut m, KeyCode::Char('q'));
    assert!(!m.quit);
    assert!(matches!(m.popups.front(), Some(Popup::Quit { .. })));
    press(&mut m, KeyCode::Char('n'));
    assert!(m.popups.is_empty() && !m.quit);
    press(&mut m, KeyCode::Char('q'));
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(m.quit && matches!(cmds.last(), Some(Command::Quit)));
}

#[test]
fn q_works_on_connect_and_plan_and_j_k_move() {
    for mut m in [fixtures::preflight_done(), fixtures::plan_review()] {
        let before = (m.preflight.selected, m.plan.selected);
        press(&mut m, KeyCode::Char('k'));
        assert_ne!(
            (m.preflight.selected, m.plan.selected),
            before,
            "k moves up"
        );
        press(&mut m, KeyCode::Char('j'));
        assert_eq!(
            (m.preflight.selected, m.plan.selected),
            before,
            "j moves down"
        );
        press(&mut m, KeyCode::Char('q'));
        assert!(matches!(m.popups.front(), Some(Popup::Quit { .. })));
        press(&mut m, KeyCode::Char('y'));
        assert!(m.quit);
    }
}

#[test]
fn the_stop_dialog_takes_y() {
    let mut m = fixtures::stop_dialog();
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(matches!(&cmds[..], [Command::Stop]));
}

#[test]
fn help_overlay_on_every_screen_lists_the_keymap() {
    for (name, build) in fixtures::all() {
        let mut m = build();
        if !m.popups.is_empty() {
            continue; // dialogs list their keys in their own footer
        }
        let keys = super::keymap::bindings(&m);
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
        );
        assert!(
            matches!(m.popups.front(), Some(Popup::Help { .. })),
            "{name}: F1 opens the help"
        );
        // Every binding once; the text field's keys under their heading (and a blank line).
        let rows: Vec<_> = super::keymap::help_rows(&m)
            .into_iter()
            .filter(|(k, _)| !k.is_empty())
            .collect();
        assert_eq!(rows.len(), {
            let mut seen = Vec::new();
            for b in &keys {
                let r = (b.key_names(), b.label);
                if !seen.contains(&r) {
                    seen.push(r);
                }
            }
            seen.len()
        });
        press(&mut m, KeyCode::Esc);
        assert!(m.popups.is_empty(), "{name}: Esc closes it");
    }
    // `?` too where it is not typed into a field.
    let mut m = fixtures::plan_review();
    press(&mut m, KeyCode::Char('?'));
    assert!(matches!(m.popups.front(), Some(Popup::Help { .. })));
}

#[test]
fn page_keys_move_by_the_visible_height() {
    let mut m = fixtures::plan_review();
    m.plan.selected = 0;
    update(&mut m, Msg::Resize(120, 36));
    press(&mut m, KeyCode::PageDown);
    let tall = m.plan.selected;
    let mut m = fixtures::plan_review();
    m.plan.selected = 0;
    update(&mut m, Msg::Resize(80, 24));
    press(&mut m, KeyCode::PageDown);
    let short = m.plan.selected;
    assert_eq!(tall - short, 12, "a page is the rows on screen");
    assert_eq!(short, m.page_rows());
    press(&mut m, KeyCode::PageUp);
    assert_eq!(m.plan.selected, 0);
}

#[test]
fn errors_are_reached_by_ctrl_g_and_no_stale_count_stays() {
    let mut m = fixtures::form(Page::Nodes);
    // A node inside the pod subnet: the error is on the Kubernetes page's pod subnet field.
    let f = m.form.as_mut().unwrap();
    f.set(FieldId::PodSubnet, "10.0.0.0/16");
    assert!(f.errors_on(Page::Cluster) > 0);
    // It shows on this page too, on the node's address: Ctrl-G goes there first …
    update(&mut m, ctrl('g'));
    assert_eq!(m.screen, Screen::Form(Page::Nodes));
    assert_eq!(
        focused(&m),
        Some(FieldId::Node {
            row: 0,
            col: Col::Address
        })
    );
    // … and on to the pod subnet on the Kubernetes page.
    for _ in 0..10 {
        if m.screen == Screen::Form(Page::Cluster) {
            break;
        }
        update(&mut m, ctrl('g'));
    }
    assert_eq!(m.screen, Screen::Form(Page::Cluster));
    assert_eq!(focused(&m), Some(FieldId::PodSubnet));
    // Next refused: a message; a fix typed: the message goes.
    press(&mut m, KeyCode::Enter);
    assert!(matches!(m.status, Some((Level::Error, _))));
    update(&mut m, ctrl('u'));
    typed(&mut m, "10.244.0.0/16");
    assert_eq!(m.status, None);
}

#[test]
fn the_first_control_plane_is_chosen_explicitly() {
    let mut m = fixtures::form(Page::Nodes);
    let first = m.form.as_ref().unwrap().init_name().unwrap();
    update(&mut m, ctrl('t')); // on the first control plane
    assert!(matches!(m.status, Some((Level::Error, ref s)) if s.contains("kubeadm init")));
    assert_eq!(m.form.as_ref().unwrap().init_name().unwrap(), first);
    press(&mut m, KeyCode::Down);
    let second = m.form.as_ref().unwrap().rows[1].name.text().to_string();
    // Ctrl-F is the text field's "one character forward" here too: it changes nothing else.
    update(&mut m, ctrl('f'));
    assert_eq!(m.form.as_ref().unwrap().init_name().unwrap(), first);
    update(&mut m, ctrl('p'));
    assert_eq!(m.form.as_ref().unwrap().init_name().unwrap(), second);
    assert!(m.status.as_ref().unwrap().1.contains(&second));
    // The plan's kubeadm init runs there.
    settle(&mut m);
}

#[test]
fn save_as_over_an_existing_file_asks_first_and_defaults_to_keeping_it() {
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().join("demo.toml");
    std::fs::write(&there, "# the operator's\n").unwrap();
    let mut m = fixtures::welcome();
    press(&mut m, KeyCode::Up); // "Start a new inventory"
    press(&mut m, KeyCode::Enter);
    update(&mut m, ctrl('s'));
    assert!(matches!(m.popups.front(), Some(Popup::SaveAs { .. })));
    update(&mut m, ctrl('u'));
    typed(&mut m, there.to_str().unwrap());
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(
        cmds.is_empty(),
        "nothing written before the answer: {cmds:?}"
    );
    assert!(
        matches!(m.popups.front(), Some(Popup::Overwrite { path, yes: false, .. }) if *path == there)
    );
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    t.draw(|f| super::view::view(&m, f)).unwrap();
    let b = t.backend().buffer();
    let screen: String = (0..b.area.height)
        .flat_map(|y| (0..b.area.width).map(move |x| (x, y)))
        .map(|p| b[p].symbol().to_string())
        .collect();
    let flat = screen
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("demo.toml already exists"), "{flat}");
    // Enter on the default answer keeps the file.
    let cmds = press(&mut m, KeyCode::Enter);
    assert!(cmds.is_empty() && m.popups.is_empty(), "{cmds:?}");
    assert!(m.unsaved_edits() || m.form.as_ref().unwrap().path.is_none());
    // Asked again, y replaces it.
    update(&mut m, ctrl('s'));
    update(&mut m, ctrl('u'));
    typed(&mut m, there.to_str().unwrap());
    press(&mut m, KeyCode::Enter);
    let cmds = press(&mut m, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Save { path, .. }] if *path == there),
        "{cmds:?}"
    );
}

#[test]
fn a_question_mark_typed_in_a_text_field_is_text_and_f1_is_help() {
    let mut m = fixtures::welcome();
    press(&mut m, KeyCode::Up); // "Start a new inventory"
    press(&mut m, KeyCode::Enter);
    press(&mut m, KeyCode::Tab);
    assert_eq!(focused(&m), Some(FieldId::LbAddress));
    typed(&mut m, "a?b");
    assert!(m.popups.is_empty(), "{:?}", m.popups.front());
    assert_eq!(m.form.as_ref().unwrap().lb_address.text(), "a?b");
    press(&mut m, KeyCode::F(1));
    assert!(matches!(m.popups.front(), Some(Popup::Help { .. })));
}
