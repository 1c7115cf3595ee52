//! The drill's remote actions as engine steps (scripts in assets/scripts/drill-*.sh): each is
//! run by the node's engine task, with the same host-key checks, sudo, output streaming, logs
//! and process-group cleanup as an install step. None of them is part of the install plan, and
//! none is recorded in the state (a drill is repeatable; its restores are idempotent).

use std::time::Duration;

use crate::assets::scripts;
use crate::inventory::Node;
use crate::plan::{Limits, Step};

/// Where the parked kube-apiserver manifest waits while scenario A runs (outside the
/// kubelet's manifest directory, so the kubelet stops the pod).
pub const PARKED_MANIFEST: &str = "/etc/kubernetes/kha-drill/kube-apiserver.yaml";
pub const MANIFEST: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/// The on-node restores (assets/scripts/drill-restore-timer.sh): transient systemd timers the
/// stop steps arm and the restores cancel; named in the drill's output so an operator whose
/// kha-tui died knows what will put the node back, and when.
pub const APISERVER_RESTORE_UNIT: &str = "kha-drill-restore-apiserver";
pub const HAPROXY_RESTORE_UNIT: &str = "kha-drill-restore-haproxy";
/// How long after a stop its on-node restore fires by itself: well past the longest a scenario
/// keeps a part stopped (its stop, the watch for the change, the hold: under 3 minutes).
pub const RESTORE_AFTER: Duration = Duration::from_secs(300);

/// [`RESTORE_AFTER`], or `KHA_DRILL_RESTORE_AFTER` (seconds, 10 to 3600) when set: a shorter
/// safety net on a lab, a longer one on a slow cluster. Anything else is refused with the
/// reason, before anything is stopped.
pub fn restore_after() -> Result<Duration, String> {
    match std::env::var("KHA_DRILL_RESTORE_AFTER") {
        Err(_) => Ok(RESTORE_AFTER),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if (10..=3600).contains(&n) => Ok(Duration::from_secs(n)),
            _ => Err(format!(
                "KHA_DRILL_RESTORE_AFTER={v:?}: give the seconds after which a node restores by itself, 10 to 3600 (default {})",
                RESTORE_AFTER.as_secs()
            )),
        },
    }
}

/// The environment and helpers of a step that arms or cancels the on-node restore `unit`.
fn with_restore_timer(mut s: Step, unit: &str, after: Duration) -> Step {
    s.script = s.script.replacen(
        scripts::LIB,
        &format!("{}\n{}", scripts::LIB, scripts::DRILL_RESTORE_TIMER),
        1,
    );
    s.env.push(("KHA_RESTORE_UNIT".into(), unit.into()));
    s.env
        .push(("KHA_RESTORE_AFTER".into(), after.as_secs().to_string()));
    s
}

fn step(id: &str, node: &Node, title: &str, body: &str, env: &[(&str, String)]) -> Step {
    let mut s = Step::new(id, &node.name, title, format!("{}\n{body}", scripts::LIB));
    s.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    s
}

fn limited(mut s: Step, total: Duration) -> Step {
    s.limits = Limits {
        total: Some(total),
        idle: Some(total),
    };
    s
}

pub fn ca(lb: &Node) -> Step {
    limited(
        step(
            "drill-ca",
            lb,
            "Read the cluster CA from the admin kubeconfig",
            scripts::DRILL_CA,
            &[("KHA_USER", lb.ssh.user.clone())],
        ),
        Duration::from_secs(30),
    )
}

/// `kubectl get nodes` every second on `lb`, for at most `limit`.
pub fn kubectl_loop(lb: &Node, limit: Duration) -> Step {
    let mut s = step(
        "drill-kubectl",
        lb,
        "kubectl get nodes every second through the endpoint",
        scripts::DRILL_KUBECTL_LOOP,
        &[
            ("KHA_USER", lb.ssh.user.clone()),
            ("KHA_LIMIT", limit.as_secs().to_string()),
        ],
    );
    s.limits = Limits {
        total: Some(limit + Duration::from_secs(30)),
        idle: Some(Duration::from_secs(60)),
    };
    s
}

/// Waits until HAProxy on `lb` shows `server` as `want` ("UP" or "DOWN").
pub fn haproxy_watch(lb: &Node, server: &str, want: &str, limit: Duration) -> Step {
    limited(
        step(
            &format!("drill-haproxy-{}", want.to_ascii_lowercase()),
            lb,
            &format!("Wait until HAProxy shows {server} {want}"),
            scripts::DRILL_HAPROXY_WATCH,
            &[
                ("KHA_SERVER", server.to_string()),
                ("KHA_WANT", want.to_string()),
                ("KHA_LIMIT", limit.as_secs().to_string()),
            ],
        ),
        limit + Duration::from_secs(15),
    )
}

/// The apiservers listen on 6443 on every control plane (HAProxy's backend lines say so); the
/// cluster's `api_port` is the load balancer's front.
fn apiserver_env() -> Vec<(&'static str, String)> {
    vec![
        ("KHA_MANIFEST", MANIFEST.to_string()),
        ("KHA_PARKED", PARKED_MANIFEST.to_string()),
        ("KHA_API_PORT", "6443".to_string()),
    ]
}

/// Arms the on-node restore (after `after`), then parks the manifest.
pub fn apiserver_stop(cp: &Node, after: Duration) -> Step {
    limited(
        with_restore_timer(
            step(
                "drill-apiserver-stop",
                cp,
                "Stop kube-apiserver: move its manifest out of /etc/kubernetes/manifests",
                scripts::DRILL_APISERVER_STOP,
                &apiserver_env(),
            ),
            APISERVER_RESTORE_UNIT,
            after,
        ),
        Duration::from_secs(90),
    )
}

/// Cancels the on-node restore, puts the manifest back, waits for /readyz.
pub fn apiserver_restore(cp: &Node) -> Step {
    limited(
        with_restore_timer(
            step(
                "drill-apiserver-restore",
                cp,
                "Restore kube-apiserver: its manifest back into /etc/kubernetes/manifests",
                scripts::DRILL_APISERVER_RESTORE,
                &apiserver_env(),
            ),
            APISERVER_RESTORE_UNIT,
            RESTORE_AFTER,
        ),
        Duration::from_secs(150),
    )
}

/// Whether `lb` holds `vip`, keepalived's state, HAProxy's state.
pub fn lb_state(lb: &Node, vip: &str) -> Step {
    limited(
        step(
            "drill-lb-state",
            lb,
            "Who holds the virtual address (ip addr, keepalived)",
            scripts::DRILL_LB_STATE,
            &[("KHA_VIP", vip.to_string())],
        ),
        Duration::from_secs(30),
    )
}

pub fn vip_watch(lb: &Node, vip: &str, limit: Duration) -> Step {
    limited(
        step(
            "drill-vip-watch",
            lb,
            &format!("Wait until {vip} is on {}", lb.name),
            scripts::DRILL_VIP_WATCH,
            &[
                ("KHA_VIP", vip.to_string()),
                ("KHA_LIMIT", limit.as_secs().to_string()),
            ],
        ),
        limit + Duration::from_secs(15),
    )
}

/// `systemctl stop|start haproxy` on `lb`; the stop arms the on-node restore (after `after`),
/// the start cancels it.
pub fn haproxy_service(lb: &Node, action: &str, after: Duration) -> Step {
    limited(
        with_restore_timer(
            step(
                &format!("drill-haproxy-{action}"),
                lb,
                &format!("{action} HAProxy"),
                scripts::DRILL_HAPROXY_SERVICE,
                &[("KHA_ACTION", action.to_string())],
            ),
            HAPROXY_RESTORE_UNIT,
            after,
        ),
        Duration::from_secs(60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{self, validate};

    #[test]
    fn the_stops_arm_and_the_restores_cancel_the_on_node_restore() {
        let c = validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
            .unwrap()
            .0;
        let cp = c.control_planes().last().unwrap();
        let after = Duration::from_secs(42);
        let env = |s: &Step, k: &str| {
            s.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        for (s, unit, arms) in [
            (apiserver_stop(cp, after), APISERVER_RESTORE_UNIT, true),
            (apiserver_restore(cp), APISERVER_RESTORE_UNIT, false),
            (
                haproxy_service(&c.lb, "stop", after),
                HAPROXY_RESTORE_UNIT,
                true,
            ),
            (
                haproxy_service(&c.lb, "start", after),
                HAPROXY_RESTORE_UNIT,
                false,
            ),
        ] {
            assert!(s.script.starts_with(scripts::LIB), "{}", s.id);
            assert!(s.script.contains("arm_restore() {"), "{}", s.id);
            assert_eq!(env(&s, "KHA_RESTORE_UNIT"), unit, "{}", s.id);
            let body = s.script.rsplit("cancel_restore() {").next().unwrap();
            if arms {
                assert!(body.contains("arm_restore "), "{}", s.id);
            } else {
                assert!(body.contains("cancel_restore\n"), "{}", s.id);
            }
            if arms {
                assert_eq!(env(&s, "KHA_RESTORE_AFTER"), "42", "{}", s.id);
            }
        }
    }

    #[test]
    fn the_restore_delay_is_checked() {
        // One test touches the variable (tests run in threads of one process).
        // SAFETY: no other test of this crate reads or writes KHA_DRILL_RESTORE_AFTER.
        unsafe { std::env::remove_var("KHA_DRILL_RESTORE_AFTER") };
        assert_eq!(restore_after(), Ok(RESTORE_AFTER));
        for (v, ok) in [
            ("20", Some(20)),
            ("9", None),
            ("3601", None),
            ("soon", None),
            ("", None),
        ] {
            unsafe { std::env::set_var("KHA_DRILL_RESTORE_AFTER", v) };
            let r = restore_after();
            assert_eq!(r.as_ref().ok().map(|d| d.as_secs()), ok, "{v}: {r:?}");
            if let Err(e) = r {
                assert!(
                    e.contains("KHA_DRILL_RESTORE_AFTER") && e.contains("10 to 3600"),
                    "{e}"
                );
            }
        }
        unsafe { std::env::remove_var("KHA_DRILL_RESTORE_AFTER") };
    }
}
