//! Fixtures of the wizard's day-2 dialogs, over the cluster view of the example cluster opened
//! as the home screen (its inventory file at /home/op/.config/kha-tui/cluster.toml).

use crossterm::event::KeyCode;

use super::fixtures::{cluster_status_with, feed, key};
use super::model::Model;
use crate::inventory::{EXAMPLE, validate};

const PATH: &str = "/home/op/.config/kha-tui/cluster.toml";

fn typed(s: &str) -> Vec<crate::tui::Msg> {
    s.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// The cluster view as the home screen (kha-tui started on an installed cluster).
pub fn home(faulty: bool) -> Model {
    let mut m = super::fixtures::welcome();
    m.simulated = false;
    let c = validate::check(&crate::inventory::parse(EXAMPLE).unwrap())
        .unwrap()
        .0;
    super::home::open(&mut m, EXAMPLE.into(), PATH.into(), c);
    super::cluster_view::open(&mut m);
    super::cluster_view::arrived(&mut m, Ok(Box::new(cluster_status_with(faulty))));
    m
}

pub fn cluster_home() -> Model {
    home(false)
}

/// `a`: the new node's form, filled in, the address clashing with worker1's.
pub fn day2_add() -> Model {
    let mut m = home(false);
    feed(&mut m, [key(KeyCode::Char('a'))]);
    feed(&mut m, typed("worker4"));
    feed(&mut m, [key(KeyCode::Tab)]);
    feed(&mut m, typed("10.0.0.21"));
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

/// The new node valid: what will run, waiting for y.
pub fn day2_add_review() -> Model {
    let mut m = day2_add();
    feed(&mut m, [key(KeyCode::End)]);
    for _ in 0..2 {
        feed(&mut m, [key(KeyCode::Backspace)]);
    }
    feed(&mut m, typed("24"));
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

/// `x` with master3's etcd stopped and master2's backend DOWN: those first.
pub fn day2_pick() -> Model {
    let mut m = home(true);
    feed(&mut m, [key(KeyCode::Char('x'))]);
    m
}

/// Removing a control plane: its name half typed, Enter refused.
pub fn day2_remove_cp() -> Model {
    let mut m = home(false);
    feed(&mut m, [key(KeyCode::Char('x'))]);
    // The picker lists every node; master2 is the second.
    feed(&mut m, [key(KeyCode::Down), key(KeyCode::Enter)]);
    feed(&mut m, typed("mast"));
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

/// `R`: the reset dialog, the name not typed yet.
pub fn day2_reset() -> Model {
    let mut m = home(false);
    feed(&mut m, [key(KeyCode::Char('R'))]);
    m
}

/// Removing worker1, which did not answer the last read: a worker (y), `unreachable` offered.
pub fn day2_remove_unreachable_worker() -> Model {
    let mut m = home(false);
    if let Some(s) = m.cluster_view.status.as_mut() {
        s.unreachable.push(crate::day2::status::HostError {
            node: "worker1".into(),
            error: "connection refused".into(),
        });
    }
    feed(&mut m, [key(KeyCode::Char('x')), key(KeyCode::Enter)]);
    m
}
