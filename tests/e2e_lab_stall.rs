//! A stalled mirror on lab hosts: a server on the lab bridge that accepts connections and never
//! answers. Every apt call of the node library and every download give up within two minutes,
//! naming the URL, instead of hanging until the step's idle limit.

#[path = "common/lab.rs"]
mod lab;

use std::io::Read as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kha_tui::assets::scripts;
use lab::Lab;

/// Accepts every connection on the lab bridge and holds it open, silent. Returns the port.
fn staller(ip: &str) -> u16 {
    let l = TcpListener::bind((ip, 0)).expect("bind on the lab bridge");
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = vec![];
        for c in l.incoming().flatten() {
            held.push(c);
        }
    });
    port
}

#[test]
fn a_stalled_mirror_fails_the_step_naming_the_url_within_two_minutes() {
    if !lab::available("a_stalled_mirror_fails_the_step_naming_the_url_within_two_minutes") {
        return;
    }
    let lab = Lab::up("lb,1cp");
    let port = staller(&lab.bridge_ip);
    let mirror = format!("http://{}:{port}", lab.bridge_ip);

    // apt, as every step calls it (the node library's apt_get), with a source on the stalled
    // mirror, in a thread while kha-tui itself meets the same mirror below.
    let apt = {
        let (name, m) = (lab.name.clone(), mirror.clone());
        std::thread::spawn(move || {
            let script = format!(
                "{}\necho 'deb {m}/debian bookworm main' >/etc/apt/sources.list.d/stalled.list\napt_get update",
                scripts::LIB
            );
            let t = Instant::now();
            let out = Command::new(lab::LAB)
                .args([
                    "--name", &name, "exec", "master1", "--", "bash", "-c", &script,
                ])
                .output()
                .unwrap();
            (t.elapsed(), out)
        })
    };

    // kha-tui: the LB's kubectl step downloads the repository key from the stalled mirror.
    let data = tempfile::tempdir().unwrap();
    let inv = std::fs::read_to_string(&lab.inventory).unwrap();
    let pkg_line = inv
        .lines()
        .find(|l| l.starts_with("package_mirror = "))
        .unwrap();
    let stalled_inv = data.path().join("stalled.toml");
    std::fs::write(
        &stalled_inv,
        inv.replace(
            pkg_line,
            &format!("package_mirror = \"{mirror}/pkgs.k8s.io\""),
        ),
    )
    .unwrap();
    let log = data.path().join("apply.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kha-tui"))
        .args(["apply", "--yes", "--accept-new-host-keys", "--config"])
        .arg(&stalled_inv)
        .arg("--data-dir")
        .arg(data.path())
        .args(["--node", "lb"])
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let read = || {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut step_started = None;
    let status = loop {
        if step_started.is_none() && read().contains("[lb] kubectl: Install kubectl") {
            step_started = Some(Instant::now());
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "apply hangs:\n{}", read());
        std::thread::sleep(Duration::from_millis(200));
    };
    let took = step_started.expect("the kubectl step started").elapsed();
    let out = read();
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "cannot download {mirror}/pkgs.k8s.io/core:/stable:/v1.37/deb/Release.key"
        )),
        "{out}"
    );
    assert!(out.contains("[lb] kubectl: FAILED"), "{out}");
    assert!(
        took < Duration::from_secs(120),
        "the step took {took:?}:\n{out}"
    );
    eprintln!("kha-tui's download step failed after {took:?}");

    let (apt_took, apt_out) = apt.join().unwrap();
    let apt_text = format!(
        "{}{}",
        String::from_utf8_lossy(&apt_out.stdout),
        String::from_utf8_lossy(&apt_out.stderr)
    );
    assert!(!apt_out.status.success(), "{apt_text}");
    assert!(
        apt_text.contains(&format!(
            "Failed to fetch {mirror}/debian/dists/bookworm/InRelease"
        )),
        "{apt_text}"
    );
    assert!(
        apt_took < Duration::from_secs(120),
        "apt took {apt_took:?}:\n{apt_text}"
    );
    eprintln!("apt-get update failed after {apt_took:?}");
}
