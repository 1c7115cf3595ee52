//! Test helper around `tests/lab/lab`: real Debian hosts (systemd-nspawn, real systemd) on a lab
//! bridge. Include it in an integration test with
//!
//! ```ignore
//! #[path = "common/lab.rs"]
//! mod lab;
//! ```
//!
//! and start a test with `if !lab::available("my_test") { return; }`: where the lab cannot run
//! (not root, a tool missing) that prints `skipping: <why>` and returns false — except when the
//! environment says `CI=true`, where it panics instead. Then `Lab::up("lb,3cp,3w")` brings up a lab
//! of its own (a unique name per call, so tests run side by side) and `Drop` takes it down again.
//! See tests/lab/README.md for what the hosts are.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The lab's command line tool.
pub const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/lab");

/// Programs of the machine that the lab needs (the packages are in tests/lab/packages.txt).
const TOOLS: &[&str] = &[
    "systemd-nspawn",
    "debootstrap",
    "apt-cacher-ng",
    "ip",
    "nsenter",
    "ssh",
    "ssh-keygen",
    "openssl",
    "python3",
    "flock",
    "setsid",
    "usermod",
];

/// One host of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Node name, also the hostname inside the host (`master1`).
    pub name: String,
    /// `lb`, `control-plane` or `worker`.
    pub role: String,
    /// `full` (systemd) or `light` (sshd only).
    pub kind: String,
    /// IPv4 address on the lab bridge.
    pub address: String,
    /// systemd-nspawn machine name (unique across labs, e.g. `k3-master1`).
    pub machine: String,
}

/// A running lab. Dropping it runs `lab down`.
#[derive(Debug)]
pub struct Lab {
    pub name: String,
    /// The lab's directory (keys, inventory, host roots, logs).
    pub dir: PathBuf,
    /// The inventory `lab up` printed.
    pub inventory: PathBuf,
    /// The private key the lab made; installed for `ops`, `opspw` and `root` on every host.
    pub key: PathBuf,
    /// The pinned host keys of every host (`address,name type key`).
    pub known_hosts: PathBuf,
    pub hosts: Vec<Host>,
    /// The machine's address on the lab bridge (apt proxy :3142, file server :8080).
    pub bridge_ip: String,
    /// First three octets of the lab's /24, e.g. `10.77.3`.
    pub net: String,
    pub bridge: String,
    pub distro: String,
    /// How long `lab up` took.
    pub up_time: Duration,
    down_done: bool,
}

/// Why the lab cannot run on this machine, if it cannot.
pub fn prerequisites() -> Result<(), String> {
    if !is_root() {
        return Err("the lab needs root (systemd-nspawn, mounts, bridges)".into());
    }
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing on this machine: {} (apt-get install the packages in tests/lab/packages.txt)",
            missing.join(", ")
        ));
    }
    if !Path::new(LAB).exists() {
        return Err(format!("{LAB} does not exist"));
    }
    Ok(())
}

/// True if the lab can run here. Otherwise prints `skipping: <why>` and returns false, or panics
/// when `CI=true` (in CI a missing prerequisite is a failure, never a skip).
pub fn available(test: &str) -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{test}: the lab cannot run here and CI=true: {why}");
            }
            eprintln!("skipping: {test}: {why}");
            false
        }
    }
}

/// Builds (or finds) the cached base root filesystem of DISTRO; returns its path.
pub fn base(distro: &str) -> PathBuf {
    let out = run(Command::new(LAB).args(["base", "--distro", distro]));
    if !out.status.success() {
        panic!("lab base --distro {distro} failed:\n{}", text(&out.stderr));
    }
    PathBuf::from(last_line(&out.stdout))
}

/// Fills every cache `up` uses (the base of DISTRO, the `www.d` hooks' caches) without starting
/// hosts, so a timed `up` measures the hosts only.
pub fn warm(distro: &str) {
    let out = run(Command::new(LAB).args(["warm", "--distro", distro]));
    if !out.status.success() {
        panic!("lab warm --distro {distro} failed:\n{}", text(&out.stderr));
    }
}

/// A lab name no other test (in this or another process) uses.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let tag: String = tag
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    format!(
        "t{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        tag
    )
}

impl Lab {
    /// `lab up --nodes NODES` (bookworm) under a unique name. Panics if that fails.
    pub fn up(nodes: &str) -> Lab {
        Lab::up_with(nodes, "bookworm")
    }

    /// `lab up --nodes NODES --distro DISTRO` under a unique name. Panics if that fails.
    pub fn up_with(nodes: &str, distro: &str) -> Lab {
        let name = unique_name(&format!("{distro}{nodes}"));
        Lab::try_up(&name, nodes, distro).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `lab --name NAME up --nodes NODES --distro DISTRO`; on failure the lab is taken down again.
    pub fn try_up(name: &str, nodes: &str, distro: &str) -> Result<Lab, String> {
        reap_stale_labs();
        let start = Instant::now();
        let out =
            run(Command::new(LAB)
                .args(["--name", name, "up", "--nodes", nodes, "--distro", distro]));
        let up_time = start.elapsed();
        if !out.status.success() {
            let _ = run(Command::new(LAB).args(["--name", name, "down"]));
            return Err(format!(
                "lab up --nodes {nodes} --distro {distro} failed:\n{}",
                text(&out.stderr)
            ));
        }
        let inventory = PathBuf::from(last_line(&out.stdout));
        let dir = inventory
            .parent()
            .ok_or("inventory path without a directory")?
            .to_path_buf();
        let env = read_env(&dir.join("lab.env"))?;
        let hosts = read_hosts(&dir.join("hosts.tsv"))?;
        let get = |k: &str| env.get(k).cloned().ok_or(format!("lab.env has no {k}"));
        Ok(Lab {
            name: name.to_string(),
            key: dir.join("key"),
            known_hosts: dir.join("known_hosts"),
            bridge_ip: get("BRIP")?,
            net: get("NET")?,
            bridge: get("BR")?,
            distro: get("DISTRO")?,
            inventory,
            dir,
            hosts,
            up_time,
            down_done: false,
        })
    }

    /// The host called NAME. Panics if there is none.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("lab {} has no host {name}", self.name))
    }

    /// The address of host NAME.
    pub fn addr(&self, name: &str) -> &str {
        &self.host(name).address
    }

    /// Hosts with ROLE (`lb`, `control-plane`, `worker`).
    pub fn with_role(&self, role: &str) -> Vec<&Host> {
        self.hosts.iter().filter(|h| h.role == role).collect()
    }

    /// The address kept free for a keepalived virtual IP (`.5`).
    pub fn vip(&self) -> String {
        format!("{}.5", self.net)
    }

    /// The sudo password of user `opspw`.
    pub fn opspw_password(&self) -> String {
        std::fs::read_to_string(self.dir.join("opspw.password"))
            .expect("opspw.password")
            .trim()
            .to_string()
    }

    /// The OpenSSH client options the lab's hosts need: lab key, host keys pinned.
    pub fn ssh_args(&self) -> Vec<String> {
        self.ssh_args_with(&self.known_hosts)
    }

    /// The same with another known_hosts file (OpenSSH takes the first value of an option, so a
    /// later `-o UserKnownHostsFile=` would not override it).
    pub fn ssh_args_with(&self, known_hosts: &Path) -> Vec<String> {
        let mut a = vec!["-i".to_string(), self.key.display().to_string()];
        for o in [
            "IdentitiesOnly=yes".to_string(),
            format!("UserKnownHostsFile={}", known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            "BatchMode=yes".to_string(),
            "ConnectTimeout=10".to_string(),
            "LogLevel=ERROR".to_string(),
        ] {
            a.push("-o".to_string());
            a.push(o);
        }
        a
    }

    /// `ssh ops@HOST CMD` with the host key pinned.
    pub fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_as("ops", host, cmd)
    }

    /// `ssh USER@HOST CMD` with the host key pinned.
    pub fn ssh_as(&self, user: &str, host: &str, cmd: &str) -> Output {
        let target = format!("{user}@{}", self.addr(host));
        run(Command::new("ssh")
            .args(self.ssh_args())
            .arg(target)
            .arg(cmd))
    }

    /// `ssh ops@HOST CMD`; panics unless it succeeds; returns its stdout.
    pub fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let out = self.ssh(host, cmd);
        if !out.status.success() {
            panic!(
                "ssh ops@{host} {cmd:?} failed ({}):\n{}{}",
                out.status,
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        text(&out.stdout)
    }

    /// The bootstrap tokens `kubeadm token list` shows on control plane `host` (its lines
    /// without the header, which kubeadm prints only with the first token).
    pub fn bootstrap_tokens(&self, host: &str) -> Vec<String> {
        self.ssh_ok(
            host,
            "sudo kubeadm token list --kubeconfig /etc/kubernetes/admin.conf",
        )
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("TOKEN "))
        .map(str::to_string)
        .collect()
    }

    /// `lab --name NAME ARGS...`.
    pub fn lab(&self, args: &[&str]) -> Output {
        run(Command::new(LAB).args(["--name", &self.name]).args(args))
    }

    /// `lab fault ARGS...`, e.g. `fault(&["poweroff", "master2"])`.
    pub fn fault(&self, args: &[&str]) -> Output {
        self.lab(&[&["fault"], args].concat())
    }

    /// `lab fault ARGS...`; panics unless it succeeds.
    pub fn fault_ok(&self, args: &[&str]) {
        let out = self.fault(args);
        if !out.status.success() {
            panic!("lab fault {args:?} failed:\n{}", text(&out.stderr));
        }
    }

    /// A command as root inside HOST without SSH (`lab exec`, nsenter).
    pub fn exec(&self, host: &str, cmd: &[&str]) -> Output {
        self.lab(&[&["exec", host, "--"], cmd].concat())
    }

    /// A program of the machine inside the LB host's network namespace (`lab on-lb`).
    pub fn on_lb(&self, cmd: &[&str]) -> Output {
        self.lab(&[&["on-lb", "--"], cmd].concat())
    }

    /// `lab status`.
    pub fn status(&self) -> String {
        text(&self.lab(&["status"]).stdout)
    }

    /// `lab down`. Dropping the lab does this too.
    pub fn down(&mut self) -> Output {
        self.down_done = true;
        run(Command::new(LAB).args(["--name", &self.name, "down"]))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.down_done {
            let out = self.down();
            if !out.status.success() {
                eprintln!("lab down {} failed:\n{}", self.name, text(&out.stderr));
            }
        }
    }
}

/// Stdout or stderr as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn last_line(b: &[u8]) -> String {
    text(b).lines().last().unwrap_or("").trim().to_string()
}

/// Runs CMD with stdin closed, marking this process as the owner of any lab it brings up.
fn run(cmd: &mut Command) -> Output {
    cmd.env("KHA_LAB_OWNER_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Once per process: take down labs left behind by test processes that no longer exist.
fn reap_stale_labs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = run(Command::new(LAB).args(["down", "--stale"]));
    });
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

fn read_env(path: &Path) -> Result<HashMap<String, String>, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(s.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect())
}

fn read_hosts(path: &Path) -> Result<Vec<Host>, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() != 5 {
                return Err(format!("{}: bad line {l:?}", path.display()));
            }
            Ok(Host {
                name: f[0].into(),
                role: f[1].into(),
                kind: f[2].into(),
                address: f[3].into(),
                machine: f[4].into(),
            })
        })
        .collect()
}
