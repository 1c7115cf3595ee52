//! Benchmark 3: the run dashboard under load.
//!
//! `cargo bench --bench tui_frames` measures, for 10, 50 and 200 nodes, how long the TUI takes to
//! build a frame (ratatui `Terminal<TestBackend>`, 160×48: `view` plus ratatui's buffer diff)
//! with 1,000 log lines buffered and with 1,000,000 buffered, while lines keep arriving at
//! 10,000 per second, and how much memory the process holds. Engine `Event`s (RunStarted,
//! PhaseStarted, StepStarted, Log) go through the TUI's own `update`, exactly as the runtime
//! feeds them. Each node count runs in a child process of its own (this benchmark re-executes
//! itself with `--child-tui N`) so that its resident memory is its own.
//!
//! Per node count:
//! - frames at 1k and at 1M buffered lines, for the selected node's log and for the interleaved
//!   "all nodes" log: each frame first takes in the lines that arrived since the previous one
//!   (10,000 lines/s at 30 frames/s = 334 lines) through `update`, then draws. Reported: draw
//!   time (median, p99) and the whole frame (take in + draw). Target: 1M / 1k draw time ≤ 1.2.
//! - how fast `update` takes in Log events (lines/s), against the 10,000 lines/s arriving;
//! - resident memory after 1M lines and after enough lines that every ring is full, against
//!   what the ring caps allow (`tui::logs::NODE_CAP` per node, `ALL_CAP` interleaved).
//!
//! No network. Under `cargo test` (no `--bench`) it draws one frame and returns.

#[path = "util.rs"]
mod util;

use std::time::{Duration, Instant};

use kha_tui::engine::events::{Event, NodeInfo, PhaseInfo, Stream};
use kha_tui::inventory::Role;
use kha_tui::tui::logs::{ALL_CAP, NODE_CAP};
use kha_tui::tui::theme::Theme;
use kha_tui::tui::{Model, Msg, Screen, Setup, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;
const LINES_PER_SECOND: usize = 10_000;
const FPS: usize = 30;
const FRAMES: usize = 600;
const SCREENFUL_FIRST: u64 = 1_000;

fn node_name(i: usize) -> String {
    if i == 0 {
        "lb".into()
    } else if i <= 3 {
        format!("master{i}")
    } else {
        format!("worker{}", i - 3)
    }
}

/// A dashboard in the middle of a run: every node connected, running a step.
fn model(nodes: usize) -> Model {
    let mut m = Model::new(Setup {
        simulated: false,
        save_path: std::env::temp_dir().join("kha-bench-unused.toml"),
        sources: vec![],
    });
    m.theme = Theme::default();
    m.screen = Screen::Run;
    let infos = (0..nodes)
        .map(|i| NodeInfo {
            name: node_name(i),
            role: match i {
                0 => Role::LoadBalancer,
                1..=3 => Role::ControlPlane,
                _ => Role::Worker,
            },
            address: format!("10.0.{}.{}", i / 200, 10 + i % 200),
            steps: 5,
        })
        .collect();
    let phases = ["load-balancer", "prepare", "init", "join-workers", "finish"]
        .iter()
        .map(|p| PhaseInfo {
            name: p.to_string(),
            title: format!("the {p} phase"),
        })
        .collect();
    update(
        &mut m,
        Msg::Engine(Event::RunStarted {
            cluster: "bench".into(),
            nodes: infos,
            phases,
            simulated: false,
        }),
    );
    update(
        &mut m,
        Msg::Engine(Event::PhaseStarted {
            index: 1,
            name: "prepare".into(),
        }),
    );
    for i in 0..nodes {
        update(
            &mut m,
            Msg::Engine(Event::StepStarted {
                node: node_name(i),
                step: "containerd".into(),
                title: "Install and configure containerd (systemd cgroups)".into(),
                phase: "prepare".into(),
            }),
        );
    }
    update(&mut m, Msg::Tick(Duration::from_secs(42)));
    m
}

/// Feeds `count` Log events, numbered from `*seq`: round robin over the nodes, except that the
/// first [`SCREENFUL_FIRST`] lines go every other one to the selected node (index 0), so that
/// its log pane is full from the 1k-line case on (then the 1k and 1M frames show as many lines).
fn feed(m: &mut Model, nodes: usize, names: &[String], count: usize, seq: &mut u64) {
    for _ in 0..count {
        let k = *seq;
        *seq += 1;
        let node = if k < SCREENFUL_FIRST && k.is_multiple_of(2) {
            names[0].clone()
        } else {
            names[(k % nodes as u64) as usize].clone()
        };
        let line = format!(
            "Unpacking containerd.io ({}.{}.{}-1) over (1.7.24-1) ... selecting previously unselected package {k}",
            k % 3,
            k % 17,
            k % 101
        );
        update(
            m,
            Msg::Engine(Event::Log {
                node,
                step: "containerd".into(),
                stream: if k.is_multiple_of(11) {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                line,
            }),
        );
    }
}

/// A dashboard, its terminal and its line counter.
struct Side {
    m: Model,
    term: Terminal<TestBackend>,
    seq: u64,
}

impl Side {
    fn new(nodes: usize, names: &[String], lines: usize) -> Side {
        let mut s = Side {
            m: model(nodes),
            term: Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal"),
            seq: 0,
        };
        feed(&mut s.m, nodes, names, lines, &mut s.seq);
        s
    }

    /// Draws one frame; returns its time in ms.
    fn draw(&mut self) -> f64 {
        let t = Instant::now();
        let m = &self.m;
        self.term.draw(|f| view(m, f)).expect("draw");
        t.elapsed().as_secs_f64() * 1000.0
    }
}

/// Frame times of the 1k-line and the 1M-line dashboards, measured in alternation (so that the
/// load of the machine weighs on both alike). `still`: nothing arrives, the frame is redrawn;
/// `live`: the lines that arrived in 1/FPS s at LINES_PER_SECOND go through `update` first (the
/// 1k dashboard is put back to its 1k lines before each frame, untimed, so it stays at 1k; the
/// new lines still differ from frame to frame, so both dashboards redraw as many cells).
/// Prints `RESULT frame` lines.
fn child_frames(nodes: usize) {
    let names: Vec<String> = (0..nodes).map(node_name).collect();
    let mut small = Side::new(nodes, &names, 1_000);
    let mut big = Side::new(nodes, &names, 1_000_000);
    let small_logs = small.m.run.logs.clone();
    let per_frame = LINES_PER_SECOND.div_ceil(FPS);
    for all in [false, true] {
        small.m.run.all = all;
        big.m.run.all = all;
        for _ in 0..20 {
            small.draw();
            big.draw();
        }
        let mut t: [Vec<f64>; 6] = Default::default();
        for _ in 0..FRAMES {
            t[0].push(small.draw());
            t[1].push(big.draw());
        }
        for _ in 0..FRAMES {
            small.m.run.logs = small_logs.clone();
            let t0 = Instant::now();
            feed(&mut small.m, nodes, &names, per_frame, &mut small.seq);
            let d = small.draw();
            t[2].push(d);
            t[4].push(t0.elapsed().as_secs_f64() * 1000.0);
            let t0 = Instant::now();
            feed(&mut big.m, nodes, &names, per_frame, &mut big.seq);
            let d = big.draw();
            t[3].push(d);
            t[5].push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let s: Vec<util::Stats> = t.iter().map(|v| util::Stats::of(v)).collect();
        for (k, buffered) in [(0, "1k"), (1, "1M")] {
            println!(
                "RESULT frame nodes={nodes} buffered={buffered} view={} draw_med={:.3} draw_p99={:.3} live_draw_med={:.3} live_draw_p99={:.3} live_frame_med={:.3} live_frame_p99={:.3}",
                if all { "all" } else { "node" },
                s[k].median,
                s[k].p99,
                s[2 + k].median,
                s[2 + k].p99,
                s[4 + k].median,
                s[4 + k].p99,
            );
        }
    }
}

/// Distinct lines the rings hold: every node ring's lines (the interleaved ring shares them: it
/// holds the newest lines, which are also in their node's ring).
fn held(m: &Model) -> usize {
    m.run.logs.nodes.iter().map(|r| r.len()).sum::<usize>()
}

/// Resident memory of one dashboard as lines pile up: 1k, 1M, every ring full, 500k more.
/// Prints a `RESULT mem` line.
fn child_mem(nodes: usize) {
    let names: Vec<String> = (0..nodes).map(node_name).collect();
    let (rss_empty, _) = util::self_rss_kib();
    let mut s = Side::new(nodes, &names, 1_000);
    s.draw();
    let (rss_1k, _) = util::self_rss_kib();
    let t = Instant::now();
    let to_add = 1_000_000 - s.seq as usize;
    feed(&mut s.m, nodes, &names, to_add, &mut s.seq);
    let ingest_rate = to_add as f64 / t.elapsed().as_secs_f64();
    s.draw();
    let (rss_1m, _) = util::self_rss_kib();
    let (at_1m, held_1m) = (s.seq, held(&s.m));
    // Fill every ring to its cap, then push 500k more: memory must not move.
    let full = (nodes * NODE_CAP).max(ALL_CAP) as u64 + 2 * nodes as u64 * 1000;
    let more = full.saturating_sub(s.seq) as usize;
    feed(&mut s.m, nodes, &names, more, &mut s.seq);
    s.draw();
    let (rss_full, _) = util::self_rss_kib();
    let (lines_full, held_full) = (s.seq, held(&s.m));
    feed(&mut s.m, nodes, &names, 500_000, &mut s.seq);
    s.draw();
    let (rss_more, hwm) = util::self_rss_kib();
    println!(
        "RESULT mem nodes={nodes} rss_empty_kib={rss_empty} rss_1k_kib={rss_1k} rss_1m_kib={rss_1m} lines_1m={at_1m} retained_1m={held_1m} rss_full_kib={rss_full} lines_full={lines_full} retained_full={held_full} rss_more_kib={rss_more} lines_more={} cap={} hwm_kib={hwm} ingest_lines_per_s={ingest_rate:.0}",
        s.seq,
        nodes * NODE_CAP,
    );
}

fn parse(line: &str) -> std::collections::HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn main() {
    if let Some(n) = util::arg_after("--child-frames") {
        child_frames(n.parse().expect("node count"));
        return;
    }
    if let Some(n) = util::arg_after("--child-mem") {
        child_mem(n.parse().expect("node count"));
        return;
    }
    if !util::timed_mode() {
        // Under `cargo test`: one frame, no timing.
        let mut m = model(10);
        let names: Vec<String> = (0..10).map(node_name).collect();
        let mut seq = 0;
        feed(&mut m, 10, &names, 100, &mut seq);
        let mut term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
        term.draw(|f| view(&m, f)).expect("draw");
        println!("tui_frames: smoke run only (use `cargo bench --bench tui_frames` to measure)");
        println!("tui_frames: 1 passed, 0 failed");
        return;
    }
    println!("# tui_frames — machine: {}", util::machine());
    println!(
        "terminal {WIDTH}×{HEIGHT} (TestBackend); {LINES_PER_SECOND} lines/s arriving, taken in before each frame at {FPS} frames/s; {FRAMES} frames per case; ring caps {NODE_CAP} per node, {ALL_CAP} interleaved"
    );
    let exe = std::env::current_exe().expect("current_exe");
    let mut frames_rows = Vec::new();
    let mut mem_rows = Vec::new();
    for nodes in [10usize, 50, 200] {
        for what in ["--child-frames", "--child-mem"] {
            let load = util::load1();
            let out = std::process::Command::new(&exe)
                .args([what, &nodes.to_string()])
                .output()
                .expect("child");
            if !out.status.success() {
                println!(
                    "nodes={nodes} {what}: the child failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            println!("nodes={nodes} {what} measured [load {load:.2}]");
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(rest) = l.strip_prefix("RESULT frame ") {
                    frames_rows.push(parse(rest));
                } else if let Some(rest) = l.strip_prefix("RESULT mem ") {
                    mem_rows.push(parse(rest));
                }
            }
        }
    }
    let f = |r: &std::collections::HashMap<String, String>, k: &str| -> f64 {
        r.get(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    };
    println!();
    println!(
        "| nodes | log view | frame draw ms while lines arrive, 1k buffered (median / p99) | same, 1M buffered (median / p99) | ratio 1M/1k | target ≤ 1.2 | redraw ms, nothing arriving, 1k / 1M (median) | ratio | whole frame ms incl. taking in 334 lines, 1M buffered (median / p99) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for nodes in ["10", "50", "200"] {
        for view in ["node", "all"] {
            let pick = |b: &str| {
                frames_rows.iter().find(|r| {
                    r.get("nodes").map(String::as_str) == Some(nodes)
                        && r.get("view").map(String::as_str) == Some(view)
                        && r.get("buffered").map(String::as_str) == Some(b)
                })
            };
            let (Some(a), Some(b)) = (pick("1k"), pick("1M")) else {
                continue;
            };
            let ratio = f(b, "live_draw_med") / f(a, "live_draw_med");
            println!(
                "| {nodes} | {} | {:.3} / {:.3} | {:.3} / {:.3} | {ratio:.2} | {} | {:.3} / {:.3} | {:.2} | {:.3} / {:.3} |",
                if view == "all" {
                    "all nodes"
                } else {
                    "one node"
                },
                f(a, "live_draw_med"),
                f(a, "live_draw_p99"),
                f(b, "live_draw_med"),
                f(b, "live_draw_p99"),
                if ratio <= 1.2 {
                    "met".to_string()
                } else {
                    format!("missed by {:.0} %", (ratio - 1.2) * 100.0)
                },
                f(a, "draw_med"),
                f(b, "draw_med"),
                f(b, "draw_med") / f(a, "draw_med"),
                f(b, "live_frame_med"),
                f(b, "live_frame_p99"),
            );
        }
    }
    println!();
    println!(
        "| nodes | RSS MiB: empty → 1k lines | at 1M lines pushed (lines held) | every ring full (pushed / held; cap) | +500k more lines | bytes per held line | update() takes in lines/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &mem_rows {
        let held_full = f(r, "retained_full");
        let per_line =
            (f(r, "rss_full_kib") - f(r, "rss_1k_kib")) * 1024.0 / (held_full - 1000.0).max(1.0);
        println!(
            "| {} | {:.1} → {:.1} | {:.1} ({:.0}) | {:.1} ({:.0} / {:.0}; {:.0}) | {:.1} | {per_line:.0} | {:.0} |",
            r["nodes"],
            f(r, "rss_empty_kib") / 1024.0,
            f(r, "rss_1k_kib") / 1024.0,
            f(r, "rss_1m_kib") / 1024.0,
            f(r, "retained_1m"),
            f(r, "rss_full_kib") / 1024.0,
            f(r, "lines_full"),
            held_full,
            f(r, "cap"),
            f(r, "rss_more_kib") / 1024.0,
            f(r, "ingest_lines_per_s"),
        );
    }
    println!("machine after: {}", util::machine());
}
