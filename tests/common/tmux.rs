//! A program in a real terminal: a private tmux server per session, keys sent as an operator
//! types them, the screen read back as text. Shared by the CLI prompt tests and the journeys.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn tmux_present() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One tmux server (its own socket) holding one window that runs one command.
pub struct Tmux {
    pub name: String,
    pub socket: String,
    /// Where the shell around the command writes its exit status.
    pub exit_file: PathBuf,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a fresh server at `cols`×`rows`; its exit
    /// status goes to `exit_file`. The window stays after the command ends, so its last screen
    /// can be read.
    pub fn start(tag: &str, command: &str, exit_file: &Path, cols: u16, rows: u16) -> Tmux {
        let t = Tmux {
            name: "kha".into(),
            socket: format!("kha-tui-{}-{tag}", std::process::id()),
            exit_file: exit_file.to_path_buf(),
        };
        let _ = std::fs::remove_file(exit_file);
        // bash, not sh: on Ctrl-C bash waits for the program and goes on to record its status
        // unless the program itself died of the signal; dash would die with it.
        let wrapped = format!("bash -c '{command}; echo $? > {}'", exit_file.display());
        let o = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.name,
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            &wrapped,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        t.tmux(&["set-option", "-t", &t.name, "remain-on-exit", "on"]);
        t
    }

    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Named keys (tmux key names: Enter, Tab, BTab, C-c, Up, …), one at a time.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let o = self.tmux(&["send-keys", "-t", &self.name, k]);
            assert!(
                o.status.success(),
                "send-keys {k}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Literal text, as typed.
    pub fn text(&self, s: &str) {
        let o = self.tmux(&["send-keys", "-t", &self.name, "-l", s]);
        assert!(o.status.success());
        std::thread::sleep(Duration::from_millis(100));
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", &self.name]).stdout)
            .into_owned()
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let o = self.tmux(&[
            "resize-window",
            "-t",
            &self.name,
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// The exit status, once the command has ended.
    pub fn exited(&self) -> Option<String> {
        std::fs::read_to_string(&self.exit_file)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().to_string())
    }

    /// Waits until the screen shows `what`; panics with the screen after `secs`.
    pub fn wait(&self, what: &str, secs: u64) -> String {
        self.wait_any(&[what], secs).1
    }

    /// Waits until the screen shows one of `what`: (its index, the screen).
    pub fn wait_any(&self, what: &[&str], secs: u64) -> (usize, String) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if let Some(i) = what.iter().position(|w| s.contains(w)) {
                return (i, s);
            }
            if Instant::now() > end {
                panic!("waited {secs}s for {what:?}; the screen:\n{s}");
            }
            if self.exited().is_some() {
                std::thread::sleep(Duration::from_millis(200));
                let s = self.screen();
                if let Some(i) = what.iter().position(|w| s.contains(w)) {
                    return (i, s);
                }
                panic!("the program ended while waiting for {what:?}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen no longer shows `what`.
    pub fn wait_gone(&self, what: &str, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while self.screen().contains(what) {
            assert!(
                Instant::now() < end,
                "waited {secs}s for {what:?} to go; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the command to end; its exit status.
    pub fn wait_exit(&self, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.exited() {
                return s;
            }
            assert!(
                Instant::now() < end,
                "still running after {secs}s; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
