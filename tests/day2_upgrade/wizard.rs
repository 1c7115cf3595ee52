//! The upgrade as the operator runs it from the wizard: kha-tui started again on the installed
//! cluster (the cluster view is home), `u`, the dialog's preflight (`kubeadm upgrade plan` from
//! the first control plane shown), the cluster's name typed, Enter; the run on the dashboard
//! until its report. The wizard reads the same state, known_hosts and backups as the CLI runs
//! with `--data-dir DD` (its XDG dirs point there), so the install's state makes it home and the
//! backup it takes first lands next to the CLI's.

#[path = "../common/tmux.rs"]
mod tmux;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

/// A HOME whose XDG data and state dirs for kha-tui are `dd` and `dd/state`.
fn home_over(dd: &Path) -> PathBuf {
    let h = dd.join("wizard-home");
    let share = h.join(".local/share");
    let state = h.join(".local/state");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(dd.join("state")).unwrap();
    for (link, to) in [
        (share.join("kha-tui"), dd.to_path_buf()),
        (state.join("kha-tui"), dd.join("state")),
    ] {
        if !link.exists() {
            std::os::unix::fs::symlink(to, link).unwrap();
        }
    }
    h
}

/// The lines this run added to the cluster's interleaved log (the engine's `_all-nodes.log`).
fn log_since(path: &Path, from: usize) -> String {
    let all = std::fs::read_to_string(path).unwrap_or_default();
    all.get(from..).unwrap_or("").to_string()
}

/// Upgrades the cluster of `config` (installed with `--data-dir dd`) to `to` from the wizard;
/// returns the run's lines of the engine's log (`TIME NODE KIND [STEP] TEXT`).
pub fn upgrade_from_the_wizard(config: &Path, dd: &Path, cluster: &str, to: &str) -> String {
    let t0 = Instant::now();
    let home = home_over(dd);
    let log = dd.join("state/logs").join(cluster).join("_all-nodes.log");
    let log_start = std::fs::metadata(&log)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let h = home.display();
    let cmd = format!(
        "env HOME={h} XDG_CONFIG_HOME={h}/.config XDG_STATE_HOME={h}/.local/state XDG_DATA_HOME={h}/.local/share TERM=xterm-256color {KHA} wizard --config {}",
        config.display()
    );
    let exit = dd.join("wizard-upgrade.exit");
    let t = tmux::Tmux::start(&format!("upgrade-{cluster}"), &cmd, &exit, 160, 50);
    t.wait("┌ Cluster ", 30);
    let scr = t.wait(&format!("✓ {cluster} is healthy"), 180);
    assert!(scr.contains(" u  upgrade…"), "the footer offers u:\n{scr}");

    t.keys(&["u"]);
    t.wait("┌ Upgrade Kubernetes ", 10);
    let scr = t
        .wait_any(
            &[
                "kubeadm upgrade plan on ",
                "Refused, nothing runs",
                "preflight failed",
            ],
            300,
        )
        .1;
    assert!(
        scr.contains("kubeadm upgrade plan on master1:")
            && scr.contains("[upgrade/versions] Cluster version: v"),
        "kubeadm's plan from the first control plane:\n{scr}"
    );
    assert!(scr.contains(&format!("{to} (next)")), "{scr}");
    // Enter before the name: refused, nothing runs.
    t.keys(&["Enter"]);
    t.wait(
        &format!("type the cluster's name, {cluster}, to upgrade it to {to}"),
        10,
    );
    t.text(cluster);
    t.keys(&["Enter"]);
    let (i, scr) = t.wait_any(
        &[
            &format!("the cluster runs Kubernetes {to}"),
            "did not finish",
            "nothing was upgraded",
        ],
        1800,
    );
    assert_eq!(i, 0, "the upgrade from the wizard:\n{scr}");
    assert!(
        scr.contains(&format!(" upgrade of {cluster} to {to} ")),
        "{scr}"
    );
    assert!(scr.contains("backup before the upgrade: "), "{scr}");
    t.keys(&["Escape"]);
    // After the report, the cluster view reads the cluster again: every kubelet at the target.
    std::thread::sleep(Duration::from_millis(300));
    let scr = t.wait(&format!("v{to}."), 120);
    eprintln!(
        "wizard upgrade to {to}: {:.0}s\n{scr}",
        t0.elapsed().as_secs_f64()
    );
    t.keys(&["q"]);
    log_since(&log, log_start)
}

/// Per worker, in order, in the engine's log: drain, kubeadm upgrade node, kubelet, uncordon;
/// the next worker's cordon only after the one before is uncordoned.
pub fn check_worker_order_in_log(log: &str, minor: &str, workers: &[&str]) {
    let at = |parts: &[&str]| {
        log.lines()
            .position(|l| parts.iter().all(|p| l.contains(p)))
            .unwrap_or_else(|| panic!("no line with {parts:?} in the log:\n{log}"))
    };
    let mut last_uncordon = 0;
    for w in workers {
        let drain = format!("upgrade-{minor}-drain-{w}");
        let uncordon = format!("upgrade-{minor}-uncordon-{w}");
        let kubeadm = format!("upgrade-{minor}-kubeadm");
        let kubelet = format!("upgrade-{minor}-kubelet");
        let drain_start = at(&[&format!("[{drain}] ▶ ")]);
        let drain_ok = at(&[&format!("[{drain}] ✓ ")]);
        let kubeadm_ok = at(&[&format!(" {w} kha [{kubeadm}] ✓ ")]);
        let kubelet_ok = at(&[&format!(" {w} kha [{kubelet}] ✓ ")]);
        let uncordon_start = at(&[&format!("[{uncordon}] ▶ ")]);
        let uncordon_ok = at(&[&format!("[{uncordon}] ✓ ")]);
        assert!(
            last_uncordon <= drain_start
                && drain_ok < kubeadm_ok
                && kubeadm_ok < kubelet_ok
                && kubelet_ok < uncordon_start
                && uncordon_start < uncordon_ok,
            "{w}: drain {drain_start}..{drain_ok}, kubeadm {kubeadm_ok}, kubelet {kubelet_ok}, uncordon {uncordon_start}..{uncordon_ok} (previous uncordon {last_uncordon})"
        );
        last_uncordon = uncordon_ok;
    }
}
