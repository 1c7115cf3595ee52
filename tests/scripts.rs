//! The node scripts and rendered files, checked by the real tools: shellcheck over every
//! script, `haproxy -c` over every rendered haproxy.cfg, and the containerd edit applied to the
//! real `containerd config default` of containerd 1.6 (Debian 12) and 2.1 (Debian unstable).

#[path = "common/prereq.rs"]
mod prereq;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use kha_tui::assets::scripts;
use kha_tui::inventory::{self, EXAMPLE, InventoryFile, NodeEntry, validate};
use kha_tui::plan;

fn example() -> InventoryFile {
    inventory::parse(EXAMPLE).unwrap()
}

fn shellcheck(name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new("shellcheck")
        .args(["-s", "bash", "-S", "style", "-x"])
        .arg(&path)
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "shellcheck found problems in {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn shellcheck_passes_on_every_script_and_every_rendered_step() {
    if !prereq::require(
        prereq::have("shellcheck"),
        "shellcheck is not installed (apt-get install shellcheck)",
    ) {
        return;
    }
    for (name, text) in scripts::ALL {
        assert!(text.contains("set -euo pipefail") || *name != "lib.sh");
        shellcheck(name, text);
    }
    // The seed and a load-balancer pair (keepalived steps on both LBs).
    let mut pair = example();
    pair.load_balancer.vip = "10.0.0.5".into();
    pair.load_balancer.backup_address = "10.0.0.9".into();
    let plans: Vec<plan::Plan> = [example(), pair]
        .iter()
        .map(|f| plan::build(&validate::check(f).unwrap().0))
        .collect();
    let seed = validate::check(&example()).unwrap().0;
    let fix = kha_tui::engine::fix::fix_step(&seed, "worker1", "swap-off").unwrap();
    shellcheck("fix-swap-off.sh", &fix.script);
    let fw =
        kha_tui::engine::fix::fix_step(&seed, "worker1", "firewall-open 10250/tcp 4789/udp vrrp")
            .unwrap();
    shellcheck("fix-firewall-open.sh", &fw.script);
    let mut seen = std::collections::HashSet::new();
    for (_, s) in plans.iter().flat_map(|p| p.steps()) {
        assert!(
            s.script.starts_with(scripts::LIB),
            "{} starts with the library",
            s.id
        );
        if seen.insert(s.script.clone()) {
            shellcheck(&format!("{}-{}.sh", s.node, s.id), &s.script);
        }
    }
}

fn haproxy_check(cfg: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("haproxy runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn haproxy_accepts_every_rendered_config() {
    if !prereq::require(
        prereq::have("haproxy"),
        "haproxy is not installed (apt-get install haproxy)",
    ) {
        return;
    }
    let mut variants = vec![example()];
    let mut one = example();
    one.nodes
        .retain(|n| n.name != "master2" && n.name != "master3");
    variants.push(one);
    let mut five = example();
    for i in 4..=5 {
        five.nodes.push(NodeEntry {
            name: format!("master{i}"),
            address: format!("10.0.0.{}", 10 + i),
            role: "control-plane".into(),
            user: None,
            port: None,
            identity_file: None,
            jump: None,
        });
    }
    variants.push(five);
    let mut clusters: Vec<_> = variants
        .iter()
        .map(|f| validate::check(f).unwrap().0)
        .collect();
    // `check` refuses IPv6 clusters for now; the renderer still brackets IPv6 servers right.
    let mut v6 = clusters[0].clone();
    v6.lb.address = "fd00::10".parse().unwrap();
    v6.api_port = 16443;
    for (i, n) in v6.nodes.iter_mut().enumerate() {
        n.address = format!("fd00::{}", 11 + i).parse().unwrap();
    }
    clusters.push(v6);
    for c in clusters {
        let cfg = plan::haproxy_cfg(&c);
        haproxy_check(&cfg).unwrap_or_else(|e| panic!("haproxy -c rejected:\n{cfg}\n{e}"));
        assert_eq!(
            cfg.matches("    server ").count(),
            c.control_planes().count()
        );
        assert!(cfg.contains(&format!(":{}\n", c.api_port)));
    }
    // And the check is real: a broken config is rejected.
    assert!(
        haproxy_check("frontend x\n    bind *:1\n    mode tcp\n    default_backend nope\n")
            .is_err()
    );
}

/// Runs a bash snippet with the containerd config functions loaded.
fn with_containerd_functions(snippet: &str, stdin: &[u8]) -> std::process::Output {
    let program = format!(
        "set -euo pipefail\ndie() {{ echo \"$*\" >&2; exit 1; }}\n{}\n{snippet}",
        scripts::CONTAINERD_CONFIG
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn check_containerd(bin: &Path, major: u32) {
    let pause = "registry.k8s.io/pause:3.10.1";
    let default = Command::new(bin)
        .args(["config", "default"])
        .output()
        .unwrap();
    assert!(default.status.success());
    let text = String::from_utf8(default.stdout).unwrap();
    assert!(
        text.contains(&format!("version = {}", major + 1)),
        "config version of containerd {major}.x"
    );
    assert!(
        text.contains("SystemdCgroup = false"),
        "the real default has the systemd driver off"
    );

    let mut inputs = vec![("as shipped", text.clone())];
    // Some 2.x defaults carry no SystemdCgroup line at all: the key must be added, not flipped.
    inputs.push((
        "without the SystemdCgroup line",
        text.lines()
            .filter(|l| !l.contains("SystemdCgroup"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    ));
    for (what, input) in inputs {
        let out = with_containerd_functions(
            &format!("containerd_config {major} {pause}"),
            input.as_bytes(),
        );
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let edited = String::from_utf8(out.stdout).unwrap();
        assert_eq!(edited.matches("SystemdCgroup = true").count(), 1, "{what}");
        // Idempotent: editing the edited config changes nothing.
        let again = with_containerd_functions(
            &format!("containerd_config {major} {pause}"),
            edited.as_bytes(),
        );
        assert_eq!(
            String::from_utf8(again.stdout).unwrap(),
            edited,
            "{what}: second edit changed the config"
        );

        // containerd itself reads the edited file, and its dump passes the verification.
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, &edited).unwrap();
        let dump = Command::new(bin)
            .arg("-c")
            .arg(&cfg)
            .args(["config", "dump"])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{what}: containerd rejected the edited config: {}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let v =
            with_containerd_functions(&format!("containerd_verify {major} {pause}"), &dump.stdout);
        assert!(
            v.status.success(),
            "{what}: verification failed: {}",
            String::from_utf8_lossy(&v.stderr)
        );
    }

    // The verification is real: the unedited default fails it.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &text).unwrap();
    let dump = Command::new(bin)
        .arg("-c")
        .arg(&cfg)
        .args(["config", "dump"])
        .output()
        .unwrap();
    let v = with_containerd_functions(&format!("containerd_verify {major} {pause}"), &dump.stdout);
    assert!(!v.status.success());
    assert!(String::from_utf8_lossy(&v.stderr).contains("SystemdCgroup"));
}

#[test]
fn containerd_1_6_config_version_2_gets_systemd_cgroups() {
    let bin = Path::new("/usr/bin/containerd");
    if !prereq::require(
        bin.exists(),
        "containerd 1.x is not installed (apt-get install containerd)",
    ) {
        return;
    }
    let v = Command::new(bin).arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&v.stdout).to_string();
    if !prereq::require(
        v.split_whitespace()
            .nth(2)
            .is_some_and(|x| x.starts_with("1.")),
        &format!("/usr/bin/containerd is not 1.x: {v}"),
    ) {
        return;
    }
    check_containerd(bin, 1);
}

#[test]
fn containerd_2_1_from_debian_unstable_config_version_3_gets_systemd_cgroups() {
    let fetch = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sid-containerd.sh");
    let ok = prereq::is_root() && prereq::have("apt-get") && prereq::have("dpkg-deb");
    if !prereq::require(
        ok,
        "root with apt-get and dpkg-deb is needed to fetch Debian unstable's containerd",
    ) {
        return;
    }
    let out = Command::new("bash").arg(&fetch).output().unwrap();
    assert!(
        out.status.success(),
        "fetching sid's containerd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let v = Command::new(&bin).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&v.stdout).contains(" 2."),
        "expected containerd 2.x"
    );
    check_containerd(Path::new(&bin), 2);
}

#[test]
fn toml_set_adds_a_missing_table() {
    let out = with_containerd_functions(
        "toml_set 'a.\"b\"' key '\"v\"'",
        b"version = 2\n[x]\n  y = 1\n",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "version = 2\n[x]\n  y = 1\n\n[a.\"b\"]\n  key = \"v\"\n"
    );
}

/// Runs `snippet` after the node library, as a step does, in a scratch directory `$D`.
fn with_lib(snippet: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let program = format!("{}\nD={}\n{snippet}", scripts::LIB, dir.path().display());
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_failed_write_ends_the_step_wherever_the_helper_is_called() {
    // Every way a script calls the helpers, with `mv` (then `chmod`) failing: the step must
    // stop right there, never log "wrote", never go on to "after". `|| true` and `if` turn
    // errexit off inside a function, which is how a failed mv used to pass as written.
    let calls = [
        "write_file \"$D/f\" 0644 <<<x",
        "printf x | write_file \"$D/f\" 0644",
        "if write_if_changed \"$D/f\" 0644 <<<x; then echo changed; fi",
        "write_if_changed \"$D/f\" 0644 <<<x || true",
    ];
    for broken in ["mv() { return 1; }", "chmod() { return 1; }"] {
        for call in calls {
            let (ok, stdout, stderr) = with_lib(&format!("{broken}\n{call}\necho after"));
            assert!(!ok, "{broken} {call}: the step succeeded\n{stdout}");
            assert!(
                !stdout.contains("after"),
                "{broken} {call}: went on\n{stdout}"
            );
            assert!(!stdout.contains("wrote"), "{broken} {call}\n{stdout}");
            assert!(
                stderr.contains("kha-tui: cannot"),
                "{broken} {call}: {stderr}"
            );
        }
    }
    // On the right of a pipe a failure would read as "unchanged": refused outright.
    let (ok, _, stderr) = with_lib("printf x | write_if_changed \"$D/f\" 0644 || true\necho after");
    assert!(ok, "`|| true` still swallows the pipe's status");
    assert!(stderr.contains("runs in a subshell"), "{stderr}");
    let (ok, stdout, _) = with_lib("printf x | write_if_changed \"$D/f\" 0644\necho after");
    assert!(!ok && !stdout.contains("after"));

    // Working: 0 when written, 1 when identical, the mode given, the content exact.
    let (ok, stdout, stderr) = with_lib(
        "for i in 1 2; do if write_if_changed \"$D/a/f\" 0600 <<<hello; then echo changed; else echo same; fi; done\n\
         printf 'x\\n' | write_file \"$D/g\" 0640; printf 'x\\n' | write_file \"$D/g\" 0640\n\
         stat -c %a \"$D/a/f\" \"$D/g\"; cat \"$D/a/f\"; ls \"$D/a\"",
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| !l.starts_with("wrote"))
            .collect::<Vec<_>>(),
        ["changed", "same", "600", "640", "hello", "f"],
        "{stdout}"
    );
    assert_eq!(stdout.matches("wrote").count(), 2, "{stdout}");
}

#[test]
fn scripts_read_write_if_changed_only_as_a_condition_on_a_redirect() {
    for (name, text) in scripts::ALL {
        if *name == "lib.sh" {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.contains("write_if_changed") || l.trim_start().starts_with('#') {
                continue;
            }
            let prev = if i > 0 { lines[i - 1].trim_end() } else { "" };
            assert!(
                l.trim_start().starts_with("if write_if_changed")
                    && l.contains(" <")
                    && !l.contains("||")
                    && !prev.ends_with('|'),
                "{name}:{}: {l}",
                i + 1
            );
        }
    }
}

#[test]
fn a_mirror_key_is_trusted_only_with_the_pinned_fingerprint() {
    if !prereq::require(
        prereq::have("gpg"),
        "gpg is not installed (apt-get install gnupg)",
    ) {
        return;
    }
    // Two throwaway keys, exported armored as a mirror would serve them.
    let (ok, stdout, stderr) = with_lib(
        "export GNUPGHOME=$D/g; mkdir -m 700 \"$GNUPGHOME\"\n\
         for n in a b; do gpg --batch -q --pinentry-mode loopback --passphrase '' \
           --quick-gen-key \"$n <$n@lab.invalid>\" ed25519 sign never; \
           gpg --batch -q --armor --export \"$n@lab.invalid\" >\"$D/$n.asc\"; done\n\
         cat \"$D/a.asc\" \"$D/b.asc\" >\"$D/ab.asc\"\n\
         fa=$(gpg --with-colons --list-keys a@lab.invalid | awk -F: '$1==\"fpr\"{print $10; exit}')\n\
         fb=$(gpg --with-colons --list-keys b@lab.invalid | awk -F: '$1==\"fpr\"{print $10; exit}')\n\
         unset GNUPGHOME\n\
         try() { if (pinned_key \"$D/$1\" \"$2\" package_mirror_key \"http://m/$1\") 2>&1; then echo \"=> $1 ok\"; else echo \"=> $1 refused\"; fi; }\n\
         try a.asc \"$fa\"; try b.asc \"$fa\"; try ab.asc \"$fa\"; try a.asc ''; echo x >\"$D/x\"; try x \"$fa\"",
    );
    assert!(ok, "{stderr}");
    let verdicts: Vec<&str> = stdout.lines().filter(|l| l.starts_with("=> ")).collect();
    assert_eq!(
        verdicts,
        [
            "=> a.asc ok",
            "=> b.asc refused",
            "=> ab.asc refused",
            "=> a.asc ok",
            "=> x refused"
        ],
        "{stdout}"
    );
    assert!(stdout.contains("has the pinned fingerprint"), "{stdout}");
    assert!(
        stdout.contains("the signing key from http://m/b.asc has fingerprint")
            && stdout.contains("but package_mirror_key pins"),
        "{stdout}"
    );
    assert!(
        stdout.contains("http://m/x holds no OpenPGP key"),
        "{stdout}"
    );
}

#[test]
fn a_hung_apt_update_is_ended_and_tried_again() {
    // An `apt-get update` that hangs silently (seen behind the lab's caching proxy, with apt's
    // own transfer timeouts set) is ended at the cap and tried again; three hangs end the step.
    let fake = "mkdir -p \"$D/bin\"\n\
        cat >\"$D/bin/apt-get\" <<FAKE\n\
        #!/bin/bash\n\
        n=\\$(cat \"$D/calls\" 2>/dev/null || echo 0); echo \\$((n + 1)) >\"$D/calls\"\n\
        [ \"\\$n\" -ge \"\\$HANGS\" ] && { echo updated; exit 0; }\n\
        exec sleep 30\n\
        FAKE\n\
        chmod +x \"$D/bin/apt-get\"; PATH=\"$D/bin:$PATH\"; APT_UPDATE_CAP=1\n";
    let (ok, stdout, stderr) = with_lib(&format!(
        "{fake}export HANGS=1\napt_get update\ncat \"$D/calls\""
    ));
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("did not finish within 1s; trying again"),
        "{stdout}"
    );
    assert!(stdout.contains("updated"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("2"), "{stdout}");

    let (ok, stdout, stderr) =
        with_lib(&format!("{fake}export HANGS=9\napt_get update\necho after"));
    assert!(!ok, "{stdout}");
    assert!(!stdout.contains("after"), "{stdout}");
    assert!(stderr.contains("three times"), "{stderr}");
    // Other apt calls are not capped: an install may take long on a slow mirror.
    let (ok, stdout, _) = with_lib(&format!("{fake}export HANGS=0\napt_get install -y x"));
    assert!(ok && stdout.contains("updated"), "{stdout}");
}

/// A manifest whose sha256 differs from the pinned one fails naming the URL, the expected and
/// the actual sum, and is removed; the right one passes; no pin passes with a warning. In
/// calico.sh every manifest is checked before the first `kubectl apply`.
#[test]
fn manifests_are_checked_against_their_pinned_sums() {
    let (ok, stdout, stderr) = with_lib(
        "printf 'kind: CRD\\n' >\"$D/m.yaml\"\n\
         good=$(sha256sum <\"$D/m.yaml\"); good=${good%% *}\n\
         bad=$(printf '0%.0s' $(seq 64))\n\
         try() { if (pinned_sum \"$D/m.yaml\" \"$1\" http://m/v/manifests/m.yaml) 2>&1; then echo \"=> ok\"; else echo \"=> refused\"; fi; }\n\
         try \"$good\"; try ''; try \"$bad\"; [ -e \"$D/m.yaml\" ] || echo '=> removed'; echo \"good=$good\"",
    );
    assert!(ok, "{stderr}");
    let verdicts: Vec<&str> = stdout.lines().filter(|l| l.starts_with("=> ")).collect();
    assert_eq!(
        verdicts,
        ["=> ok", "=> ok", "=> refused", "=> removed"],
        "{stdout}"
    );
    let good = stdout
        .lines()
        .find_map(|l| l.strip_prefix("good="))
        .unwrap();
    assert!(
        stdout.contains("sha256 of http://m/v/manifests/m.yaml checked"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: no sha256 is known for http://m/v/manifests/m.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "http://m/v/manifests/m.yaml has sha256 {good}, but {} is expected",
            "0".repeat(64)
        )),
        "{stdout}"
    );
    let calico = scripts::CALICO;
    let check = calico
        .find("pinned_sum \"$dir/$f\"")
        .expect("calico.sh checks");
    let apply = calico.find("kubectl apply").unwrap();
    assert!(check < apply);
}
