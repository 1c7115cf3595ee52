//! Shared by the benchmarks in tests/bench (each includes it with `#[path = "util.rs"] mod util;`).
//!
//! - [`timed_mode`]: a benchmark measures only under `cargo bench` (cargo passes `--bench`);
//!   under `cargo test --all-targets` it does a tiny smoke run and returns.
//! - [`machine`]: what the figures were measured on (cores, memory, kernel, load, date).
//! - [`Stats`]: median / min / max / p99 of a sample.
//! - [`measure_child`]: runs a program as a child under `/usr/bin/time` and reports wall time,
//!   CPU time and peak memory (optionally sampling the memory of its whole process tree).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// True under `cargo bench` (cargo runs bench targets with `--bench`); false under `cargo test`,
/// where a benchmark does only a smoke run.
pub fn timed_mode() -> bool {
    std::env::args().skip(1).any(|a| a == "--bench")
}

/// The value after `--name` on the command line, if any (children re-executed by a benchmark).
pub fn arg_after(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    read("/proc/loadavg")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// One line describing the machine: cores, memory, kernel, load averages, date (UTC).
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kb: u64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let model = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let load: Vec<String> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .map(String::from)
        .collect();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores ({model}), {:.1} GiB memory, kernel {kernel}, load average {}, {date}",
        mem_kb as f64 / 1024.0 / 1024.0,
        load.join(" ")
    )
}

/// Order statistics of a sample.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    pub fn of(sample: &[f64]) -> Stats {
        let mut v: Vec<f64> = sample.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        if v.is_empty() {
            return Stats {
                n: 0,
                min: f64::NAN,
                median: f64::NAN,
                p99: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            };
        }
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Stats {
            n: v.len(),
            min: v[0],
            median: if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            },
            p99: at(0.99),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// What a child process cost.
#[derive(Debug, Clone, Default)]
pub struct ChildCost {
    /// Wall time from spawn to exit, seen by the benchmark.
    pub wall: Duration,
    /// User + system CPU seconds of the child and every descendant it waited for: the growth
    /// of this process's `getrusage(RUSAGE_CHILDREN)` across the child's life (microseconds;
    /// `/usr/bin/time` prints only hundredths). Exact as long as no other child of this process
    /// ends meanwhile (the benchmarks run one child at a time).
    pub cpu: f64,
    pub user: f64,
    pub sys: f64,
    /// Largest resident set of any single process of the tree, KiB (`/usr/bin/time` %M).
    pub max_rss_kib: u64,
    /// When sampled: peak of the summed resident sets of the whole process tree, KiB (pages
    /// shared between processes counted once per process).
    pub tree_rss_kib: u64,
    /// When sampled: peak of the summed proportional set sizes (PSS) of the tree, KiB (shared
    /// pages divided among the processes sharing them: what the tree costs the machine).
    pub tree_pss_kib: u64,
    pub status_ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Resident and proportional KiB of one process (smaps_rollup), 0 if it is gone.
fn rss_pss_kib(pid: u32) -> (u64, u64) {
    let s = read(&format!("/proc/{pid}/smaps_rollup"));
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (get("Rss:"), get("Pss:"))
}

/// Children of every thread of `pid` (`/proc/PID/task/TID/children`).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let s = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
    }
    out
}

/// Summed (RSS, PSS) KiB of the descendants of `root` (not `root` itself).
fn tree_kib(root: u32) -> (u64, u64) {
    let (mut rss, mut pss) = (0, 0);
    let mut stack = children(root);
    let mut seen = 0usize;
    while let Some(p) = stack.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        let (r, s) = rss_pss_kib(p);
        rss += r;
        pss += s;
        stack.extend(children(p));
    }
    (rss, pss)
}

/// Runs `program args` as a child under `/usr/bin/time` (stdin closed, stdout and stderr
/// captured) with `env` added and in `dir`. With `sample_every`, the memory of its process tree
/// is sampled meanwhile (which costs CPU: time such runs separately).
pub fn measure_child(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    dir: &Path,
    scratch: &Path,
    sample_every: Option<Duration>,
) -> ChildCost {
    let timefile = scratch.join(format!("time-{}", std::process::id()));
    let outfile = scratch.join("child.stdout");
    let errfile = scratch.join("child.stderr");
    let _ = std::fs::remove_file(&timefile);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&timefile)
        .arg("--")
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&outfile).expect("stdout file"))
        .stderr(std::fs::File::create(&errfile).expect("stderr file"));
    let rusage_before = children_cpu();
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn /usr/bin/time");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let peak_pss = Arc::new(AtomicU64::new(0));
    let sampler = sample_every.map(|every| {
        let (done, peak_rss, peak_pss) = (done.clone(), peak_rss.clone(), peak_pss.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let (r, p) = tree_kib(pid);
                peak_rss.fetch_max(r, Ordering::Relaxed);
                peak_pss.fetch_max(p, Ordering::Relaxed);
                std::thread::sleep(every);
            }
        })
    });
    let status = child.wait().expect("wait for the child");
    let wall = started.elapsed();
    let rusage_after = children_cpu();
    done.store(true, Ordering::Relaxed);
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let t = std::fs::read_to_string(&timefile).unwrap_or_default();
    // /usr/bin/time writes "Command exited with non-zero status N" first when it failed.
    let last = t.lines().last().unwrap_or("").to_string();
    let f: Vec<f64> = last
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let max_rss = if f.len() == 4 { f[3] as u64 } else { 0 };
    let (user, sys) = (
        rusage_after.0 - rusage_before.0,
        rusage_after.1 - rusage_before.1,
    );
    ChildCost {
        wall,
        cpu: user + sys,
        user,
        sys,
        max_rss_kib: max_rss,
        tree_rss_kib: peak_rss.load(Ordering::Relaxed),
        tree_pss_kib: peak_pss.load(Ordering::Relaxed),
        status_ok: status.success(),
        stdout: std::fs::read_to_string(&outfile).unwrap_or_default(),
        stderr: std::fs::read_to_string(&errfile).unwrap_or_default(),
    }
}

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` of Linux x86_64 / aarch64: two timevals, then 14 longs.
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

const RUSAGE_CHILDREN: i32 = -1;

/// (user, system) CPU seconds of every child this process has waited for so far.
fn children_cpu() -> (f64, f64) {
    let mut r = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
    // SAFETY: getrusage writes one `struct rusage`, which `Rusage` lays out exactly.
    let rc = unsafe { getrusage(RUSAGE_CHILDREN, &mut r) };
    if rc != 0 {
        return (f64::NAN, f64::NAN);
    }
    let secs = |t: &Timeval| t.sec as f64 + t.usec as f64 / 1e6;
    (secs(&r.utime), secs(&r.stime))
}

/// `path` if it is an executable file, else the first `name` on $PATH.
pub fn find_program(explicit: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return p.is_file().then_some(p);
    }
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Resident and peak resident memory of this process, KiB (VmRSS, VmHWM).
pub fn self_rss_kib() -> (u64, u64) {
    let s = read("/proc/self/status");
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// CPU seconds (user + system, all threads) this process has used so far.
pub fn self_cpu_seconds() -> f64 {
    let s = read("/proc/self/stat");
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = s.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) ".
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Seconds with 3 decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// MiB with 1 decimal from KiB.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
