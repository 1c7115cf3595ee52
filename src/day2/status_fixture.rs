//! What the status steps print on the example (seed) cluster, in the real programs' formats
//! (etcdctl 3.4 JSON, HAProxy 2.6's `show stat` CSV, kubectl's and kubeadm's tables), healthy or
//! with faults: for the unit tests and the cluster view's snapshots.

use super::status::{HostError, Reported};
use super::status_plan::{CONTROL_PLANE_STEP, LB_STEP};

/// HAProxy 2.6's `show stat` columns, up to `addr`.
const HAPROXY_HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,";

/// Faults to put into the fixture.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// etcd stopped on this control plane (no running etcd container).
    pub etcd_stopped: Option<&'static str>,
    /// HAProxy marks this control plane's API server DOWN.
    pub backend_down: Option<&'static str>,
    /// This host does not answer SSH.
    pub unreachable: Option<&'static str>,
    /// The API server certificates expire in this many days.
    pub cert_days: Option<u64>,
    /// A bootstrap token exists (id `abcdef`).
    pub token: bool,
}

const CPS: [(&str, &str, u64); 3] = [
    ("master1", "10.0.0.11", 0x8211f1d0f64f3269),
    ("master2", "10.0.0.12", 0x91bc3c398fb3c146),
    ("master3", "10.0.0.13", 0xfd422379fda50e48),
];
const NODES: [(&str, &str); 6] = [
    ("master1", "control-plane"),
    ("master2", "control-plane"),
    ("master3", "control-plane"),
    ("worker1", "<none>"),
    ("worker2", "<none>"),
    ("worker3", "<none>"),
];

fn haproxy_row(name: &str, addr: &str, status: &str, scur: u32, stot: u32, check: &str) -> String {
    let mut f = vec![String::new(); 74];
    f[0] = "kube-apiserver".into();
    f[1] = name.into();
    f[4] = scur.to_string();
    f[7] = stot.to_string();
    f[17] = status.into();
    f[36] = check.into();
    f[73] = addr.into();
    f.join(",") + ","
}

/// Every `kha-status` line (prefix removed) and the unreachable hosts.
pub fn reported(f: &Faults) -> (Vec<Reported>, Vec<HostError>) {
    let mut out = Vec::new();
    let mut push = |node: &str, step: &str, line: String| {
        if f.unreachable != Some(node) {
            out.push(Reported {
                node: node.into(),
                step: step.into(),
                line,
            })
        }
    };
    push("lb", LB_STEP, format!("haproxy {HAPROXY_HEADER}"));
    push(
        "lb",
        LB_STEP,
        "haproxy kube-apiserver,FRONTEND,,,2,5,,48".into(),
    );
    for (i, (name, addr, _)) in CPS.iter().enumerate() {
        let down = f.backend_down == Some(*name) || f.unreachable == Some(*name);
        let (st, chk, scur) = if down {
            ("DOWN", "L4TOUT", 0)
        } else {
            ("UP", "L7OK", i as u32 + 1)
        };
        push(
            "lb",
            LB_STEP,
            format!(
                "haproxy {}",
                haproxy_row(name, &format!("{addr}:6443"), st, scur, 20 + i as u32, chk)
            ),
        );
    }
    let leader = CPS[0].2;
    let members = CPS
        .iter()
        .map(|(n, a, id)| {
            format!(
                r#"{{"ID":{id},"name":"{n}","peerURLs":["https://{a}:2380"],"clientURLs":["https://{a}:2379"]}}"#
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    for (name, _, id) in CPS {
        let s = CONTROL_PLANE_STEP;
        for (n, role) in NODES {
            let ready = if f.unreachable == Some(n) {
                "NotReady"
            } else {
                "Ready"
            };
            push(
                name,
                s,
                format!("node {n}   {ready}   {role}   3d2h   v1.37.1"),
            );
        }
        if f.token {
            push(name, s, "token abcdef 1h 2026-12-07T15:20:00Z".into());
        }
        let days = f.cert_days.unwrap_or(364);
        // The fixture's "now" is Dec 07, 2026 14:02 UTC.
        let expires = if days < 30 {
            format!("Jan {:02}, 2027 14:02 UTC", days as i64 - 24)
        } else {
            "Dec 06, 2027 14:02 UTC".to_string()
        };
        for cert in [
            "admin.conf",
            "apiserver",
            "apiserver-etcd-client",
            "etcd-server",
        ] {
            push(name, s, format!("cert leaf {cert} {days}d {expires}"));
        }
        for ca in ["ca", "etcd-ca", "front-proxy-ca"] {
            push(
                name,
                s,
                format!("cert authority {ca} 9y Dec 04, 2036 14:02 UTC"),
            );
        }
        if f.etcd_stopped == Some(name) {
            push(
                name,
                s,
                format!(
                    "etcd-error no running etcd container on {name} (crictl ps --name etcd lists none)"
                ),
            );
            continue;
        }
        push(
            name,
            s,
            format!(
                r#"etcd-status [{{"Endpoint":"https://127.0.0.1:2379","Status":{{"header":{{"cluster_id":17237436991929493444,"member_id":{id},"revision":5120,"raft_term":4}},"version":"3.4.23","dbSize":3276800,"leader":{leader},"raftIndex":6012,"raftTerm":4,"raftAppliedIndex":6012,"dbSizeInUse":1638400}}}}]"#
            ),
        );
        push(
            name,
            s,
            r#"etcd-health [{"endpoint":"https://127.0.0.1:2379","health":true,"took":"9.802ms"}]"#
                .into(),
        );
        push(
            name,
            s,
            format!(
                r#"etcd-members {{"header":{{"cluster_id":17237436991929493444,"member_id":{id},"raft_term":4}},"members":[{members}]}}"#
            ),
        );
    }
    let unreachable = f
        .unreachable
        .map(|n| {
            vec![HostError {
                node: n.into(),
                error: "cannot connect: connection timed out after 10s".into(),
            }]
        })
        .unwrap_or_default();
    (out, unreachable)
}
