//! The real binary in a real terminal: `kha-tui demo` inside tmux, typed into (one invalid CIDR
//! that must be refused), the host-key and confirmation dialogs answered, until the done screen.
//! Needs tmux (skips without it, except under CI=true).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

fn tmux_present() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

struct Session {
    name: String,
    socket: String,
}

impl Session {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let o = self.tmux(&["send-keys", "-t", &self.name, k]);
            assert!(
                o.status.success(),
                "send-keys {k}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn text(&self, s: &str) {
        let o = self.tmux(&["send-keys", "-t", &self.name, "-l", s]);
        assert!(o.status.success());
        std::thread::sleep(Duration::from_millis(80));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", &self.name]).stdout)
            .into_owned()
    }

    fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", &self.name])
            .status
            .success()
    }

    /// Waits until the screen shows `what`; panics with the screen after `secs`.
    fn wait(&self, what: &str, secs: u64) -> String {
        self.wait_any(&[what], secs).1
    }

    /// Waits until the screen no longer shows `what` (a key was handled and drawn).
    fn wait_gone(&self, what: &str, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while self.screen().contains(what) {
            if Instant::now() > end {
                panic!(
                    "waited {secs}s for {what:?} to go; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_any(&self, what: &[&str], secs: u64) -> (usize, String) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if let Some(i) = what.iter().position(|w| s.contains(w)) {
                return (i, s);
            }
            if Instant::now() > end || !self.alive() {
                panic!("waited {secs}s for {what:?}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn demo_is_wired() -> bool {
    Command::new(BIN)
        .args(["demo", "--help"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts `kha-tui ARGS` in a fresh tmux server with a private HOME; `None` = skipped.
fn start(args: &str, tag: &str) -> Option<(tempfile::TempDir, Session)> {
    if !tmux_present() {
        assert!(!ci(), "tmux is not installed");
        println!("skipping: tmux is not installed");
        return None;
    }
    if !demo_is_wired() {
        assert!(!ci(), "`kha-tui demo` is not wired in src/main.rs");
        println!("skipping: `kha-tui demo` is not wired in src/main.rs yet");
        return None;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let s = Session {
        name: "kha".into(),
        socket: format!("kha-tui-e2e-{}-{tag}", std::process::id()),
    };
    let cmd = format!(
        "env HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state XDG_DATA_HOME={h}/data TMPDIR={h} TERM=xterm-256color sh -c '{BIN} {args}; echo $? > {h}/exit'",
        h = h.display()
    );
    let o = s.tmux(&[
        "new-session",
        "-d",
        "-s",
        &s.name,
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    s.tmux(&["set-option", "-t", &s.name, "remain-on-exit", "on"]);
    Some((home, s))
}

/// Waits for the exit status file the shell around kha-tui writes.
fn exit_status(s: &Session, h: &Path) -> String {
    let exit = h.join("exit");
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(&exit).unwrap_or_default();
        if !text.is_empty() {
            return text.trim().to_string();
        }
        assert!(Instant::now() < end, "kha-tui did not exit: {}", s.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
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
    s.keys(&["Enter"]);
    s.wait("3. Kubernetes and networks", 10);
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
    let scr = s.wait("on this page: fix them first", 10);
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
    s.wait("Connect and preflight", 10);

    // The demo's node with an unknown host key: accept it.
    s.wait("Unknown host key", 30);
    s.wait("SHA256:", 10);
    s.keys(&["Right", "Enter"]);
    s.wait("nothing blocks the run", 60);
    s.keys(&["Enter"]);
    s.wait("Plan review", 10);
    s.keys(&["s"]);
    s.wait("Log ·", 10);

    // A resize mid-run redraws cleanly at 80×24.
    s.tmux(&["resize-window", "-t", &s.name, "-x", "80", "-y", "24"]);
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
        // The dialog is complete on screen, its default No included.
        s.wait("[ No ]", 10);
        s.keys(&["Tab", "Enter"]);
        s.wait_gone("Confirm — this step asks", 10);
        confirmed += 1;
        std::thread::sleep(Duration::from_millis(200));
        assert!(confirmed < 20, "too many confirmations");
    }
    assert!(confirmed >= 1, "kubeadm init asks first");
    let done = s.wait("kubectl get nodes", 10);
    assert!(done.contains("kubectl get nodes"), "{done}");
    assert!(done.contains("Ready"), "{done}");

    // q quits with status 0 (the shell around it writes the status to a file).
    s.keys(&["q"]);
    assert_eq!(exit_status(&s, h), "0", "{}", s.screen());
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
    let Some((home, s)) = start("demo --fail worker2 --speed 15", "fail") else {
        return;
    };
    s.wait("Welcome to", 20);
    // Straight through the seed's forms.
    s.keys(&["Enter", "Enter", "Enter", "Enter"]);
    s.wait("Connect and preflight", 10);
    s.wait("Unknown host key", 30);
    s.keys(&["Right", "Enter"]);
    s.wait("nothing blocks the run", 60);
    s.keys(&["Enter"]);
    s.wait("Plan review", 10);
    s.keys(&["s"]);
    let mut retried = false;
    loop {
        let (i, scr) = s.wait_any(&["Confirm — this step asks", "r  retry", "is ready"], 120);
        match i {
            0 => {
                s.wait("[ No ]", 10);
                s.keys(&["Tab", "Enter"]);
                s.wait_gone("Confirm — this step asks", 10);
            }
            1 => {
                assert!(!retried, "failed again after the retry:\n{scr}");
                s.wait("worker2 failed", 10);
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
    assert_eq!(exit_status(&s, home.path()), "0", "{}", s.screen());
}
