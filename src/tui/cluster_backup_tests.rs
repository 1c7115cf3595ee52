//! The cluster view's "Last backup" line: shown when `kha-tui backup` (or its timer) recorded a
//! result, absent otherwise.

use ratatui::{Terminal, backend::TestBackend};

use super::fixtures;
use crate::day2::backup_store::LastBackup;

fn screen(m: &super::model::Model) -> String {
    let mut t = Terminal::new(TestBackend::new(140, 80)).unwrap();
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

fn view_with(last: Option<LastBackup>) -> String {
    let mut m = fixtures::done();
    super::cluster_view::open(&mut m);
    let mut s = fixtures::cluster_status();
    s.last_backup = last;
    super::cluster_view::arrived(&mut m, Ok(Box::new(s)));
    screen(&m)
}

#[test]
fn the_last_backup_shows_in_the_cluster_view() {
    let ok = view_with(Some(LastBackup {
        time: "2026-12-07T03:00:11Z".into(),
        unix: 1_796_612_411,
        ok: true,
        file: Some("/home/op/.local/share/kha-tui/backups/prod-20261207T030011Z.tar".into()),
        error: None,
    }));
    assert!(
        ok.contains("Last backup: 2026-12-07T03:00:11Z ok: /home/op/.local/share/kha-tui/backups/prod-20261207T030011Z.tar"),
        "{ok}"
    );
    let failed = view_with(Some(LastBackup {
        time: "2026-12-08T03:00:09Z".into(),
        unix: 1_796_698_809,
        ok: false,
        file: None,
        error: Some("no control plane has a started, healthy etcd member".into()),
    }));
    assert!(
        failed.contains("2026-12-08T03:00:09Z FAILED: no control plane"),
        "{failed}"
    );
    assert!(!view_with(None).contains("Last backup"));
}
