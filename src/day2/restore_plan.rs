//! The plan behind `kha-tui restore --from FILE`: the whole control plane back to a backup's
//! etcd snapshot. On every control plane: the snapshot restored into a new data dir with that
//! member's name and peer URL and the whole initial cluster (etcd still running: it is restored
//! by the container's own tool); then the API servers and etcd stopped everywhere (manifests
//! aside); the old data put aside and the restored data in place; etcd started everywhere;
//! quorum waited for; the API servers put back (each waits for its /readyz); every node Ready.
//! Each step is idempotent with marks on the node for this restore's id (the archive's SHA-256),
//! and the engine's state makes a stopped restore resume where it stopped. Pure.

use std::time::Duration;

use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::{Limits, Mode, Phase, Plan, Step};

pub const DATA_STEP: &str = "restore-etcd-data";
pub const STOP_STEP: &str = "restore-stop";
pub const SWAP_STEP: &str = "restore-swap-data";
pub const START_ETCD_STEP: &str = "restore-start-etcd";
pub const QUORUM_STEP: &str = "restore-quorum";
pub const START_API_STEP: &str = "restore-start-apiserver";
pub const READY_STEP: &str = "restore-wait-ready";
/// Where the archive (base64) lands on each control plane, 0600; the first step removes it.
pub const REMOTE_ARCHIVE_B64: &str = "/var/lib/etcd/kha-restore/backup.tar.b64";

/// etcd's peer URL for a control plane (kubeadm: https://ADVERTISE:2380).
pub fn peer_url(address: &std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V6(a) => format!("https://[{a}]:2380"),
        std::net::IpAddr::V4(a) => format!("https://{a}:2380"),
    }
}

/// `name=peer,…` for every control plane of the inventory.
pub fn initial_cluster(c: &Cluster) -> String {
    c.control_planes()
        .map(|n| format!("{}={}", n.name, peer_url(&n.address)))
        .collect::<Vec<_>>()
        .join(",")
}

fn limits(secs: u64) -> Limits {
    Limits {
        total: Some(Duration::from_secs(secs)),
        idle: Some(Duration::from_secs(secs)),
    }
}

/// `restore_id`: the archive's SHA-256 (hex); `archive_b64`: the archive, base64.
pub fn restore_plan(c: &Cluster, restore_id: &str, archive_b64: &str) -> Plan {
    let id_env = ("KHA_RESTORE_ID".to_string(), restore_id.to_string());
    let script = |s: &str| format!("{}\n{}", scripts::LIB, s);
    let each =
        |id: &str, title: &str, body: &str, extra: &dyn Fn(&crate::inventory::Node, &mut Step)| {
            c.control_planes()
                .map(|n| {
                    let mut s = Step::new(id, &n.name, title, script(body));
                    s.env.push(id_env.clone());
                    s.limits = limits(300);
                    extra(n, &mut s);
                    s
                })
                .collect::<Vec<Step>>()
        };
    let first = c.first_control_plane().name.clone();
    let data = each(
        DATA_STEP,
        "The snapshot restored into a new etcd data dir for this member (etcd still runs)",
        scripts::ETCD_RESTORE_DATA,
        &|n, s| {
            s.env.push(("KHA_NODE_NAME".into(), n.name.clone()));
            s.env.push(("KHA_PEER_URL".into(), peer_url(&n.address)));
            s.env
                .push(("KHA_INITIAL_CLUSTER".into(), initial_cluster(c)));
            s.env.push((
                "KHA_CLUSTER_TOKEN".into(),
                format!("kha-restore-{}", &restore_id[..12.min(restore_id.len())]),
            ));
            s.env
                .push(("KHA_ARCHIVE_B64".into(), REMOTE_ARCHIVE_B64.into()));
            s.files.push(crate::plan::FileSpec {
                path: REMOTE_ARCHIVE_B64.into(),
                mode: 0o600,
                content: archive_b64.to_string(),
            });
        },
    );
    let stop = each(
        STOP_STEP,
        "Stop the API server and etcd (their manifests moved aside)",
        scripts::ETCD_RESTORE_STOP,
        &|_, _| {},
    );
    let swap = each(
        SWAP_STEP,
        "The old etcd data moved aside, the restored data put in place",
        scripts::ETCD_RESTORE_SWAP,
        &|_, _| {},
    );
    let start = |id: &str, title: &str, comp: &str| {
        each(id, title, scripts::ETCD_RESTORE_START, &|_, s| {
            s.env.push(("KHA_COMPONENT".into(), comp.into()))
        })
    };
    let start_etcd = start(START_ETCD_STEP, "Start etcd (manifest back)", "etcd");
    let mut quorum = Step::new(
        QUORUM_STEP,
        &first,
        "Wait until every etcd member is started and healthy",
        script(scripts::ETCD_RESTORE_QUORUM),
    );
    quorum.env.push((
        "KHA_MEMBER_COUNT".into(),
        c.control_planes().count().to_string(),
    ));
    quorum.limits = limits(300);
    let start_api = start(
        START_API_STEP,
        "Start the API server (manifest back), wait for /readyz",
        "kube-apiserver",
    );
    let mut ready = Step::new(
        READY_STEP,
        &first,
        "Wait until every node is Ready",
        script(scripts::WAIT_READY),
    );
    ready
        .env
        .push(("KHA_NODE_COUNT".into(), c.nodes.len().to_string()));
    ready.env.push(("KHA_TIMEOUT_SECONDS".into(), "600".into()));
    ready.reports_cluster_nodes = true;
    ready.limits = limits(720);
    let phase = |name: &str, title: &str, mode: Mode, steps: Vec<Step>| Phase {
        name: name.into(),
        title: title.into(),
        mode,
        steps,
    };
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: first.clone(),
        phases: vec![
            phase(
                "restore-data",
                "Restore the snapshot on every control plane",
                Mode::Parallel,
                data,
            ),
            phase(
                "restore-stop",
                "Stop the API servers and etcd everywhere",
                Mode::Parallel,
                stop,
            ),
            phase(
                "restore-swap",
                "Put the restored etcd data in place",
                Mode::Parallel,
                swap,
            ),
            phase(
                "restore-start-etcd",
                "Start etcd everywhere",
                Mode::Parallel,
                start_etcd,
            ),
            phase(
                "restore-quorum",
                "Wait for etcd's quorum",
                Mode::Serial,
                vec![quorum],
            ),
            phase(
                "restore-start-apiservers",
                "Start the API servers",
                Mode::Parallel,
                start_api,
            ),
            phase(
                "restore-ready",
                "Wait until every node is Ready",
                Mode::Serial,
                vec![ready],
            ),
        ],
        values: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_is_restored_with_its_own_name_and_the_same_initial_cluster() {
        let c = crate::inventory::validate::check(
            &crate::inventory::parse(crate::inventory::EXAMPLE).unwrap(),
        )
        .unwrap()
        .0;
        let p = restore_plan(&c, &"ab".repeat(32), "QUJD");
        let data: Vec<&Step> = p.phases[0].steps.iter().collect();
        assert_eq!(data.len(), c.control_planes().count());
        let ic = initial_cluster(&c);
        for (s, n) in data.iter().zip(c.control_planes()) {
            let env = |k: &str| s.env.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
            assert_eq!(env("KHA_NODE_NAME").as_deref(), Some(n.name.as_str()));
            assert_eq!(env("KHA_PEER_URL"), Some(peer_url(&n.address)));
            assert_eq!(env("KHA_INITIAL_CLUSTER"), Some(ic.clone()));
            assert_eq!(s.files[0].mode, 0o600);
            assert!(ic.contains(&format!("{}=https://", n.name)));
        }
        let names: Vec<&str> = p.phases.iter().map(|ph| ph.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "restore-data",
                "restore-stop",
                "restore-swap",
                "restore-start-etcd",
                "restore-quorum",
                "restore-start-apiservers",
                "restore-ready"
            ]
        );
    }
}
