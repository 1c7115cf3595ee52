//! The backup timer as an operator meets it, on a cluster installed from this machine: kha-tui
//! copied onto the lab's LB host (into its own file system, where its systemd runs it), with the
//! install's state and learned host keys in the `ops` user's default data dirs there and the
//! inventory naming a key in `~ops/.ssh`. `sudo kha-tui backup --install-timer` installs the
//! units; the service is started as the timer would start it (`systemctl start`), and checked
//! outside kha-tui: the unit's Result, the archive (0600, owned by ops) and its etcd snapshot
//! (etcdctl `snapshot status` on a control plane: the hash and revision kha-tui recorded). Then
//! `kha-tui status` on the LB and the wizard's cluster view (`ssh -t ops@LB kha-tui wizard` in
//! tmux) show it. Then a run that fails (the key the timer uses moved away): Result=exit-code, no
//! archive, and both views show the FAILED result with its reason.
//!
//! tests/day2_backup.rs calls it at the end, with the lab and the data dir it installed with:
//! `timer::timer_backup_shows_in_the_cluster_view(&lab, data.path())`.

#[path = "../common/tmux.rs"]
mod tmux;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::lab::Lab;

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");
/// Where the operator keeps the binary, the inventory and the key on the LB.
const LB_KHA: &str = "/usr/local/bin/kha-tui";
const LB_INVENTORY: &str = "/home/ops/kha/inventory.toml";
const LB_KEY: &str = "/home/ops/.ssh/kha-lab-key";
/// The default data dir of `ops` (no --data-dir): backups/ and known_hosts.
const LB_DATA: &str = "/home/ops/.local/share/kha-tui";
const LB_STATE: &str = "/home/ops/.local/state/kha-tui";

fn exec_ok(lab: &Lab, host: &str, cmd: &[&str]) -> String {
    let o = lab.exec(host, cmd);
    assert!(
        o.status.success(),
        "{host}: {cmd:?}:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The LB's file system as seen from this machine.
fn lb_root(lab: &Lab) -> PathBuf {
    lab.dir.join("hosts/lb/root")
}

fn on_lb_fs(lab: &Lab, p: &str) -> PathBuf {
    lb_root(lab).join(p.trim_start_matches('/'))
}

fn copy_dir(from: &Path, to: &Path) {
    let o = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// kha-tui, the inventory (its key in ~ops/.ssh) and the install's state and known_hosts, put
/// where an operator who ran the install on the LB would have them; all owned by ops.
fn set_up_the_lb(lab: &Lab, install_data: &Path) {
    let bin = on_lb_fs(lab, LB_KHA);
    std::fs::copy(KHA, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    for d in [LB_DATA, LB_STATE, "/home/ops/kha", "/home/ops/.ssh"] {
        std::fs::create_dir_all(on_lb_fs(lab, d)).unwrap();
    }
    let inv = std::fs::read_to_string(&lab.inventory)
        .unwrap()
        .replace(&lab.key.display().to_string(), LB_KEY);
    assert!(inv.contains(LB_KEY), "{inv}");
    std::fs::write(on_lb_fs(lab, LB_INVENTORY), inv).unwrap();
    std::fs::copy(&lab.key, on_lb_fs(lab, LB_KEY)).unwrap();
    std::fs::set_permissions(
        on_lb_fs(lab, LB_KEY),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::copy(
        install_data.join("known_hosts"),
        on_lb_fs(lab, &format!("{LB_DATA}/known_hosts")),
    )
    .unwrap();
    copy_dir(&install_data.join("state"), &on_lb_fs(lab, LB_STATE));
    exec_ok(
        lab,
        "lb",
        &[
            "chown",
            "-R",
            "ops:ops",
            "/home/ops/kha",
            "/home/ops/.ssh",
            "/home/ops/.local",
        ],
    );
}

/// The archives in ops' data dir on the LB, oldest first.
fn archives(lab: &Lab) -> Vec<PathBuf> {
    super::backups(&on_lb_fs(lab, LB_DATA))
}

/// `systemctl start` as the timer does it (the oneshot's run waited for); its Result.
fn fire(lab: &Lab, service: &str) -> (bool, String) {
    let o = lab.exec("lb", &["systemctl", "start", service]);
    let result = exec_ok(lab, "lb", &["systemctl", "show", "-p", "Result", service]);
    (o.status.success(), result.trim().to_string())
}

/// The snapshot inside `archive`, checked on a control plane with the etcd image's own
/// etcdctl (`snapshot status`): (hash, revision).
fn snapshot_status(lab: &Lab, cp: &str, archive: &Path) -> (u64, u64) {
    let snap = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg("snapshot.db")
        .output()
        .unwrap();
    assert!(snap.status.success() && !snap.stdout.is_empty());
    let mut ssh = Command::new("ssh")
        .args(lab.ssh_args())
        .arg(format!("ops@{}", lab.addr(cp)))
        .arg("cat > /tmp/kha-timer-snapshot.db")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    ssh.stdin.take().unwrap().write_all(&snap.stdout).unwrap();
    assert!(ssh.wait().unwrap().success());
    let out = lab.ssh_ok(
        cp,
        "sudo /usr/lib/kha-standin/images/etcd/etcdctl snapshot status /tmp/kha-timer-snapshot.db -w json 2>/dev/null; rm -f /tmp/kha-timer-snapshot.db",
    );
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    (
        v["hash"].as_u64().expect("hash"),
        v["revision"].as_u64().expect("revision"),
    )
}

/// `kha-tui status` on the LB as ops (default data dirs): its "Last backup:" line.
fn status_last_backup(lab: &Lab) -> String {
    let out = lab.ssh("lb", &format!("{LB_KHA} status --config {LB_INVENTORY}"));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    t.lines()
        .find(|l| l.contains("Last backup: "))
        .unwrap_or_else(|| panic!("no Last backup line in kha-tui status on the LB:\n{t}"))
        .to_string()
}

/// The wizard as the operator runs it: `ssh -t ops@LB kha-tui wizard` from a terminal (tmux),
/// so it runs on the LB over ops' default data dirs there, opened on the cluster (it was
/// installed: the cluster view is home).
fn wizard_on_the_lb(lab: &Lab) -> tmux::Tmux {
    let cmd = format!(
        "ssh -t {} ops@{} \"TERM=xterm-256color {LB_KHA} wizard --config {LB_INVENTORY}\"",
        lab.ssh_args().join(" "),
        lab.addr("lb")
    );
    let exit = std::env::temp_dir().join(format!("kha-timer-wizard-{}", lab.name));
    let t = tmux::Tmux::start(&format!("{}-timer", lab.name), &cmd, &exit, 200, 100);
    t.wait("┌ Cluster ", 30);
    t
}

pub fn timer_backup_shows_in_the_cluster_view(lab: &Lab, install_data: &Path) {
    let t0 = Instant::now();
    let cluster = kha_tui::inventory::validate::check(
        &kha_tui::inventory::parse(&std::fs::read_to_string(&lab.inventory).unwrap()).unwrap(),
    )
    .unwrap()
    .0;
    let cp = cluster.first_control_plane().name.clone();
    set_up_the_lb(lab, install_data);

    // Installed with sudo by the operator: the units name ops, the timer is enabled and waiting.
    let out = lab.ssh_ok(
        "lb",
        &format!("sudo {LB_KHA} backup --install-timer --config {LB_INVENTORY} --keep 3"),
    );
    let unit = format!("kha-tui-backup-{}", cluster.name);
    assert!(out.contains(&format!("installed {unit}.timer")), "{out}");
    let service = format!("{unit}.service");
    let shown = exec_ok(lab, "lb", &["systemctl", "cat", &service]);
    assert!(shown.contains("User=ops\n"), "{shown}");
    assert!(
        shown.contains(&format!(
            "\"{LB_KHA}\" \"backup\" \"--config\" \"{LB_INVENTORY}\""
        )),
        "{shown}"
    );
    assert_eq!(
        exec_ok(
            lab,
            "lb",
            &["systemctl", "is-active", &format!("{unit}.timer")]
        )
        .trim(),
        "active"
    );

    // 1. The timer's run, as systemd starts it: success, one archive, 0600, ops', a real snapshot.
    let t = Instant::now();
    let (ok, result) = fire(lab, &service);
    let journal = exec_ok(lab, "lb", &["journalctl", "-u", &service, "--no-pager"]);
    assert!(ok && result == "Result=success", "{result}\n{journal}");
    eprintln!(
        "timer: the service's backup took {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let files = archives(lab);
    assert_eq!(files.len(), 1, "{files:?}\n{journal}");
    let file = &files[0];
    let md = std::fs::metadata(file).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    let ops_uid: u32 = exec_ok(lab, "lb", &["id", "-u", "ops"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(md.uid(), ops_uid, "the archive belongs to the timer's user");
    let lb_file = format!(
        "{LB_DATA}/backups/{}",
        file.file_name().unwrap().to_str().unwrap()
    );
    assert!(journal.contains(&lb_file), "{journal}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
            .unwrap();
    let (hash, revision) = snapshot_status(lab, &cp, file);
    assert_eq!(meta["snapshot"]["hash"].as_u64(), Some(hash), "{meta:#}");
    assert_eq!(
        meta["snapshot"]["revision"].as_u64(),
        Some(revision),
        "{meta:#}"
    );

    // Both views show it: kha-tui status on the LB, and the wizard's cluster view.
    let line = status_last_backup(lab);
    eprintln!("timer: kha-tui status on the LB: {line}");
    assert!(line.contains(&format!(" ok: {lb_file}")), "{line}");
    let w = wizard_on_the_lb(lab);
    let scr = w.wait(&format!("ok: {lb_file}"), 120);
    assert!(scr.contains("Last backup: "), "{scr}");

    // 2. A run that fails: the key the timer's user logs in with moved away.
    let away = format!("{LB_KEY}.away");
    exec_ok(lab, "lb", &["mv", LB_KEY, &away]);
    let (ok, result) = fire(lab, &service);
    exec_ok(lab, "lb", &["mv", &away, LB_KEY]);
    let journal = exec_ok(lab, "lb", &["journalctl", "-u", &service, "--no-pager"]);
    assert!(!ok && result == "Result=exit-code", "{result}\n{journal}");
    assert!(journal.contains("kha-tui: backup failed: "), "{journal}");
    assert_eq!(&archives(lab), &files, "a failed run writes no archive");
    let line = status_last_backup(lab);
    eprintln!("timer: kha-tui status on the LB: {line}");
    assert!(
        line.contains(" FAILED: no control plane has a started, healthy etcd member (")
            && line.contains(cp.as_str())
            && line.contains(&format!(" unreachable: cannot read private key {LB_KEY}")),
        "{line}"
    );
    // The wizard, read again (r), shows the failure and its reason.
    w.keys(&["r"]);
    let scr = w.wait("FAILED: no control plane has a started", 120);
    assert!(
        scr.contains(" unreachable: cannot read private key"),
        "{scr}"
    );
    w.keys(&["q"]);
    eprintln!("timer checks: {:.0}s", t0.elapsed().as_secs_f64());
}
