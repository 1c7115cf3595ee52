//! The headless apply's question in a real terminal (tmux): "Go ahead? [y/N]" before kubeadm
//! init. Ctrl-C there stops the run at once, without waiting for Enter; `y` goes on.

#[path = "common/prereq.rs"]
mod prereq;
#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, tmux_present};

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

fn start(tag: &str, home: &std::path::Path) -> Tmux {
    let cmd = format!(
        "env HOME={h} XDG_STATE_HOME={h}/state XDG_DATA_HOME={h}/data XDG_CONFIG_HOME={h}/config TMPDIR={h} {BIN} apply --simulate --speed 40 --config {dir}/tests/fixtures/sim-other.toml",
        h = home.display(),
        dir = env!("CARGO_MANIFEST_DIR"),
    );
    Tmux::start(tag, &cmd, &home.join("exit"), 160, 50)
}

#[test]
fn ctrl_c_at_go_ahead_stops_at_once() {
    if !prereq::require(tmux_present(), "tmux is not installed") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = start("ctrlc", home.path());
    t.wait("Go ahead? [y/N]", 30);
    let asked = std::time::Instant::now();
    t.keys(&["C-c"]);
    // No Enter: the run ends by itself, quickly, and says why.
    let status = t.wait_exit(10);
    assert!(asked.elapsed().as_secs() < 10);
    assert_ne!(status, "0");
    let s = t.screen();
    assert!(
        s.contains("kubeadm-init not confirmed: stopped by the operator"),
        "{s}"
    );
    assert!(
        !s.contains("[apple]   kubeadm init v"),
        "init must not run:\n{s}"
    );
}

#[test]
fn y_at_go_ahead_goes_on_to_ready() {
    if !prereq::require(tmux_present(), "tmux is not installed") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = start("yes", home.path());
    t.wait("Go ahead? [y/N]", 30);
    t.text("y");
    t.keys(&["Enter"]);
    assert_eq!(t.wait_exit(30), "0", "{}", t.screen());
    assert!(t.screen().contains("cluster ready"), "{}", t.screen());
}
