//! The plan built from the example inventories: order, content, placeholders, printing.

use kha_tui::inventory::{self, EXAMPLE, InventoryFile, validate};
use kha_tui::plan::{self, Mode, Placeholder};

fn example() -> InventoryFile {
    inventory::parse(EXAMPLE).unwrap()
}

fn build(f: &InventoryFile) -> plan::Plan {
    let (c, _) = validate::check(f).unwrap();
    plan::build(&c)
}

#[test]
fn phases_follow_the_seed_corrected_for_today() {
    let p = build(&example());
    let names: Vec<_> = p.phases.iter().map(|ph| ph.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "load-balancer",
            "prepare",
            "init",
            "join-control-planes",
            "join-workers",
            "finish"
        ]
    );
    let modes: Vec<_> = p.phases.iter().map(|ph| ph.mode).collect();
    assert_eq!(
        modes,
        [
            Mode::Parallel,
            Mode::Parallel,
            Mode::Serial,
            Mode::Serial,
            Mode::Parallel,
            Mode::Serial
        ]
    );
    // Every Kubernetes node is prepared, in order: prepare, containerd, packages.
    for n in [
        "master1", "master2", "master3", "worker1", "worker2", "worker3",
    ] {
        let ids: Vec<_> = p.phases[1]
            .steps
            .iter()
            .filter(|s| s.node == n)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, ["prepare", "containerd", "kube-packages"], "{n}");
    }
    let init = &p.phases[2].steps;
    assert_eq!(init.len(), 1);
    assert_eq!(
        (init[0].node.as_str(), init[0].id.as_str()),
        ("master1", "kubeadm-init")
    );
    assert!(
        init[0]
            .confirm
            .as_deref()
            .unwrap()
            .contains("uploads the control-plane certificates")
    );
    let joins: Vec<_> = p.phases[3].steps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(joins, ["master2", "master3"]);
    let finish: Vec<_> = p.phases[5]
        .steps
        .iter()
        .map(|s| (s.node.as_str(), s.id.as_str()))
        .collect();
    assert_eq!(
        finish,
        [
            ("lb", "kubeconfig"),
            ("master1", "calico"),
            ("master1", "wait-ready"),
            ("master1", "cleanup-secrets")
        ]
    );
    // Step ids are unique per node: state and --from rely on it.
    let mut seen = std::collections::HashSet::new();
    for (_, s) in p.steps() {
        assert!(
            seen.insert((s.node.clone(), s.id.clone())),
            "{}:{} twice",
            s.node,
            s.id
        );
    }
}

#[test]
fn kubeadm_config_is_v1beta4_with_endpoint_subnets_and_placeholders() {
    let p = build(&example());
    let init = p.find("master1", "kubeadm-init").unwrap();
    let f = &init.files[0];
    assert_eq!(
        (f.path.as_str(), f.mode),
        ("/etc/kha/kubeadm-init.yaml", 0o600)
    );
    for needle in [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: InitConfiguration",
        "kind: ClusterConfiguration",
        "controlPlaneEndpoint: \"lb.example.internal:6443\"",
        "podSubnet: \"10.244.0.0/16\"",
        "serviceSubnet: \"10.96.0.0/12\"",
        "advertiseAddress: \"10.0.0.11\"",
        "token: \"<<kha:bootstrap-token>>\"",
        "certificateKey: \"<<kha:certificate-key>>\"",
        "cgroupDriver: systemd",
    ] {
        assert!(
            f.content.contains(needle),
            "missing {needle:?} in\n{}",
            f.content
        );
    }
    assert!(!f.content.contains("v1beta3"));
    assert_eq!(
        init.needs(),
        [Placeholder::BootstrapToken, Placeholder::CertificateKey]
    );
    assert!(
        init.script
            .contains("kubeadm init --config \"$run_cfg\" --upload-certs")
    );

    let cp = p.find("master2", "kubeadm-join").unwrap();
    assert!(cp.files[0].content.contains("controlPlane:"));
    assert!(
        cp.files[0]
            .content
            .contains("certificateKey: \"<<kha:certificate-key>>\"")
    );
    assert!(
        cp.files[0]
            .content
            .contains("apiServerEndpoint: \"lb.example.internal:6443\"")
    );
    assert_eq!(
        cp.needs(),
        [
            Placeholder::BootstrapToken,
            Placeholder::CaCertHash,
            Placeholder::CertificateKey
        ]
    );
    let w = p.find("worker2", "kubeadm-join").unwrap();
    assert!(
        !w.files[0].content.contains("controlPlane:"),
        "workers get no certificate key"
    );
    assert_eq!(
        w.needs(),
        [Placeholder::BootstrapToken, Placeholder::CaCertHash]
    );
    assert_eq!(w.files[0].mode, 0o600);
}

/// The `certSANs:` entries of a rendered kubeadm config, in order.
fn cert_sans_in(yaml: &str) -> Vec<String> {
    yaml.lines()
        .skip_while(|l| l.trim() != "certSANs:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start()[2..].trim_matches('"').to_string())
        .collect()
}

#[test]
fn cert_sans_list_the_lb_address_once_when_it_is_the_endpoint() {
    // No endpoint name: the endpoint is the LB's address, which is also a SAN of its own.
    let mut f = example();
    f.load_balancer.endpoint = String::new();
    let (c, _) = validate::check(&f).unwrap();
    assert_eq!(plan::cert_sans(&c), ["10.0.0.10"]);
    let p = plan::build(&c);
    let init = &p.find("master1", "kubeadm-init").unwrap().files[0].content;
    assert_eq!(cert_sans_in(init), ["10.0.0.10"], "{init}");
    assert!(init.contains("controlPlaneEndpoint: \"10.0.0.10:6443\""));

    // A name and the address: both, the endpoint first.
    let p = build(&example());
    let init = &p.find("master1", "kubeadm-init").unwrap().files[0].content;
    assert_eq!(
        cert_sans_in(init),
        ["lb.example.internal", "10.0.0.10"],
        "{init}"
    );
}

#[test]
fn versions_table_drives_the_scripts_environment() {
    let mut f = example();
    f.cluster.kubernetes_version = "1.35".into();
    let p = build(&f);
    let env = |node: &str, step: &str, key: &str| {
        p.find(node, step)
            .unwrap()
            .env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(env("worker1", "containerd", "KHA_CONTAINERD_MIN"), "1.6");
    assert_eq!(env("worker1", "prepare", "KHA_REQUIRE_CGROUP_V2"), "1");
    assert_eq!(env("worker1", "kube-packages", "KHA_K8S_MINOR"), "1.35");
    let p37 = build(&example());
    let c37 = p37.find("worker1", "containerd").unwrap();
    assert!(
        c37.env
            .contains(&("KHA_CONTAINERD_MIN".into(), "2.0".into()))
    );
    assert!(c37.env.contains(&(
        "KHA_DOCKER_BASE".into(),
        "https://download.docker.com/linux".into()
    )));
    let mut f = example();
    f.cluster.kubernetes_version = "1.34".into();
    f.cluster.calico_version = "v3.31.3".into();
    let p34 = build(&f);
    assert!(
        p34.find("master1", "prepare")
            .unwrap()
            .env
            .contains(&("KHA_REQUIRE_CGROUP_V2".into(), "0".into()))
    );
}

#[test]
fn mirrors_reach_the_scripts() {
    let mut f = example();
    f.cluster.package_mirror = "http://10.77.0.1:8080/pkgs.k8s.io/".into();
    f.cluster.package_mirror_key = "0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567".into();
    f.cluster.manifest_mirror = "http://10.77.0.1:8080/calico".into();
    let p = build(&f);
    for (node, step) in [("master3", "kube-packages"), ("lb", "kubectl")] {
        let env = &p.find(node, step).unwrap().env;
        assert!(env.contains(&(
            "KHA_PACKAGE_BASE".into(),
            "http://10.77.0.1:8080/pkgs.k8s.io".into()
        )));
        assert!(env.contains(&(
            "KHA_PACKAGE_KEY".into(),
            "0123456789ABCDEF0123456789ABCDEF01234567".into()
        )));
    }
    assert!(p.find("master1", "calico").unwrap().env.contains(&(
        "KHA_MANIFEST_BASE".into(),
        "http://10.77.0.1:8080/calico".into()
    )));
    assert!(
        p.find("lb", "kubectl")
            .unwrap()
            .env
            .contains(&("KHA_PACKAGES".into(), "kubectl".into()))
    );
}

#[test]
fn calico_pool_equals_the_pod_subnet() {
    let mut f = example();
    f.cluster.pod_subnet = "10.128.0.0/14".into();
    let p = build(&f);
    let s = p.find("master1", "calico").unwrap();
    assert!(s.files[0].content.contains("cidr: 10.128.0.0/14"));
    assert!(
        s.env
            .contains(&("KHA_CALICO_VERSION".into(), "v3.33.0".into()))
    );
}

#[test]
fn haproxy_cfg_has_one_checked_server_per_control_plane_and_long_timeouts() {
    let p = build(&example());
    let cfg = &p.find("lb", "haproxy").unwrap().files[0].content;
    for n in [
        "master1 10.0.0.11:6443",
        "master2 10.0.0.12:6443",
        "master3 10.0.0.13:6443",
    ] {
        assert!(
            cfg.contains(&format!("server {n} check check-ssl verify none")),
            "{cfg}"
        );
    }
    assert!(cfg.contains("bind *:6443"));
    assert!(cfg.contains("mode tcp"));
    assert!(cfg.contains("timeout client 4h") && cfg.contains("timeout server 4h"));
    assert!(cfg.contains("http-check send meth GET uri /readyz"));
}

#[test]
fn the_plan_prints_placeholders_never_secrets() {
    let p = build(&example());
    let json = plan::to_json(&p);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let phases = v["phases"].as_array().unwrap();
    let step = &phases[2]["steps"][0];
    assert_eq!(step["node"], "master1");
    assert_eq!(step["sensitive"], true);
    assert!(step["script"].as_str().unwrap().contains("kubeadm init"));
    assert_eq!(step["files"][0]["mode"], "0600");
    assert!(
        step["files"][0]["content"]
            .as_str()
            .unwrap()
            .contains("<<kha:certificate-key>>")
    );
    assert_eq!(phases[0]["steps"][0]["sensitive"], false);
    // Nothing that looks like a real token or key appears.
    let token = regex_like_token(&json);
    assert!(!token, "a token-shaped value appears in the printed plan");
    let text = plan::to_text(&p, true);
    assert!(text.contains("<<kha:bootstrap-token>>"));
    assert!(text.contains("env KHA_CONTAINERD_SOURCE=auto"));
    assert!(text.contains("[asks for confirmation]"));
}

/// true when the text holds something shaped like a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}).
fn regex_like_token(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(23)).any(|i| {
        let w = &b[i..i + 23];
        let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        w[..6].iter().all(ok)
            && w[6] == b'.'
            && w[7..].iter().all(ok)
            && (i == 0 || !ok(&b[i - 1]))
            && (i + 23 == b.len() || !ok(&b[i + 23]))
    })
}

#[test]
fn the_token_detector_detects() {
    assert!(regex_like_token("x abcdef.0123456789abcdef y"));
    assert!(!regex_like_token("x abcdef.0123456789abcde y"));
}

#[test]
fn one_node_filter() {
    let p = build(&example()).for_node("worker3");
    let ids: Vec<_> = p.steps().map(|(_, s)| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["prepare", "containerd", "kube-packages", "kubeadm-join"]
    );
    assert!(p.steps().all(|(_, s)| s.node == "worker3"));
}

#[test]
fn single_control_plane_has_no_control_plane_join_phase() {
    let mut f = example();
    f.nodes
        .retain(|n| n.name != "master2" && n.name != "master3");
    let p = build(&f);
    assert!(!p.phases.iter().any(|ph| ph.name == "join-control-planes"));
}

#[test]
fn the_example_plan_brief_snapshot() {
    insta::assert_snapshot!(plan::to_text(&build(&example()), false));
}

#[test]
fn steps_name_what_they_wait_for() {
    let p = build(&example());
    let after = |n: &str, s: &str| p.find(n, s).unwrap().after.clone();
    assert_eq!(after("worker1", "containerd"), ["worker1:prepare"]);
    assert_eq!(
        after("master1", "kubeadm-init"),
        ["lb:haproxy", "master1:kube-packages"]
    );
    assert_eq!(
        after("master2", "kubeadm-join"),
        ["master1:kubeadm-init", "master2:kube-packages"]
    );
    assert_eq!(
        after("master3", "kubeadm-join"),
        ["master1:kubeadm-init", "master3:kube-packages"]
    );
    // Control-plane joins are one at a time because they hold etcd membership, not because
    // one waits for the other: a failed one does not block the next.
    for n in ["master2", "master3"] {
        assert_eq!(
            p.find(n, "kubeadm-join").unwrap().holds,
            ["etcd-membership"]
        );
    }
    assert!(p.find("worker1", "kubeadm-join").unwrap().holds.is_empty());
    assert_eq!(
        after("worker2", "kubeadm-join"),
        ["master1:kubeadm-init", "worker2:kube-packages"]
    );
    // The readiness wait and the step that deletes the bootstrap tokens wait for every join.
    for s in ["wait-ready", "cleanup-secrets"] {
        let deps = after("master1", s);
        for n in ["master2", "master3", "worker1", "worker2", "worker3"] {
            assert!(deps.contains(&format!("{n}:kubeadm-join")), "{s}: {deps:?}");
        }
    }
    // Every dependency names a real step that comes earlier.
    let order: Vec<String> = p
        .steps()
        .map(|(_, s)| plan::Plan::key(&s.node, &s.id))
        .collect();
    for (i, k) in order.iter().enumerate() {
        let (n, s) = k.split_once(':').unwrap();
        for d in &p.find(n, s).unwrap().after {
            let j = order
                .iter()
                .position(|x| x == d)
                .unwrap_or_else(|| panic!("{k} waits for unknown {d}"));
            assert!(j < i, "{k} waits for later {d}");
        }
    }
}

#[test]
fn a_control_plane_join_can_ask_etcd_through_the_other_control_planes() {
    let f = example();
    let (c, _) = validate::check(&f).unwrap();
    let p = plan::build(&c);
    let env = |n: &str| p.find(n, "kubeadm-join").unwrap().env.clone();
    let get = |n: &str, k: &str| env(n).into_iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let addr = |n: &str| c.host(n).unwrap().address.to_string();
    assert_eq!(get("master2", "KHA_NODE_NAME").as_deref(), Some("master2"));
    assert_eq!(
        get("master2", "KHA_PEER_URL"),
        Some(format!("https://{}:2380", addr("master2")))
    );
    assert_eq!(
        get("master2", "KHA_ETCD_ENDPOINTS"),
        Some(format!(
            "https://{}:2379 https://{}:2379",
            addr("master1"),
            addr("master3")
        ))
    );
    assert_eq!(get("worker1", "KHA_NODE_NAME").as_deref(), Some("worker1"));
    assert_eq!(get("worker1", "KHA_PEER_URL"), None);
    // The refresh step's secrets are made anew by the engine.
    assert!(plan::RENEWED_BY_REFRESH.contains(&Placeholder::BootstrapToken));
    assert!(plan::RENEWED_BY_REFRESH.iter().all(|p| p.is_secret()));
}

fn pair_example() -> InventoryFile {
    let mut f = example();
    f.load_balancer.vip = "10.0.0.5".into();
    f.load_balancer.backup_address = "10.0.0.9".into();
    f
}

#[test]
fn a_pair_gets_haproxy_and_keepalived_on_both_lbs_before_init() {
    let mut f = pair_example();
    f.load_balancer.endpoint = String::new();
    let (c, _) = validate::check(&f).unwrap();
    // The endpoint is the VIP; the SANs hold it and both LBs, each once.
    assert_eq!(plan::cert_sans(&c), ["10.0.0.5", "10.0.0.10", "10.0.0.9"]);
    let p = plan::build(&c);
    assert_eq!(p.endpoint, "10.0.0.5:6443");
    let lb_phase = &p.phases[0];
    let keys: Vec<String> = lb_phase
        .steps
        .iter()
        .map(|s| format!("{}:{}", s.node, s.id))
        .collect();
    assert_eq!(
        keys,
        [
            "lb:haproxy",
            "lb2:haproxy",
            "lb:keepalived",
            "lb2:keepalived"
        ]
    );
    // keepalived after its own HAProxy; init after both HAProxies and the first keepalived
    // (the backup's failing stops only the backup).
    assert_eq!(p.find("lb2", "keepalived").unwrap().after, ["lb2:haproxy"]);
    let init = p.find("master1", "kubeadm-init").unwrap();
    for k in ["lb:haproxy", "lb2:haproxy", "lb:keepalived"] {
        assert!(init.after.iter().any(|a| a == k), "{:?}", init.after);
    }
    assert!(!init.after.iter().any(|a| a == "lb2:keepalived"));
    let ka = p.find("lb", "keepalived").unwrap();
    assert!(ka.needs().contains(&Placeholder::VrrpPassword));
    assert!(!ka.env.iter().any(|(_, v)| v.contains("<<kha:")));
    // The kubeconfig on the LB points at the VIP.
    let kc = p.find("lb", "kubeconfig").unwrap();
    assert!(
        kc.env
            .contains(&("KHA_ENDPOINT".into(), "10.0.0.5:6443".into()))
    );
    let init_yaml = &init.files[0].content;
    assert!(init_yaml.contains("controlPlaneEndpoint: \"10.0.0.5:6443\""));

    // A DNS endpoint: the name first, then the VIP and both LBs.
    let (c, _) = validate::check(&pair_example()).unwrap();
    assert_eq!(
        plan::cert_sans(&c),
        ["lb.example.internal", "10.0.0.5", "10.0.0.10", "10.0.0.9"]
    );
}
