//! The cluster view by keys, in a real terminal: `kha-tui demo` inside tmux through the install
//! to the summary, `c` opens the cluster view (the status plan run on the simulated fleet), `r`
//! reads it again, `Esc` goes back. Needs tmux (skips without it, except under CI=true).

use std::time::Duration;

#[path = "common/prereq.rs"]
mod prereq;
#[path = "common/tmux.rs"]
mod tmux;

use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

#[test]
fn demo_install_then_c_shows_the_cluster_view() {
    if !prereq::require(tmux::tmux_present(), "tmux") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cmd = format!(
        "env HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state XDG_DATA_HOME={h}/data TMPDIR={h} TERM=xterm-256color {BIN} demo --speed 15",
        h = h.display()
    );
    let s = Tmux::start("e2e-clusterview", &cmd, &h.join("exit"), 120, 40);
    s.wait("Welcome to", 20);
    for _ in 0..40 {
        if s.screen().contains("Save the inventory as") {
            break;
        }
        s.keys(&["Enter"]);
    }
    s.wait("Save the inventory as", 5);
    s.keys(&["Enter"]);
    s.wait("Unknown host key", 30);
    std::thread::sleep(Duration::from_millis(600));
    s.keys(&["y"]);
    s.wait("nothing blocks the run", 60);
    s.keys(&["Enter"]);
    s.wait("Plan review", 10);
    s.keys(&["s"]);
    loop {
        let (i, _) = s.wait_any(&["Confirm — this step asks", "is ready"], 120);
        if i == 1 {
            break;
        }
        s.wait("[ No (n) ]", 10);
        std::thread::sleep(Duration::from_millis(600));
        s.keys(&["y"]);
        s.wait_gone("Confirm — this step asks", 10);
    }
    if !s.screen().contains("c  cluster view") {
        s.keys(&["Enter"]); // the run screen's summary key
    }
    s.wait("c  cluster view", 10);
    s.keys(&["c"]);
    let scr = s.wait("is healthy", 30);
    for want in [
        "Nodes (6)",
        "etcd (3 members)",
        "HAProxy on lb",
        "leader",
        "Bootstrap tokens: none",
    ] {
        assert!(scr.contains(want), "{want}:\n{scr}");
    }
    s.keys(&["r"]);
    s.wait("is healthy", 30);
    s.keys(&["Escape"]);
    s.wait("c  cluster view", 10);
    s.keys(&["q"]);
    assert_eq!(s.wait_exit(15), "0", "{}", s.screen());
}
