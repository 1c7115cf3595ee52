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
//! - a paused pane in the middle of the log: each frame brings the window up to date from the
//!   engine's file (the index takes in what was appended, then the window's lines are read)
//!   and draws. Target: 1M / 1k ≤ 1.2 as well.
//! - resident memory after 1k and 1M lines and after every node printed 20,000 lines (at 200
//!   nodes: 4 million lines), then 500k more. Target: ≤ 64 MiB at 200 nodes × 20k lines.
//!
//! As in a real run, every event is first written to the per-node log files by the engine's
//! `NodeLogs` (in a temporary directory), then given to `update`: the pane pages from those
//! files and keeps only short tails in memory.
//!
//! No network. Under `cargo test` (no `--bench`) it draws one frame and returns.

#[path = "util.rs"]
mod util;

use std::time::{Duration, Instant};

use kha_tui::engine::events::{Event, NodeInfo, PhaseInfo, Stream};
use kha_tui::engine::logs::NodeLogs;
use kha_tui::inventory::Role;
use kha_tui::tui::logs::{ALL_TAIL, tail_cap};
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
/// Lines every node prints in the memory run (the "200 nodes × 20k lines each").
const LINES_PER_NODE: usize = 20_000;
/// The memory target at 200 nodes, MiB.
const RSS_TARGET_MIB: f64 = 64.0;

/// Gives an event to the engine's log files (as the engine's pump does), then to `update`.
fn send(m: &mut Model, files: &mut NodeLogs, ev: Event) {
    files.record(&ev);
    update(m, Msg::Engine(ev));
}

fn node_name(i: usize) -> String {
    if i == 0 {
        "lb".into()
    } else if i <= 3 {
        format!("master{i}")
    } else {
        format!("worker{}", i - 3)
    }
}

/// A dashboard in the middle of a run: every node connected, running a step; the engine's log
/// files under `root`.
fn model(nodes: usize, root: &std::path::Path, files: &mut NodeLogs) -> Model {
    let mut m = Model::new(Setup {
        simulated: false,
        save_path: std::env::temp_dir().join("kha-bench-unused.toml"),
        sources: vec![],
    });
    m.theme = Theme::default();
    m.screen = Screen::Run;
    m.run.log_root = Some(root.to_path_buf());
    update(&mut m, Msg::Resize(WIDTH, HEIGHT));
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
    send(
        &mut m,
        files,
        Event::RunStarted {
            cluster: "bench".into(),
            nodes: infos,
            phases,
            simulated: false,
        },
    );
    send(
        &mut m,
        files,
        Event::PhaseStarted {
            index: 1,
            name: "prepare".into(),
        },
    );
    for i in 0..nodes {
        send(
            &mut m,
            files,
            Event::StepStarted {
                node: node_name(i),
                step: "containerd".into(),
                title: "Install and configure containerd (systemd cgroups)".into(),
                phase: "prepare".into(),
            },
        );
    }
    files.flush();
    update(&mut m, Msg::Tick(Duration::from_secs(42)));
    m
}

/// Feeds `count` Log events, numbered from `*seq`: round robin over the nodes, except that the
/// first [`SCREENFUL_FIRST`] lines go every other one to the selected node (index 0), so that
/// its log pane is full from the 1k-line case on (then the 1k and 1M frames show as many lines).
fn feed(
    m: &mut Model,
    files: &mut NodeLogs,
    nodes: usize,
    names: &[String],
    count: usize,
    seq: &mut u64,
) {
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
        send(
            m,
            files,
            Event::Log {
                node,
                step: "containerd".into(),
                stream: if k.is_multiple_of(11) {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                line,
            },
        );
    }
    // The engine's pump flushes whenever it has caught up.
    files.flush();
}

/// A dashboard, its terminal, the engine's log files and its line counter.
struct Side {
    m: Model,
    term: Terminal<TestBackend>,
    files: NodeLogs,
    seq: u64,
    _dir: tempfile::TempDir,
}

impl Side {
    fn new(nodes: usize, names: &[String], lines: usize) -> Side {
        let dir = tempfile::Builder::new()
            .prefix("kha-bench-logs")
            .tempdir()
            .expect("temp dir");
        let mut files = NodeLogs::open(dir.path(), "bench").expect("log dir");
        let mut s = Side {
            m: model(nodes, dir.path(), &mut files),
            term: Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal"),
            files,
            seq: 0,
            _dir: dir,
        };
        s.feed(nodes, names, lines);
        s
    }

    fn feed(&mut self, nodes: usize, names: &[String], count: usize) {
        feed(
            &mut self.m,
            &mut self.files,
            nodes,
            names,
            count,
            &mut self.seq,
        );
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
            small.feed(nodes, &names, per_frame);
            let d = small.draw();
            t[2].push(d);
            t[4].push(t0.elapsed().as_secs_f64() * 1000.0);
            let t0 = Instant::now();
            big.feed(nodes, &names, per_frame);
            let d = big.draw();
            t[3].push(d);
            t[5].push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        // Paused in the middle of the log while lines arrive: each frame's tick brings the
        // window up to date from the file (index + read), then the frame is drawn.
        let mut paused: [Vec<f64>; 2] = Default::default();
        for side in [&mut small, &mut big] {
            let view = side.m.run.ring_index();
            let total = side.m.run.logs.total(view);
            side.m.run.top = Some(total / 2);
        }
        for k in 0..FRAMES {
            for (i, side) in [&mut small, &mut big].into_iter().enumerate() {
                side.feed(nodes, &names, per_frame);
                let t0 = Instant::now();
                update(
                    &mut side.m,
                    Msg::Tick(Duration::from_secs(42) + Duration::from_millis(k as u64)),
                );
                side.draw();
                paused[i].push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
        for side in [&mut small, &mut big] {
            side.m.run.top = None;
        }
        let p: Vec<util::Stats> = paused.iter().map(|v| util::Stats::of(v)).collect();
        let s: Vec<util::Stats> = t.iter().map(|v| util::Stats::of(v)).collect();
        for (k, buffered) in [(0, "1k"), (1, "1M")] {
            println!(
                "RESULT frame nodes={nodes} buffered={buffered} view={} draw_med={:.3} draw_p99={:.3} live_draw_med={:.3} live_draw_p99={:.3} live_frame_med={:.3} live_frame_p99={:.3} paused_med={:.3} paused_p99={:.3}",
                if all { "all" } else { "node" },
                s[k].median,
                s[k].p99,
                s[2 + k].median,
                s[2 + k].p99,
                s[4 + k].median,
                s[4 + k].p99,
                p[k].median,
                p[k].p99,
            );
        }
    }
}

/// Lines the tails hold in memory: every node's tail (the interleaved tail shares its lines
/// with them).
fn held(m: &Model) -> usize {
    m.run.logs.nodes.iter().map(|r| r.len()).sum::<usize>()
}

/// Resident memory of one dashboard as lines pile up: 1k, 1M, every node at LINES_PER_NODE,
/// 500k more; with the pane paged to the very first line of one node and of all nodes (so the
/// file indexes are in memory too). Prints a `RESULT mem` line.
fn child_mem(nodes: usize) {
    let names: Vec<String> = (0..nodes).map(node_name).collect();
    let (rss_empty, _) = util::self_rss_kib();
    let mut s = Side::new(nodes, &names, 1_000);
    s.draw();
    let (rss_1k, _) = util::self_rss_kib();
    let t = Instant::now();
    let to_add = 1_000_000 - s.seq as usize;
    s.feed(nodes, &names, to_add);
    let ingest_rate = to_add as f64 / t.elapsed().as_secs_f64();
    s.draw();
    let (rss_1m, _) = util::self_rss_kib();
    let (at_1m, held_1m) = (s.seq, held(&s.m));
    let full = (nodes * LINES_PER_NODE) as u64 + 2 * nodes as u64 * 1000;
    let more = full.saturating_sub(s.seq) as usize;
    s.feed(nodes, &names, more);
    // Page to the first line of node 0 and of the interleaved log: scrollback from the files.
    let t = Instant::now();
    for all in [false, true] {
        s.m.run.all = all;
        s.m.run.top = Some(0);
        update(&mut s.m, Msg::Tick(Duration::from_secs(43)));
        s.draw();
    }
    let first_page_ms = t.elapsed().as_secs_f64() * 1000.0 / 2.0;
    let first_line =
        s.m.run
            .window
            .as_ref()
            .and_then(|w| w.lines.first())
            .map(|l| l.text.to_string())
            .unwrap_or_default();
    assert!(
        first_line.contains("containerd"),
        "the interleaved log's first line: {first_line:?}"
    );
    let (rss_full, _) = util::self_rss_kib();
    let (lines_full, held_full) = (s.seq, held(&s.m));
    s.feed(nodes, &names, 500_000);
    update(&mut s.m, Msg::Tick(Duration::from_secs(44)));
    s.draw();
    let (rss_more, hwm) = util::self_rss_kib();
    println!(
        "RESULT mem nodes={nodes} rss_empty_kib={rss_empty} rss_1k_kib={rss_1k} rss_1m_kib={rss_1m} lines_1m={at_1m} retained_1m={held_1m} rss_full_kib={rss_full} lines_full={lines_full} retained_full={held_full} rss_more_kib={rss_more} lines_more={} tail_cap={} index_kib={} first_page_ms={first_page_ms:.1} hwm_kib={hwm} ingest_lines_per_s={ingest_rate:.0}",
        s.seq,
        tail_cap(nodes),
        s.m.run.logs.index_bytes() / 1024,
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
        let names: Vec<String> = (0..10).map(node_name).collect();
        let mut side = Side::new(10, &names, 100);
        side.draw();
        println!("tui_frames: smoke run only (use `cargo bench --bench tui_frames` to measure)");
        println!("tui_frames: 1 passed, 0 failed");
        return;
    }
    println!("# tui_frames — machine: {}", util::machine());
    println!(
        "terminal {WIDTH}×{HEIGHT} (TestBackend); {LINES_PER_SECOND} lines/s arriving, taken in before each frame at {FPS} frames/s; {FRAMES} frames per case; tails in memory {} lines per node at 200 nodes, {ALL_TAIL} interleaved; the rest paged from the engine's log files",
        tail_cap(200)
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
        "| nodes | log view | frame draw ms while lines arrive, 1k buffered (median / p99) | same, 1M buffered (median / p99) | ratio 1M/1k | target ≤ 1.2 | redraw ms, nothing arriving, 1k / 1M (median) | ratio | paused mid-log, window from the file + draw, 1k / 1M (median) | ratio | whole frame ms incl. taking in 334 lines, 1M buffered (median / p99) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
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
            let paused = f(b, "paused_med") / f(a, "paused_med");
            worst = worst.max(ratio).max(paused);
            println!(
                "| {nodes} | {} | {:.3} / {:.3} | {:.3} / {:.3} | {ratio:.2} | {} | {:.3} / {:.3} | {:.2} | {:.3} / {:.3} | {paused:.2} | {:.3} / {:.3} |",
                if view == "all" {
                    "all nodes"
                } else {
                    "one node"
                },
                f(a, "live_draw_med"),
                f(a, "live_draw_p99"),
                f(b, "live_draw_med"),
                f(b, "live_draw_p99"),
                if ratio <= 1.2 && paused <= 1.2 {
                    "met".to_string()
                } else {
                    format!("missed by {:.0} %", (ratio.max(paused) - 1.2) * 100.0)
                },
                f(a, "draw_med"),
                f(b, "draw_med"),
                f(b, "draw_med") / f(a, "draw_med"),
                f(a, "paused_med"),
                f(b, "paused_med"),
                f(b, "live_frame_med"),
                f(b, "live_frame_p99"),
            );
        }
    }
    println!();
    println!(
        "| nodes | RSS MiB: empty → 1k lines | at 1M lines (held in memory) | every node at {LINES_PER_NODE} lines (pushed / held; tail per node), paged to the first line | +500k more lines | file indexes KiB | first page from a cold index ms | update() takes in lines/s (incl. the file writes) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rss_200 = f64::NAN;
    for r in &mem_rows {
        if r["nodes"] == "200" {
            rss_200 = f(r, "rss_full_kib").max(f(r, "rss_more_kib")) / 1024.0;
        }
        println!(
            "| {} | {:.1} → {:.1} | {:.1} ({:.0}) | {:.1} ({:.0} / {:.0}; {:.0}) | {:.1} | {:.0} | {:.0} | {:.0} |",
            r["nodes"],
            f(r, "rss_empty_kib") / 1024.0,
            f(r, "rss_1k_kib") / 1024.0,
            f(r, "rss_1m_kib") / 1024.0,
            f(r, "retained_1m"),
            f(r, "rss_full_kib") / 1024.0,
            f(r, "lines_full"),
            f(r, "retained_full"),
            f(r, "tail_cap"),
            f(r, "rss_more_kib") / 1024.0,
            f(r, "index_kib"),
            f(r, "first_page_ms"),
            f(r, "ingest_lines_per_s"),
        );
    }
    println!();
    println!(
        "SUMMARY worst frame ratio 1M/1k {worst:.2} (target ≤ 1.2: {}); RSS at 200 nodes × {LINES_PER_NODE} lines {rss_200:.1} MiB (target ≤ {RSS_TARGET_MIB} MiB: {})",
        if worst <= 1.2 { "met" } else { "MISSED" },
        if rss_200 <= RSS_TARGET_MIB {
            "met"
        } else {
            "MISSED"
        }
    );
    println!("machine after: {}", util::machine());
}
