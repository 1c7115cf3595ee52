//! The headless commands as an operator runs them: exit codes and messages.

use std::process::Command;

fn kha(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kha-tui"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn example_path() -> String {
    format!(
        "{}/assets/examples/cluster.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn check_accepts_the_example() {
    let (code, out, _) = kha(&["check", "--config", &example_path()]);
    assert_eq!(code, 0);
    assert!(out.contains("valid"));
    assert!(out.contains("3 control plane(s), 3 worker(s)"));
}

#[test]
fn check_lists_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(example_path())
        .unwrap()
        .replace("10.244.0.0/16", "10.0.0.0/8")
        .replace("\"10.0.0.22\"", "\"10.0.0.21\"")
        .replace("port = 6443", "port = 99999");
    std::fs::write(&p, text).unwrap();
    let (code, out, err) = kha(&["check", "--config", p.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(
        err.contains("error: cluster.pod_subnet: pod subnet 10.0.0.0/8 contains master1 10.0.0.11"),
        "{err}"
    );
    assert!(
        err.contains("error: nodes[4].address: 10.0.0.21 is already used by nodes[3].address"),
        "{err}"
    );
    assert!(
        err.contains("error: load_balancer.port: 99999 is out of range"),
        "{err}"
    );
    assert!(err.contains("(fix: "));
    assert!(err.contains("nothing was run"));
}

#[test]
fn check_reports_unknown_keys_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("typo.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(example_path())
            .unwrap()
            .replace("calico_version", "calico_verison"),
    )
    .unwrap();
    let (code, _, err) = kha(&["check", "--config", p.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("calico_verison") && err.contains("line 10"),
        "{err}"
    );
}

#[test]
fn check_warns_but_passes_on_the_seeds_pod_subnet() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("seed.toml");
    std::fs::write(
        &p,
        std::fs::read_to_string(example_path())
            .unwrap()
            .replace("10.244.0.0/16", "192.168.0.0/16"),
    )
    .unwrap();
    let (code, _, err) = kha(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: cluster.pod_subnet"));
}

#[test]
fn missing_file_is_a_clear_error() {
    let (code, _, err) = kha(&["check", "--config", "/nonexistent/cluster.toml"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot read /nonexistent/cluster.toml"),
        "{err}"
    );
}

#[test]
fn plan_json_and_node_filter() {
    let (code, out, _) = kha(&[
        "plan",
        "--config",
        &example_path(),
        "--format",
        "json",
        "--node",
        "master2",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let nodes: Vec<_> = v["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["steps"].as_array().unwrap())
        .map(|s| s["node"].as_str().unwrap().to_string())
        .collect();
    assert!(!nodes.is_empty() && nodes.iter().all(|n| n == "master2"));
    let (code, _, err) = kha(&["plan", "--config", &example_path(), "--node", "nope"]);
    assert_ne!(code, 0);
    assert!(err.contains("no node named \"nope\""));
}

#[test]
fn versions_prints_the_table() {
    let (code, out, _) = kha(&["versions"]);
    assert_eq!(code, 0);
    assert!(out.contains("1.37") && out.contains("(default)") && out.contains("end-of-life"));
}

/// A backup that cannot even start (the timer's `--sudo-password-file` gone) is a failed backup:
/// recorded for `status` and the cluster view, so they do not go on showing the last good one.
/// Nothing connects: the example's 10.0.0.x hosts are never reached.
#[test]
fn a_backup_that_cannot_start_is_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let dd = dir.path().display().to_string();
    let missing = dir.path().join("sudo-password").display().to_string();
    let (code, _, err) = kha(&[
        "backup",
        "--config",
        &example_path(),
        "--data-dir",
        &dd,
        "--sudo-password-file",
        &missing,
    ]);
    assert_ne!(code, 0, "{err}");
    let last = std::fs::read_to_string(dir.path().join("backups/prod.last.json"))
        .unwrap_or_else(|e| panic!("no recorded result ({e}); kha-tui said: {err}"));
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["ok"], false, "{last}");
    assert!(
        v["error"].as_str().unwrap().contains("sudo-password"),
        "the reason names the file: {last}"
    );
}
