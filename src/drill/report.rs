//! The drill's result: one table per scenario (what was stopped, when, how long the endpoint
//! failed, how many requests failed, when it recovered), printed and saved as text and JSON
//! next to the run's logs.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::record::{Second, Totals};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioResult {
    /// "apiserver" or "lb-failover".
    pub id: String,
    /// What was stopped, on which node, in words.
    pub stopped: String,
    pub node: String,
    /// Local wall-clock times.
    pub stopped_at: String,
    pub restored_at: String,
    /// Milliseconds since the drill started.
    pub stopped_ms: u64,
    pub restored_ms: u64,
    /// The scenario's span ended (after restore and settling).
    pub ended_ms: u64,
    /// HAProxy showed the stopped backend DOWN this long after the stop (scenario A).
    pub backend_down_after_ms: Option<u64>,
    /// HAProxy showed it UP again this long after the restore (scenario A).
    pub backend_up_after_ms: Option<u64>,
    /// The other LB held the virtual address this long after HAProxy stopped (scenario B).
    pub vip_moved_after_ms: Option<u64>,
    pub vip_from: Option<String>,
    pub vip_to: Option<String>,
    /// Who holds the virtual address once HAProxy is back (scenario B).
    pub vip_final_holder: Option<String>,
    pub totals: Totals,
    /// Steps as they happened: "+1234 ms  HAProxy shows master3 DOWN".
    pub timeline: Vec<String>,
    /// Everything went as expected and everything was restored.
    pub ok: bool,
    /// Why not, when not.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub cluster: String,
    pub endpoint: String,
    pub started_at: String,
    pub readyz_per_second: u32,
    pub scenarios: Vec<ScenarioResult>,
    pub seconds: Vec<Second>,
    /// After the drill: the manifest back, HAProxy running, every backend UP.
    pub restored: bool,
    pub ok: bool,
    pub notes: Vec<String>,
}

fn ms(v: Option<u64>) -> String {
    v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into())
}

impl Report {
    /// The printed report: a table per scenario.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Failover drill of cluster {} through https://{} (started {})\n",
            self.cluster, self.endpoint, self.started_at
        );
        for s in &self.scenarios {
            out.push_str(&format!(
                "\nScenario {}: {}{}\n",
                s.id,
                s.stopped,
                if s.ok { "" } else { "  -- NOT AS EXPECTED" }
            ));
            let t = &s.totals;
            let mut rows: Vec<(&str, String)> = vec![
                (
                    "stopped",
                    format!("{} (+{} ms)", s.stopped_at, s.stopped_ms),
                ),
                (
                    "restored",
                    format!("{} (+{} ms)", s.restored_at, s.restored_ms),
                ),
            ];
            if s.backend_down_after_ms.is_some() || s.backend_up_after_ms.is_some() {
                rows.push(("backend DOWN after", ms(s.backend_down_after_ms)));
                rows.push(("backend UP after restore", ms(s.backend_up_after_ms)));
            }
            if let Some(from) = &s.vip_from {
                rows.push((
                    "VIP moved",
                    format!(
                        "{from} -> {} after {}",
                        s.vip_to.as_deref().unwrap_or("?"),
                        ms(s.vip_moved_after_ms)
                    ),
                ));
                rows.push((
                    "VIP holder at the end",
                    s.vip_final_holder.clone().unwrap_or_else(|| "?".into()),
                ));
            }
            rows.push(("endpoint failed for", format!("{} ms", t.failure_window_ms)));
            rows.push((
                "readyz ok / failed",
                format!("{} / {}", t.readyz_ok, t.readyz_failed),
            ));
            rows.push((
                "kubectl get nodes ok / failed",
                format!("{} / {}", t.kubectl_ok, t.kubectl_failed),
            ));
            rows.push((
                "recovered",
                match t.recovered_at_ms {
                    Some(v) => format!("+{v} ms"),
                    None if t.failure_window_ms == 0 => "never failed".into(),
                    None => "not seen".into(),
                },
            ));
            let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in rows {
                out.push_str(&format!("  {k:<w$}  {v}\n"));
            }
            for p in &s.problems {
                out.push_str(&format!("  problem: {p}\n"));
            }
        }
        for n in &self.notes {
            out.push_str(&format!("\nnote: {n}\n"));
        }
        out.push_str(&format!(
            "\nrestored: {}; drill {}\n",
            if self.restored { "yes" } else { "NO" },
            if self.ok { "passed" } else { "FAILED" }
        ));
        out
    }

    /// Writes `drill-<stamp>.txt` and `.json` into `dir` (0600); returns the JSON's path.
    pub fn save(&self, dir: &Path, stamp: &str) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(dir)?;
        let write = |name: String, body: String| -> std::io::Result<PathBuf> {
            let p = dir.join(name);
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&p)?;
            f.write_all(body.as_bytes())?;
            Ok(p)
        };
        write(format!("drill-{stamp}.txt"), self.to_text())?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write(format!("drill-{stamp}.json"), json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_what_stopped_and_the_numbers() {
        let r = Report {
            cluster: "demo".into(),
            endpoint: "10.0.0.5:6443".into(),
            started_at: "2026-12-07 15:00:00.000".into(),
            readyz_per_second: 10,
            scenarios: vec![ScenarioResult {
                id: "apiserver".into(),
                stopped: "kube-apiserver on master3".into(),
                node: "master3".into(),
                stopped_ms: 3000,
                restored_ms: 12000,
                backend_down_after_ms: Some(1800),
                backend_up_after_ms: Some(2400),
                totals: Totals {
                    readyz_ok: 95,
                    readyz_failed: 2,
                    kubectl_ok: 14,
                    kubectl_failed: 0,
                    failure_window_ms: 310,
                    recovered_at_ms: Some(4400),
                },
                ok: true,
                ..Default::default()
            }],
            restored: true,
            ok: true,
            ..Default::default()
        };
        let t = r.to_text();
        for want in [
            "Scenario apiserver: kube-apiserver on master3",
            "backend DOWN after",
            "1800 ms",
            "endpoint failed for",
            "310 ms",
            "95 / 2",
            "14 / 0",
            "+4400 ms",
            "drill passed",
        ] {
            assert!(t.contains(want), "{want:?} missing:\n{t}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = r.save(dir.path(), "x").unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["scenarios"][0]["totals"]["failure_window_ms"], 310);
        assert!(dir.path().join("drill-x.txt").exists());
    }
}
