//! Fixtures of the wizard's key install (`K` on the Connect screen), for snapshots,
//! screenshots and the update's tests.

use crossterm::event::KeyCode;

use super::fixtures::{ev, feed, key};
use super::model::{Model, Msg, Task};
use crate::engine::events::{Event, Failure};

/// Connect screen after preflight: worker1 and worker2 refused kha-tui's key, the others
/// connected and checked.
pub fn preflight_key_refused() -> Model {
    let mut m = super::fixtures::preflight_started();
    let c = super::fixtures::cluster();
    for n in c.all_hosts() {
        let e = if n.name == "worker1" || n.name == "worker2" {
            Event::NodeUnreachable {
                node: n.name.clone(),
                failure: Failure::AuthRefused,
                error: format!(
                    "authentication as ops@{} failed: the key ~/.ssh/id_ed25519 was not accepted (the server accepts: publickey, password)",
                    n.address
                ),
            }
        } else {
            Event::NodeConnected {
                node: n.name.clone(),
                detail: "Debian GNU/Linux 12 (bookworm)".into(),
            }
        };
        ev(&mut m, e);
    }
    ev(&mut m, Event::PreflightDone { blocking: vec![] });
    feed(&mut m, [Msg::TaskEnded(Task::Preflight)]);
    let t = m.now + std::time::Duration::from_secs(1);
    feed(&mut m, [Msg::Tick(t)]);
    m
}

/// The install dialog (`K`) with a password typed.
pub fn preflight_install_key() -> Model {
    let mut m = preflight_key_refused();
    feed(&mut m, [key(KeyCode::Char('K'))]);
    let t = m.now + std::time::Duration::from_secs(1);
    feed(&mut m, [Msg::Tick(t)]);
    for c in "s3cret-pw".chars() {
        feed(&mut m, [key(KeyCode::Char(c))]);
    }
    m
}
