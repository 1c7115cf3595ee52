//! Local wall-clock time for log lines, through the C library (it knows the system's time zone
//! and `TZ`), so that a log reads like the operator's clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// "2026-11-29 21:55:01.123" in the local time zone (UTC if the zone cannot be found).
pub fn local_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame; a null
    // return (out of range) leaves it zeroed, which we check below.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("@{}", d.as_secs());
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        d.subsec_millis()
    )
}
