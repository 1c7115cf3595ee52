//! Issue 17, first part: the operator's `~/.ssh/config` says how to reach the nodes and the
//! inventory's `[ssh]` says nothing about user, port or key. `kha-tui plan` shows the effective
//! user@host:port and key per node with the config line each came from, and `kha-tui preflight`
//! connects through exactly those settings: the private sshd listens on a non-22 port, accepts
//! only the config's key, and its host key is only in the config's UserKnownHostsFile (with
//! StrictHostKeyChecking yes, nothing may be asked or learned). A node the config routes through
//! a ProxyJump (the same sshd, on the LB's address, as its bastion) is reached through it, the
//! jump named with its line. Loopback only (127.0.0.x); needs root,
//! /usr/sbin/sshd and ssh-keygen (skips without them, except under CI=true).

use std::path::Path;
use std::process::{Command, Output};

use sshd::{Sshd, public_key_line};

#[path = "common/sshd.rs"]
mod sshd;

const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

fn kha(home: &Path, args: &[&str]) -> (Output, String) {
    let o = Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("SSH_AUTH_SOCK")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    (o, out)
}

#[test]
fn ssh_config_gives_user_port_and_key_and_preflight_connects_through_them() {
    if !sshd::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listen = [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
    ];
    let sshd = Sshd::start(dir.path(), &listen, "");
    assert_ne!(sshd.port, 22);
    let home = dir.path().join("home");
    let ssh_dir = home.join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let key = sshd::keygen(&ssh_dir, "id_cluster", "ed25519", "");
    sshd.authorize(&key);
    // A key sshd does not accept, where kha-tui's defaults would look first.
    sshd::keygen(&ssh_dir, "id_ed25519", "ed25519", "");
    let host_key = public_key_line(&sshd.host_key);
    let known: String = listen
        .iter()
        .map(|a| format!("[{a}]:{} {host_key}\n", sshd.port))
        .collect();
    std::fs::write(ssh_dir.join("cluster_known_hosts"), known).unwrap();
    let port = sshd.port;
    let config = format!(
        "# the operator's own config\n\
         Host master* !master3\n  User root\n  Port {port}\n  IdentityFile ~/.ssh/id_%r_cluster_typo\n  \
         IdentityFile ~/.ssh/id_cluster\n\
         Host master3\n  ProxyJump root@127.0.0.1:{port}\n\
         Host *\n  User root\n  Port {port}\n  IdentityFile ~/.ssh/id_cluster\n  \
         UserKnownHostsFile ~/.ssh/cluster_known_hosts\n  StrictHostKeyChecking yes\n  \
         ConnectTimeout 5\n  ServerAliveInterval 7\n"
    );
    std::fs::write(ssh_dir.join("config"), &config).unwrap();
    let inv = dir.path().join("lab.toml");
    std::fs::write(
        &inv,
        "[cluster]\nname = \"sshcfg\"\n\n[load_balancer]\naddress = \"127.0.0.1\"\n\n[ssh]\n\n\
         [[nodes]]\nname = \"master1\"\naddress = \"127.0.0.2\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"master2\"\naddress = \"127.0.0.3\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"master3\"\naddress = \"127.0.0.4\"\nrole = \"control-plane\"\n\n\
         [[nodes]]\nname = \"worker1\"\naddress = \"127.0.0.5\"\nrole = \"worker\"\n",
    )
    .unwrap();
    let inv_s = inv.to_str().unwrap();

    // plan: effective settings and their sources, per node.
    let (o, out) = kha(&home, &["plan", "--config", inv_s, "--brief"]);
    assert!(o.status.success(), "{out}");
    let line_of = |node: &str| {
        let mut lines = out
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(node));
        (
            lines.next().unwrap_or("").to_string(),
            lines.next().unwrap_or("").to_string(),
        )
    };
    let (m1, m1_src) = line_of("master1");
    assert!(m1.contains(&format!("root@127.0.0.2:{port}")), "{out}");
    assert!(m1.contains("key ~/.ssh/id_cluster"), "{out}");
    assert!(
        m1_src.contains("user :3 · port :4 · key :6 (ssh config ~/.ssh/config)"),
        "{out}"
    );
    let (lb, lb_src) = line_of("lb");
    assert!(lb.contains(&format!("root@127.0.0.1:{port}")), "{out}");
    assert!(lb_src.contains("user :10 · port :11 · key :12"), "{out}");
    assert!(
        out.contains(&format!(
            "via root@127.0.0.1:{port} (ssh config ~/.ssh/config:8)"
        )),
        "{out}"
    );
    let (o, json) = kha(
        &home,
        &[
            "plan", "--config", inv_s, "--format", "json", "--node", "master1",
        ],
    );
    assert!(o.status.success(), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let a = &v["access"][0];
    assert_eq!(a["port"], port);
    assert_eq!(
        a["sources"]["identity"],
        format!("ssh config {}:6", ssh_dir.join("config").display())
    );

    // `-F FILE` reads another config instead (as `ssh -F`): its lines are the sources now.
    let alt = dir.path().join("alt_config");
    std::fs::write(
        &alt,
        format!("Host *\n  Port {port}\n  IdentityFile ~/.ssh/id_cluster\n"),
    )
    .unwrap();
    let (o, out) = kha(
        &home,
        &[
            "plan",
            "-F",
            alt.to_str().unwrap(),
            "--config",
            inv_s,
            "--brief",
        ],
    );
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "user default · port :2 · key :3 (ssh config {})",
            alt.display()
        )),
        "{out}"
    );
    assert!(!out.contains("ProxyJump"), "{out}");

    // preflight: every node is reached through the config's settings, master3 through the
    // bastion (the sshd on the LB's address) the config names.
    let before = sshd.log().len();
    let (_, out) = kha(&home, &["preflight", "--config", inv_s]);
    let log = sshd.log()[before..].to_string();
    for (node, addr) in [
        ("lb", "127.0.0.1"),
        ("master1", "127.0.0.2"),
        ("master2", "127.0.0.3"),
        ("master3", "127.0.0.4"),
        ("worker1", "127.0.0.5"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("[{node}] connected"))),
            "{node} did not connect:\n{out}"
        );
        assert!(
            log.contains(&format!(" on {addr} port {port} ")),
            "sshd saw no connection to {addr} ({node}):\n{log}\n{out}"
        );
    }
    // Five hosts and the bastion, which is logged in to once.
    assert_eq!(
        log.matches("Accepted publickey for root").count(),
        6,
        "sshd did not accept the config's key for the five hosts and the bastion:\n{log}\n{out}"
    );
    // The bastion's forward: sshd connected to master3's address from its own.
    assert!(
        log.contains("Connection from 127.0.0.1 port") && log.contains(" on 127.0.0.4 port"),
        "{log}"
    );
    // StrictHostKeyChecking yes: nothing was learned into kha-tui's own known_hosts.
    let learned =
        std::fs::read_to_string(home.join("data/kha-tui/known_hosts")).unwrap_or_default();
    assert!(learned.is_empty(), "{learned}");

    // Keys accepted without asking (here --accept-new-host-keys, with the `-F` config that has
    // no UserKnownHostsFile) are still said, with the fingerprint, as ssh says "Permanently
    // added".
    let (_, out) = kha(
        &home,
        &[
            "preflight",
            "-F",
            alt.to_str().unwrap(),
            "--config",
            inv_s,
            "--accept-new-host-keys",
        ],
    );
    let fp = {
        let o = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(sshd.host_key.with_extension("pub"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert!(
        out.lines().any(|l| l.starts_with("[master1]")
            && l.contains(&format!(
                "learned the ssh-ed25519 host key of 127.0.0.2:{port} ({fp}) without asking"
            ))),
        "{out}"
    );
}
