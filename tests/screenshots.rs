//! PNG screenshots of the main screens, drawn from the real `view` into a TestBackend with
//! fixture data, turned into SVG (a rectangle per cell background, text per run, box-drawing and
//! block characters as vector shapes) and rendered to PNG with resvg and DejaVu Sans Mono.
//!
//! Regenerate: `cargo test --test screenshots -- --ignored` (writes `screenshots/*.png`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kha_tui::tui::{Model, fixtures, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use resvg::{tiny_skia, usvg};

const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
const FONTS: [&str; 4] = [
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
];
/// Font size and cell size in SVG units (DejaVu Sans Mono advances 0.602 em).
const FONT: f32 = 14.0;
const CW: f32 = FONT * 0.602;
const CH: f32 = 17.0;
/// PNG pixels per SVG unit.
const SCALE: f32 = 1.5;

const BG: &str = "#16181d";
const FG: &str = "#d4d4d4";

/// The screens shown in the README, in flow order: (file name, fixture, width, height).
const SHOTS: [(&str, &str, u16, u16); 22] = [
    ("01-welcome", "welcome", 100, 30),
    ("02-inventory-nodes", "form_nodes", 100, 30),
    ("03-inventory-invalid-cidr", "form_invalid_cidr", 100, 30),
    ("04-preflight", "preflight", 100, 30),
    ("05-host-key", "preflight_host_key", 100, 30),
    ("06-plan-script", "plan_script", 100, 30),
    ("07-run", "run", 120, 36),
    ("08-confirm-init", "confirm_init", 120, 36),
    ("09-run-failed", "run_failed", 120, 36),
    ("10-done", "done", 100, 30),
    ("11-run-quiet", "run_quiet", 120, 36),
    ("14-run-pair", "run_pair", 120, 36),
    ("15-inventory-pair", "form_pair", 100, 30),
    // The smallest terminal the wizard is made for.
    ("12-plan-80x24", "plan", 80, 24),
    (
        "13-inventory-mirror-key-80x24",
        "form_mirror_key_missing",
        80,
        24,
    ),
    ("16-drill", "drill", 120, 36),
    ("17-cluster-problems", "cluster_problems", 120, 36),
    ("18-cluster-remove-control-plane", "day2_remove_cp", 120, 36),
    ("19-cluster-add-node", "day2_add_review", 120, 36),
    ("20-cluster-reset", "day2_reset", 120, 36),
    ("22-cluster-upgrade", "upgrade_ready", 120, 36),
    ("21-connect-install-key", "preflight_install_key", 100, 30),
];

fn color(c: Color, default: &str) -> String {
    const ANSI: [&str; 16] = [
        "#1e1e1e", "#e05561", "#8cc265", "#d18f52", "#4aa5f0", "#c162de", "#42b3c2", "#d4d4d4",
        "#5c6370", "#ff616e", "#a5e075", "#f0a45d", "#4dc4ff", "#de73ff", "#4cd1e0", "#ffffff",
    ];
    match c {
        Color::Reset => default.to_string(),
        Color::Black => ANSI[0].into(),
        Color::Red => ANSI[1].into(),
        Color::Green => ANSI[2].into(),
        Color::Yellow => ANSI[3].into(),
        Color::Blue => ANSI[4].into(),
        Color::Magenta => ANSI[5].into(),
        Color::Cyan => ANSI[6].into(),
        Color::Gray => ANSI[7].into(),
        Color::DarkGray => ANSI[8].into(),
        Color::LightRed => ANSI[9].into(),
        Color::LightGreen => ANSI[10].into(),
        Color::LightYellow => ANSI[11].into(),
        Color::LightBlue => ANSI[12].into(),
        Color::LightMagenta => ANSI[13].into(),
        Color::LightCyan => ANSI[14].into(),
        Color::White => ANSI[15].into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => ANSI[i as usize].into(),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + 10 * (i - 232);
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let f = |x: u8| if x == 0 { 0 } else { 55 + 40 * x };
            format!("#{:02x}{:02x}{:02x}", f(i / 36), f(i / 6 % 6), f(i % 6))
        }
    }
}

/// Cell colours after REVERSED: (foreground, background).
fn cell_colors(cell: &ratatui::buffer::Cell) -> (String, String) {
    let fg = color(cell.fg, FG);
    let bg = color(cell.bg, BG);
    if cell.modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

/// Box-drawing characters as strokes from the cell centre: (up, down, left, right).
fn box_arms(s: &str) -> Option<(bool, bool, bool, bool)> {
    Some(match s {
        "─" => (false, false, true, true),
        "│" => (true, true, false, false),
        "┌" => (false, true, false, true),
        "┐" => (false, true, true, false),
        "└" => (true, false, false, true),
        "┘" => (true, false, true, false),
        "├" => (true, true, false, true),
        "┤" => (true, true, true, false),
        "┬" => (false, true, true, true),
        "┴" => (true, false, true, true),
        "┼" => (true, true, true, true),
        _ => return None,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The buffer as SVG.
pub fn svg(b: &Buffer) -> String {
    let (w, h) = (b.area.width, b.area.height);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}">"#,
        w as f32 * CW + 16.0,
        h as f32 * CH + 16.0,
        w as f32 * CW + 16.0,
        h as f32 * CH + 16.0
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="{BG}"/><g transform="translate(8 8)">"#
    );
    // Backgrounds: one rect per run of equal colour.
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let (_, bg) = cell_colors(&b[(x, y)]);
            let start = x;
            while x < w && cell_colors(&b[(x, y)]).1 == bg {
                x += 1;
            }
            if bg != BG {
                let _ = write!(
                    out,
                    r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{bg}"/>"#,
                    start as f32 * CW,
                    y as f32 * CH,
                    (x - start) as f32 * CW + 0.5,
                    CH + 0.5
                );
            }
        }
    }
    // Foreground: block and box characters as shapes, the rest as text runs.
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &b[(x, y)];
            let sym = cell.symbol();
            let (fg, _) = cell_colors(cell);
            let (cx, cy) = (x as f32 * CW, y as f32 * CH);
            if sym == "█" || sym == "░" {
                let op = if sym == "█" { 1.0 } else { 0.28 };
                let _ = write!(
                    out,
                    r#"<rect x="{cx:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{fg}" fill-opacity="{op}"/>"#,
                    cy + 3.0,
                    CW + 0.3,
                    CH - 6.0
                );
                x += 1;
                continue;
            }
            if let Some((up, down, left, right)) = box_arms(sym) {
                let (mx, my) = (cx + CW / 2.0, cy + CH / 2.0);
                let mut d = String::new();
                if up {
                    let _ = write!(d, "M{mx:.2} {cy:.2}V{my:.2}");
                }
                if down {
                    let _ = write!(d, "M{mx:.2} {my:.2}V{:.2}", cy + CH);
                }
                if left {
                    let _ = write!(d, "M{cx:.2} {my:.2}H{mx:.2}");
                }
                if right {
                    let _ = write!(d, "M{mx:.2} {my:.2}H{:.2}", cx + CW);
                }
                let _ = write!(
                    out,
                    r#"<path d="{d}" stroke="{fg}" stroke-width="1.1" fill="none"/>"#
                );
                x += 1;
                continue;
            }
            if sym.trim().is_empty() {
                x += 1;
                continue;
            }
            // A text run: same colour and weight, no spaces, no shapes.
            let bold = cell.modifier.contains(Modifier::BOLD);
            let underline = cell.modifier.contains(Modifier::UNDERLINED);
            let start = x;
            let mut text = String::new();
            let mut xs = Vec::new();
            while x < w {
                let c = &b[(x, y)];
                let s = c.symbol();
                if s.trim().is_empty()
                    || s == "█"
                    || s == "░"
                    || box_arms(s).is_some()
                    || cell_colors(c).0 != fg
                    || c.modifier.contains(Modifier::BOLD) != bold
                {
                    break;
                }
                text.push_str(s);
                xs.push(format!("{:.2}", x as f32 * CW));
                x += 1;
            }
            let dim = cell.modifier.contains(Modifier::DIM);
            let _ = write!(
                out,
                r#"<text x="{}" y="{:.2}" fill="{fg}"{}{} font-family="DejaVu Sans Mono" font-size="{FONT}" xml:space="preserve">{}</text>"#,
                xs.join(" "),
                cy + CH * 0.77,
                if bold { r#" font-weight="bold""# } else { "" },
                if dim { r#" fill-opacity="0.6""# } else { "" },
                esc(&text)
            );
            if underline {
                let _ = write!(
                    out,
                    r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="1" fill="{fg}"/>"#,
                    start as f32 * CW,
                    cy + CH - 2.0,
                    (x - start) as f32 * CW
                );
            }
        }
    }
    out.push_str("</g></svg>");
    out
}

fn fonts_present() -> bool {
    FONTS.iter().all(|f| Path::new(FONT_DIR).join(f).exists())
}

/// Skips (returns false) without the DejaVu fonts, except under CI=true where that is a failure.
fn need_fonts() -> bool {
    if fonts_present() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("fonts-dejavu-core is not installed ({FONT_DIR})");
    }
    println!("skipping: fonts-dejavu-core is not installed ({FONT_DIR})");
    false
}

/// SVG to PNG bytes.
pub fn png(svg: &str) -> Vec<u8> {
    let mut opt = usvg::Options::default();
    let mut db = usvg::fontdb::Database::new();
    for f in FONTS {
        db.load_font_file(Path::new(FONT_DIR).join(f))
            .expect("font loads");
    }
    opt.fontdb = Arc::new(db);
    opt.font_family = "DejaVu Sans Mono".into();
    let tree = usvg::Tree::from_str(svg, &opt).expect("valid svg");
    let size = tree.size().to_int_size().scale_by(SCALE).expect("size");
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("pixmap");
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().expect("png")
}

fn screen(m: &Model, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    t.backend().buffer().clone()
}

fn fixture(name: &str) -> Model {
    let (_, make) = fixtures::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    make()
}

#[test]
fn the_generator_makes_a_png_of_a_real_screen() {
    if !need_fonts() {
        return;
    }
    let b = screen(&fixture("run_failed"), 80, 24);
    let s = svg(&b);
    assert!(s.contains("FAILED"), "the SVG carries the screen's text");
    let bytes = png(&s);
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
    // Not a blank image: many colours were drawn (text anti-aliasing, red, green, cyan).
    let pixmap = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
    let mut seen = std::collections::HashSet::new();
    for p in pixmap.pixels().iter().step_by(7) {
        seen.insert((p.red(), p.green(), p.blue()));
    }
    assert!(seen.len() > 50, "{} colours", seen.len());
}

#[test]
#[ignore = "writes screenshots/*.png; run with --ignored"]
fn regenerate_screenshots() {
    assert!(fonts_present(), "fonts-dejavu-core is needed ({FONT_DIR})");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, name, w, h) in SHOTS {
        let b = screen(&fixture(name), w, h);
        let bytes = png(&svg(&b));
        let path = dir.join(format!("{file}.png"));
        std::fs::write(&path, &bytes).unwrap();
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
