//! Issue 17 in the lab: nodes reached only through a bastion. The lab `lb,bastion,gated,3cp,3w`
//! (tests/lab/README.md, "bastion" and "gated") lets the LB host — where kha-tui runs, through
//! `lab on-lb` — open TCP into the lab only to the bastion (a light host: sshd only) and to port
//! 6443; every node is reached through the bastion or not at all. ONE install, every check on it:
//!
//! 1. the gate itself: from the LB, the bastion's :22 answers, a node's :22 and :2222 do not;
//! 2. a wrong bastion key in known_hosts: preflight refuses every node "via bastion …" with
//!    OpenSSH's warning, and no node saw a login (their sshd journals);
//! 3. the install: a `~/.ssh/config` with `Host master* worker*` (another user, root, and another
//!    port, 2222), a `ProxyJump` to a `Host` alias of the bastion, and an inventory whose `[ssh]`
//!    is empty. `plan` shows the effective settings and their sources, then `apply` installs the
//!    cluster through the bastion: kubectl through the LB sees every node Ready, each node's sshd
//!    logged root in from the bastion's address on port 2222, and the bastion logged kha-tui in
//!    once for the whole run (one connection carries every session).
//!
//! And first-time access on light hosts, no install (`ssh_setup_…`, seconds): `kha-tui
//! ssh-setup` with the login password piped once, on hosts that take a password only (`lab
//! fault pw-only`: password auth, and PAM's keyboard-interactive alone), then the wizard's `K`
//! on the Connect screen (tmux) for a host that lost its key.

#[path = "common/lab.rs"]
mod lab;
#[path = "common/output.rs"]
mod output;
#[path = "common/prereq.rs"]
mod prereq;
#[path = "common/tmux.rs"]
mod tmux;
use output::text;

use std::path::Path;
use std::time::Instant;

use lab::Lab;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

/// A fresh ed25519 key that no host has, as "TYPE BASE64" for a known_hosts line that pins the
/// wrong key.
fn impostor_key(dir: &Path) -> String {
    let impostor = dir.join("impostor");
    let kg = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&impostor)
        .status()
        .unwrap();
    assert!(kg.success());
    let public = std::fs::read_to_string(impostor.with_extension("pub")).unwrap();
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// kha-tui in the LB's network namespace with `home` as its HOME.
fn kha_on_lb(lab: &Lab, home: &Path, args: &[&str]) -> (bool, String) {
    let home_env = format!("HOME={}", home.display());
    let mut cmd = vec!["env", "-u", "SSH_AUTH_SOCK", home_env.as_str(), KHA];
    cmd.extend_from_slice(args);
    let out = lab.on_lb(&cmd);
    (out.status.success(), text(&out))
}

/// Logins sshd accepted on a full host so far (its journal).
fn logins(lab: &Lab, host: &str) -> String {
    lab.exec_ok_text(
        host,
        "journalctl -u ssh --no-pager -o cat | grep 'Accepted publickey' || true",
    )
}

/// The bastion's sshd log (a light host: `sshd -D -e` writes to its console log).
fn bastion_log(lab: &Lab) -> String {
    std::fs::read_to_string(lab.dir.join("hosts/bastion/console.log")).unwrap_or_default()
}

trait ExecText {
    fn exec_ok_text(&self, host: &str, cmd: &str) -> String;
}

impl ExecText for Lab {
    fn exec_ok_text(&self, host: &str, cmd: &str) -> String {
        let out = self.exec(host, &["sh", "-c", cmd]);
        assert!(out.status.success(), "{host}: {cmd}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

#[test]
fn through_a_bastion_only_with_the_operators_ssh_config() {
    if !lab::available("through_a_bastion_only_with_the_operators_ssh_config") {
        return;
    }
    let started = Instant::now();
    let lab = Lab::up("lb,bastion,gated,3cp,3w");
    let bastion = lab.addr("bastion").to_string();
    let nodes = [
        "master1", "master2", "master3", "worker1", "worker2", "worker3",
    ];
    eprintln!("lab up: {:.0}s", started.elapsed().as_secs_f64());

    // 1. The gate: only the bastion's SSH is reachable from the LB.
    let probe = |addr: &str, port: u16| {
        lab.on_lb(&[
            "timeout",
            "3",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{addr}/{port}"),
        ])
        .status
        .success()
    };
    assert!(probe(&bastion, 22), "the bastion's sshd is reachable");
    assert!(!probe(lab.addr("master1"), 22), "master1:22 is gated");

    // Every node also listens on 2222 (the config's port below); the gate blocks it too.
    for n in nodes {
        lab.exec_ok_text(
            n,
            "printf 'Port 22\\nPort 2222\\n' >/etc/ssh/sshd_config.d/kha-2222.conf && \
             systemctl restart ssh",
        );
    }
    assert!(!probe(lab.addr("worker1"), 2222), "worker1:2222 is gated");

    // The operator's files: known_hosts with every lab key, for port 2222 too.
    let home = tempfile::tempdir().unwrap();
    let ssh_dir = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let lab_known = std::fs::read_to_string(&lab.known_hosts).unwrap();
    let mut known = String::new();
    for l in lab_known.lines() {
        let Some((names, key)) = l.split_once(' ') else {
            continue;
        };
        let addr = names.split(',').next().unwrap();
        known.push_str(&format!("{addr} {key}\n[{addr}]:2222 {key}\n"));
    }
    let known_file = ssh_dir.join("known_hosts");
    let config = format!(
        "Host master* worker*\n  User root\n  Port 2222\n  ProxyJump jumpbox\n\
         Host jumpbox\n  HostName {bastion}\n  User ops\n\
         Host *\n  User ops\n  IdentityFile {}\n  UserKnownHostsFile {}\n  \
         StrictHostKeyChecking yes\n",
        lab.key.display(),
        known_file.display()
    );
    std::fs::write(ssh_dir.join("config"), &config).unwrap();
    // The lab's inventory with an empty [ssh]: everything comes from the config.
    let inv_text = std::fs::read_to_string(&lab.inventory).unwrap();
    let mut inv_out = String::new();
    let mut in_ssh = false;
    for l in inv_text.lines() {
        if l.starts_with('[') {
            in_ssh = l == "[ssh]";
        } else if in_ssh && !l.trim().is_empty() {
            continue;
        }
        inv_out.push_str(l);
        inv_out.push('\n');
    }
    let inv = home.path().join("cluster.toml");
    std::fs::write(&inv, &inv_out).unwrap();
    let inv_s = inv.display().to_string();
    let data = home.path().join("data");
    let dd = data.display().to_string();

    // 2. A wrong key for the bastion: every node is refused "via bastion", none is touched.
    let impostor_key = impostor_key(home.path());
    let wrong: String = known
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{bastion} ")) {
                format!("{bastion} {}\n", impostor_key)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&known_file, wrong).unwrap();
    let before: Vec<usize> = nodes
        .iter()
        .map(|n| logins(&lab, n).lines().count())
        .collect();
    let (ok, out) = kha_on_lb(
        &lab,
        home.path(),
        &["preflight", "--config", &inv_s, "--data-dir", &dd],
    );
    assert!(!ok, "{out}");
    // preflight shows, before it connects, the same effective settings and sources as plan.
    assert!(
        out.contains("user :2 · port :3 · key :10")
            && out.contains(&format!("via ops@{bastion}:22 (ssh config ")),
        "preflight's settings and their sources:\n{out}"
    );
    for n in nodes {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("[{n}] HOST KEY CHANGED"))
                    && l.contains("via bastion jumpbox")
                    && l.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")),
            "{n}:\n{out}"
        );
    }
    let after: Vec<usize> = nodes
        .iter()
        .map(|n| logins(&lab, n).lines().count())
        .collect();
    assert_eq!(before, after, "a node saw a login behind a refused bastion");
    std::fs::write(&known_file, &known).unwrap();

    // 3. plan: the effective settings per node, from the config's lines.
    let (ok, plan) = kha_on_lb(&lab, home.path(), &["plan", "--config", &inv_s, "--brief"]);
    assert!(ok, "{plan}");
    assert!(
        plan.contains(&format!("root@{}:2222", lab.addr("master1"))),
        "{plan}"
    );
    assert!(plan.contains("user :2 · port :3 · key :10"), "{plan}");
    assert!(
        plan.contains(&format!("via ops@{bastion}:22 (ssh config ")),
        "{plan}"
    );
    assert!(
        plan.contains("bastion jumpbox key") && plan.contains("user ssh config"),
        "{plan}"
    );

    // The install, through the bastion only.
    let bastion_before = bastion_log(&lab)
        .matches("Accepted publickey for ops")
        .count();
    let t = Instant::now();
    let (ok, out) = kha_on_lb(
        &lab,
        home.path(),
        &["apply", "--config", &inv_s, "--yes", "--data-dir", &dd],
    );
    eprintln!(
        "install through the bastion: {:.0}s",
        t.elapsed().as_secs_f64()
    );
    assert!(ok, "{out}");
    assert!(out.contains("cluster ready"), "{out}");
    let ready = lab.ssh_ok("lb", "kubectl get nodes --no-headers");
    for n in nodes {
        assert!(
            ready
                .lines()
                .any(|l| l.starts_with(n) && l.split_whitespace().nth(1) == Some("Ready")),
            "{n} not Ready:\n{ready}"
        );
        let l = logins(&lab, n);
        assert!(
            l.contains(&format!("Accepted publickey for root from {bastion} port")),
            "{n} was not reached from the bastion:\n{l}"
        );
    }
    let bastion_logins = bastion_log(&lab)
        .matches("Accepted publickey for ops")
        .count()
        - bastion_before;
    assert_eq!(
        bastion_logins,
        1,
        "one bastion connection carries every session:\n{}",
        bastion_log(&lab)
    );
    eprintln!("ssh_reach: {:.0}s in all", started.elapsed().as_secs_f64());
}

/// A file's bytes and modification time, to prove a run changed nothing.
fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    (bytes, mtime)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

/// Issue 17's "password-only nodes": three light hosts whose root has no authorized key and a
/// password — n1 (the load balancer) and n2 by password auth, n3 by PAM's keyboard-interactive
/// only, reached through the lab's bastion (its own key, from the ssh config). kha-tui's key
/// does not exist yet. Checked outside kha-tui: the hosts' files (through
/// their root filesystems), OpenSSH logging in with the key, the hosts' sshd logs.
#[test]
fn ssh_setup_installs_the_key_with_one_password_on_password_only_hosts() {
    if !lab::available("ssh_setup_installs_the_key_with_one_password_on_password_only_hosts") {
        return;
    }
    let started = Instant::now();
    let lab = Lab::up("light:3,bastion");
    let bastion = lab.addr("bastion").to_string();
    let hosts = ["n1", "n2", "n3"];
    lab.fault_ok(&["pw-only", "n1"]);
    lab.fault_ok(&["pw-only", "n2", "password"]);
    lab.fault_ok(&["pw-only", "n3", "kbd"]);
    let password = std::fs::read_to_string(lab.dir.join("pwonly.password"))
        .unwrap()
        .trim()
        .to_string();
    assert!(password.len() >= 16, "a real password");
    let authorized = |h: &str| {
        lab.dir
            .join(format!("hosts/{h}/root/root/.ssh/authorized_keys"))
    };
    let sshd_log = |h: &str| {
        std::fs::read_to_string(lab.dir.join(format!("hosts/{h}/console.log"))).unwrap_or_default()
    };
    for h in hosts {
        assert!(
            !authorized(h).exists(),
            "{h} starts without an authorized key"
        );
    }

    // The operator's side: a HOME without a key, an inventory that names the key to use.
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join(".ssh/id_ed25519");
    let inv_text = std::fs::read_to_string(&lab.inventory).unwrap();
    let cluster = inv_text.split("[load_balancer]").next().unwrap();
    let inv = home.path().join("cluster.toml");
    std::fs::write(
        &inv,
        format!(
            "{cluster}[load_balancer]\naddress = \"{}\"\nport = 6443\n\n[ssh]\nuser = \"root\"\n\
             identity_file = \"{}\"\nknown_hosts = \"{}\"\n\n\
             [[nodes]]\nname = \"n2\"\naddress = \"{}\"\nrole = \"control-plane\"\n\n\
             [[nodes]]\nname = \"n3\"\naddress = \"{}\"\nrole = \"worker\"\n\
             jump = \"ops@{bastion}:22\"\n",
            lab.addr("n1"),
            key.display(),
            lab.known_hosts.display(),
            lab.addr("n2"),
            lab.addr("n3"),
        ),
    )
    .unwrap();
    // n3 is reached through the bastion, which takes the lab's key (its Host block).
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/config"),
        format!("Host {bastion}\n  IdentityFile {}\n", lab.key.display()),
    )
    .unwrap();
    let data = home.path().join("data");
    // The LB is named "lb" in the inventory; the lab calls it n1.
    let names = [("lb", "n1"), ("n2", "n2"), ("n3", "n3")];
    let setup_with = |inv: &Path, stdin: &str| -> (bool, String) {
        use std::io::Write as _;
        let mut child = std::process::Command::new(KHA)
            .env("HOME", home.path())
            .env_remove("SSH_AUTH_SOCK")
            .args(["ssh-setup", "--config"])
            .arg(inv)
            .arg("--data-dir")
            .arg(&data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), text(&out))
    };
    let setup = |stdin: &str| setup_with(&inv, stdin);
    let mut outputs = String::new();

    // 1. A wrong password: each host says so, in its own line; the key is generated (0600),
    //    no host has an authorized key.
    let (ok, out) = setup(&format!("not-{password}\n"));
    outputs.push_str(&out);
    assert!(!ok, "{out}");
    assert!(
        out.contains("generated now (ed25519, no passphrase"),
        "{out}"
    );
    for (name, h) in names {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name}:\n{out}"));
        assert!(
            line.contains(&format!(
                "authentication as root@{} failed: the password was not accepted",
                lab.addr(h)
            )),
            "{line}"
        );
        assert!(
            !authorized(h).exists(),
            "{h} was changed by a refused login"
        );
    }
    assert!(
        out.contains("(keyboard-interactive)"),
        "n3 was tried by PAM's prompts:\n{out}"
    );
    assert_eq!(mode(&key), 0o600);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");

    // 2. The right password, typed once: the key on every host, once, modes right.
    let t = Instant::now();
    let (ok, out) = setup(&format!("{password}\n"));
    eprintln!("ssh-setup on 3 hosts: {:.1}s", t.elapsed().as_secs_f64());
    outputs.push_str(&out);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("key {} (SHA256:", key.display())) && out.contains("): exists"),
        "{out}"
    );
    for (name, h) in names {
        assert!(
            out.contains(&format!("{name}: key installed")),
            "{name}:\n{out}"
        );
        assert_eq!(
            std::fs::read_to_string(authorized(h)).unwrap(),
            public,
            "{h}"
        );
        assert_eq!(mode(&authorized(h)), 0o600, "{h}");
        assert_eq!(mode(authorized(h).parent().unwrap()), 0o700, "{h}");
    }
    assert!(
        sshd_log("n3").contains(&format!(
            "Accepted keyboard-interactive/pam for root from {bastion} port"
        )),
        "n3 let kha-tui in through PAM, reached through the bastion:\n{}",
        sshd_log("n3")
    );
    assert!(
        sshd_log("n3").contains(&format!("Accepted publickey for root from {bastion} port")),
        "and then with the key, through the bastion:\n{}",
        sshd_log("n3")
    );

    // 3. OpenSSH, outside kha-tui, logs in with the key alone.
    for h in hosts {
        let ssh = std::process::Command::new("ssh")
            .args(["-i"])
            .arg(&key)
            .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
            .args([
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "KbdInteractiveAuthentication=no",
            ])
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", lab.known_hosts.display()))
            .arg(format!("root@{}", lab.addr(h)))
            .arg("hostname")
            .output()
            .unwrap();
        assert!(ssh.status.success(), "{h}: {}", text(&ssh));
        assert_eq!(String::from_utf8_lossy(&ssh.stdout).trim(), h);
    }

    // 4. n2 lost its key: only n2 is given it again; n1 and n3 keep their file (same bytes,
    //    same mtime) and see no password at all.
    std::fs::write(authorized("n2"), "").unwrap();
    let kept: Vec<_> = ["n1", "n3"]
        .iter()
        .map(|h| snapshot(&authorized(h)))
        .collect();
    let pw_lines = |h: &str| {
        sshd_log(h)
            .lines()
            .filter(|l| l.contains("password") || l.contains("keyboard-interactive"))
            .count()
    };
    let pw_before = (pw_lines("n1"), pw_lines("n3"));
    let (ok, out) = setup(&format!("{password}\n"));
    outputs.push_str(&out);
    assert!(ok, "{out}");
    assert!(out.contains("lb: already had the key"), "{out}");
    assert!(out.contains("n3: already had the key"), "{out}");
    assert!(out.contains("n2: key installed"), "{out}");
    assert!(
        out.contains("reading the login password for root@n2 from stdin"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(authorized("n2")).unwrap(), public);
    let now: Vec<_> = ["n1", "n3"]
        .iter()
        .map(|h| snapshot(&authorized(h)))
        .collect();
    assert!(kept == now, "n1/n3's authorized_keys changed");
    assert_eq!(
        pw_before,
        (pw_lines("n1"), pw_lines("n3")),
        "n1/n3 saw a password"
    );

    // 4b. The same on a terminal: the prompt is masked (nothing typed shows), asked once.
    if prereq::require(tmux::tmux_present(), "tmux") {
        std::fs::write(authorized("n2"), "").unwrap();
        let h = home.path();
        let cmd = format!(
            "env -u SSH_AUTH_SOCK HOME={h} TERM=xterm-256color {KHA} ssh-setup --config {} \
             --data-dir {}",
            inv.display(),
            data.display(),
            h = h.display()
        );
        let s = tmux::Tmux::start("ssh-setup-cli", &cmd, &h.join("exit-cli"), 160, 30);
        s.wait("Login password for root@n2 (asked once", 30);
        std::thread::sleep(std::time::Duration::from_millis(300));
        s.text(&password);
        let typed = s.screen();
        assert!(
            !typed.contains(&password),
            "the password was echoed:\n{typed}"
        );
        s.keys(&["Enter"]);
        assert_eq!(s.wait_exit(30), "0", "{}", s.screen());
        let screen = s.screen();
        outputs.push_str(&screen);
        assert!(screen.contains("n2: key installed"), "{screen}");
        assert_eq!(screen.matches("Login password").count(), 1, "{screen}");
        assert_eq!(std::fs::read_to_string(authorized("n2")).unwrap(), public);
    }

    // 4c. `--key` another, missing key, with a passphrase (asked twice, masked): generated
    //    encrypted, installed beside the first on every host, logged in with.
    if prereq::require(tmux::tmux_present(), "tmux") {
        let h = home.path();
        let k2 = h.join("k2");
        let cmd = format!(
            "env -u SSH_AUTH_SOCK HOME={h} TERM=xterm-256color {KHA} ssh-setup --config {} \
             --data-dir {} --key {}",
            inv.display(),
            data.display(),
            k2.display(),
            h = h.display()
        );
        let s = tmux::Tmux::start("ssh-setup-k2", &cmd, &h.join("exit-k2"), 160, 30);
        let pause = || std::thread::sleep(std::time::Duration::from_millis(300));
        s.wait("Passphrase for the new key", 30);
        pause();
        s.text("pass-phrase-2");
        s.keys(&["Enter"]);
        s.wait("The same passphrase again", 10);
        pause();
        s.text("pass-phrase-2");
        s.keys(&["Enter"]);
        s.wait("Login password for root@lb, root@n2, root@n3", 30);
        pause();
        s.text(&password);
        s.keys(&["Enter"]);
        assert_eq!(s.wait_exit(30), "0", "{}", s.screen());
        let screen = s.screen();
        outputs.push_str(&screen);
        assert!(!screen.contains("pass-phrase-2"), "{screen}");
        assert!(
            screen.contains("generated now (ed25519, with a passphrase"),
            "{screen}"
        );
        for (name, _) in names {
            assert!(
                screen.contains(&format!("{name}: key installed")),
                "{screen}"
            );
        }
        // OpenSSH's own reading: encrypted, and this passphrase opens it.
        let keygen = |pass: &str| {
            std::process::Command::new("ssh-keygen")
                .args(["-y", "-P", pass, "-f"])
                .arg(&k2)
                .output()
                .unwrap()
        };
        assert!(!keygen("").status.success(), "k2 is not encrypted");
        let k2_pub = keygen("pass-phrase-2");
        assert!(k2_pub.status.success(), "{}", text(&k2_pub));
        let k2_line = String::from_utf8_lossy(&k2_pub.stdout).trim().to_string();
        for h in hosts {
            let lines = std::fs::read_to_string(authorized(h)).unwrap();
            assert!(lines.starts_with(&public), "{h}: {lines}");
            assert!(lines.contains(&k2_line), "{h}: {lines}");
            assert_eq!(lines.lines().count(), 2, "{h}: {lines}");
        }
    }

    // 5. Everything in place: no password asked (stdin empty), nothing changed anywhere.
    let kept: Vec<_> = hosts.iter().map(|h| snapshot(&authorized(h))).collect();
    let (ok, out) = setup("");
    outputs.push_str(&out);
    assert!(ok, "{out}");
    for (name, _) in names {
        assert!(
            out.contains(&format!("{name}: already had the key")),
            "{out}"
        );
    }
    assert!(
        !out.contains("password"),
        "no password was asked for:\n{out}"
    );
    let now: Vec<_> = hosts.iter().map(|h| snapshot(&authorized(h))).collect();
    assert!(kept == now, "a second run changed an authorized_keys file");

    // 5b. n2 refuses the key again, but the known_hosts kha-tui trusts pins another host key
    //     for it: refused with OpenSSH's warning before any login, so no password is asked
    //     for and n2 sees none.
    std::fs::write(authorized("n2"), "").unwrap();
    let impostor_key = impostor_key(home.path());
    let n2 = lab.addr("n2");
    let pinned: String = std::fs::read_to_string(&lab.known_hosts)
        .unwrap()
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((names, _)) if names.split(',').next() == Some(n2) => {
                format!("{names} {}\n", impostor_key)
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let pinned_file = home.path().join("pinned_known_hosts");
    std::fs::write(&pinned_file, pinned).unwrap();
    let inv_pinned = home.path().join("cluster-pinned.toml");
    std::fs::write(
        &inv_pinned,
        std::fs::read_to_string(&inv).unwrap().replace(
            &format!("known_hosts = \"{}\"", lab.known_hosts.display()),
            &format!("known_hosts = \"{}\"", pinned_file.display()),
        ),
    )
    .unwrap();
    let n2_pw_lines = pw_lines("n2");
    let (ok, out) = setup_with(&inv_pinned, &format!("{password}\n"));
    outputs.push_str(&out);
    assert!(!ok, "{out}");
    let n2_line = out
        .lines()
        .find(|l| l.starts_with("n2: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        n2_line.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{n2_line}"
    );
    assert!(out.contains("lb: already had the key") && out.contains("n3: already had the key"));
    assert!(
        !out.contains("password"),
        "no password was asked for:\n{out}"
    );
    assert_eq!(n2_pw_lines, pw_lines("n2"), "n2 saw a password");
    assert_eq!(std::fs::read_to_string(authorized("n2")).unwrap(), "");
    std::fs::write(authorized("n2"), &public).unwrap();

    // 6. The wizard (the real binary in tmux, HOME the operator's): n3 lost its key; the
    //    Connect screen offers K, the password goes into a masked field once, the key goes in,
    //    and the connect that follows reaches n3 with it.
    if prereq::require(tmux::tmux_present(), "tmux") {
        std::fs::write(authorized("n3"), "").unwrap();
        let h = home.path();
        let cmd = format!(
            "env -u SSH_AUTH_SOCK HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state \
             XDG_DATA_HOME={h}/data TMPDIR={h} TERM=xterm-256color {KHA} wizard --config {}",
            inv.display(),
            h = h.display()
        );
        let s = tmux::Tmux::start("ssh-setup", &cmd, &h.join("exit"), 160, 40);
        s.wait("Welcome to", 20);
        for _ in 0..12 {
            if s.screen().contains("Connect and preflight") {
                break;
            }
            s.keys(&["Enter"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let screen = s.wait("install key (password)", 60);
        assert!(screen.contains("K installs kha-tui's key"), "{screen}");
        s.keys(&["K"]);
        s.wait("Install kha-tui's key", 10);
        std::thread::sleep(std::time::Duration::from_millis(600));
        s.text(&password);
        let screen = s.wait(&"•".repeat(password.chars().count()), 10);
        assert!(screen.contains("n3 refused kha-tui's key"), "{screen}");
        outputs.push_str(&screen);
        s.keys(&["Enter"]);
        let screen = s.wait("Key installed on n3; connecting again", 60);
        outputs.push_str(&screen);
        assert_eq!(std::fs::read_to_string(authorized("n3")).unwrap(), public);
        // The connect again: every host connected, n3 with the key.
        let end = Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let screen = s.screen();
            // The node table's rows: "│ n3   worker  10.77.N.53  ✓ connected …" (▶ = selected).
            let row_of = |n: &str| {
                screen
                    .lines()
                    .find(|l| {
                        let l = l.trim_start_matches('│').trim_start_matches(['▶', ' ']);
                        l.starts_with(&format!("{n} "))
                    })
                    .map(str::to_string)
            };
            let connected = ["lb", "n2", "n3"]
                .iter()
                .all(|n| row_of(n).is_some_and(|r| r.contains("✓ connected")));
            if connected {
                outputs.push_str(&screen);
                break;
            }
            assert!(Instant::now() < end, "not every host connected:\n{screen}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert!(
            sshd_log("n3")
                .matches("Accepted publickey for root")
                .count()
                >= 1,
            "n3 let the wizard in with the key"
        );
        s.keys(&["q"]);
        std::thread::sleep(std::time::Duration::from_millis(500));
        s.keys(&["y"]);
        s.wait_exit(20);
    }

    // The password in no output, no file of the operator's (data dir, HOME), no host's log.
    assert!(
        !outputs.contains(&password),
        "the password was printed:\n{outputs}"
    );
    assert_eq!(
        files_containing(home.path(), &password),
        Vec::<String>::new()
    );
    for h in hosts {
        assert!(
            !sshd_log(h).contains(&password),
            "{h}'s sshd log has the password"
        );
    }

    // The fault's undo: root has the lab's key again and no password login.
    lab.fault_ok(&["key-only", "n3"]);
    let back = lab.ssh_as("root", "n3", "hostname");
    assert!(back.status.success(), "{}", text(&back));
    assert!(
        !std::fs::read_to_string(authorized("n3"))
            .unwrap()
            .contains(public.trim()),
        "key-only puts the lab's authorized_keys back"
    );
    eprintln!("ssh_setup: {:.0}s in all", started.elapsed().as_secs_f64());
}
