//! Benchmark 2: one command on many hosts — kha-tui's engine against parallel-ssh, clush and
//! ansible, side by side, on the same real sshd servers.
//!
//! `cargo bench --bench fanout` brings up a lab of 200 light hosts (sshd only) once and runs
//! `uname -a; sleep 0.2` on the first 10, 50 and 200 of them with each tool at the same
//! concurrency (50 connections at a time), as the lab's `ops` user with the lab's key and the
//! lab's host keys pinned (StrictHostKeyChecking=yes against the lab's known_hosts). Every tool
//! runs as a child process under `/usr/bin/time` — kha-tui too: this benchmark re-executes itself
//! with `--child-fanout`, which runs only `engine::fanout::run_everywhere` over `SshTransport` —
//! so wall time, CPU time (user + sys of the child and every process it waited for) and peak
//! memory are measured the same way for all. Peak memory is given as the largest single process
//! (`/usr/bin/time` %M) and, since the peers run one `ssh` process per connection (and ansible a
//! forked worker per host), as the peak of the whole process tree's summed PSS and RSS, sampled
//! every 50 ms in one extra, untimed run per tool and size (sampling costs CPU).
//!
//! Each run's output must show `uname -a` from every host, else the run counts as failed.
//! The lab is taken down at the end, also on failure. Traffic goes only to the lab's hosts.
//!
//! Environment: `KHA_BENCH_REPS` (runs per tool and size, default 3), `KHA_BENCH_SIZES`
//! (default `10,50,200`), `KHA_BENCH_CONCURRENCY` (default 50), `KHA_BENCH_ANSIBLE` (the
//! `ansible` program; default /var/cache/kha-bench/ansible-venv/bin/ansible, else $PATH).
//! tests/bench/setup.sh installs the peers. Missing peers are reported and skipped.

#[path = "../common/lab.rs"]
mod lab;
#[path = "util.rs"]
mod util;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kha_tui::engine::{self, Dirs, Options};
use kha_tui::inventory::{Node, Role, SshSettings};
use kha_tui::transport::ssh::{SshConfig, SshTransport};

const COMMAND: &str = "uname -a; sleep 0.2";
const USER: &str = "ops";
/// How often the memory runs sample the tool's process tree.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// The child: `--child-fanout HOSTS_FILE CONCURRENCY KEY KNOWN_HOSTS`. Runs the command on every
/// host of HOSTS_FILE (`name address` per line) with kha-tui's engine, prints `name: line` for
/// every line of output, exits 1 if any host failed.
fn child_fanout() -> ! {
    let args: Vec<String> = std::env::args().collect();
    let i = args
        .iter()
        .position(|a| a == "--child-fanout")
        .expect("--child-fanout");
    let (hosts_file, concurrency, key, known_hosts) = (
        PathBuf::from(&args[i + 1]),
        args[i + 2].parse::<usize>().expect("concurrency"),
        PathBuf::from(&args[i + 3]),
        PathBuf::from(&args[i + 4]),
    );
    let hosts: Vec<(String, String)> = std::fs::read_to_string(&hosts_file)
        .expect("hosts file")
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(n, a)| (n.to_string(), a.to_string()))
        })
        .collect();
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut opts = Options::new(Dirs::under(scratch.path()));
    // For experiments with an encrypted key (not used by the benchmark itself).
    opts.key_passphrase = std::env::var("KHA_BENCH_KEY_PASSPHRASE").ok();
    let targets = hosts
        .iter()
        .map(|(name, address)| {
            let node = Node {
                name: name.clone(),
                address: address.parse().expect("an IP address"),
                role: Role::Worker,
                ssh: SshSettings::direct(USER, 22, Some(key.clone())),
            };
            engine::target_for(&node, &opts)
        })
        .collect();
    let mut config = SshConfig::with_openssh_defaults(opts.dirs.known_hosts.clone());
    config.known_hosts = vec![known_hosts];
    let transport = Arc::new(SshTransport::new(config));
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let results = rt.block_on(engine::fanout::run_everywhere(
        transport,
        targets,
        COMMAND,
        concurrency,
        None,
    ));
    let mut failed = 0;
    let mut out = String::new();
    for r in results {
        match r.result {
            Ok(c) if c.status.success() => {
                for l in c.stdout.lines() {
                    out.push_str(&format!("{}: {l}\n", r.node));
                }
            }
            Ok(c) => {
                failed += 1;
                eprintln!("{}: exit {:?}: {}", r.node, c.status.0, c.stderr.trim());
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", r.node);
            }
        }
    }
    print!("{out}");
    drop(rt);
    drop(scratch);
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// OpenSSH client options every peer gets: the lab key, the lab's host keys pinned, no
/// multiplexing (each connection is its own ssh process, as each is its own connection in kha-tui).
fn ssh_options(lab: &lab::Lab) -> Vec<String> {
    vec![
        format!("-i {}", lab.key.display()),
        "-o IdentitiesOnly=yes".into(),
        format!("-o UserKnownHostsFile={}", lab.known_hosts.display()),
        "-o GlobalKnownHostsFile=/dev/null".into(),
        "-o StrictHostKeyChecking=yes".into(),
        "-o BatchMode=yes".into(),
        "-o ConnectTimeout=15".into(),
        "-o ControlMaster=no".into(),
        "-o LogLevel=ERROR".into(),
    ]
}

struct Tool {
    name: &'static str,
    program: PathBuf,
    /// Args for N hosts; env; how to count the hosts that answered in its stdout.
    args: Box<dyn Fn(usize) -> Vec<String>>,
    env: Vec<(String, String)>,
}

fn tools(
    lab: &lab::Lab,
    files: &Path,
    concurrency: usize,
    self_exe: &Path,
) -> (Vec<Tool>, Vec<String>) {
    let mut v = Vec::new();
    let mut missing = Vec::new();
    let hosts_dir = files.to_path_buf();
    let hosts_file = move |n: usize| hosts_dir.join(format!("hosts-{n}")).display().to_string();
    let opts = ssh_options(lab).join(" ");

    let (key, kh) = (
        lab.key.display().to_string(),
        lab.known_hosts.display().to_string(),
    );
    let f = files.to_path_buf();
    v.push(Tool {
        name: "kha-tui",
        program: self_exe.to_path_buf(),
        args: Box::new(move |n| {
            vec![
                "--child-fanout".into(),
                f.join(format!("named-{n}")).display().to_string(),
                concurrency.to_string(),
                key.clone(),
                kh.clone(),
            ]
        }),
        env: vec![],
    });

    match util::find_program(None, "parallel-ssh") {
        Some(p) => {
            let opts = opts.clone();
            let hf = hosts_file;
            v.push(Tool {
                name: "parallel-ssh",
                program: p,
                args: Box::new(move |n| {
                    vec![
                        "-h".into(),
                        hf(n),
                        "-l".into(),
                        USER.into(),
                        "-p".into(),
                        concurrency.to_string(),
                        "-t".into(),
                        "120".into(),
                        "-i".into(),
                        "-x".into(),
                        opts.clone(),
                        COMMAND.into(),
                    ]
                }),
                env: vec![],
            })
        }
        None => missing.push("parallel-ssh (apt-get install pssh)".into()),
    }

    match util::find_program(None, "clush") {
        Some(p) => {
            let opts = opts.clone();
            let f = files.to_path_buf();
            v.push(Tool {
                name: "clush",
                program: p,
                args: Box::new(move |n| {
                    vec![
                        "--hostfile".into(),
                        f.join(format!("hosts-{n}")).display().to_string(),
                        "-l".into(),
                        USER.into(),
                        "-f".into(),
                        concurrency.to_string(),
                        "-t".into(),
                        "15".into(),
                        "-u".into(),
                        "120".into(),
                        "-o".into(),
                        opts.clone(),
                        COMMAND.into(),
                    ]
                }),
                env: vec![],
            })
        }
        None => missing.push("clush (apt-get install clustershell)".into()),
    }

    let ansible = util::find_program(
        std::env::var_os("KHA_BENCH_ANSIBLE").map(PathBuf::from),
        "ansible",
    )
    .or_else(|| {
        let p = PathBuf::from("/var/cache/kha-bench/ansible-venv/bin/ansible");
        p.is_file().then_some(p)
    });
    match ansible {
        Some(p) => {
            let f = files.to_path_buf();
            let home = files.join("ansible-home");
            let ssh_args = ssh_options(lab)
                .into_iter()
                .filter(|o| !o.starts_with("-i "))
                .collect::<Vec<_>>()
                .join(" ");
            v.push(Tool {
                name: "ansible",
                program: p,
                args: Box::new(move |n| {
                    vec![
                        "all".into(),
                        "-i".into(),
                        f.join(format!("ansible-{n}.ini")).display().to_string(),
                        "-m".into(),
                        "shell".into(),
                        "-a".into(),
                        COMMAND.into(),
                        "-f".into(),
                        concurrency.to_string(),
                    ]
                }),
                env: vec![
                    ("ANSIBLE_HOME".into(), home.display().to_string()),
                    (
                        "ANSIBLE_LOCAL_TEMP".into(),
                        home.join("tmp").display().to_string(),
                    ),
                    // An empty configuration: ansible's defaults, plus what is set here.
                    (
                        "ANSIBLE_CONFIG".into(),
                        files.join("ansible.cfg").display().to_string(),
                    ),
                    ("ANSIBLE_HOST_KEY_CHECKING".into(), "True".into()),
                    ("ANSIBLE_SSH_ARGS".into(), ssh_args),
                    (
                        "ANSIBLE_PRIVATE_KEY_FILE".into(),
                        lab.key.display().to_string(),
                    ),
                    ("ANSIBLE_REMOTE_USER".into(), USER.into()),
                    // The usual speed-ups: one ssh connection per host, no interpreter discovery.
                    ("ANSIBLE_PIPELINING".into(), "True".into()),
                    ("ANSIBLE_PYTHON_INTERPRETER".into(), "/usr/bin/python3".into()),
                    ("ANSIBLE_NOCOLOR".into(), "1".into()),
                    ("ANSIBLE_DEPRECATION_WARNINGS".into(), "False".into()),
                ],
            })
        }
        None => missing.push(
            "ansible (python3 -m venv /var/cache/kha-bench/ansible-venv && …/bin/pip install ansible-core)"
                .into(),
        ),
    }
    (v, missing)
}

fn write_host_files(lab: &lab::Lab, dir: &Path, sizes: &[usize]) {
    for &n in sizes {
        let hosts: Vec<&lab::Host> = lab.hosts.iter().take(n).collect();
        let addrs: String = hosts.iter().map(|h| format!("{}\n", h.address)).collect();
        std::fs::write(dir.join(format!("hosts-{n}")), &addrs).expect("hosts");
        let named: String = hosts
            .iter()
            .map(|h| format!("{} {}\n", h.name, h.address))
            .collect();
        std::fs::write(dir.join(format!("named-{n}")), named).expect("named");
        let ini: String = std::iter::once("[all]\n".to_string())
            .chain(
                hosts
                    .iter()
                    .map(|h| format!("{} ansible_host={}\n", h.name, h.address)),
            )
            .collect();
        std::fs::write(dir.join(format!("ansible-{n}.ini")), ini).expect("ini");
    }
}

/// Hosts whose `uname -a` shows in a tool's output (`Linux nK …` from host nK).
fn answered(stdout: &str, n: usize) -> usize {
    let mut seen = vec![false; n + 1];
    for l in stdout.lines() {
        if let Some(i) = l.find("Linux n") {
            let rest = &l[i + 7..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(k) = digits.parse::<usize>()
                && k >= 1
                && k <= n
            {
                seen[k] = true;
            }
        }
    }
    seen.iter().filter(|s| **s).count()
}

struct Row {
    tool: &'static str,
    size: usize,
    wall: Vec<f64>,
    cpu: Vec<f64>,
    max_rss: Vec<f64>,
    tree_rss: f64,
    tree_pss: f64,
    failures: usize,
}

fn smoke() {
    assert_eq!(
        answered("n1: Linux n1 5.0\n[2] Linux n2 x\nLinux n12 y\n", 3),
        2
    );
    verdict_smoke();
    println!("fanout: smoke run only (use `cargo bench --bench fanout` to measure)");
    println!("fanout: 1 passed, 0 failed");
}

fn main() {
    if std::env::args().any(|a| a == "--child-fanout") {
        child_fanout();
    }
    if !util::timed_mode() {
        smoke();
        return;
    }
    if let Err(why) = lab::prerequisites() {
        println!("fanout: skipped: {why}");
        return;
    }
    if !Path::new("/usr/bin/time").is_file() {
        println!("fanout: skipped: /usr/bin/time is missing (apt-get install time)");
        return;
    }
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(d)
    };
    let reps = env_num("KHA_BENCH_REPS", 3).max(1);
    let concurrency = env_num("KHA_BENCH_CONCURRENCY", 50).max(1);
    let sizes: Vec<usize> = std::env::var("KHA_BENCH_SIZES")
        .unwrap_or_else(|_| "10,50,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| (1..=200).contains(n))
        .collect();
    let largest = sizes.iter().copied().max().unwrap_or(10);
    println!("# fanout — machine: {}", util::machine());
    println!("command: {COMMAND:?}; concurrency {concurrency} for every tool; {reps} runs each");

    let name = format!("kbfan{}", std::process::id());
    let lab = lab::Lab::try_up(&name, &format!("light:{largest}"), "bookworm")
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "lab {} up: {} light hosts in {:.1} s ({}.0/24)",
        lab.name,
        lab.hosts.len(),
        lab.up_time.as_secs_f64(),
        lab.net
    );
    let scratch = tempfile::tempdir().expect("tempdir");
    let files = scratch.path();
    std::fs::create_dir_all(files.join("ansible-home/tmp")).expect("ansible home");
    std::fs::write(files.join("ansible.cfg"), "").expect("ansible.cfg");
    write_host_files(&lab, files, &sizes);
    let self_exe = std::env::current_exe().expect("current_exe");
    let (tools, missing) = tools(&lab, files, concurrency, &self_exe);
    for m in &missing {
        println!("not installed, skipped: {m}");
    }

    let run = |t: &Tool, n: usize, sample: Option<Duration>| -> util::ChildCost {
        util::measure_child(&t.program, &(t.args)(n), &t.env, files, files, sample)
    };

    // Warm-up (not measured): every host answers once, every tool starts once.
    for t in &tools {
        let n = if t.name == "kha-tui" { largest } else { 10 };
        let c = run(t, n, None);
        let got = answered(&c.stdout, n);
        println!(
            "warm-up {:<13} {n:>3} hosts: {got} answered in {:.2} s",
            t.name,
            c.wall.as_secs_f64()
        );
        if got != n {
            println!(
                "  stdout tail: {}\n  stderr tail: {}",
                tail(&c.stdout),
                tail(&c.stderr)
            );
        }
    }

    let mut rows: Vec<Row> = Vec::new();
    for &n in &sizes {
        for t in &tools {
            rows.push(Row {
                tool: t.name,
                size: n,
                wall: vec![],
                cpu: vec![],
                max_rss: vec![],
                tree_rss: f64::NAN,
                tree_pss: f64::NAN,
                failures: 0,
            });
        }
        for rep in 0..reps {
            // Rotate the order so that no tool always runs first after a pause.
            for k in 0..tools.len() {
                let t = &tools[(k + rep) % tools.len()];
                let load = util::load1();
                let c = run(t, n, None);
                let got = answered(&c.stdout, n);
                let row = rows
                    .iter_mut()
                    .find(|r| r.tool == t.name && r.size == n)
                    .expect("row");
                let ok = got == n;
                println!(
                    "{:<13} {n:>3} hosts run {}: wall {:>7.3} s  cpu {:>7.4} s (user {:.4}, sys {:.4})  max-rss {:>6} MiB  {got}/{n} answered{}  [load {load:.2}]",
                    t.name,
                    rep + 1,
                    c.wall.as_secs_f64(),
                    c.cpu,
                    c.user,
                    c.sys,
                    util::mib(c.max_rss_kib),
                    if ok { "" } else { "  FAILED" }
                );
                if !ok {
                    row.failures += 1;
                    println!(
                        "  stdout tail: {}\n  stderr tail: {}",
                        tail(&c.stdout),
                        tail(&c.stderr)
                    );
                    continue;
                }
                row.wall.push(c.wall.as_secs_f64());
                row.cpu.push(c.cpu);
                row.max_rss.push(c.max_rss_kib as f64 / 1024.0);
            }
        }
        // Memory of the whole process tree: one more run per tool, sampled (the sampling costs
        // CPU, so these runs are not timed).
        for t in &tools {
            let c = run(t, n, Some(SAMPLE_EVERY));
            let got = answered(&c.stdout, n);
            println!(
                "{:<13} {n:>3} hosts memory run: tree RSS {:>7} MiB, tree PSS {:>7} MiB  {got}/{n} answered",
                t.name,
                util::mib(c.tree_rss_kib),
                util::mib(c.tree_pss_kib),
            );
            let row = rows
                .iter_mut()
                .find(|r| r.tool == t.name && r.size == n)
                .expect("row");
            if got == n {
                row.tree_rss = c.tree_rss_kib as f64 / 1024.0;
                row.tree_pss = c.tree_pss_kib as f64 / 1024.0;
            }
        }
    }

    println!();
    println!(
        "| hosts | tool | wall s, median (min–max) | × kha-tui | CPU s user+sys, median | × kha-tui | max RSS MiB, largest process | tree PSS MiB, peak | × kha-tui | tree RSS MiB, peak | runs ok |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut fastest_everywhere = true;
    for &n in &sizes {
        let med = |v: &Vec<f64>| util::Stats::of(v).median;
        let base = rows
            .iter()
            .find(|r| r.tool == "kha-tui" && r.size == n)
            .expect("kha-tui row");
        let (bw, bc, bp) = (med(&base.wall), med(&base.cpu), base.tree_pss);
        for r in rows.iter().filter(|r| r.size == n) {
            let (w, c, m) = (med(&r.wall), med(&r.cpu), med(&r.max_rss));
            if r.tool != "kha-tui" && w.is_finite() && w <= bw {
                fastest_everywhere = false;
            }
            println!(
                "| {n} | {} | {w:.3} ({:.3}–{:.3}) | {:.2} | {c:.3} | {:.1} | {m:.1} | {:.1} | {:.1} | {:.1} | {}/{} |",
                r.tool,
                util::Stats::of(&r.wall).min,
                util::Stats::of(&r.wall).max,
                w / bw,
                c / bc,
                r.tree_pss,
                r.tree_pss / bp,
                r.tree_rss,
                r.wall.len(),
                r.wall.len() + r.failures
            );
        }
    }
    println!();
    let verdict = verdict(&missing, &sizes, &rows, fastest_everywhere);
    println!(
        "target (kha-tui fastest at every size): {}",
        verdict.as_ref().map_or_else(|e| e.as_str(), |v| *v)
    );
    println!("machine after: {}", util::machine());
    drop(lab); // lab down
    if verdict.is_err() {
        std::process::exit(2);
    }
}

/// The peers the target names: "fastest" means faster than each of them.
const PEERS: [&str; 3] = ["parallel-ssh", "clush", "ansible"];

/// The target's verdict, "met" or "missed", only when kha-tui and every peer had a successful
/// run at every size; otherwise why the comparison was NOT MEASURED (a peer not installed, or
/// none of its runs answered): never "fastest" against nobody.
fn verdict(
    missing: &[String],
    sizes: &[usize],
    rows: &[Row],
    fastest_everywhere: bool,
) -> Result<&'static str, String> {
    let mut not = missing
        .iter()
        .map(|m| format!("{m} is not installed"))
        .collect::<Vec<_>>();
    for &n in sizes {
        for tool in std::iter::once("kha-tui").chain(PEERS) {
            let measured = rows
                .iter()
                .any(|r| r.tool == tool && r.size == n && !r.wall.is_empty());
            let absent = missing.iter().any(|m| m.starts_with(tool));
            if !measured && !absent {
                not.push(format!("{tool} had no successful run at {n} hosts"));
            }
        }
    }
    if !not.is_empty() {
        return Err(format!(
            "NOT MEASURED: the comparison was not made ({}; tests/bench/setup.sh installs the peers)",
            not.join("; ")
        ));
    }
    Ok(if fastest_everywhere { "met" } else { "missed" })
}

fn row(tool: &'static str, size: usize, wall: &[f64]) -> Row {
    Row {
        tool,
        size,
        wall: wall.to_vec(),
        cpu: vec![],
        max_rss: vec![],
        tree_rss: f64::NAN,
        tree_pss: f64::NAN,
        failures: 0,
    }
}

/// The verdict with peers missing or failing is NOT MEASURED, never "met".
fn verdict_smoke() {
    let all = |w: f64| -> Vec<Row> {
        std::iter::once(row("kha-tui", 10, &[1.0]))
            .chain(PEERS.iter().map(|p| row(p, 10, &[w])))
            .collect()
    };
    assert_eq!(verdict(&[], &[10], &all(2.0), true), Ok("met"));
    assert_eq!(verdict(&[], &[10], &all(0.5), false), Ok("missed"));
    let only_us = vec![row("kha-tui", 10, &[1.0])];
    let missing: Vec<String> = vec![
        "parallel-ssh (apt-get install pssh)".into(),
        "clush (apt-get install clustershell)".into(),
        "ansible (apt-get install ansible)".into(),
    ];
    let v = verdict(&missing, &[10], &only_us, true).unwrap_err();
    assert!(v.starts_with("NOT MEASURED") && v.contains("clush"), "{v}");
    let mut failed = all(2.0);
    failed[3].wall.clear();
    let v = verdict(&[], &[10], &failed, true).unwrap_err();
    assert!(
        v.contains("ansible had no successful run at 10 hosts"),
        "{v}"
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
