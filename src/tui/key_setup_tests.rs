//! Unit tests of the wizard's key install (`K` on the Connect screen): which nodes are offered
//! it, the masked dialog, the command it sends (the password never in debug output), and what
//! the result does.

use crossterm::event::KeyCode;
use ratatui::{Terminal, backend::TestBackend};

use super::fixtures::{ev, key};
use super::model::*;
use super::update::update;
use crate::cli::ssh_setup::Outcome;
use crate::engine::events::{Event, Failure};

fn screen(m: &Model) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 36)).unwrap();
    t.draw(|f| super::view::view(m, f)).unwrap();
    let b = t.backend().buffer();
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn settle(m: &mut Model) {
    let t = m.now + std::time::Duration::from_secs(1);
    update(m, Msg::Tick(t));
}

fn refused() -> Model {
    super::fixtures_key_setup::preflight_key_refused()
}

fn hints(m: &Model) -> Vec<&'static str> {
    super::keymap::bindings(m).iter().map(|b| b.hint).collect()
}

#[test]
fn nodes_that_refuse_the_key_are_offered_the_install_and_others_are_not() {
    let mut m = refused();
    let want: Vec<String> = vec!["worker1".into(), "worker2".into()];
    assert_eq!(
        m.key_setup.refused.iter().cloned().collect::<Vec<_>>(),
        want
    );
    assert!(hints(&m).contains(&"K"), "{:?}", hints(&m));
    assert!(
        m.status
            .as_ref()
            .is_some_and(|(_, s)| s.contains("K installs kha-tui's key")),
        "{:?}",
        m.status
    );
    // worker2 connects on the next try: it is no longer offered.
    ev(
        &mut m,
        Event::NodeConnected {
            node: "worker2".into(),
            detail: String::new(),
        },
    );
    assert_eq!(m.key_setup.refused.len(), 1);
    // Another kind of failure is not the key's: not offered.
    ev(
        &mut m,
        Event::NodeUnreachable {
            node: "worker1".into(),
            failure: Failure::Unreachable,
            error: "connection refused".into(),
        },
    );
    assert!(m.key_setup.refused.is_empty());
    assert!(!hints(&m).contains(&"K"));
    let cmds = update(&mut m, key(KeyCode::Char('K')));
    assert!(cmds.is_empty() && m.popups.is_empty());
}

#[test]
fn the_password_is_typed_masked_and_sent_once_with_the_nodes_never_shown() {
    let mut m = refused();
    assert!(update(&mut m, key(KeyCode::Char('K'))).is_empty());
    settle(&mut m);
    assert!(matches!(m.popups.front(), Some(Popup::KeyPassword { .. })));
    // Enter on an empty field: said, nothing sent, the dialog stays.
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    assert!(matches!(m.popups.front(), Some(Popup::KeyPassword { .. })));
    assert!(m.status.as_ref().is_some_and(|(l, _)| *l == Level::Error));
    for c in "s3cr3t-pw".chars() {
        update(&mut m, key(KeyCode::Char(c)));
    }
    let s = screen(&m);
    assert!(
        !format!("{:?}", m.popups).contains("s3cr3t"),
        "{:?}",
        m.popups
    );
    assert!(s.contains("Install kha-tui's key"), "{s}");
    assert!(s.contains("worker1, worker2 refused kha-tui's key"), "{s}");
    assert!(s.contains("•••••••••"), "{s}");
    assert!(!s.contains("s3cr3t"), "{s}");
    let cmds = update(&mut m, key(KeyCode::Enter));
    assert_eq!(cmds.len(), 1);
    let Command::InstallKey {
        nodes, password, ..
    } = &cmds[0]
    else {
        panic!("{cmds:?}");
    };
    assert_eq!(nodes, &vec!["worker1".to_string(), "worker2".to_string()]);
    assert_eq!(password.0.as_str(), "s3cr3t-pw");
    assert!(!format!("{cmds:?}").contains("s3cr3t"), "{cmds:?}");
    assert!(m.popups.is_empty());
    assert!(m.key_setup.running);
    // While it runs, K is not offered again.
    assert!(!hints(&m).contains(&"K"));
}

#[test]
fn esc_cancels_and_sends_nothing() {
    let mut m = refused();
    update(&mut m, key(KeyCode::Char('K')));
    settle(&mut m);
    update(&mut m, key(KeyCode::Char('x')));
    assert!(update(&mut m, key(KeyCode::Esc)).is_empty());
    assert!(m.popups.is_empty());
    assert!(!m.key_setup.running);
}

#[test]
fn the_result_is_said_per_node_and_the_connect_runs_again_when_a_key_went_in() {
    let mut m = refused();
    m.key_setup.running = true;
    let cmds = update(
        &mut m,
        Msg::KeyInstalled(Ok(vec![
            (
                "worker1".into(),
                Outcome::KeyInstalled { was_listed: false },
            ),
            (
                "worker2".into(),
                Outcome::Failed(
                    "authentication as ops@10.0.0.22 failed: the password was not accepted".into(),
                ),
            ),
        ])),
    );
    assert!(!m.key_setup.running);
    let (level, text) = m.status.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(
        text.contains("Key installed on worker1; connecting again"),
        "{text}"
    );
    assert!(
        text.contains("worker2: authentication as ops@10.0.0.22 failed"),
        "{text}"
    );
    assert!(
        cmds.iter().any(|c| matches!(c, Command::Preflight { .. })),
        "{cmds:?}"
    );
    // Nothing went in: no new connect.
    let cmds = update(
        &mut m,
        Msg::KeyInstalled(Ok(vec![(
            "worker2".into(),
            Outcome::Failed("the password was not accepted".into()),
        )])),
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    let cmds = update(&mut m, Msg::KeyInstalled(Err("no key file".into())));
    assert!(cmds.is_empty());
    assert!(m.status.as_ref().unwrap().1.contains("no key file"));
}

/// A key the dialog generates is encrypted with the session's passphrase when `p` gave one
/// (the runs after it open the key with that), and has none otherwise.
#[test]
fn a_generated_key_takes_the_sessions_passphrase_when_there_is_one() {
    let d = tempfile::tempdir().unwrap();
    let with = d.path().join("with/id_ed25519");
    let k =
        super::key_setup::node_key(&with, Some(zeroize::Zeroizing::new("s3cret".into()))).unwrap();
    assert!(k.generated);
    assert!(matches!(
        russh::keys::load_secret_key(&with, None),
        Err(russh::keys::Error::KeyIsEncrypted)
    ));
    russh::keys::load_secret_key(&with, Some("s3cret")).unwrap();
    // Read back (not made again) with the same passphrase.
    let again =
        super::key_setup::node_key(&with, Some(zeroize::Zeroizing::new("s3cret".into()))).unwrap();
    assert!(!again.generated);
    assert_eq!(again.fingerprint, k.fingerprint);

    let without = d.path().join("without/id_ed25519");
    super::key_setup::node_key(&without, None).unwrap();
    russh::keys::load_secret_key(&without, None).unwrap();
}
