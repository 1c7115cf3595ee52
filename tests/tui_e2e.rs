//! The real binary in a real terminal: `kha-tui demo` inside tmux, typed into (one invalid CIDR
//! that must be refused), the host-key and confirmation dialogs answered, until the done screen.
//! Needs tmux (skips without it, except under CI=true). The tmux harness is tests/common/tmux.rs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/prereq.rs"]
mod prereq;
#[path = "common/tmux.rs"]
mod tmux;

use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

/// Presses Enter until the screen shows `what` (the node table takes Enter cell by cell).
fn enter_until(s: &Tmux, what: &str, max: usize) {
    for _ in 0..max {
        if s.screen().contains(what) {
            return;
        }
        s.keys(&["Enter"]);
    }
    s.wait(what, 5);
}

/// Starts `kha-tui ARGS` in a fresh tmux server with a private HOME; `None` = skipped.
fn start(args: &str, tag: &str) -> Option<(tempfile::TempDir, Tmux)> {
    start_sized(args, tag, 100, 30)
}

/// As [`start`], in a terminal of `w`×`h` cells.
fn start_sized(args: &str, tag: &str, w: u16, hgt: u16) -> Option<(tempfile::TempDir, Tmux)> {
    if !prereq::require(tmux::tmux_present(), "tmux") {
        return None;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cmd = format!(
        "env HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state XDG_DATA_HOME={h}/data TMPDIR={h} TERM=xterm-256color {BIN} {args}",
        h = h.display()
    );
    let s = Tmux::start(&format!("e2e-{tag}"), &cmd, &h.join("exit"), w, hgt);
    Some((home, s))
}

#[test]
fn the_demo_in_tmux_from_welcome_to_done() {
    let Some((home, s)) = start("demo --speed 15", "full") else {
        return;
    };
    let h = home.path();
    s.wait("Welcome to", 20);
    let top = s.screen();
    assert!(
        top.lines().next().unwrap_or("").contains("SIMULATION"),
        "{top}"
    );

    // The seed topology, through the three form pages.
    s.keys(&["Enter"]);
    s.wait("1. Load balancer and SSH", 10);
    s.keys(&["Enter"]);
    s.wait("2. Control planes and workers", 10);
    enter_until(&s, "3. Kubernetes and networks", 40);
    // The pod subnet: an invalid CIDR is refused with the reason beside the field.
    s.keys(&["Tab", "Tab", "Tab", "End"]);
    for _ in 0..16 {
        s.keys(&["BSpace"]);
    }
    s.text("10.0.0.0/8");
    // The reason shows beside the field as soon as it is typed …
    s.wait("pod subnet 10.0.0.0/8 contains", 10);
    // … and Enter is refused: the page stays, with the refusal in the status line.
    s.keys(&["Enter"]);
    let scr = s.wait("error(s) on this page", 10);
    assert!(
        scr.contains("3. Kubernetes and networks"),
        "still on the page: {scr}"
    );
    for _ in 0..12 {
        s.keys(&["BSpace"]);
    }
    s.text("10.244.0.0/16");
    s.wait("✓ valid", 10);
    s.keys(&["Enter"]);
    // The seed is a new inventory: asked where to save it, the default prefilled.
    s.wait("Save the inventory as", 10);
    s.keys(&["Enter"]);
    s.wait("Connect and preflight", 10);

    // The demo's node with an unknown host key: accept it (y).
    s.wait("Unknown host key", 30);
    s.wait("SHA256:", 10);
    std::thread::sleep(Duration::from_millis(600));
    s.keys(&["y"]);
    s.wait("nothing blocks the run", 60);
    s.keys(&["Enter"]);
    // The node that runs kubeadm init is marked as in the node table, on the plan and the run.
    let plan = s.wait("Plan review", 10);
    assert!(plan.contains("★ master1 runs kubeadm init"), "{plan}");
    assert!(plan.contains("★master1"), "its steps are marked: {plan}");
    s.keys(&["s"]);
    s.wait("Log ·", 10);
    let run = s.wait("★ master1 runs kubeadm init", 10);
    assert!(
        run.lines()
            .any(|l| l.contains("★master1") && l.contains("cp 10.0.0.11")),
        "its card is marked: {run}"
    );

    // A resize mid-run redraws cleanly at 80×24.
    s.resize(80, 24);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let small = s.screen();
        let first = small.lines().next().unwrap_or("");
        // Redrawn for 80 columns: the SIMULATION label ends the 80-wide header line.
        if first.trim_end().ends_with("SIMULATION") && first.chars().count() <= 80 {
            break;
        }
        assert!(Instant::now() < end, "not redrawn at 80x24:\n{small}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Confirm every sensitive step (default No: move to Yes first) until done.
    let mut confirmed = 0;
    loop {
        let (i, scr) = s.wait_any(&["Confirm — this step asks", "is ready"], 120);
        if i == 1 {
            break;
        }
        let _ = scr;
        // A stray Enter (as if typed for the screen below) answers nothing: not as the
        // dialog opens, nor later before a choice was made.
        s.keys(&["Enter"]);
        s.wait("[ No (n) ]", 10);
        std::thread::sleep(Duration::from_millis(600));
        s.keys(&["Enter"]);
        let still = s.wait("Choose first", 10);
        assert!(still.contains("Confirm — this step asks"), "{still}");
        s.keys(&["y"]);
        s.wait_gone("Confirm — this step asks", 10);
        confirmed += 1;
        std::thread::sleep(Duration::from_millis(200));
        assert!(confirmed < 20, "too many confirmations");
    }
    assert!(confirmed >= 1, "kubeadm init asks first");
    let done = s.wait("kubectl get nodes", 10);
    assert!(done.contains("kubectl get nodes"), "{done}");
    // Nodes are counted from what the cluster reports (the engine's ClusterNodes), never from
    // the inventory: the load balancer is not a Kubernetes node.
    assert!(!done.contains("lb Ready"), "{done}");
    assert!(!done.contains(" of 7 "), "{done}");

    // q quits with status 0 (the shell around it writes the status to a file).
    s.keys(&["q"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
    // The alternate screen was left: the TUI is gone from the terminal.
    std::thread::sleep(Duration::from_millis(200));
    let after = s.screen();
    assert!(
        !after.contains("SIMULATION"),
        "the terminal was not restored:\n{after}"
    );
    // The inventory was saved as TOML `apply --config` reads; the log went to a file.
    let saved = h.join("config/kha-tui/demo.toml");
    assert!(
        kha_tui::inventory::load(Path::new(&saved)).is_ok(),
        "{}",
        saved.display()
    );
}

#[test]
fn demo_fail_worker2_fails_mid_run_and_r_retries_to_done() {
    let Some((_home, s)) = start("demo --fail worker2 --speed 15", "fail") else {
        return;
    };
    s.wait("Welcome to", 20);
    // Straight through the seed's forms, saved where suggested.
    enter_until(&s, "Save the inventory as", 40);
    s.keys(&["Enter"]);
    s.wait("Connect and preflight", 10);
    s.wait("Unknown host key", 30);
    std::thread::sleep(Duration::from_millis(600));
    s.keys(&["y"]);
    s.wait("nothing blocks the run", 60);
    s.keys(&["Enter"]);
    s.wait("Plan review", 10);
    s.keys(&["s"]);
    let mut retried = false;
    loop {
        let (i, scr) = s.wait_any(&["Confirm — this step asks", "r  retry", "is ready"], 120);
        match i {
            0 => {
                s.wait("[ No (n) ]", 10);
                std::thread::sleep(Duration::from_millis(600));
                s.keys(&["y"]);
                s.wait_gone("Confirm — this step asks", 10);
            }
            1 => {
                assert!(!retried, "failed again after the retry:\n{scr}");
                // The cause is readable without a log file: the banner names the step and
                // its exit status and keeps apt's last lines.
                let scr = s.wait("worker2: kube-packages failed — exit status 100", 10);
                // Long lines wrap in the banner: join the continuation rows to read them.
                let joined = scr.replace("\n   │ ↪ ", "");
                assert!(joined.contains("E: Unable to fetch some archives"), "{scr}");
                assert!(joined.contains("Could not connect to"), "{scr}");
                s.keys(&["r"]);
                s.wait_gone("r  retry", 10);
                retried = true;
            }
            _ => break,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(retried, "worker2 never failed");
    s.keys(&["q"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
}

/// `kha-tui check --config FILE` outside the TUI: (exit 0, what it printed).
fn check(file: &Path) -> (bool, String) {
    let o = Command::new(BIN)
        .args(["check", "--config"])
        .arg(file)
        .output()
        .expect("kha-tui check runs");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// A signing key's fingerprint as `gpg --show-keys` prints it.
const FINGERPRINT: &str = "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567";

/// "Start a new inventory" at 80×24, every value typed, the node table cell by cell, the first
/// control plane chosen explicitly, an http mirror refused until its key is pinned, saved where
/// the operator says; `kha-tui check` accepts it.
#[test]
fn a_new_inventory_by_keys_alone_at_80x24() {
    let Some((home, s)) = start_sized("demo", "new", 80, 24) else {
        return;
    };
    let h = home.path();
    s.wait("Welcome to", 20);
    s.keys(&["Up"]);
    s.wait("▶ Start a new inventory", 10);
    s.keys(&["Enter"]);
    s.wait("1. Load balancer and SSH", 10);
    // Nothing is chosen for the operator: the key file is empty and flagged.
    s.wait("✗", 10);
    s.keys(&["Tab"]);
    s.text("192.0.2.10");
    for _ in 0..6 {
        s.keys(&["Tab"]);
    }
    s.text("~/.ssh/lab");
    s.wait("~/.ssh/lab", 10);
    s.keys(&["Enter"]);
    s.wait("2. Control planes and workers", 10);
    // Tab cell by cell: Name, Address, User, Port, then the next row's Name.
    for a in ["192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.21"] {
        s.keys(&["Tab"]);
        s.text(a);
        s.keys(&["Tab", "Tab", "Tab"]);
    }
    // The first control plane runs kubeadm init: toggling it is refused, Ctrl-P moves it.
    s.keys(&["Up", "Up", "Up", "Up"]); // row 0, the Name column
    s.keys(&["C-t"]);
    s.wait("master1 runs kubeadm init: make another", 10);
    s.keys(&["Down", "C-p"]);
    s.wait("master2 runs kubeadm init (the first control plane)", 10);
    // Enter goes cell by cell; on the last cell of the last row it moves on.
    enter_until(&s, "3. Kubernetes and networks", 30);
    // A plain-http package mirror without its signing key: refused on the key's own field,
    // with check's fix; Enter does not move on.
    s.wait("› Cluster name", 10);
    for _ in 0..6 {
        s.keys(&["Tab"]);
    }
    s.wait("› Package mirror", 10);
    s.text("http://192.0.2.1/k8s");
    s.keys(&["Tab"]);
    let scr = s.wait(
        "cluster.package_mirror_key: fix: give the 40 hex digits",
        10,
    );
    // The reason beside the focused key field, wrapped under itself.
    let lines: Vec<&str> = scr.lines().collect();
    let at = lines.iter().position(|l| l.contains("›   its key"));
    let beside = at.map(|i| lines[i..i + 3].join(" ")).unwrap_or_default();
    assert!(
        beside.contains("✗ package_mirror") && beside.contains("is plain"),
        "the error is on the key's field:\n{scr}"
    );
    s.keys(&["Enter"]);
    let scr = s.wait("error(s) on this page", 10);
    assert!(scr.contains("3. Kubernetes and networks"), "{scr}");
    s.text(FINGERPRINT);
    s.wait("✓ valid", 10);
    s.keys(&["Enter"]);
    s.wait("Save the inventory as", 10);
    let path = h.join("ops/lab.toml");
    s.keys(&["C-u"]);
    s.text(&path.display().to_string());
    s.keys(&["Enter"]);
    s.wait("Connect and preflight", 10);
    s.wait("Saved to", 10);
    // q works on Connect: it asks, y quits.
    s.keys(&["q"]);
    s.wait("Quit?", 10);
    s.keys(&["y"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
    let (ok, out) = check(&path);
    assert!(ok, "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("192.0.2.21") && text.contains("~/.ssh/lab"),
        "{text}"
    );
    assert!(
        text.contains("package_mirror = \"http://192.0.2.1/k8s\"")
            && text.contains(&format!("package_mirror_key = \"{FINGERPRINT}\"")),
        "{text}"
    );
    let first = text.find("name = \"master2\"").unwrap();
    assert!(
        first < text.find("name = \"master1\"").unwrap(),
        "master2 first: {text}"
    );
    // The plan of the saved file runs kubeadm init on the node chosen, and marks it.
    let o = Command::new(BIN)
        .args(["plan", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{plan}");
    assert!(plan.contains("★ master2 runs kubeadm init"), "{plan}");
    assert!(
        plan.lines()
            .any(|l| l.starts_with(" ★master2") && l.contains("kubeadm-init")),
        "{plan}"
    );
}

const COMMENTED: &str = "# the lab, as the operator wrote it\n[cluster]\nname = \"lab\" # keep me\n\n[load_balancer]\naddress = \"192.0.2.10\"\n\n[ssh]\nidentity_file = \"~/.ssh/lab\"\n\n# control planes\n[[nodes]]\nname = \"cp1\"\naddress = \"192.0.2.11\"\nrole = \"control-plane\"\n\n[[nodes]]\nname = \"cp2\"\naddress = \"192.0.2.12\"\nrole = \"control-plane\"\n\n[[nodes]]\nname = \"cp3\"\naddress = \"192.0.2.13\"\nrole = \"control-plane\"\n\n# workers\n[[nodes]]\nname = \"w1\"\naddress = \"192.0.2.99\"\nrole = \"worker\"\n";

/// `kha-tui wizard --config FILE`: one address corrected in the table, Ctrl-S writes that file
/// (its comments kept), `?` lists the keys, j/k move, q asks before losing later edits.
#[test]
fn continue_with_a_file_corrects_it_in_place() {
    let cfg = tempfile::tempdir().unwrap();
    let file = cfg.path().join("lab.toml");
    std::fs::write(&file, COMMENTED).unwrap();
    let Some((_home, s)) = start(&format!("wizard --config {}", file.display()), "config") else {
        return;
    };
    s.wait("Continue with", 20);
    // j/k move on Welcome.
    s.keys(&["j"]);
    s.wait("▶ Load an inventory file", 10);
    s.keys(&["k"]);
    s.wait("▶ Continue with", 10);
    // ? lists every key of the screen.
    s.keys(&["?"]);
    let help = s.wait("Keys on this screen", 10);
    assert!(
        help.contains("quit (asks when edits are not saved)"),
        "{help}"
    );
    s.keys(&["Escape"]);
    s.wait_gone("Keys on this screen", 10);
    s.keys(&["Enter"]);
    s.wait("1. Load balancer and SSH", 10);
    s.keys(&["Enter"]);
    s.wait("2. Control planes and workers", 10);
    // The worker, its address: ↓ three rows, Tab one cell; Ctrl-U clears it.
    s.keys(&["Down", "Down", "Down", "Tab", "C-u"]);
    s.text("192.0.2.21");
    s.keys(&["C-s"]);
    s.wait("Saved to", 10);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved, COMMENTED.replace("192.0.2.99", "192.0.2.21"));
    let (ok, out) = check(&file);
    assert!(ok, "{out}");
    // A later edit, not saved: q on Welcome asks, n stays, y quits without writing it.
    s.text("9");
    s.keys(&["Escape", "Escape"]);
    s.wait("Continue editing", 10);
    s.keys(&["q"]);
    s.wait("will be lost", 10);
    s.keys(&["n"]);
    s.wait_gone("will be lost", 10);
    s.keys(&["q"]);
    s.wait("will be lost", 10);
    s.keys(&["y"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);
}

#[test]
fn stop_mid_run_cancels_and_says_stopping_until_the_engine_stopped() {
    let Some((home, s)) = start("demo --speed 1", "stop") else {
        return;
    };
    let h = home.path();
    s.wait("Welcome to", 20);
    enter_until(&s, "Save the inventory as", 40);
    s.keys(&["Enter"]);
    s.wait("Connect and preflight", 10);
    s.wait("Unknown host key", 60);
    std::thread::sleep(Duration::from_millis(600));
    s.keys(&["y"]);
    s.wait("nothing blocks the run", 90);
    s.keys(&["Enter"]);
    s.wait("Plan review", 10);
    s.keys(&["s"]);
    s.wait("running", 20);
    // All nodes' lines, paused one page up: the window stays put while lines keep arriving.
    s.keys(&["a"]);
    std::thread::sleep(Duration::from_millis(1500));
    s.keys(&["PPage"]);
    let paused = |scr: &str| -> Option<(u64, u64, u64)> {
        let at = scr.find("paused ")? + "paused ".len();
        let rest = &scr[at..];
        let end = rest.find(' ')?;
        let (range, total) = rest[..end].split_once('/')?;
        let (a, b) = range.split_once('–')?;
        Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
    };
    let first = paused(&s.wait("paused ", 10)).expect("a paused position");
    // Paged by the visible height (30 rows: the pane shows about 20 lines), not 10 lines.
    assert!(first.1 - first.0 + 1 >= 15, "{first:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let later = paused(&s.screen()).expect("still paused");
    assert_eq!(
        (later.0, later.1),
        (first.0, first.1),
        "the paused window moved"
    );
    assert!(later.2 >= first.2, "{first:?} {later:?}");
    s.keys(&["End"]);
    s.wait("follow", 10);
    s.keys(&["C-c"]);
    // The dialog says what will happen.
    s.wait("Stop?", 10);
    let scr = s.wait("ends the commands running on", 10);
    assert!(scr.contains("starts nothing new"), "{scr}");
    s.keys(&["y"]);
    // Stopped for real: the run ends well before the minute a whole demo run takes, not ok,
    // and resume is offered.
    let t0 = Instant::now();
    let scr = s.wait("r  resume", 30);
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert!(scr.contains("stopped"), "{scr}");
    assert!(!scr.contains("stopping…"), "{scr}");
    // Outside the screen: the TUI's own log says the engine finished after the stop was asked.
    let tui_log = std::fs::read_dir(h)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("logs/tui.log"))
        .find(|p| p.exists())
        .expect("the demo's tui.log");
    let log = std::fs::read_to_string(&tui_log).unwrap();
    let stop_at = log.find("stop requested").expect("stop requested");
    let finished_at = log.find("run finished: ok=false").expect("run finished");
    assert!(stop_at < finished_at, "{log}");
    s.keys(&["q"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
}
