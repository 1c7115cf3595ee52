//! The lab, part 1: real Debian hosts — systemd-nspawn machines booted with real systemd on a lab
//! bridge — checked from the outside with the OpenSSH client, the way kha-tui will use them.
//!
//! Needs root and the packages in tests/lab/packages.txt. Without them each test prints
//! `skipping: <why>` and passes, except under CI=true, where it fails. Every test brings up a lab
//! of its own (own name, bridge, subnet and machine names), so they run side by side.

#[path = "common/lab.rs"]
mod lab;

use lab::{Lab, text};
use std::collections::HashSet;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// What a host says about itself over SSH (as ops, host key pinned), in one round trip.
#[derive(Debug)]
struct Facts {
    hostname: String,
    state: String,
    cgroup_fs: String,
    machine_id: String,
    mac: String,
    host_key: String,
    pid1: String,
}

fn facts(lab: &Lab, host: &str) -> Facts {
    let out = lab.ssh_ok(
        host,
        "hostname; systemctl is-system-running; stat -fc %T /sys/fs/cgroup; cat /etc/machine-id; \
         cat /sys/class/net/host0/address; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub; \
         cat /proc/1/comm",
    );
    let l: Vec<String> = out.lines().map(|s| s.trim().to_string()).collect();
    assert_eq!(l.len(), 7, "unexpected answer from {host}: {out}");
    Facts {
        hostname: l[0].clone(),
        state: l[1].clone(),
        cgroup_fs: l[2].clone(),
        machine_id: l[3].clone(),
        mac: l[4].clone(),
        host_key: l[5].clone(),
        pid1: l[6].clone(),
    }
}

/// The ed25519 key pinned for HOST in the lab's known_hosts.
fn pinned_key(lab: &Lab, host: &str) -> String {
    let kh = std::fs::read_to_string(&lab.known_hosts).expect("known_hosts");
    let prefix = format!("{},{} ssh-ed25519 ", lab.addr(host), host);
    kh.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no ed25519 key pinned for {host}:\n{kh}"))
        .trim()
        .to_string()
}

/// A full host is what the issue asks for: real systemd, cgroup v2, its own identity, a pinned
/// host key, and the real tools (no stand-ins).
fn check_real_host(lab: &Lab, host: &str) -> Facts {
    let f = facts(lab, host);
    assert_eq!(f.hostname, host, "hostname of {host}");
    assert_eq!(f.state, "running", "systemctl is-system-running on {host}");
    assert_eq!(f.cgroup_fs, "cgroup2fs", "cgroup hierarchy of {host}");
    assert_eq!(f.pid1, "systemd", "PID 1 of {host}");
    assert_eq!(f.machine_id.len(), 32, "machine-id of {host}");
    assert_eq!(f.host_key, pinned_key(lab, host), "host key of {host}");
    // The host key really is checked: without the lab's known_hosts, strict checking refuses.
    let out = Command::new("ssh")
        .args(lab.ssh_args_with(Path::new("/dev/null")))
        .arg(format!("ops@{}", lab.addr(host)))
        .arg("true")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "ssh to {host} without its pinned key succeeded"
    );
    assert!(
        text(&out.stderr).contains("Host key verification failed"),
        "{}",
        text(&out.stderr)
    );
    // Real programs, not stand-ins, and they work.
    let tools = lab.ssh_ok(
        host,
        "for c in systemctl sysctl modprobe swapoff apt-get dpkg; do \
           p=$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v $c); \
           head -c4 \"$(readlink -f \"$p\")\" | grep -q ELF && echo \"$c elf\"; done; \
         sudo modprobe overlay br_netfilter && echo modprobe-ok; \
         sudo swapoff -a && echo swapoff-ok; \
         sudo sysctl -n net.bridge.bridge-nf-call-iptables",
    );
    for want in [
        "systemctl elf",
        "sysctl elf",
        "modprobe elf",
        "swapoff elf",
        "apt-get elf",
        "dpkg elf",
        "modprobe-ok",
        "swapoff-ok",
    ] {
        assert!(
            tools.lines().any(|l| l == want),
            "{host}: no {want:?} in\n{tools}"
        );
    }
    f
}

/// Connects to ADDR:PORT and reads what the server sends until it closes.
fn read_banner(addr: &str, port: u16) -> std::io::Result<String> {
    let sa: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    Ok(buf.trim().to_string())
}

fn tcp_reachable(addr: &str, port: u16) -> bool {
    let sa: SocketAddr = format!("{addr}:{port}").parse().unwrap();
    TcpStream::connect_timeout(&sa, Duration::from_secs(2)).is_ok()
}

/// Polls F every 200 ms until it returns true or TIMEOUT passes.
fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Shortest round trip of 3 pings from FROM to TO, in milliseconds (a delay is a lower bound).
fn ping_ms(lab: &Lab, from: &str, to: &str) -> f64 {
    let out = lab.ssh_ok(from, &format!("ping -q -c 3 -i 0.2 -W 2 {}", lab.addr(to)));
    // rtt min/avg/max/mdev = 0.050/0.060/0.071/0.008 ms
    let line = out
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or_else(|| panic!("no rtt line in {out}"));
    let nums = line.split('=').nth(1).unwrap().trim();
    nums.split('/').next().unwrap().parse().unwrap()
}

fn apt_candidate(lab: &Lab, host: &str, pkg: &str) -> String {
    let out = lab.ssh_ok(
        host,
        &format!("sudo apt-get update -q >/dev/null && apt-cache policy {pkg}"),
    );
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .unwrap_or_else(|| panic!("no candidate for {pkg} on {host}:\n{out}"))
        .trim()
        .to_string()
}

/// Progress with the time since START, for CI logs.
fn step(test: &str, start: Instant, what: &str) {
    eprintln!("{test}: +{:.1} s {what}", start.elapsed().as_secs_f64());
}

fn done(test: &str, start: Instant) {
    eprintln!("{test}: {:.1} s", start.elapsed().as_secs_f64());
}

/// The lab's boot time as a ratio of its one-minute bound (the design's budget for a lab up
/// with the base cached); over 1.0 says "missed" in the output, for the reader to weigh.
fn report_boot(test: &str, up: Duration) {
    let ratio = up.as_secs_f64() / 60.0;
    let verdict = if ratio <= 1.0 { "met" } else { "missed" };
    eprintln!(
        "{test}: lab up in {:.1} s = {ratio:.2} of the 60 s bound ({verdict})",
        up.as_secs_f64()
    );
}

#[test]
fn seven_hosts_boot_with_real_systemd_and_pinned_ssh() {
    let test = "seven_hosts_boot_with_real_systemd_and_pinned_ssh";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    lab::warm("bookworm"); // cold caches (base, www hooks) are not part of the budget
    let lab = Lab::up("lb,3cp,3w");
    // How long the boot took is reported against its bound, not asserted: on a loaded machine a
    // correct lab is slower, and a timed assertion would fail it for that.
    report_boot(test, lab.up_time);
    let names: Vec<&str> = lab.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "lb", "master1", "master2", "master3", "worker1", "worker2", "worker3"
        ]
    );
    let octets: Vec<&str> = lab
        .hosts
        .iter()
        .map(|h| h.address.rsplit('.').next().unwrap())
        .collect();
    assert_eq!(octets, ["10", "11", "12", "13", "21", "22", "23"]);

    let mut ids = HashSet::new();
    let mut macs = HashSet::new();
    let mut keys = HashSet::new();
    for h in &lab.hosts {
        let f = check_real_host(&lab, &h.name);
        assert!(
            ids.insert(f.machine_id.clone()),
            "machine-id of {} not unique",
            h.name
        );
        assert!(macs.insert(f.mac.clone()), "MAC of {} not unique", h.name);
        assert!(
            keys.insert(f.host_key.clone()),
            "host key of {} not unique",
            h.name
        );
    }
    // ... and none of them is the machine's.
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        assert!(!ids.contains(id.trim()));
    }
    let machine_host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(!names.contains(&machine_host.trim()));

    // The inventory names the lab's hosts, key and load balancer.
    let inv = std::fs::read_to_string(&lab.inventory).unwrap();
    assert!(inv.contains(&format!("address = \"{}\"\nport = 6443", lab.addr("lb"))));
    assert!(inv.contains(&format!("identity_file = \"{}\"", lab.key.display())));
    assert_eq!(inv.matches("[[nodes]]").count(), 6);

    // Users: ops (passwordless sudo), opspw (sudo asks for a password), root (key only).
    assert_eq!(lab.ssh_ok("master1", "sudo -n id -u").trim(), "0");
    let out = lab.ssh_as("opspw", "master1", "sudo -n true");
    assert!(
        !out.status.success(),
        "opspw's sudo did not ask for a password"
    );
    let pw = lab.opspw_password();
    let out = lab.ssh_as(
        "opspw",
        "master1",
        &format!("echo {pw} | sudo -S -p '' id -u"),
    );
    assert_eq!(assert_ok(&out, "sudo -S as opspw").trim(), "0");
    let out = lab.ssh_as("root", "master1", "id -u");
    assert_eq!(assert_ok(&out, "ssh as root").trim(), "0");
    done(test, start);
}

fn single_distro_host(distro: &str, containerd_prefix: &str) {
    let start = Instant::now();
    let lab = Lab::up_with("1cp", distro);
    let f = check_real_host(&lab, "master1");
    assert_eq!(f.hostname, "master1");
    let os = lab.ssh_ok("master1", ". /etc/os-release; echo $VERSION_CODENAME");
    // sid names the next release in os-release (forky today), so only trixie is checked by name.
    if distro != "sid" {
        assert_eq!(os.trim(), distro);
    }
    // Real apt through the lab's proxy; the containerd kha-tui must reckon with.
    let cand = apt_candidate(&lab, "master1", "containerd");
    assert!(
        cand.starts_with(containerd_prefix),
        "{distro}: containerd candidate {cand}, expected {containerd_prefix}*"
    );
    done(&format!("{distro}_host_is_real"), start);
}

#[test]
fn trixie_host_is_real() {
    if lab::available("trixie_host_is_real") {
        single_distro_host("trixie", "1.7.");
    }
}

#[test]
fn sid_host_is_real() {
    if lab::available("sid_host_is_real") {
        single_distro_host("sid", "2.1.");
    }
}

#[test]
fn hosts_are_isolated_from_each_other_and_from_the_machine() {
    let test = "hosts_are_isolated_from_each_other_and_from_the_machine";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    let lab = Lab::up("3cp");
    let file = format!("/etc/kha-lab-isolation-{}", std::process::id());
    lab.ssh_ok(
        "master1",
        &format!("echo here | sudo tee {file} >/dev/null"),
    );
    assert_eq!(lab.ssh_ok("master1", &format!("cat {file}")).trim(), "here");
    for other in ["master2", "master3"] {
        let out = lab.ssh(other, &format!("test -e {file}"));
        assert_eq!(out.status.code(), Some(1), "{file} leaked to {other}");
    }
    assert!(!Path::new(&file).exists(), "{file} leaked to the machine");

    let key = "/proc/sys/net/ipv4/ip_forward";
    let machine_before = std::fs::read_to_string(key).unwrap();
    let other_before = lab.ssh_ok("master2", "cat /proc/sys/net/ipv4/ip_forward");
    let flip = if machine_before.trim() == "1" {
        "0"
    } else {
        "1"
    };
    lab.ssh_ok(
        "master1",
        &format!("sudo sysctl -w net.ipv4.ip_forward={flip}"),
    );
    assert_eq!(
        lab.ssh_ok("master1", "cat /proc/sys/net/ipv4/ip_forward")
            .trim(),
        flip
    );
    assert_eq!(std::fs::read_to_string(key).unwrap(), machine_before);
    for other in ["master2", "master3"] {
        assert_eq!(
            lab.ssh_ok(other, "cat /proc/sys/net/ipv4/ip_forward"),
            other_before
        );
    }
    done(test, start);
}

const LISTENER: &str = r#"import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 6443))
s.listen(64)
me = socket.gethostname().encode() + b"\n"
while True:
    c, _ = s.accept()
    c.sendall(me)
    c.close()
"#;

fn start_listener(lab: &Lab, host: &str) {
    lab.ssh_ok(
        host,
        &format!(
            "sudo tee /opt/kha-listener.py >/dev/null <<'EOF'\n{LISTENER}EOF\n\
             sudo systemd-run --quiet --unit=kha-listener /usr/bin/python3 /opt/kha-listener.py"
        ),
    );
    let addr = lab.addr(host).to_string();
    wait_for(
        &format!("the listener on {host}"),
        Duration::from_secs(20),
        || read_banner(&addr, 6443).is_ok_and(|b| b == host),
    );
}

/// svname -> status of HAProxy's backend `cps`, from its admin socket.
fn haproxy_status(lab: &Lab) -> Vec<(String, String)> {
    let csv = lab.ssh_ok(
        "lb",
        "sudo python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); \
         s.connect('/run/haproxy/admin.sock'); s.sendall(b'show stat\\n'); \
         print(s.makefile().read())\"",
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |n: &str| header.iter().position(|h| *h == n).expect(n);
    let (px, sv, st) = (col("pxname"), col("svname"), col("status"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > st && f[px] == "cps" && f[sv].starts_with("master"))
        .map(|f| (f[sv].to_string(), f[st].to_string()))
        .collect()
}

fn balanced(lab: &Lab, n: usize) -> Vec<String> {
    let lb = lab.addr("lb").to_string();
    (0..n)
        .map(|i| {
            read_banner(&lb, 6443).unwrap_or_else(|e| panic!("connection {i} via the LB: {e}"))
        })
        .collect()
}

#[test]
fn haproxy_on_the_lb_round_robins_and_survives_a_powered_off_control_plane() {
    let test = "haproxy_on_the_lb_round_robins_and_survives_a_powered_off_control_plane";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    let lab = Lab::up("lb,3cp");
    step(test, start, "up");
    // `on-lb`: a program of the machine in the LB's network namespace.
    let ip = assert_ok(&lab.on_lb(&["ip", "-o", "-4", "addr", "show"]), "on-lb ip");
    assert!(ip.contains(&format!(" {}/24", lab.addr("lb"))), "{ip}");
    // Real apt through the proxy on the bridge.
    lab.ssh_ok(
        "lb",
        "sudo apt-get update -q >/dev/null && \
         sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null",
    );
    assert!(
        lab.ssh_ok("lb", "apt-cache policy containerd")
            .contains("Candidate: 1.6.")
    );
    step(test, start, "haproxy installed on lb");
    // A second download of the same package comes from the proxy's cache.
    lab.ssh_ok(
        "master1",
        "sudo apt-get update -q >/dev/null && \
         sudo apt-get install -y -q --download-only haproxy >/dev/null",
    );
    let log = std::fs::read_to_string(lab.dir.join("acng/log/apt-cacher.log")).unwrap();
    let deb: Vec<Vec<&str>> = log
        .lines()
        .map(|l| l.split('|').collect::<Vec<_>>())
        .filter(|f| f.len() == 5 && f[4].contains("/haproxy_") && f[4].ends_with(".deb"))
        .collect();
    let sent_to = |a: &str| deb.iter().any(|f| f[1] == "O" && f[3] == a);
    assert!(
        sent_to(lab.addr("lb")),
        "the proxy did not serve haproxy to lb:\n{log}"
    );
    assert!(
        sent_to(lab.addr("master1")),
        "the proxy did not serve haproxy to master1"
    );
    let fetched = deb.iter().filter(|f| f[1] == "I").count();
    assert!(
        fetched <= 1,
        "haproxy fetched {fetched} times from the mirror"
    );

    step(test, start, "cache checked");
    for cp in ["master1", "master2", "master3"] {
        start_listener(&lab, cp);
    }
    let servers: String = ["master1", "master2", "master3"]
        .iter()
        .map(|cp| {
            format!(
                "    server {cp} {}:6443 check inter 500ms fall 2 rise 2\n",
                lab.addr(cp)
            )
        })
        .collect();
    let cfg = format!(
        "global\n    stats socket /run/haproxy/admin.sock mode 660 level admin\n\
         defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1h\n    timeout server 1h\n\
         \x20   retries 2\n    option redispatch\n\
         frontend apiserver\n    bind 0.0.0.0:6443\n    default_backend cps\n\
         backend cps\n    balance roundrobin\n{servers}"
    );
    lab.ssh_ok(
        "lb",
        &format!(
            "sudo tee /etc/haproxy/haproxy.cfg >/dev/null <<'EOF'\n{cfg}EOF\n\
             sudo haproxy -c -q -f /etc/haproxy/haproxy.cfg && sudo systemctl restart haproxy"
        ),
    );
    wait_for("all three servers UP", Duration::from_secs(20), || {
        let st = haproxy_status(&lab);
        st.len() == 3 && st.iter().all(|(_, s)| s == "UP")
    });
    step(test, start, "haproxy configured, all UP");
    let seq = balanced(&lab, 6);
    let first: HashSet<&String> = seq[..3].iter().collect();
    assert_eq!(first.len(), 3, "not round robin: {seq:?}");
    assert_eq!(seq[..3], seq[3..], "not round robin: {seq:?}");

    step(test, start, "round robin checked");
    // A control plane powered off: HAProxy reports it DOWN and keeps serving with the others.
    lab.fault_ok(&["poweroff", "master2"]);
    wait_for("master2 DOWN", Duration::from_secs(20), || {
        haproxy_status(&lab)
            .iter()
            .any(|(s, st)| s == "master2" && st.starts_with("DOWN"))
    });
    let seq = balanced(&lab, 6);
    assert!(
        seq.iter().all(|h| h == "master1" || h == "master3"),
        "{seq:?}"
    );
    assert_eq!(seq.iter().filter(|h| *h == "master1").count(), 3, "{seq:?}");

    step(test, start, "master2 DOWN, still serving");
    // Powered on again, it comes back.
    lab.fault_ok(&["poweron", "master2"]);
    start_listener(&lab, "master2");
    wait_for("master2 UP again", Duration::from_secs(20), || {
        haproxy_status(&lab)
            .iter()
            .any(|(s, st)| s == "master2" && st == "UP")
    });
    assert!(balanced(&lab, 3).contains(&"master2".to_string()));
    done(test, start);
}

fn holds(lab: &Lab, host: &str, vip: &str) -> bool {
    lab.ssh_ok(host, "ip -o -4 addr show dev host0")
        .contains(&format!(" {vip}/"))
}

/// The name of the host that answers SSH on ADDR, checked against its pinned key.
fn ssh_answers_as(lab: &Lab, addr: &str, alias: &str) -> bool {
    Command::new("ssh")
        .args(lab.ssh_args())
        .args(["-o", &format!("HostKeyAlias={alias}")])
        .arg(format!("ops@{addr}"))
        .arg("hostname")
        .output()
        .is_ok_and(|o| o.status.success() && text(&o.stdout).trim() == alias)
}

#[test]
fn keepalived_on_two_lbs_moves_the_virtual_address() {
    let test = "keepalived_on_two_lbs_moves_the_virtual_address";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    let lab = Lab::up("lb,lb2");
    let vip = lab.vip();
    step(test, start, "up");
    std::thread::scope(|s| {
        for (host, prio) in [("lb", 150), ("lb2", 100)] {
            let (lab, vip) = (&lab, &vip);
            s.spawn(move || {
                let cfg = format!(
                    "vrrp_instance VI_1 {{\n  state BACKUP\n  interface host0\n  virtual_router_id 51\n  \
                     priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
                );
                lab.ssh_ok(
                    host,
                    &format!(
                        "sudo apt-get update -q >/dev/null && \
                         sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends keepalived >/dev/null && \
                         sudo tee /etc/keepalived/keepalived.conf >/dev/null <<'EOF'\n{cfg}EOF\n\
                         sudo systemctl restart keepalived"
                    ),
                );
            });
        }
    });
    step(test, start, "keepalived installed and configured on both");
    wait_for(
        "lb to hold the virtual address",
        Duration::from_secs(30),
        || holds(&lab, "lb", &vip) && !holds(&lab, "lb2", &vip),
    );
    assert!(ssh_answers_as(&lab, &vip, "lb"));

    step(test, start, "lb holds the address");
    lab.ssh_ok("lb", "sudo systemctl stop keepalived");
    wait_for(
        "the address to move to lb2",
        Duration::from_secs(30),
        || holds(&lab, "lb2", &vip) && !holds(&lab, "lb", &vip),
    );
    wait_for(
        "lb2 to answer on the address",
        Duration::from_secs(10),
        || ssh_answers_as(&lab, &vip, "lb2"),
    );

    step(test, start, "moved to lb2");
    lab.ssh_ok("lb", "sudo systemctl start keepalived");
    wait_for(
        "the address to come back to lb",
        Duration::from_secs(30),
        || holds(&lab, "lb", &vip) && !holds(&lab, "lb2", &vip),
    );
    done(test, start);
}

fn nspawn_pid(lab: &Lab, host: &str) -> Option<u32> {
    let s = std::fs::read_to_string(lab.dir.join(format!("hosts/{host}/pid"))).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(") ").next().unwrap_or("").chars().next();
            state != Some('Z')
        })
        .unwrap_or(false)
}

fn links() -> String {
    text(
        &Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap()
            .stdout,
    )
}

#[test]
fn every_fault_works_and_is_undone() {
    let test = "every_fault_works_and_is_undone";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    let lab = Lab::up("2cp");
    let m1 = lab.addr("master1").to_string();
    let id = lab.ssh_ok("master1", "cat /etc/machine-id");

    step(test, start, "up");
    // sshd stopped and started again.
    lab.fault_ok(&["sshd-stop", "master1"]);
    let out = lab.ssh("master1", "true");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
    lab.ssh_ok("master2", "true");
    lab.fault_ok(&["sshd-start", "master1"]);
    lab.ssh_ok("master1", "true");

    step(test, start, "sshd-stop/start done");
    // The next apt-get fails once, then works; an armed fault can be taken back.
    lab.fault_ok(&[
        "fail-next",
        "master1",
        "apt-get",
        "42",
        "injected by the test",
    ]);
    let out = lab.ssh("master1", "sudo apt-get --version");
    assert_eq!(out.status.code(), Some(42));
    assert!(text(&out.stderr).contains("injected by the test"));
    lab.ssh_ok("master1", "sudo apt-get --version");
    lab.fault_ok(&["fail-next", "master1", "systemctl", "7"]);
    lab.fault_ok(&["unfail", "master1"]);
    lab.ssh_ok(
        "master1",
        "systemctl --version >/dev/null && test -z \"$(ls /usr/local/bin)\"",
    );

    step(test, start, "fail-next done");
    // New host keys: the pinned client refuses; the old keys back, it connects again.
    lab.fault_ok(&["rekey", "master1"]);
    let out = lab.ssh("master1", "true");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        text(&out.stderr)
    );
    lab.fault_ok(&["unrekey", "master1"]);
    lab.ssh_ok("master1", "true");

    step(test, start, "rekey done");
    // Cut off the bridge, then healed.
    lab.fault_ok(&["cut", "master1"]);
    assert!(!tcp_reachable(&m1, 22), "master1 reachable while cut");
    let out = lab.ssh("master2", &format!("ping -c 1 -W 1 {m1}"));
    assert!(
        !out.status.success(),
        "master2 pinged master1 while it was cut"
    );
    lab.fault_ok(&["heal", "master1"]);
    wait_for("master1 reachable again", Duration::from_secs(10), || {
        tcp_reachable(&m1, 22)
    });
    lab.ssh_ok("master1", "true");

    step(test, start, "cut/heal done");
    // Delayed traffic, then normal again.
    // The delay adds 300 ms to the round trip; the round trip without it is noise that a loaded
    // 2-core machine stretches to ~100 ms, so only gross values are checked against it.
    let normal = ping_ms(&lab, "master2", "master1");
    assert!(normal < 1000.0, "{normal} ms before the delay");
    lab.fault_ok(&["delay", "master1", "150"]);
    let slow = ping_ms(&lab, "master2", "master1");
    assert!(
        (280.0..normal + 2000.0).contains(&slow),
        "{slow} ms with 150 ms each way, {normal} ms without"
    );
    lab.ssh_ok("master1", "true");
    lab.fault_ok(&["undelay", "master1"]);
    let after = ping_ms(&lab, "master2", "master1");
    assert!(
        after < slow - 150.0,
        "{after} ms after undelay, {slow} ms with the delay"
    );

    step(test, start, "delay done");
    // Powered off (cleanly, then the hard way) and on again: same machine, same keys.
    for how in [
        &["poweroff", "master1"][..],
        &["poweroff", "--hard", "master1"][..],
    ] {
        let pid = nspawn_pid(&lab, "master1").expect("nspawn pid");
        lab.fault_ok(how);
        assert!(!process_alive(pid), "{how:?}: nspawn {pid} still runs");
        assert!(
            !links().contains(&format!("vb-{}", lab.host("master1").machine)),
            "{how:?}: veth left"
        );
        assert!(!tcp_reachable(&m1, 22));
        assert!(
            lab.status()
                .lines()
                .any(|l| l.starts_with("master1 ") && l.contains(" off "))
        );
        lab.fault_ok(&["poweron", "master1"]);
        assert_eq!(lab.ssh_ok("master1", "cat /etc/machine-id"), id);
        assert_eq!(
            lab.ssh_ok("master1", "systemctl is-system-running").trim(),
            "running"
        );
    }

    step(test, start, "poweroff/poweron done");
    // `clear` undoes everything at once.
    lab.fault_ok(&["fail-next", "master1", "apt-get"]);
    lab.fault_ok(&["delay", "master1", "100"]);
    lab.fault_ok(&["cut", "master1"]);
    lab.fault_ok(&["sshd-stop", "master1"]);
    lab.fault_ok(&["clear", "master1"]);
    let status = lab.status();
    let line = status.lines().find(|l| l.starts_with("master1 ")).unwrap();
    assert_eq!(line.split_whitespace().count(), 6, "faults left: {line}");
    lab.ssh_ok("master1", "sudo apt-get --version >/dev/null");
    assert!(ping_ms(&lab, "master2", "master1") < 100.0);
    done(test, start);
}

#[test]
fn down_leaves_nothing_behind_even_after_a_crash() {
    let test = "down_leaves_nothing_behind_even_after_a_crash";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    let mut lab = Lab::up("lb,1cp,light:3");
    // Light hosts: sshd only, no systemd, same users and keys.
    for n in ["n1", "n2", "n3"] {
        let out = lab.ssh_ok(
            n,
            "hostname; cat /proc/1/comm; ps -e -o comm= | grep -c systemd || true",
        );
        let l: Vec<&str> = out.lines().collect();
        assert_eq!(l[0], n);
        assert_ne!(l[1], "systemd");
        assert_eq!(l[2], "0", "systemd runs on light host {n}");
    }
    step(test, start, "light hosts checked");
    // `up` again is safe and answers the same inventory.
    let again = assert_ok(&lab.lab(&["up"]), "up again");
    assert_eq!(again.trim(), lab.inventory.display().to_string());

    let machines: Vec<String> = lab.hosts.iter().map(|h| h.machine.clone()).collect();
    let mut pids: Vec<u32> = lab
        .hosts
        .iter()
        .filter_map(|h| nspawn_pid(&lab, &h.name))
        .collect();
    for f in ["acng/pid", "www.pid"] {
        let s = std::fs::read_to_string(lab.dir.join(f)).unwrap();
        pids.push(s.split_whitespace().next().unwrap().parse().unwrap());
    }
    assert_eq!(pids.len(), machines.len() + 2);

    step(test, start, "up again done");
    // A crash, more or less: faults in place, nspawn and the file server killed with SIGKILL.
    lab.fault_ok(&["delay", "master1", "50"]);
    let dl = std::fs::read_to_string(lab.dir.join("faults/master1/delay.pid")).unwrap_or_default();
    if let Some(p) = dl.split_whitespace().next() {
        pids.push(p.parse().unwrap());
    }
    lab.fault_ok(&["cut", "lb"]);
    lab.fault_ok(&["fail-next", "n1", "apt-get"]);
    let killed = nspawn_pid(&lab, "master1").unwrap();
    let www: u32 = pids[machines.len() + 1];
    for p in [killed, www] {
        Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status()
            .unwrap();
    }

    let dir = lab.dir.clone();
    let bridge = lab.bridge.clone();
    let slot = lab.net.rsplit('.').next().unwrap().to_string();
    step(test, start, "crash staged");
    let out = lab.down();
    assert_ok(&out, "down");
    step(test, start, "down");

    for p in &pids {
        assert!(!process_alive(*p), "process {p} still runs after down");
    }
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry
            .file_name()
            .to_string_lossy()
            .parse::<u32>()
            .unwrap_or(0);
        if pid == 0 || !process_alive(pid) {
            continue; // not a process, or a zombie waiting for its parent
        }
        let cg = std::fs::read_to_string(entry.path().join("cgroup")).unwrap_or_default();
        for m in &machines {
            assert!(
                !cg.contains(&format!("kha-lab/{m}/")),
                "process {:?} of {m} still runs",
                entry.file_name()
            );
        }
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(
        !mounts.contains(&dir.display().to_string()),
        "mounts left:\n{mounts}"
    );
    let links = links();
    assert!(
        !links.contains(&format!(": {bridge}:")),
        "bridge {bridge} left"
    );
    for m in &machines {
        assert!(!links.contains(&format!("vb-{m}")), "veth of {m} left");
    }
    assert!(
        !links.contains(&format!("kd{slot}x")),
        "delay line veth left"
    );
    let rules = text(
        &Command::new("ip")
            .args(["rule", "show"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        !rules.contains(&format!("iif {bridge} ")),
        "ip rule left:\n{rules}"
    );
    assert!(!dir.exists(), "{} left", dir.display());
    // And again: nothing to do, no error.
    assert_ok(&lab.lab(&["down"]), "down again");
    done(test, start);
}

#[test]
fn many_light_hosts_come_up_quickly() {
    let test = "many_light_hosts_come_up_quickly";
    if !lab::available(test) {
        return;
    }
    let start = Instant::now();
    lab::warm("bookworm");
    let lab = Lab::up("light:40");
    report_boot(test, lab.up_time);
    assert_eq!(lab.hosts.len(), 40);
    // Every one answers SSH as itself, with its own pinned host key.
    std::thread::scope(|s| {
        for chunk in lab.hosts.chunks(10) {
            let lab = &lab;
            s.spawn(move || {
                for h in chunk {
                    assert_eq!(lab.ssh_ok(&h.name, "hostname").trim(), h.name);
                }
            });
        }
    });
    let kh = std::fs::read_to_string(&lab.known_hosts).unwrap();
    let keys: HashSet<&str> = kh
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(keys.len(), 40);
    done(test, start);
}
