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

pub fn apiserver_stop(cp: &Node) -> Step {
    limited(
        step(
            "drill-apiserver-stop",
            cp,
            "Stop kube-apiserver: move its manifest out of /etc/kubernetes/manifests",
            scripts::DRILL_APISERVER_STOP,
            &apiserver_env(),
        ),
        Duration::from_secs(90),
    )
}

pub fn apiserver_restore(cp: &Node) -> Step {
    limited(
        step(
            "drill-apiserver-restore",
            cp,
            "Restore kube-apiserver: its manifest back into /etc/kubernetes/manifests",
            scripts::DRILL_APISERVER_RESTORE,
            &apiserver_env(),
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

/// `systemctl stop|start haproxy` on `lb`.
pub fn haproxy_service(lb: &Node, action: &str) -> Step {
    limited(
        step(
            &format!("drill-haproxy-{action}"),
            lb,
            &format!("{action} HAProxy"),
            scripts::DRILL_HAPROXY_SERVICE,
            &[("KHA_ACTION", action.to_string())],
        ),
        Duration::from_secs(60),
    )
}
