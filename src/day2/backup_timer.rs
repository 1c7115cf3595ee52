//! `kha-tui backup --install-timer`: a systemd service and timer on this machine (the load
//! balancer kha-tui runs on) that run `kha-tui backup` daily as the operator; each run records
//! its result (`backup_store::record_last`), which `kha-tui status` and the cluster view show.
//! The units hold no secret: paths and a count only.

use std::path::{Path, PathBuf};

/// `kha-tui-backup-CLUSTER`: the unit's name without its suffix.
pub fn unit_name(cluster: &str) -> String {
    format!("kha-tui-backup-{cluster}")
}

/// One argument for a systemd ExecStart line: double-quoted, with `\`, `"` escaped, `%`
/// doubled (specifiers) and `$` doubled (environment expansion).
pub fn systemd_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '%' => o.push_str("%%"),
            '$' => o.push_str("$$"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub struct TimerSpec {
    pub cluster: String,
    pub exe: PathBuf,
    pub config: PathBuf,
    pub keep: usize,
    pub data_dir: Option<PathBuf>,
    pub sudo_password_file: Option<PathBuf>,
    /// The operator the backups run as (their SSH keys, known_hosts, data dir).
    pub user: String,
}

/// (service, timer) unit files.
pub fn units(t: &TimerSpec) -> (String, String) {
    let mut args = vec![
        t.exe.display().to_string(),
        "backup".into(),
        "--config".into(),
        t.config.display().to_string(),
        "--keep".into(),
        t.keep.to_string(),
    ];
    if let Some(d) = &t.data_dir {
        args.push("--data-dir".into());
        args.push(d.display().to_string());
    }
    if let Some(f) = &t.sudo_password_file {
        args.push("--sudo-password-file".into());
        args.push(f.display().to_string());
    }
    let exec = args
        .iter()
        .map(|a| systemd_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let service = format!(
        "# Written by kha-tui backup --install-timer.\n[Unit]\nDescription=kha-tui backup of cluster {c} (etcd snapshot and CAs)\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\nUser={u}\nExecStart={exec}\n",
        c = t.cluster,
        u = t.user
    );
    let timer = format!(
        "# Written by kha-tui backup --install-timer.\n[Unit]\nDescription=Daily kha-tui backup of cluster {c}\n\n[Timer]\nOnCalendar=daily\nRandomizedDelaySec=15min\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
        c = t.cluster
    );
    (service, timer)
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run systemctl: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "systemctl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Writes the units into `unit_dir` (/etc/systemd/system) and enables the timer. Refused where
/// systemd does not run, or without the right to write there.
pub fn install(t: &TimerSpec, unit_dir: &Path) -> anyhow::Result<String> {
    anyhow::ensure!(
        Path::new("/run/systemd/system").is_dir(),
        "--install-timer: systemd is not running on this machine; run the timer's command from cron instead: {}",
        units(t)
            .0
            .lines()
            .find(|l| l.starts_with("ExecStart="))
            .unwrap_or("")
    );
    let name = unit_name(&t.cluster);
    let (service, timer) = units(t);
    for (suffix, text) in [("service", service), ("timer", timer)] {
        let p = unit_dir.join(format!("{name}.{suffix}"));
        std::fs::write(&p, text).map_err(|e| {
            anyhow::anyhow!(
                "--install-timer: cannot write {}: {e} (run it with sudo)",
                p.display()
            )
        })?;
    }
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", &format!("{name}.timer")])?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_runs_the_backup_with_quoted_paths() {
        let t = TimerSpec {
            cluster: "prod".into(),
            exe: "/usr/local/bin/kha-tui".into(),
            config: "/home/op/my cluster%.toml".into(),
            keep: 5,
            data_dir: Some("/var/lib/kha".into()),
            sudo_password_file: None,
            user: "op".into(),
        };
        let (s, timer) = units(&t);
        assert!(s.contains(
            "ExecStart=\"/usr/local/bin/kha-tui\" \"backup\" \"--config\" \"/home/op/my cluster%%.toml\" \"--keep\" \"5\" \"--data-dir\" \"/var/lib/kha\"\n"
        ), "{s}");
        assert!(s.contains("User=op\n") && s.contains("Type=oneshot\n"));
        assert!(timer.contains("OnCalendar=daily\n") && timer.contains("Persistent=true\n"));
        assert_eq!(systemd_quote("a\"b\\c$d"), "\"a\\\"b\\\\c$$d\"");
        assert_eq!(unit_name("prod"), "kha-tui-backup-prod");
    }
}
