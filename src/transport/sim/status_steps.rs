//! What the read-only status steps (`day2::status_plan`) print on the simulated fleet, from the
//! simulated cluster: its members as nodes, etcd members (the first one leading) and HAProxy
//! backends, certificates a year (CAs ten years) from expiry, its bootstrap tokens (ids only).
//! The same `kha-status` line formats the real steps print.

use super::cluster::SimCluster;
use super::steps::{Script, StepInput};

fn id_of(name: &str) -> u64 {
    // A stable member id per name (FNV-1a), as etcd gives each member its own.
    name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

pub fn run(i: &StepInput, cluster: &SimCluster) -> Script {
    let members = cluster.members();
    let version = format!(
        "v{}",
        super::steps::kubernetes_patch(cluster.minor.as_deref().unwrap_or("1.37"))
    );
    let cps: Vec<_> = members.iter().filter(|m| m.control_plane).collect();
    let mut out: Vec<String> = Vec::new();
    if i.step == crate::day2::status_plan::LB_STEP {
        out.push(
            "haproxy # pxname,svname,qcur,qmax,scur,smax,slim,stot,status,check_status,addr".into(),
        );
        for (n, m) in cps.iter().enumerate() {
            out.push(format!(
                "haproxy kube-apiserver,{},0,0,{},3,,{},UP,L7OK,{}:6443",
                m.name,
                n % 3,
                12 + n,
                m.address
            ));
        }
    } else if !cluster.is_member(i.node) {
        out.push("error no /etc/kubernetes/admin.conf on this node: kubeadm has not set this node up as a control plane".into());
    } else {
        for m in &members {
            let role = if m.control_plane {
                "control-plane"
            } else {
                "<none>"
            };
            out.push(format!("node {}   Ready   {role}   1m   {version}", m.name));
        }
        for id in cluster.token_ids() {
            out.push(format!("token {id} 23h 2026-12-08T12:00:00Z"));
        }
        for c in [
            "admin.conf",
            "apiserver",
            "apiserver-etcd-client",
            "etcd-server",
        ] {
            out.push(format!("cert leaf {c} 364d Dec 06, 2027 12:00 UTC"));
        }
        for c in ["ca", "etcd-ca", "front-proxy-ca"] {
            out.push(format!("cert authority {c} 9y Dec 04, 2036 12:00 UTC"));
        }
        let leader = cps.first().map(|m| id_of(&m.name)).unwrap_or(0);
        out.push(format!(
            r#"etcd-status [{{"Endpoint":"https://127.0.0.1:2379","Status":{{"header":{{"member_id":{}}},"version":"3.6.5","dbSize":4194304,"leader":{leader}}}}}]"#,
            id_of(i.node)
        ));
        out.push(
            r#"etcd-health [{"endpoint":"https://127.0.0.1:2379","health":true,"took":"2ms"}]"#
                .into(),
        );
        let list: Vec<String> = cps
            .iter()
            .map(|m| {
                format!(
                    r#"{{"ID":{},"name":"{}","peerURLs":["https://{}:2380"],"clientURLs":["https://{}:2379"]}}"#,
                    id_of(&m.name),
                    m.name,
                    m.address,
                    m.address
                )
            })
            .collect();
        out.push(format!(
            r#"etcd-members {{"members":[{}]}}"#,
            list.join(",")
        ));
    }
    Script {
        lines: out
            .into_iter()
            .map(|l| super::steps::Line::Out(40, format!("kha-status {l}")))
            .collect(),
        exit: 0,
    }
}
