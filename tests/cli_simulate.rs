//! `apply --simulate` as an operator runs it: the simulated fleet follows the inventory it is
//! given (names, addresses, minor, port, endpoint), never touches kha-tui's real state, logs or
//! known_hosts, and refuses a `--fail` that names no node. Without a terminal and without
//! `--yes`, apply stops before changing anything when a step would need a yes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

fn other_inventory() -> String {
    format!(
        "{}/tests/fixtures/sim-other.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A private HOME with the XDG directories inside it, as kha-tui finds its state through them.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        let h = Home(tempfile::tempdir().unwrap());
        std::fs::create_dir(h.path().join("tmp")).unwrap();
        h
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn kha(&self, args: &[&str]) -> (i32, String, String) {
        let h = self.path();
        let out = Command::new(BIN)
            .args(args)
            .env("HOME", h)
            .env("XDG_STATE_HOME", h.join(".local/state"))
            .env("XDG_DATA_HOME", h.join(".local/share"))
            .env("XDG_CONFIG_HOME", h.join(".config"))
            .env("XDG_CACHE_HOME", h.join(".cache"))
            .env("TMPDIR", h.join("tmp"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
    /// `apply --simulate --yes` on the other inventory, fast, with `extra` arguments.
    fn simulate(&self, extra: &[&str]) -> (i32, String, String) {
        let inventory = other_inventory();
        let mut args = vec![
            "apply",
            "--config",
            &inventory,
            "--simulate",
            "--yes",
            "--speed",
            "60",
        ];
        args.extend_from_slice(extra);
        self.kha(&args)
    }
    /// As [`Home::simulate`] with no extra arguments, which must succeed: what it printed.
    fn simulate_ok(&self) -> String {
        let (code, out, err) = self.simulate(&[]);
        assert_eq!(code, 0, "{out}\n{err}");
        out
    }
    /// Every file and directory under HOME with its content (directories: empty).
    fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(d: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                if p.is_dir() {
                    out.insert(rel, vec![]);
                    walk(&p, root, out);
                } else {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        let mut m = BTreeMap::new();
        walk(self.path(), self.path(), &mut m);
        m
    }
}

/// The simulated fleet refuses a node the operator's ssh config routes through a
/// ProxyCommand, as the real transport does, instead of pretending to reach it; a node behind
/// a ProxyJump is reached (the simulated fleet models the plan, not the network).
#[test]
fn a_simulation_refuses_a_node_behind_a_proxy_command_as_kha_tui_does() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/config"),
        "Host birch\n  ProxyCommand nc bastion.invalid 22\nHost cedar\n  ProxyJump ops@bastion.invalid\n",
    )
    .unwrap();
    let (code, out, err) = home.simulate(&[]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(
        out.lines().any(|l| l.starts_with("[birch] unreachable")
            && l.contains("ProxyCommand nc bastion.invalid 22")
            && l.contains("use ProxyJump")),
        "{out}\n{err}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("[cedar] unreachable")),
        "{out}\n{err}"
    );
    assert!(!out.contains("kha-tui: cluster ready"), "{out}");
}

#[test]
fn a_simulation_writes_nothing_under_home_or_xdg() {
    let home = Home::new();
    let before = home.tree();
    let out = home.simulate_ok();
    assert!(out.contains("SIMULATION"), "{out}");
    assert!(out.contains("kha-tui: cluster ready"), "{out}");
    assert!(
        out.contains("no state, logs or host keys were kept"),
        "{out}"
    );
    assert_eq!(
        home.tree(),
        before,
        "a simulation left files behind (state, logs, known_hosts or its scratch directory)"
    );
}

#[test]
fn a_simulation_neither_reads_nor_changes_the_real_state_and_known_hosts() {
    let home = Home::new();
    let h = home.path();
    // The real state of a cluster with the same name says the LB's HAProxy step is done; the
    // real known_hosts holds a key.
    let state_dir = h.join(".local/state/kha-tui");
    std::fs::create_dir_all(&state_dir).unwrap();
    let state = state_dir.join("orchard.state.json");
    std::fs::write(
        &state,
        r#"{"cluster":"orchard","steps":{"gate":{"haproxy":{"status":"done","at":1,"duration_ms":5}}}}"#,
    )
    .unwrap();
    let data_dir = h.join(".local/share/kha-tui");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(
        data_dir.join("known_hosts"),
        "192.0.2.40 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtB0UpWcq0Xl4OaVmcuKjvYXq2ZxVdS5ot3Ez6v9Pmx\n",
    )
    .unwrap();
    let before = home.tree();
    let out = home.simulate_ok();
    // The real state was not read: the HAProxy step ran in the simulation.
    assert!(out.contains("[gate] haproxy: ok"), "{out}");
    assert!(!out.contains("done in an earlier run"), "{out}");
    // … and not written: every file is byte for byte as before, and nothing was added.
    assert_eq!(home.tree(), before);
}

#[test]
fn the_simulated_fleet_follows_the_inventory() {
    let home = Home::new();
    let out = home.simulate_ok();
    // Names, minor, port and endpoint are the inventory's.
    for want in [
        "[gate] haproxy: ok",
        "[gate]   haproxy listens on port 7443",
        "[gate]   backend kube-apiserver: server cedar 192.0.2.43:6443",
        "[apple]   kubeadm init v1.35.2",
        "https://pkgs.k8s.io/core:/stable:/v1.35/deb/",
        "installed kubelet=1.35.2-1.1 kubeadm=1.35.2-1.1 kubectl=1.35.2-1.1",
        "signed for DNS names [kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local apple api.orchard.test] and IPs [10.112.0.1 192.0.2.41 192.0.2.40]",
        "[gate]   kubectl on this node reaches https://api.orchard.test:7443",
        "[gate]   /home/ops/.kube/config written (0600, owner ops)",
        "[elder]   joined as worker",
        "[birch]   joined as control-plane",
        "all 5 nodes are Ready",
        "endpoint api.orchard.test:7443",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // The final `kubectl get nodes` lists every node of the inventory with its address and role.
    for (name, addr, role) in [
        ("apple", "192.0.2.41", "control-plane"),
        ("birch", "192.0.2.42", "control-plane"),
        ("cedar", "192.0.2.43", "control-plane"),
        ("damson", "192.0.2.51", "<none>"),
        ("elder", "192.0.2.52", "<none>"),
    ] {
        let row = out
            .lines()
            .find(|l| l.starts_with("[apple]   ") && l[10..].starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no kubectl row for {name}:\n{out}"));
        let cols: Vec<&str> = row[10..].split_whitespace().collect();
        assert_eq!(
            (cols[1], cols[2], cols[4], cols[5]),
            ("Ready", role, "v1.35.2", addr),
            "{row}"
        );
    }
    // Nothing of the seed topology leaks in.
    for canned in [
        "master",
        "worker1",
        "worker3",
        "1.37",
        "lb.example.internal",
        "port 6443",
    ] {
        assert!(!out.contains(canned), "canned {canned:?} in:\n{out}");
    }
}

#[test]
fn fail_names_a_node_of_the_inventory_or_is_refused() {
    let home = Home::new();
    let (code, out, err) = home.simulate(&["--fail", "worker2"]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(
        err.contains("--fail worker2: the inventory has no node named \"worker2\"")
            && err.contains("gate, apple, birch, cedar, damson, elder"),
        "{err}"
    );

    let (code, out, err) = home.simulate(&["--fail", "damson"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("[damson] kube-packages: FAILED")
            && out.contains("E: Failed to fetch https://pkgs.k8s.io/core:/stable:/v1.35/deb/"),
        "{out}\n{err}"
    );
    // Only damson's work stopped: the others joined.
    assert!(out.contains("[elder]   joined as worker"), "{out}");
    assert!(out.contains("simulation not finished"), "{out}");
}

#[test]
fn demo_fail_names_a_node_of_the_seed_or_is_refused() {
    let home = Home::new();
    let (code, _, err) = home.kha(&["demo", "--fail", "apple"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--fail apple: the inventory has no node named \"apple\"")
            && err.contains("master1"),
        "{err}"
    );
}

#[test]
fn simulate_refuses_a_data_dir() {
    let home = Home::new();
    let d = home.path().join("d");
    let (code, _, err) = home.kha(&[
        "apply",
        "--config",
        &other_inventory(),
        "--simulate",
        "--data-dir",
        d.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("'--simulate' cannot be used with '--data-dir"),
        "{err}"
    );
    assert!(!d.exists());
}

#[test]
fn without_a_terminal_or_yes_apply_changes_nothing_and_says_why() {
    let home = Home::new();
    let before = home.tree();
    let (code, out, err) = home.kha(&["apply", "--config", &other_inventory(), "--simulate"]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "nothing ran, not even preflight:\n{out}");
    assert!(
        err.contains("kubeadm-init on apple needs a yes")
            && err.contains("no terminal to ask on, so nothing was run and nothing changed")
            && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(home.tree(), before);
}

#[test]
fn a_real_apply_without_a_terminal_or_yes_stops_before_connecting() {
    // The same refusal for real hosts: before any connection (these documentation addresses
    // are never reached) and before any state is written.
    let home = Home::new();
    let before = home.tree();
    let (code, out, err) = home.kha(&["apply", "--config", &other_inventory()]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("kubeadm-init on apple needs a yes"), "{err}");
    assert_eq!(home.tree(), before);
}

/// A pair on the simulated fleet: HAProxy and keepalived on both LBs, the run reports which
/// one holds the VIP, and a DNS endpoint stays the endpoint.
#[test]
fn a_simulated_pair_installs_keepalived_on_both_lbs_and_reports_the_vip() {
    let home = Home::new();
    let text = std::fs::read_to_string(other_inventory())
        .unwrap()
        .replacen(
            "[load_balancer]\n",
            "[load_balancer]\nvip = \"172.20.5.5\"\nbackup_address = \"172.20.5.9\"\n",
            1,
        );
    let inv = home.path().join("pair.toml");
    std::fs::write(&inv, &text).unwrap();
    let (code, out, err) = home.kha(&[
        "apply",
        "--config",
        inv.to_str().unwrap(),
        "--simulate",
        "--yes",
        "--speed",
        "60",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    for lb in ["gate", "lb2"] {
        assert!(out.contains(&format!("[{lb}] haproxy: ok")), "{out}");
        assert!(out.contains(&format!("[{lb}] keepalived: ok")), "{out}");
    }
    assert!(out.contains("kha-tui: vip 172.20.5.5 on "), "{out}");
    // The inventory names a DNS endpoint, which the operator points at the VIP.
    assert!(out.contains("endpoint api.orchard.test:7443"), "{out}");
}

#[test]
fn fix_with_nothing_to_fix_says_so_and_refuses_an_unknown_node() {
    let home = Home::new();
    let inventory = other_inventory();
    let base = ["fix", "--config", &inventory, "--simulate", "--speed", "60"];
    let (code, out, err) = home.kha(&base);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("kha-tui: preflight passed"), "{out}");
    assert!(out.contains("no finding that kha-tui can fix"), "{out}");
    let (code, out, err) = home.kha(&[&base[..], &["--node", "nosuch"]].concat());
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("--node nosuch: the inventory has no node named \"nosuch\""),
        "{err}"
    );
    assert!(!out.contains("connected"), "nothing connected: {out}");
}
