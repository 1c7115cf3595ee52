//! `kha-tui reset --purge` on the pair lb_pair has installed (and the drill has exercised), last
//! of its checks: every node reset, and on both load balancers what the pair added is gone —
//! keepalived stopped, its config, notify and check scripts and the unit drop-in removed, the
//! virtual address held by neither, `ip_nonlocal_bind` back to the kernel's 0 — and, with
//! --purge, the packages kha-tui installed: HAProxy and keepalived on the LBs, kubelet, kubeadm,
//! kubectl and cri-tools on the nodes. (Without --purge, tests/day2.rs checks they stay.)
//! Checked on the hosts, not through kha-tui.

use std::path::Path;

use crate::lab::Lab;
use crate::output::text;
use crate::{KHA, exec_ok};

pub fn reset_journey(lab: &Lab, data: &Path, vip: &str) {
    let inv = lab.inventory.display().to_string();
    let dd = data.display().to_string();
    let vrrp_auth = data.join("state").join(format!("{}.vrrp-auth", lab.name));
    assert!(
        vrrp_auth.exists(),
        "the pair's password is kept until the reset"
    );

    let out = lab.on_lb(&[
        KHA,
        "reset",
        "--config",
        &inv,
        "--data-dir",
        &dd,
        "--confirm",
        &lab.name,
        "--purge",
    ]);
    let t = text(&out);
    eprintln!("lb_pair: reset:\n{t}");
    assert!(out.status.success(), "{t}");
    for h in [
        "lb", "lb2", "master1", "master2", "master3", "worker1", "worker2",
    ] {
        assert!(
            t.contains(&format!("  {h}: ")),
            "a report line for {h}: {t}"
        );
    }

    for lb in ["lb", "lb2"] {
        let left = exec_ok(
            lab,
            lb,
            &[
                "sh",
                "-c",
                "for f in /etc/keepalived/keepalived.conf /etc/keepalived/kha-notify.sh \
                 /etc/keepalived/kha-check-haproxy.sh /etc/systemd/system/keepalived.service.d \
                 /etc/sysctl.d/90-kha-lb-pair.conf /etc/kha /etc/haproxy/haproxy.cfg; do \
                 [ -e $f ] && echo $f; done; true",
            ],
        );
        assert_eq!(left.trim(), "", "left on {lb}");
        let o = lab.exec(lb, &["systemctl", "is-active", "keepalived"]);
        assert!(
            !o.status.success(),
            "keepalived stopped on {lb}: {}",
            text(&o)
        );
        // The drop-in wrote STOP when the reset stopped keepalived, before it went itself.
        assert_eq!(
            exec_ok(lab, lb, &["cat", "/run/kha-tui/vrrp-state"]).trim(),
            "STOP",
            "{lb}"
        );
        assert_eq!(
            exec_ok(lab, lb, &["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"]).trim(),
            "0",
            "{lb}: the kernel's default again"
        );
        let addrs = exec_ok(lab, lb, &["ip", "-o", "-4", "addr", "show"]);
        assert!(
            !addrs.contains(&format!("inet {vip}/")),
            "{lb} still holds the VIP: {addrs}"
        );
        for p in ["haproxy", "keepalived"] {
            let st = lab.exec(lb, &["dpkg-query", "-W", "-f=${Status}", p]);
            let status = String::from_utf8_lossy(&st.stdout).into_owned();
            // Purged, not only removed ("deinstall ok config-files" keeps the conffiles).
            assert!(
                !status.contains("ok installed") && !status.contains("config-files"),
                "{lb}: {p} purged: {}",
                text(&st)
            );
        }
        let o = lab.exec(lb, &["test", "-e", "/etc/keepalived"]);
        assert!(
            !o.status.success(),
            "{lb}: /etc/keepalived went with the package"
        );
        let o = lab.exec(lb, &["systemctl", "is-active", "haproxy"]);
        assert!(!o.status.success(), "HAProxy gone from {lb}: {}", text(&o));
    }
    for n in ["master1", "worker1"] {
        let st = exec_ok(
            lab,
            n,
            &[
                "sh",
                "-c",
                "for p in kubelet kubeadm kubectl cri-tools; do \
                 dpkg-query -W -f='${Status}\\n' $p 2>/dev/null | grep -qE 'ok installed|config-files' \
                 && echo $p; done; true",
            ],
        );
        assert_eq!(st.trim(), "", "{n}: still installed");
    }
    let kube = exec_ok(
        lab,
        "master1",
        &[
            "sh",
            "-c",
            "ls -d /etc/kubernetes /var/lib/etcd 2>/dev/null; true",
        ],
    );
    assert_eq!(kube.trim(), "", "master1 reset");
    assert!(
        !vrrp_auth.exists(),
        "the VRRP password went with the pair's keepalived"
    );
}
