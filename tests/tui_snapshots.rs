//! Every screen at 80×24 and 120×36, drawn from fixtures into a TestBackend, as insta snapshots;
//! plus assertions on the colours that carry meaning (a failed node is red, …).

use insta::assert_snapshot;
use kha_tui::tui::{Model, fixtures, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

fn render(m: &Model, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    t
}

fn text(b: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            s.push_str(b[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// Cells whose text run `needle` starts at, on any row.
fn find(b: &Buffer, needle: &str) -> Vec<(u16, u16)> {
    let mut v = Vec::new();
    for y in 0..b.area.height {
        let row: Vec<&str> = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(needle) {
            // Map the byte offset back to a column.
            let mut acc = 0;
            for (x, sym) in row.iter().enumerate() {
                if acc == byte {
                    v.push((x as u16, y));
                    break;
                }
                acc += sym.len();
            }
        }
    }
    v
}

/// The screen as text, with the length of the node scripts (which change with the scripts in
/// assets/, not with the TUI) written as N: "lines 1–20 of 164" → "lines 1–20 of N".
fn normalized(t: &Terminal<TestBackend>) -> String {
    t.backend()
        .to_string()
        .lines()
        .map(|l| {
            match l
                .find("lines ")
                .and_then(|i| l[i..].find(" of ").map(|j| i + j + 4))
            {
                Some(at) => {
                    let digits = l[at..].chars().take_while(char::is_ascii_digit).count();
                    format!("{}N{}", &l[..at], &l[at + digits..])
                }
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_screen_at_80x24_and_120x36() {
    for (name, make) in fixtures::all() {
        let m = make();
        for (w, h) in [(80u16, 24u16), (120, 36)] {
            let t = render(&m, w, h);
            assert_snapshot!(format!("{name}_{w}x{h}"), normalized(&t));
        }
    }
}

#[test]
fn the_simulation_label_is_on_every_demo_screen() {
    for (name, make) in fixtures::all() {
        let m = make();
        for (w, h) in [(80u16, 24u16), (120, 36)] {
            let t = render(&m, w, h);
            // Shown exactly on the demo's screens (the drill's fixtures are of a real install).
            let labelled = text(t.backend().buffer())
                .lines()
                .next()
                .unwrap()
                .contains("SIMULATION");
            assert_eq!(
                labelled, m.simulated,
                "{name} at {w}x{h}: SIMULATION label shown {labelled}, simulated {}",
                m.simulated
            );
        }
    }
}

#[test]
fn a_failed_node_is_red() {
    let m = fixtures::run_failed();
    let t = render(&m, 120, 36);
    let b = t.backend().buffer();
    let cells = find(b, "FAILED");
    assert!(!cells.is_empty(), "{}", text(b));
    for (x, y) in cells {
        assert_eq!(b[(x, y)].fg, Color::Red, "FAILED at {x},{y}");
    }
    // The done nodes are green.
    let done = find(b, " done");
    assert!(done.iter().any(|&(x, y)| b[(x + 1, y)].fg == Color::Green));
}

#[test]
fn an_invalid_field_is_red_with_its_reason() {
    let m = fixtures::form_invalid_cidr();
    let t = render(&m, 120, 36);
    let b = t.backend().buffer();
    let s = text(b);
    assert!(s.contains("pod subnet 10.0.0.0/8 contains"), "{s}");
    let (x, y) = find(b, "Pod subnet")[0];
    assert_eq!(b[(x, y)].fg, Color::Red);
    let (x, y) = find(b, "✗ pod subnet")[0];
    assert_eq!(b[(x, y)].fg, Color::Red);
}

#[test]
fn a_changed_host_key_is_a_red_warning() {
    let m = fixtures::preflight_key_changed();
    let t = render(&m, 80, 24);
    let b = t.backend().buffer();
    let (x, y) = find(b, "HOST KEY CHANGED")[0];
    assert_eq!(b[(x, y)].bg, Color::Red, "{}", text(b));
}

#[test]
fn no_color_draws_without_colours() {
    let mut m = fixtures::run_failed();
    m.theme = kha_tui::tui::theme::Theme::plain();
    let t = render(&m, 80, 24);
    let b = t.backend().buffer();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            let c = &b[(x, y)];
            assert!(
                matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
                "colour at {x},{y}: {:?}",
                c
            );
        }
    }
    assert!(text(b).contains("FAILED"));
}

#[test]
fn the_cluster_view_colours_what_is_wrong() {
    let m = fixtures::cluster_view_problems();
    let t = render(&m, 120, 36);
    let b = t.backend().buffer();
    for word in ["UNHEALTHY", "DOWN  "] {
        let (x, y) = find(b, word)[0];
        assert_eq!(b[(x, y)].fg, Color::Red, "{word}:\n{}", text(b));
    }
    // Certificates under 30 days are red; healthy members and UP backends green.
    let (x, y) = find(b, "▸ master1")[0];
    assert_eq!(b[(x, y)].fg, Color::Red, "{}", text(b));
    let (x, y) = find(b, "healthy ")[0];
    assert_eq!(b[(x, y)].fg, Color::Green, "{}", text(b));
    let m = fixtures::cluster_view();
    let t = render(&m, 120, 36);
    let b = t.backend().buffer();
    let (x, y) = find(b, "✓ prod is healthy")[0];
    assert_eq!(b[(x, y)].fg, Color::Green, "{}", text(b));
}
