//! At 80×24 and 120×36 nothing essential is cut: dialog text wraps whole, the form pages and
//! the node table show every value and every reason. (Log lines and scripts scroll instead.)

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::tui::fixtures;
use crate::tui::model::Model;

fn screen(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::view(m, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The text inside the dialog's frame (the first frame not at the screen's left edge), its
/// lines joined, so wrapped sentences can be found; the whole screen when there is none.
fn dialog(s: &str) -> String {
    let grid: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let top = grid.iter().enumerate().find_map(|(y, l)| {
        // A pane beside another starts right after its neighbour's corner; a dialog does not.
        let x0 = (1..l.len()).find(|&x| l[x] == '┌' && !matches!(l[x - 1], '┐' | '─'))?;
        let x1 = l.iter().skip(x0).position(|c| *c == '┐')? + x0;
        Some((y, x0, x1))
    });
    let Some((y0, x0, x1)) = top else {
        return flat(s);
    };
    let mut out = Vec::new();
    for l in grid.iter().skip(y0 + 1) {
        if l.get(x0) == Some(&'└') {
            break;
        }
        let inner: String = l[x0 + 1..x1.min(l.len())].iter().collect();
        out.push(inner.trim().to_string());
    }
    out.join(" ")
}

/// The screen's text with the borders and line breaks gone, so wrapped sentences can be found.
fn flat(s: &str) -> String {
    s.lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// (fixture, how to build it, sentences that must be whole on screen)
type Case = (&'static str, fn() -> Model, Vec<&'static str>);

#[test]
fn nothing_essential_is_cut_at_80x24_and_120x36() {
    // (fixture, sentences that must be whole on screen)
    let cases: Vec<Case> = vec![
        (
            "welcome",
            fixtures::welcome,
            vec![
                "Start a new inventory",
                "quit (asks when edits are not saved)",
            ],
        ),
        (
            "form_access",
            || fixtures::form(crate::tui::form::Page::Access),
            vec!["Key file", "Ctrl-S"],
        ),
        (
            "form_nodes",
            || fixtures::form(crate::tui::form::Page::Nodes),
            vec!["★ runs kubeadm init", "10.0.0.23", "Ctrl-S", "F1", "Ctrl-C"],
        ),
        (
            "form_invalid_cidr",
            fixtures::form_invalid_cidr,
            vec!["pod subnet 10.0.0.0/8 contains"],
        ),
        (
            "quit_unsaved",
            fixtures::quit_unsaved,
            vec![
                "Your edits to the inventory are not saved and will be lost (n, then go back to the form; Ctrl-S there saves them).",
                "[ Stay (n) ]",
                "[ Quit (y) ]",
            ],
        ),
        (
            "save_as",
            fixtures::save_as,
            vec![
                "Later saves go to the same file; `kha-tui check --config FILE` checks it.",
                "/home/op/.config/kha-tui/demo.toml",
            ],
        ),
        (
            "preflight_host_key",
            fixtures::preflight_host_key,
            vec![
                "offers a host key kha-tui has never seen:",
                "Accept (y) remembers it in kha-tui's known_hosts; reject (n) connects nowhere.",
                "[ Accept ]",
            ],
        ),
        (
            "stop_dialog",
            fixtures::stop_dialog,
            vec![
                "a step that was cut off runs again from its start when you resume (r).",
                "[ Stop (y) ]",
            ],
        ),
        (
            "confirm_init",
            fixtures::confirm_init,
            vec!["[ Yes, run it (y) ]"],
        ),
        (
            "preflight_key_changed",
            fixtures::preflight_key_changed,
            vec![
                "HOST KEY CHANGED for master2",
                "which does not match the key recorded in ~/.ssh/known_hosts:14.",
            ],
        ),
        (
            "help_nodes",
            fixtures::help_nodes,
            vec!["runs kubeadm init", "next cell"],
        ),
    ];
    for (w, h) in [(80u16, 24u16), (120, 36)] {
        for (name, build, must) in &cases {
            let m = build();
            let s = screen(&m, w, h);
            // Dialog text must be whole inside the dialog; footer keys anywhere on screen.
            let text = format!("{} {}", dialog(&s), flat(&s));
            for want in must {
                assert!(
                    text.contains(want),
                    "{name} at {w}×{h}: {want:?} is not whole on screen:\n{s}"
                );
            }
            // Dialogs never cut a word: no ellipsis inside their frame.
            if !m.popups.is_empty() {
                assert!(
                    !dialog(&s).contains('…'),
                    "{name} at {w}×{h} cuts text:\n{s}"
                );
            }
        }
    }
}

#[test]
fn the_init_confirmation_shows_its_whole_command_at_80x24_scrolling_within() {
    use crate::tui::model::Popup;
    let long = "sudo -n -- bash /tmp/kha-tui.k3x9/run-kubeadm-init.sh --config /etc/kha-tui/kubeadm-init-configuration-for-master1.yaml --upload-certs --skip-phases=addon/kube-proxy\n  # then the control-plane certificates are uploaded under a generated key\nline3\nline4\nline5\nline6\nline7 the end";
    let mut m = fixtures::confirm_init();
    if let Some(Popup::Confirm { command, .. }) = m.popups.front_mut() {
        *command = long.to_string();
    }
    let mut seen = String::new();
    for step in 0..12 {
        if let Some(Popup::Confirm { scroll, .. }) = m.popups.front_mut() {
            *scroll = step;
        }
        let s = screen(&m, 80, 24);
        let d = dialog(&s);
        assert!(!d.contains('…'), "the dialog cuts text:\n{s}");
        assert!(d.contains("[ Yes, run it (y) ]"), "{s}");
        seen.push_str(&d);
        seen.push(' ');
    }
    for word in long.split_whitespace() {
        assert!(seen.contains(word), "{word:?} never shown at 80×24");
    }
}

/// The Connect screen says, for the selected node, how it is reached and which ssh config
/// lines gave the user, port and key (80×24).
#[test]
fn connect_screen_shows_the_effective_ssh_settings_and_their_config_lines() {
    use std::path::Path;

    use crate::inventory::ssh_config::SshConfig;
    let mut m = fixtures::preflight_done();
    let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
    file.ssh.user = None;
    file.ssh.port = None;
    file.ssh.identity_file = None;
    let (mut c, _) = crate::inventory::validate::check(&file).unwrap();
    let cfg = "Host worker*\n  User ops\n  Port 2222\n  IdentityFile /keys/w\nHost *\n  IdentityFile /keys/all\n";
    let cfg =
        SshConfig::parse(cfg, Path::new("/etc/kha/ssh_config"), Path::new("/home/op")).unwrap();
    crate::inventory::ssh_effective::apply(&mut c, Some(&cfg)).unwrap();
    m.cluster = Some(c);
    let s = screen(&m, 80, 24);
    // worker3 is selected in the fixture.
    assert!(s.contains("via ops@10.0.0.23:2222 · key /keys/w"), "{s}");
    assert!(
        s.contains("from user :2 · port :3 · key :4 (ssh config /etc/kha/ssh_config)"),
        "{s}"
    );
}

/// On a page taller than 80×24, the issues listed under the fields (those no field shows) are
/// reached by going to the last field: the page scrolls to its end.
#[test]
fn the_issues_under_a_tall_page_are_reached_from_its_last_field() {
    use crate::inventory::validate::{Issue, Severity};
    use crate::tui::form_ids::Page;
    let mut m = fixtures::form_mirror_key_missing();
    let f = m.form.as_mut().expect("form");
    f.issues.push(Issue {
        severity: Severity::Error,
        key: "cluster.somewhere".into(),
        message: "a problem no field of this page shows".into(),
        fix: String::new(),
    });
    f.focus = f.focusables(Page::Cluster).len() - 1;
    let s = screen(&m, 80, 24);
    assert!(
        flat(&s).contains("a problem no field of this page shows"),
        "{s}"
    );
    assert!(!s.contains("↓ more"), "nothing is left below:\n{s}");
}
