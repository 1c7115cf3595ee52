//! Today's Kubernetes versions, read from the one table in `assets/versions.toml`.

use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../assets/versions.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Supported,
    EndOfLife,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minor {
    /// "1.NN"
    pub minor: String,
    pub status: Status,
    /// Lowest containerd version ("MAJOR.MINOR") the kubelet of this minor accepts.
    pub containerd_min: String,
    /// The kubelet refuses cgroup v1 hosts.
    pub cgroup_v2: bool,
    /// Calico releases known to work, preferred first.
    pub calico: Vec<String>,
    pub pause_image: String,
}

impl Minor {
    /// The Calico release kha-tui picks when the inventory names none.
    pub fn default_calico(&self) -> &str {
        &self.calico[0]
    }
    pub fn minor_number(&self) -> u32 {
        minor_number(&self.minor).unwrap_or(0)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub kubernetes: Vec<Minor>,
    /// sha256 of a Calico release's manifests, where known.
    #[serde(default)]
    pub calico_sums: Vec<CalicoSums>,
}

/// The sha256 (64 lowercase hex) of `operator-crds.yaml` and `tigera-operator.yaml` of one
/// Calico release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalicoSums {
    pub version: String,
    pub operator_crds: String,
    pub tigera_operator: String,
}

/// Whether `s` is a sha256 written as 64 lowercase hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// "1.37" → 37; None when the text is not of the form 1.NN.
pub fn minor_number(v: &str) -> Option<u32> {
    let rest = v.strip_prefix("1.")?;
    if rest.is_empty() || rest.len() > 3 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.len() > 1 && rest.starts_with('0') {
        return None;
    }
    rest.parse().ok()
}

impl Table {
    pub fn parse(text: &str) -> Result<Table, toml::de::Error> {
        let mut t: Table = toml::from_str(text)?;
        t.kubernetes
            .sort_by_key(|m| std::cmp::Reverse(m.minor_number()));
        Ok(t)
    }

    /// The embedded table (parsed once; a broken table is a build defect caught by tests).
    pub fn get() -> &'static Table {
        static T: OnceLock<Table> = OnceLock::new();
        T.get_or_init(|| Table::parse(TABLE).expect("assets/versions.toml is valid"))
    }

    pub fn find(&self, minor: &str) -> Option<&Minor> {
        self.kubernetes.iter().find(|m| m.minor == minor)
    }

    /// The known sums of Calico `version`'s manifests.
    pub fn calico_sums(&self, version: &str) -> Option<&CalicoSums> {
        self.calico_sums.iter().find(|c| c.version == version)
    }

    /// The newest supported minor: what kha-tui installs when nothing else is said.
    pub fn default_minor(&self) -> &Minor {
        self.kubernetes
            .iter()
            .find(|m| m.status == Status::Supported)
            .expect("the versions table lists at least one supported minor")
    }

    pub fn supported(&self) -> impl Iterator<Item = &Minor> {
        self.kubernetes
            .iter()
            .filter(|m| m.status == Status::Supported)
    }

    /// Human-readable table for `kha-tui versions`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<7} {:<12} {:<15} {:<10} CALICO (preferred first)",
            "MINOR", "STATUS", "CONTAINERD", "CGROUP"
        );
        for m in &self.kubernetes {
            let status = match m.status {
                Status::Supported => "supported",
                Status::EndOfLife => "end-of-life",
            };
            let def = if m.minor == self.default_minor().minor {
                " (default)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "{:<7} {:<12} {:<15} {:<10} {}{}",
                m.minor,
                status,
                format!(">= {}", m.containerd_min),
                if m.cgroup_v2 { "v2 only" } else { "v1 or v2" },
                m.calico.join(", "),
                def
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp_version(a: &str, b: &str) -> std::cmp::Ordering {
        let p = |s: &str| -> Vec<u32> { s.split('.').map(|x| x.parse().unwrap()).collect() };
        p(a).cmp(&p(b))
    }

    #[test]
    fn table_parses_and_defaults_to_newest_supported() {
        let t = Table::get();
        assert_eq!(t.default_minor().minor, "1.37");
        assert!(
            t.kubernetes
                .windows(2)
                .all(|w| w[0].minor_number() > w[1].minor_number())
        );
        let supported: Vec<_> = t.supported().map(|m| m.minor.as_str()).collect();
        assert_eq!(supported, ["1.37", "1.36", "1.35"]);
        assert_eq!(t.find("1.34").unwrap().status, Status::EndOfLife);
    }

    /// Every sum is a well-formed sha256 of a release the table offers, listed once; v3.31.3's
    /// are the ones computed from its release tag.
    #[test]
    fn calico_sums_are_sha256_of_listed_releases() {
        let t = Table::get();
        let offered: Vec<&String> = t.kubernetes.iter().flat_map(|m| &m.calico).collect();
        for (i, c) in t.calico_sums.iter().enumerate() {
            assert!(
                offered.contains(&&c.version),
                "{} is not offered",
                c.version
            );
            assert!(
                is_sha256(&c.operator_crds) && is_sha256(&c.tigera_operator),
                "{c:?}"
            );
            assert!(t.calico_sums[..i].iter().all(|o| o.version != c.version));
        }
        let s = t.calico_sums("v3.31.3").unwrap();
        assert!(s.operator_crds.starts_with("d6193da8"));
        assert!(t.calico_sums("v9.9.9").is_none());
        assert!(!is_sha256(&"A".repeat(64)) && !is_sha256("abc"));
    }

    #[test]
    fn todays_rules_hold() {
        for m in &Table::get().kubernetes {
            let n = m.minor_number();
            // containerd >= 2.0 from 1.36; cgroup v2 from 1.35.
            let needs2 = cmp_version(&m.containerd_min, "2.0") != std::cmp::Ordering::Less;
            assert_eq!(needs2, n >= 36, "containerd rule for {}", m.minor);
            assert_eq!(m.cgroup_v2, n >= 35, "cgroup rule for {}", m.minor);
            assert!(!m.calico.is_empty());
            for c in &m.calico {
                // Calico 3.33 -> 1.35-1.37, 3.32 -> 1.34-1.36, 3.31 -> 1.32-1.35.
                let line: u32 = c
                    .trim_start_matches('v')
                    .split('.')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
                let (lo, hi) = match line {
                    33 => (35, 37),
                    32 => (34, 36),
                    31 => (32, 35),
                    other => panic!("unknown Calico line 3.{other}"),
                };
                assert!((lo..=hi).contains(&n), "{c} is not tested on {}", m.minor);
            }
            assert!(m.pause_image.starts_with("registry.k8s.io/pause:"));
        }
    }

    #[test]
    fn minor_number_accepts_only_1_nn() {
        assert_eq!(minor_number("1.37"), Some(37));
        for bad in ["1.37.2", "v1.37", "2.1", "1.", "1.x", "1.037", ""] {
            assert_eq!(minor_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_broken_table_is_rejected() {
        let bad = "[[kubernetes]]\nminor = \"1.37\"\nstatus = \"maybe\"\n";
        assert!(Table::parse(bad).is_err());
    }

    #[test]
    fn render_marks_the_default() {
        let r = Table::get().render();
        assert!(
            r.lines()
                .any(|l| l.starts_with("1.37") && l.ends_with("(default)"))
        );
        assert!(r.contains("end-of-life"));
    }
}
