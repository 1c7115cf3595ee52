//! What the drill's load saw: every request (kind, when it started and ended relative to the
//! drill's start, success), counted per second and summed over a scenario's time span.

use serde::Serialize;

/// Which stream a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// TLS `GET /readyz` through the endpoint, from kha-tui.
    Readyz,
    /// `kubectl get nodes` on the load balancer, through the endpoint.
    Kubectl,
}

/// One request: milliseconds since the drill started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub kind: Kind,
    pub start_ms: u64,
    pub end_ms: u64,
    pub ok: bool,
}

/// Successes and failures of one second of the drill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Second {
    /// Seconds since the drill started.
    pub at: u64,
    pub readyz_ok: u32,
    pub readyz_failed: u32,
    pub kubectl_ok: u32,
    pub kubectl_failed: u32,
}

/// Totals over a time span, and how long the endpoint failed in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub readyz_ok: u32,
    pub readyz_failed: u32,
    pub kubectl_ok: u32,
    pub kubectl_failed: u32,
    /// From the start of the first failed request to the end of the last one (0: none failed).
    pub failure_window_ms: u64,
    /// Milliseconds since the drill started: the end of the first success after the last
    /// failure (None when nothing failed, or nothing succeeded after).
    pub recovered_at_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Recorder {
    pub samples: Vec<Sample>,
    /// The last error text of a failed request, for the report.
    pub last_error: Option<String>,
}

impl Recorder {
    pub fn push(&mut self, s: Sample) {
        self.samples.push(s);
    }

    /// The requests that ended during second `at`.
    pub fn second(&self, at: u64) -> Second {
        let mut s = Second {
            at,
            ..Default::default()
        };
        for x in self.samples.iter().filter(|x| x.end_ms / 1000 == at) {
            match (x.kind, x.ok) {
                (Kind::Readyz, true) => s.readyz_ok += 1,
                (Kind::Readyz, false) => s.readyz_failed += 1,
                (Kind::Kubectl, true) => s.kubectl_ok += 1,
                (Kind::Kubectl, false) => s.kubectl_failed += 1,
            }
        }
        s
    }

    /// Requests that started in `[from_ms, to_ms)`.
    pub fn totals(&self, from_ms: u64, to_ms: u64) -> Totals {
        let mut t = Totals::default();
        let inside: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|x| x.start_ms >= from_ms && x.start_ms < to_ms)
            .collect();
        for x in &inside {
            match (x.kind, x.ok) {
                (Kind::Readyz, true) => t.readyz_ok += 1,
                (Kind::Readyz, false) => t.readyz_failed += 1,
                (Kind::Kubectl, true) => t.kubectl_ok += 1,
                (Kind::Kubectl, false) => t.kubectl_failed += 1,
            }
        }
        let first = inside.iter().filter(|x| !x.ok).map(|x| x.start_ms).min();
        let last = inside.iter().filter(|x| !x.ok).map(|x| x.end_ms).max();
        if let (Some(a), Some(b)) = (first, last) {
            t.failure_window_ms = b.saturating_sub(a);
            t.recovered_at_ms = inside
                .iter()
                .filter(|x| x.ok && x.start_ms >= b)
                .map(|x| x.end_ms)
                .min();
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(kind: Kind, start_ms: u64, end_ms: u64, ok: bool) -> Sample {
        Sample {
            kind,
            start_ms,
            end_ms,
            ok,
        }
    }

    #[test]
    fn the_window_runs_from_the_first_failure_to_the_last_and_recovery_follows() {
        let mut r = Recorder::default();
        r.push(s(Kind::Readyz, 900, 950, true));
        r.push(s(Kind::Readyz, 1000, 1200, false));
        r.push(s(Kind::Kubectl, 1100, 1900, false));
        r.push(s(Kind::Readyz, 1500, 1550, true));
        r.push(s(Kind::Readyz, 2000, 2040, true));
        r.push(s(Kind::Kubectl, 2100, 2300, true));
        let t = r.totals(1000, 5000);
        assert_eq!(t.failure_window_ms, 900);
        assert_eq!(t.recovered_at_ms, Some(2040));
        assert_eq!((t.readyz_ok, t.readyz_failed), (2, 1));
        assert_eq!((t.kubectl_ok, t.kubectl_failed), (1, 1));
        let sec = r.second(1);
        assert_eq!(
            (sec.readyz_ok, sec.readyz_failed, sec.kubectl_failed),
            (1, 1, 1)
        );
    }

    #[test]
    fn no_failure_means_no_window_and_no_recovery() {
        let mut r = Recorder::default();
        r.push(s(Kind::Readyz, 10, 20, true));
        let t = r.totals(0, 100);
        assert_eq!(t.failure_window_ms, 0);
        assert_eq!(t.recovered_at_ms, None);
    }
}
