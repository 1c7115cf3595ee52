//! Everything that runs on nodes, embedded from `assets/` so an operator can read it there
//! (or with `kha-tui plan`) exactly as it will run.

pub mod scripts {
    pub const LIB: &str = include_str!("../assets/scripts/lib.sh");
    pub const LB_HAPROXY: &str = include_str!("../assets/scripts/lb-haproxy.sh");
    pub const NODE_PREPARE: &str = include_str!("../assets/scripts/node-prepare.sh");
    pub const SWAP_OFF: &str = include_str!("../assets/scripts/swap-off.sh");
    pub const FIREWALL_OPEN: &str = include_str!("../assets/scripts/firewall-open.sh");
    /// What preflight.sh and firewall-open.sh share: the firewalld zones, ufw's VRRP line.
    pub const FIREWALL_ZONES: &str = include_str!("../assets/scripts/firewall-zones.sh");
    pub const CONTAINERD_CONFIG: &str = include_str!("../assets/scripts/containerd-config.sh");
    pub const CONTAINERD: &str = include_str!("../assets/scripts/containerd.sh");
    pub const KUBE_PACKAGES: &str = include_str!("../assets/scripts/kube-packages.sh");
    pub const KUBEADM_INIT: &str = include_str!("../assets/scripts/kubeadm-init.sh");
    pub const REFRESH_JOIN_SECRETS: &str =
        include_str!("../assets/scripts/refresh-join-secrets.sh");
    pub const KUBEADM_JOIN: &str = include_str!("../assets/scripts/kubeadm-join.sh");
    pub const LB_KUBECONFIG: &str = include_str!("../assets/scripts/lb-kubeconfig.sh");
    pub const LB_KEEPALIVED: &str = include_str!("../assets/scripts/lb-keepalived.sh");
    pub const LB_VRRP_CHECK: &str = include_str!("../assets/scripts/lb-vrrp-check.sh");
    pub const LB_VRRP_NOTIFY: &str = include_str!("../assets/scripts/lb-vrrp-notify.sh");
    pub const CALICO: &str = include_str!("../assets/scripts/calico.sh");
    pub const WAIT_READY: &str = include_str!("../assets/scripts/wait-ready.sh");
    pub const CLEANUP_SECRETS: &str = include_str!("../assets/scripts/cleanup-secrets.sh");
    pub const PREFLIGHT: &str = include_str!("../assets/scripts/preflight.sh");
    pub const PREFLIGHT_PAIR: &str = include_str!("../assets/scripts/preflight-pair.sh");
    pub const STATUS_LB: &str = include_str!("../assets/scripts/status-lb.sh");
    pub const STATUS_CONTROL_PLANE: &str =
        include_str!("../assets/scripts/status-control-plane.sh");
    pub const DRAIN_NODE: &str = include_str!("../assets/scripts/drain-node.sh");
    pub const NODE_RESET: &str = include_str!("../assets/scripts/node-reset.sh");
    pub const ETCD_MEMBER_REMOVE: &str = include_str!("../assets/scripts/etcd-member-remove.sh");
    pub const DELETE_NODE_OBJECT: &str = include_str!("../assets/scripts/delete-node-object.sh");
    pub const LB_RESET: &str = include_str!("../assets/scripts/lb-reset.sh");
    // The failover drill's steps (src/drill): not part of the install plan.
    pub const DRILL_HAPROXY_WATCH: &str = include_str!("../assets/scripts/drill-haproxy-watch.sh");
    pub const DRILL_APISERVER_STOP: &str =
        include_str!("../assets/scripts/drill-apiserver-stop.sh");
    pub const DRILL_APISERVER_RESTORE: &str =
        include_str!("../assets/scripts/drill-apiserver-restore.sh");
    pub const DRILL_KUBECTL_LOOP: &str = include_str!("../assets/scripts/drill-kubectl-loop.sh");
    pub const DRILL_LB_STATE: &str = include_str!("../assets/scripts/drill-lb-state.sh");
    pub const DRILL_VIP_WATCH: &str = include_str!("../assets/scripts/drill-vip-watch.sh");
    pub const DRILL_HAPROXY_SERVICE: &str =
        include_str!("../assets/scripts/drill-haproxy-service.sh");
    pub const DRILL_CA: &str = include_str!("../assets/scripts/drill-ca.sh");
    // Backup and restore of etcd (src/day2/backup_*, restore_*).
    pub const CERTS_RENEW: &str = include_str!("../assets/scripts/certs-renew.sh");
    pub const ETCD_BACKUP: &str = include_str!("../assets/scripts/etcd-backup.sh");
    pub const ETCD_RESTORE_DATA: &str = include_str!("../assets/scripts/etcd-restore-data.sh");
    pub const ETCD_RESTORE_STOP: &str = include_str!("../assets/scripts/etcd-restore-stop.sh");
    pub const ETCD_RESTORE_SWAP: &str = include_str!("../assets/scripts/etcd-restore-swap.sh");
    pub const ETCD_RESTORE_START: &str = include_str!("../assets/scripts/etcd-restore-start.sh");
    pub const ETCD_RESTORE_QUORUM: &str = include_str!("../assets/scripts/etcd-restore-quorum.sh");
    // `kha-tui upgrade` (src/day2/upgrade_plan.rs).
    pub const UPGRADE_MARK: &str = include_str!("../assets/scripts/upgrade-mark.sh");
    pub const UPGRADE_ETCD_SNAPSHOT: &str =
        include_str!("../assets/scripts/upgrade-etcd-snapshot.sh");
    pub const UPGRADE_KUBEADM: &str = include_str!("../assets/scripts/upgrade-kubeadm.sh");
    pub const UPGRADE_KUBELET: &str = include_str!("../assets/scripts/upgrade-kubelet.sh");
    pub const UPGRADE_UNCORDON: &str = include_str!("../assets/scripts/upgrade-uncordon.sh");
    pub const UPGRADE_CONTAINERD_CHECK: &str =
        include_str!("../assets/scripts/upgrade-containerd-check.sh");
    pub const DRILL_RESTORE_TIMER: &str = include_str!("../assets/scripts/drill-restore-timer.sh");
    // `kha-tui ssh-setup` (src/cli/ssh_setup.rs): not part of any plan.
    pub const SSH_AUTHORIZE_KEY: &str = include_str!("../assets/scripts/ssh-authorize-key.sh");

    /// Every script file by name, for tests (shellcheck) and `kha-tui plan` readers.
    pub const ALL: &[(&str, &str)] = &[
        ("lib.sh", LIB),
        ("lb-haproxy.sh", LB_HAPROXY),
        ("node-prepare.sh", NODE_PREPARE),
        ("swap-off.sh", SWAP_OFF),
        ("firewall-open.sh", FIREWALL_OPEN),
        ("firewall-zones.sh", FIREWALL_ZONES),
        ("containerd-config.sh", CONTAINERD_CONFIG),
        ("containerd.sh", CONTAINERD),
        ("kube-packages.sh", KUBE_PACKAGES),
        ("kubeadm-init.sh", KUBEADM_INIT),
        ("refresh-join-secrets.sh", REFRESH_JOIN_SECRETS),
        ("kubeadm-join.sh", KUBEADM_JOIN),
        ("lb-kubeconfig.sh", LB_KUBECONFIG),
        ("lb-keepalived.sh", LB_KEEPALIVED),
        ("lb-vrrp-check.sh", LB_VRRP_CHECK),
        ("lb-vrrp-notify.sh", LB_VRRP_NOTIFY),
        ("calico.sh", CALICO),
        ("wait-ready.sh", WAIT_READY),
        ("cleanup-secrets.sh", CLEANUP_SECRETS),
        ("preflight.sh", PREFLIGHT),
        ("preflight-pair.sh", PREFLIGHT_PAIR),
        ("status-lb.sh", STATUS_LB),
        ("status-control-plane.sh", STATUS_CONTROL_PLANE),
        ("drain-node.sh", DRAIN_NODE),
        ("node-reset.sh", NODE_RESET),
        ("etcd-member-remove.sh", ETCD_MEMBER_REMOVE),
        ("delete-node-object.sh", DELETE_NODE_OBJECT),
        ("lb-reset.sh", LB_RESET),
        ("drill-haproxy-watch.sh", DRILL_HAPROXY_WATCH),
        ("drill-apiserver-stop.sh", DRILL_APISERVER_STOP),
        ("drill-apiserver-restore.sh", DRILL_APISERVER_RESTORE),
        ("drill-kubectl-loop.sh", DRILL_KUBECTL_LOOP),
        ("drill-lb-state.sh", DRILL_LB_STATE),
        ("drill-vip-watch.sh", DRILL_VIP_WATCH),
        ("drill-haproxy-service.sh", DRILL_HAPROXY_SERVICE),
        ("drill-ca.sh", DRILL_CA),
        ("certs-renew.sh", CERTS_RENEW),
        ("etcd-backup.sh", ETCD_BACKUP),
        ("etcd-restore-data.sh", ETCD_RESTORE_DATA),
        ("etcd-restore-stop.sh", ETCD_RESTORE_STOP),
        ("etcd-restore-swap.sh", ETCD_RESTORE_SWAP),
        ("etcd-restore-start.sh", ETCD_RESTORE_START),
        ("etcd-restore-quorum.sh", ETCD_RESTORE_QUORUM),
        ("upgrade-mark.sh", UPGRADE_MARK),
        ("upgrade-etcd-snapshot.sh", UPGRADE_ETCD_SNAPSHOT),
        ("upgrade-kubeadm.sh", UPGRADE_KUBEADM),
        ("upgrade-kubelet.sh", UPGRADE_KUBELET),
        ("upgrade-uncordon.sh", UPGRADE_UNCORDON),
        ("upgrade-containerd-check.sh", UPGRADE_CONTAINERD_CHECK),
        ("drill-restore-timer.sh", DRILL_RESTORE_TIMER),
        ("ssh-authorize-key.sh", SSH_AUTHORIZE_KEY),
    ];
}

pub mod templates {
    pub const HAPROXY: &str = include_str!("../assets/templates/haproxy.cfg");
    pub const KEEPALIVED: &str = include_str!("../assets/templates/keepalived.conf");
    pub const KUBEADM_INIT: &str = include_str!("../assets/templates/kubeadm-init.yaml");
    pub const KUBEADM_JOIN: &str = include_str!("../assets/templates/kubeadm-join.yaml");
    pub const CALICO_INSTALLATION: &str =
        include_str!("../assets/templates/calico-installation.yaml");
}

/// Fills `{{name}}` slots. Every slot must be given and every value must be used, so a
/// template and its caller cannot drift apart silently.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        let slot = format!("{{{{{k}}}}}");
        assert!(out.contains(&slot), "template has no slot {slot}");
        out = out.replace(&slot, v);
    }
    assert!(
        !out.contains("{{"),
        "template slot left unfilled in:\n{out}"
    );
    out
}
