//! Ctrl-C typed into a real `kha-tui apply` (in a terminal: tmux) while a step waits on a
//! stalled mirror: the CLI says it is stopping, ends the remote command, and exits only when
//! every node's work has stopped — at that moment nothing of the step runs on the host and no
//! work directory is left (ps and ls on the host). The state says the step was interrupted,
//! and `apply` again resumes: the done step is skipped, the interrupted one runs and works.
//!
//! The plan stops early on purpose: `--node lb` runs the load balancer's own steps (HAProxy,
//! then kubectl from the package mirror), on a full lab host; the control plane in the
//! inventory is a light host that is never worked on. The mirror is a relay on the lab bridge
//! in front of the lab's file server that holds connections silent until the test lets it go.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::run::{Scene, stdout};
use crate::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

/// A TCP relay to `upstream` that, while `stalled`, accepts connections and never answers.
struct Relay {
    port: u16,
    stalled: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

fn relay(ip: &str, upstream: String) -> Relay {
    let l = TcpListener::bind((ip, 0)).expect("bind on the lab bridge");
    let r = Relay {
        port: l.local_addr().unwrap().port(),
        stalled: Arc::new(AtomicBool::new(true)),
        accepted: Arc::default(),
    };
    let (stalled, accepted) = (r.stalled.clone(), r.accepted.clone());
    std::thread::spawn(move || {
        let mut held = vec![];
        for c in l.incoming().flatten() {
            accepted.fetch_add(1, Ordering::SeqCst);
            if stalled.load(Ordering::SeqCst) {
                held.push(c);
                continue;
            }
            let Ok(up) = TcpStream::connect(&upstream) else {
                continue;
            };
            for (mut from, mut to) in [(c.try_clone().unwrap(), up.try_clone().unwrap()), (up, c)] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    r
}

/// The whole terminal, scrollback included.
fn history(t: &Tmux) -> String {
    let o = t.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", &t.name]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn wait_for(t: &Tmux, what: &str, secs: u64) -> String {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let h = history(t);
        if h.contains(what) {
            return h;
        }
        assert!(
            Instant::now() < end && t.exited().is_none(),
            "waited for {what:?}:\n{h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn step_status(state: &Path, node: &str, step: &str) -> String {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    s["steps"][node][step]["status"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

pub fn ctrl_c_in_apply_ends_the_remote_step(s: &Scene) {
    if !crate::prereq::require(crate::tmux::tmux_present(), "tmux") {
        return;
    }
    let (lb, cp) = (&s.hosts[0], &s.hosts[1]);
    let home = tempfile::tempdir().unwrap();
    let mirror = relay(&s.lab.bridge_ip, format!("{}:8080", s.lab.bridge_ip));
    // The lab's inventory (mirrors and their keys) with this scenario's two hosts.
    let lab_inv = std::fs::read_to_string(&s.lab.inventory).unwrap();
    let head = lab_inv.split("[[nodes]]").next().unwrap();
    let inv = home.path().join("cli.toml");
    std::fs::write(
        &inv,
        format!(
            "{}[[nodes]]\nname = \"{}\"\naddress = \"{}\"\nrole = \"control-plane\"\n",
            head.replace(&format!("name = \"{}\"", s.lab.name), "name = \"cli\"")
                .replace(
                    &format!("http://{}:8080/pkgs.k8s.io", s.lab.bridge_ip),
                    &format!("http://{}:{}/pkgs.k8s.io", s.lab.bridge_ip, mirror.port)
                ),
            cp.name,
            cp.address
        ),
    )
    .unwrap();
    let data = home.path().join("data");
    let state = data.join("state/cli.state.json");
    let command = format!(
        "{BIN} apply --config {} --data-dir {} --node {} --yes --accept-new-host-keys",
        inv.display(),
        data.display(),
        lb.name
    );

    // 1. The kubectl step waits on the stalled mirror: Ctrl-C.
    let t = Tmux::start("cli1", &command, &home.path().join("exit1"), 160, 50);
    wait_for(&t, &format!("[{}] kubectl: Install kubectl", lb.name), 240);
    let end = Instant::now() + Duration::from_secs(60);
    while mirror.accepted.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < end, "no download began:\n{}", history(&t));
        std::thread::sleep(Duration::from_millis(100));
    }
    let on_lb = |part: &str| -> Vec<String> {
        stdout(&s.lab.exec(&lb.name, &["ps", "-eo", "pid,pgid,args"]))
            .lines()
            .filter(|l| l.contains(part) && !l.contains("ps -eo"))
            .map(str::to_string)
            .collect()
    };
    let download = format!(":{}/pkgs.k8s.io", mirror.port);
    assert!(
        !on_lb(&download).is_empty(),
        "the download runs on {} before Ctrl-C",
        lb.name
    );
    t.keys(&["C-c"]);
    let code = t.wait_exit(60);
    // The moment it exited: nothing of the step is left on the host.
    assert_eq!(on_lb(&download), Vec::<String>::new());
    assert_eq!(on_lb("kha-tui."), Vec::<String>::new());
    assert_eq!(s.work_dirs(&lb.name), Vec::<String>::new());
    let screen = history(&t);
    assert_ne!(code, "0", "{screen}");
    assert!(
        screen.contains("kha-tui: stopping: ending the commands now running on the nodes"),
        "{screen}"
    );
    let stopping = screen
        .find("kha-tui: stopping (stopped by the operator); ending remote commands")
        .unwrap_or_else(|| panic!("it says it is stopping:\n{screen}"));
    let interrupted = screen
        .find(&format!(
            "[{}] kubectl: interrupted: stopped by the operator",
            lb.name
        ))
        .unwrap_or_else(|| panic!("{screen}"));
    let resume = screen
        .find("kha-tui: not finished; run the same command again to resume")
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(stopping < interrupted && interrupted < resume, "{screen}");
    assert_eq!(step_status(&state, &lb.name, "kubectl"), "interrupted");
    assert_eq!(step_status(&state, &lb.name, "haproxy"), "done");
    drop(t);

    // 2. The mirror answers again; `apply` again resumes where it stopped.
    mirror.stalled.store(false, Ordering::SeqCst);
    let t = Tmux::start("cli2", &command, &home.path().join("exit2"), 160, 50);
    t.wait_exit(240);
    let screen = history(&t);
    assert!(
        screen.contains(&format!(
            "[{}] haproxy: done in an earlier run, skipped",
            lb.name
        )),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("[{}] kubectl: ok", lb.name)),
        "{screen}"
    );
    assert_eq!(step_status(&state, &lb.name, "kubectl"), "done");
    let client = s.lab.ssh_ok(&lb.name, "kubectl version --client");
    assert!(client.contains("v1.37"), "{client}");
    assert_eq!(s.work_dirs(&lb.name), Vec::<String>::new());
}
