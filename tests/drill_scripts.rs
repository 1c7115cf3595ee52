//! The drill's node scripts under bash, with stand-in `systemd-run` and `systemctl` on PATH
//! that record what they are asked: the apiserver stop arms its on-node restore before it
//! parks the manifest, and the command the timer would run puts the manifest back; the restore
//! cancels the timer; the kubectl loop's pause is the rest of its second.

use std::path::Path;
use std::process::Command;

use kha_tui::assets::scripts;
use kha_tui::drill::steps;
use kha_tui::inventory::{self, validate};

/// `systemd-run` records its arguments, one a line, in $D/run-args; `systemctl` records its
/// calls in $D/calls and says a timer is active when $D/timer-active exists.
const FAKE_SYSTEMD_RUN: &str = r#"#!/bin/bash
D=$(dirname "$(dirname "$0")")
printf '%s\n' "$@" >"$D/run-args"
echo "systemd-run $*" >>"$D/calls"
: >"$D/timer-active"
"#;
const FAKE_SYSTEMCTL: &str = r#"#!/bin/bash
D=$(dirname "$(dirname "$0")")
echo "systemctl $*" >>"$D/calls"
case "$1" in
  is-active) [ -e "$D/timer-active" ] ;;
  stop) rm -f "$D/timer-active" ;;
esac
"#;

/// `curl` as the apiserver's /readyz answers once it is ready: "ok" (recorded in $D/calls).
const FAKE_CURL: &str = r#"#!/bin/bash
D=$(dirname "$(dirname "$0")")
echo "curl $*" >>"$D/calls"
printf ok
"#;

fn fakes(d: &Path) {
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in [
        ("systemd-run", FAKE_SYSTEMD_RUN),
        ("systemctl", FAKE_SYSTEMCTL),
        ("curl", FAKE_CURL),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    }
}

/// Runs a drill step's script with its environment, the manifest paths moved under `d`.
fn run_step(d: &Path, s: &kha_tui::plan::Step) -> (bool, String) {
    let manifest = d.join("manifests/kube-apiserver.yaml");
    let parked = d.join("kha-drill/kube-apiserver.yaml");
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let mut c = Command::new("bash");
    c.arg("-c").arg(&s.script).env("PATH", path);
    for (k, v) in &s.env {
        c.env(k, v);
    }
    // Port 1: nothing listens there, so the stop's wait ends at once.
    c.env("KHA_MANIFEST", &manifest)
        .env("KHA_PARKED", &parked)
        .env("KHA_API_PORT", "1");
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn calls(d: &Path) -> Vec<String> {
    std::fs::read_to_string(d.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_apiserver_stop_arms_a_restore_that_puts_the_manifest_back() {
    let c = validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
        .unwrap()
        .0;
    let cp = c.control_planes().last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fakes(d);
    std::fs::create_dir_all(d.join("manifests")).unwrap();
    let manifest = d.join("manifests/kube-apiserver.yaml");
    std::fs::write(&manifest, "kind: Pod\n").unwrap();

    let stop = steps::apiserver_stop(cp, std::time::Duration::from_secs(15));
    let (ok, out) = run_step(d, &stop);
    assert!(ok, "{out}");
    assert!(!manifest.exists(), "parked: {out}");
    assert!(
        out.contains("kha-drill-restore-apiserver.timer armed"),
        "{out}"
    );
    let args: Vec<String> = std::fs::read_to_string(d.join("run-args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        args.contains(&"--unit=kha-drill-restore-apiserver".to_string()),
        "{args:?}"
    );
    assert!(args.contains(&"--on-active=15s".to_string()), "{args:?}");
    // Armed before anything stopped: the timer's name was taken (stop, reset-failed) and
    // systemd-run called while the manifest was still in place is shown by the order of the
    // log lines.
    let armed = out.find("armed").unwrap();
    let moved = out.find("manifest moved to").unwrap();
    assert!(armed < moved, "{out}");
    // What the timer would run, run now: the manifest is back, the parking directory gone.
    let cmd = &args[args.iter().position(|a| a == "--").unwrap() + 1..];
    let st = Command::new(&cmd[0]).args(&cmd[1..]).status().unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), "kind: Pod\n");
    assert!(!d.join("kha-drill").exists());

    // Parked again, the drill's own restore cancels the timer first, then puts it back.
    let (ok, out) = run_step(d, &stop);
    assert!(ok, "{out}");
    std::fs::remove_file(d.join("calls")).unwrap();
    let (ok, out) = run_step(d, &steps::apiserver_restore(cp));
    assert!(ok, "{out}");
    assert!(out.contains("apiserver ready (/readyz ok)"), "{out}");
    let calls = calls(d);
    assert_eq!(
        calls.first().map(String::as_str),
        Some("systemctl is-active --quiet kha-drill-restore-apiserver.timer"),
        "{calls:?}\n{out}"
    );
    assert_eq!(
        calls.get(1).map(String::as_str),
        Some("systemctl stop kha-drill-restore-apiserver.timer"),
        "{calls:?}"
    );
    assert!(manifest.exists(), "{out}");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("curl ") && c.ends_with("https://127.0.0.1:1/readyz")),
        "waits for /readyz: {calls:?}"
    );
}

#[test]
fn the_kubectl_loop_pauses_for_the_rest_of_its_second() {
    let line = scripts::DRILL_KUBECTL_LOOP
        .lines()
        .find(|l| l.starts_with("ms_as_seconds()"))
        .expect("the loop has ms_as_seconds");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{line}\nfor ms in 1000 999 250 5 1; do ms_as_seconds $ms; echo; done"
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1.000\n0.999\n0.250\n0.005\n0.001\n"
    );
}
