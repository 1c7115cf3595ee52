//! The wizard trusts what the CLI trusts (issue 13 item 13): a host pinned in the inventory's
//! `[ssh] known_hosts` whose key changed is refused by both — the wizard never offers it as an
//! "unknown" key to accept. Against a private OpenSSH sshd on loopback addresses (127.0.0.x),
//! each node at its own address. Needs root, /usr/sbin/sshd and ssh-keygen (skips without them,
//! except under CI=true).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kha_tui::engine::{Dirs, Options};
use kha_tui::tui::model::{Conn, Popup, Screen};
use kha_tui::tui::runtime::{Headless, Logger};
use kha_tui::tui::trust::WizardSsh;
use kha_tui::tui::{Model, Msg, Setup, Source};
use sshd::{Sshd, public_key_line};

#[path = "common/sshd.rs"]
mod sshd;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

fn keygen(dir: &Path, name: &str) -> PathBuf {
    sshd::keygen(dir, name, "ed25519", "")
}

/// An sshd listening on 127.0.0.1–127.0.0.6 at one free port.
fn start_sshd(dir: &Path) -> Sshd {
    let listen = [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ];
    Sshd::start(dir, &listen, "")
}

/// An inventory on the loopback addresses whose `[ssh] known_hosts` pins a different key for
/// master2 (127.0.0.3): as if its host key changed since it was pinned.
fn inventory(dir: &Path, port: u16) -> PathBuf {
    let impostor = keygen(dir, "impostor");
    let pinned = dir.join("pinned_known_hosts");
    std::fs::write(
        &pinned,
        format!("[127.0.0.3]:{port} {}\n", public_key_line(&impostor)),
    )
    .unwrap();
    let key = keygen(dir, "id_op");
    let text = format!(
        "# the operator's lab\n[cluster]\nname = \"trust\"\n\n[load_balancer]\naddress = \"127.0.0.1\"\n\n\
         [ssh]\nport = {port}\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n\n\
         [[nodes]]\nname = \"master1\"\naddress = \"127.0.0.2\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"master2\"\naddress = \"127.0.0.3\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"master3\"\naddress = \"127.0.0.4\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"worker1\"\naddress = \"127.0.0.5\"\nrole = \"worker\"\n",
        key.display(),
        pinned.display()
    );
    let path = dir.join("lab.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn key(h: &mut Headless<WizardSsh>, code: KeyCode) {
    h.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_key_pinned_in_the_inventory_is_refused_by_wizard_and_cli() {
    if !sshd::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sshd = start_sshd(dir.path());
    let inv = inventory(dir.path(), sshd.port);

    // The wizard, with the transport `kha-tui wizard` uses.
    let dirs = Dirs::under(&dir.path().join("wizard"));
    let mut opts = Options::new(dirs.clone());
    opts.interactive = true;
    opts.timeouts.connect = Duration::from_secs(10);
    let model = Model::new(Setup {
        simulated: false,
        save_path: dir.path().join("unused.toml"),
        sources: vec![Source {
            label: "Continue with".into(),
            path: Some(inv.clone()),
            text: Ok(std::fs::read_to_string(&inv).unwrap()),
        }],
    });
    let transport = Arc::new(WizardSsh::new(dirs.known_hosts.clone()));
    let mut h = Headless::new(transport.clone(), model, opts, Logger::none());
    for _ in 0..40 {
        if h.model.screen == Screen::Preflight {
            break;
        }
        key(&mut h, KeyCode::Enter);
    }
    assert_eq!(h.model.screen, Screen::Preflight, "{:?}", h.model.status);
    assert_eq!(
        transport.inventory_known_hosts(),
        Some(dir.path().join("pinned_known_hosts"))
    );
    // Every unknown key is asked about (and rejected here); master2's changed key never is.
    let mut asked = Vec::new();
    loop {
        let ok = h
            .until(Duration::from_secs(60), |m| {
                matches!(m.popups.front(), Some(Popup::HostKey { .. }))
                    || (!m.preflight.running && m.preflight.blocking.is_some())
            })
            .await;
        assert!(ok, "preflight did not finish: {:?}", h.model.status);
        let Some(Popup::HostKey { node, .. }) = h.model.popups.front() else {
            break;
        };
        asked.push(node.clone());
        assert!(
            h.until(Duration::from_secs(5), |m| m.now >= m.keys_ignored_until)
                .await
        );
        key(&mut h, KeyCode::Char('n'));
    }
    assert!(
        !asked.contains(&"master2".to_string()),
        "asked about {asked:?}"
    );
    assert!(
        asked.contains(&"master1".to_string()),
        "asked about {asked:?}"
    );
    let m2 = h
        .model
        .preflight
        .nodes
        .iter()
        .find(|n| n.name == "master2")
        .unwrap();
    assert_eq!(m2.conn, Conn::KeyChanged, "{}", m2.detail);
    assert!(m2.detail.contains("pinned_known_hosts"), "{}", m2.detail);
    h.stop();

    // The CLI on the same file refuses it the same way.
    let home = dir.path().join("cli-home");
    let o = Command::new(BIN)
        .args(["preflight", "--config"])
        .arg(&inv)
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.lines().any(
            |l| l.starts_with("[master2] HOST KEY CHANGED") && l.contains("pinned_known_hosts")
        ),
        "{out}"
    );
}
