//! Every validation rule of the inventory, one or more tests each.

use kha_tui::inventory::{self, EXAMPLE, InventoryFile, Issue, Severity, validate};

fn example() -> InventoryFile {
    inventory::parse(EXAMPLE).expect("example parses")
}

fn errors(f: &InventoryFile) -> Vec<Issue> {
    validate::issues(f)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect()
}

fn warnings(f: &InventoryFile) -> Vec<Issue> {
    validate::issues(f)
        .into_iter()
        .filter(|i| i.severity == Severity::Warning)
        .collect()
}

/// Asserts one error on `key` whose message contains `needle`.
fn assert_error(f: &InventoryFile, key: &str, needle: &str) {
    let errs = errors(f);
    assert!(
        errs.iter()
            .any(|i| i.key == key && i.message.contains(needle) && !i.fix.is_empty()),
        "expected an error on {key} containing {needle:?}, got {errs:#?}"
    );
}

#[test]
fn the_example_is_valid_and_ha() {
    let f = example();
    let (cluster, warns) = validate::check(&f).expect("example is valid");
    assert!(warns.is_empty(), "{warns:?}");
    assert_eq!(cluster.control_planes().count(), 3);
    assert_eq!(cluster.workers().count(), 3);
    assert_eq!(cluster.control_plane_endpoint(), "lb.example.internal:6443");
    assert_eq!(cluster.first_control_plane().name, "master1");
    assert_eq!(cluster.calico_version, "v3.33.0");
    assert_eq!(cluster.package_base, "https://pkgs.k8s.io");
}

#[test]
fn unknown_keys_are_errors() {
    let text = EXAMPLE.replace("pod_subnet =", "pod_subnett =");
    let err = inventory::parse(&text).unwrap_err();
    assert!(err.contains("pod_subnett"), "{err}");
    assert!(err.starts_with("line "), "{err}");
}

#[test]
fn missing_and_unparsable_keys_are_errors() {
    let text = EXAMPLE.replace("address = \"10.0.0.10\"", "");
    let err = inventory::parse(&text).unwrap_err();
    assert!(err.contains("address"), "{err}");
    let err = inventory::parse("[cluster\nname=1").unwrap_err();
    assert!(err.starts_with("line 1"), "{err}");
    let text = EXAMPLE.replace("port = 6443", "port = \"six\"");
    assert!(inventory::parse(&text).is_err());
}

#[test]
fn defaults_fill_optional_keys() {
    let text = r#"
[cluster]
name = "c"
[load_balancer]
address = "10.1.0.10"
[ssh]
use_agent = true
[[nodes]]
name = "m1"
address = "10.1.0.11"
role = "control-plane"
"#;
    let f = inventory::parse(text).unwrap();
    let (c, warns) = validate::check(&f).unwrap();
    assert_eq!(
        c.versions.minor, "1.37",
        "newest supported minor by default"
    );
    assert_eq!(c.calico_version, "v3.33.0");
    assert_eq!(c.pod_subnet.to_string(), "10.244.0.0/16");
    assert_eq!(c.api_port, 6443);
    assert_eq!(c.control_plane_endpoint(), "10.1.0.10:6443");
    assert!(
        warns
            .iter()
            .any(|w| w.key == "nodes" && w.message.contains("not highly available"))
    );
}

#[test]
fn bad_addresses() {
    let mut f = example();
    f.nodes[3].address = "10.0.0.300".into();
    assert_error(&f, "nodes[3].address", "not an IPv4 or IPv6");
    let mut f = example();
    f.load_balancer.address = "lb".into();
    assert_error(&f, "load_balancer.address", "not an IPv4 or IPv6");
}

#[test]
fn ipv6_clusters_are_refused_field_by_field_until_they_install() {
    let mut f = example();
    f.nodes[0].address = "fd00::11".into();
    assert_error(&f, "nodes[0].address", "IPv4 clusters only");
    let e = errors(&f);
    assert!(
        e[0].fix
            .contains("IPv6 and dual-stack clusters are not supported yet"),
        "{e:?}"
    );
    let mut f = example();
    f.load_balancer.address = "fd00::10".into();
    assert_error(&f, "load_balancer.address", "has the IPv6 address fd00::10");
    let mut f = example();
    f.load_balancer.endpoint = "fd00::10".into();
    assert_error(&f, "load_balancer.endpoint", "IPv6");
    let mut f = example();
    f.cluster.pod_subnet = "fd00:10:244::/56".into();
    assert_error(&f, "cluster.pod_subnet", "IPv6 subnet");
    let mut f = example();
    f.cluster.service_subnet = "fd00:10:96::/112".into();
    assert_error(&f, "cluster.service_subnet", "IPv6 subnet");
    // A mirror reached over IPv6 is fine: with and without a port, brackets required.
    for ok in [
        "http://[fd00::1]/pkgs.k8s.io",
        "https://[fd00::1]:8080/pkgs.k8s.io",
    ] {
        let mut f = example();
        f.cluster.package_mirror = ok.into();
        f.cluster.package_mirror_key = FPR.into();
        assert!(errors(&f).is_empty(), "{ok}: {:?}", errors(&f));
    }
    for bad in [
        "http://fd00::1/pkgs",
        "http://[fd00::1/pkgs",
        "http://[fd00::1]x/pkgs",
        "http://[zz::1]/",
    ] {
        let mut f = example();
        f.cluster.package_mirror = bad.into();
        assert_error(&f, "cluster.package_mirror", "not a usable http(s) URL");
    }
}

#[test]
fn duplicate_names_and_addresses_including_the_lb() {
    let mut f = example();
    f.nodes[4].name = "master1".into();
    assert_error(&f, "nodes[4].name", "already used by nodes[0].name");
    let mut f = example();
    f.nodes[5].address = "10.0.0.11".into();
    assert_error(&f, "nodes[5].address", "already used by nodes[0].address");
    let mut f = example();
    f.nodes[2].address = "10.0.0.10".into();
    assert_error(&f, "nodes[2].address", "load_balancer.address");
    let mut f = example();
    f.nodes[2].name = "lb".into();
    assert_error(&f, "nodes[2].name", "load_balancer.name");
}

#[test]
fn names_must_be_rfc1123() {
    for bad in ["Master1", "master_1", "-m", "m-", "", "a b"] {
        let mut f = example();
        f.nodes[0].name = bad.into();
        assert_error(&f, "nodes[0].name", "RFC 1123");
    }
    let mut f = example();
    f.cluster.name = "prod.cluster".into();
    assert_error(&f, "cluster.name", "RFC 1123 label");
    let mut f = example();
    f.nodes[0].name = "master1.dc1".into();
    assert!(errors(&f).is_empty(), "node names may be subdomains");
}

#[test]
fn subnets_overlapping_each_other() {
    let mut f = example();
    f.cluster.service_subnet = "10.244.128.0/20".into();
    assert_error(&f, "cluster.service_subnet", "overlaps pod subnet");
}

#[test]
fn subnets_containing_a_node_or_the_lb() {
    let mut f = example();
    f.cluster.pod_subnet = "10.0.0.0/16".into();
    assert_error(
        &f,
        "cluster.pod_subnet",
        "pod subnet 10.0.0.0/16 contains master1 10.0.0.11",
    );
    assert_error(&f, "cluster.pod_subnet", "contains lb 10.0.0.10");
    let mut f = example();
    f.cluster.service_subnet = "10.0.0.0/24".into();
    assert_error(
        &f,
        "cluster.service_subnet",
        "service subnet 10.0.0.0/24 contains worker3 10.0.0.23",
    );
}

#[test]
fn the_seeds_pod_subnet_warns_and_catches_lan_nodes() {
    let mut f = example();
    f.cluster.pod_subnet = "192.168.0.0/16".into();
    assert!(errors(&f).is_empty());
    assert!(
        warnings(&f)
            .iter()
            .any(|w| w.key == "cluster.pod_subnet" && w.message.contains("LAN"))
    );
    f.nodes[0].address = "192.168.1.11".into();
    assert_error(
        &f,
        "cluster.pod_subnet",
        "pod subnet 192.168.0.0/16 contains master1 192.168.1.11",
    );
}

#[test]
fn invalid_cidrs_and_host_bits() {
    let mut f = example();
    f.cluster.pod_subnet = "10.244.0.0".into();
    assert_error(&f, "cluster.pod_subnet", "not a CIDR");
    let mut f = example();
    f.cluster.pod_subnet = "10.244.1.0/16".into();
    let e = errors(&f);
    assert!(
        e.iter().any(|i| i.key == "cluster.pod_subnet"
            && i.message.contains("host bits")
            && i.fix.contains("10.244.0.0/16")),
        "{e:?}"
    );
    let mut f = example();
    f.cluster.service_subnet = "10.96.0.0/33".into();
    assert_error(&f, "cluster.service_subnet", "not a CIDR");
    let mut f = example();
    f.cluster.service_subnet = "10.64.0.0/10".into();
    assert_error(&f, "cluster.service_subnet", "too large");
    let mut f = example();
    f.cluster.pod_subnet = "10.244.0.0/26".into();
    assert_error(&f, "cluster.pod_subnet", "smaller than one node");
    let mut f = example();
    f.cluster.pod_subnet = "10.244.0.0/23".into();
    assert_error(&f, "cluster.pod_subnet", "fewer than the 6 nodes");
}

#[test]
fn control_plane_counts() {
    let mut f = example();
    for n in f.nodes.iter_mut() {
        n.role = "worker".into();
    }
    assert_error(&f, "nodes", "no node has role");
    let mut f = example();
    f.nodes[1].role = "worker".into();
    f.nodes[2].role = "worker".into();
    assert!(errors(&f).is_empty());
    assert!(warnings(&f).iter().any(|w| {
        w.message
            .contains("1 control plane(s) is not highly available")
    }));
    let mut f = example();
    f.nodes[3].role = "control-plane".into();
    assert!(
        warnings(&f)
            .iter()
            .any(|w| w.message.contains("even etcd member count"))
    );
    let mut f = example();
    f.nodes[0].role = "master".into();
    assert_error(&f, "nodes[0].role", "not a role");
    let mut f = example();
    f.nodes.clear();
    assert_error(&f, "nodes", "no nodes");
}

#[test]
fn ports_out_of_range() {
    let mut f = example();
    f.load_balancer.port = 70000;
    assert_error(&f, "load_balancer.port", "out of range");
    let mut f = example();
    f.ssh.port = Some(0);
    assert_error(&f, "ssh.port", "out of range");
    let mut f = example();
    f.nodes[2].port = Some(-1);
    assert_error(&f, "nodes[2].port", "out of range");
}

#[test]
fn kubernetes_versions_and_the_table() {
    for bad in ["1.37.1", "v1.37", "137", "latest"] {
        let mut f = example();
        f.cluster.kubernetes_version = bad.into();
        assert_error(&f, "cluster.kubernetes_version", "not of the form 1.NN");
    }
    let mut f = example();
    f.cluster.kubernetes_version = "1.29".into();
    assert_error(
        &f,
        "cluster.kubernetes_version",
        "not in kha-tui's versions table",
    );
    let mut f = example();
    f.cluster.kubernetes_version = "1.34".into();
    f.cluster.calico_version = "v3.32.2".into();
    assert!(errors(&f).is_empty());
    assert!(
        warnings(&f)
            .iter()
            .any(|w| w.key == "cluster.kubernetes_version" && w.message.contains("end of life"))
    );
}

#[test]
fn calico_must_pair_with_the_minor() {
    let mut f = example();
    f.cluster.calico_version = "v3.31.3".into(); // 3.31 is tested up to 1.35 only
    assert_error(
        &f,
        "cluster.calico_version",
        "not known to work with Kubernetes 1.37",
    );
    let mut f = example();
    f.cluster.kubernetes_version = "1.35".into();
    f.cluster.calico_version = "v3.31.3".into();
    assert!(errors(&f).is_empty());
    let mut f = example();
    f.cluster.cni = "flannel".into();
    assert_error(&f, "cluster.cni", "not supported");
}

#[test]
fn mirrors_must_be_http_urls_with_safe_characters() {
    for bad in [
        "ftp://mirror/x",
        "mirror.local/k8s",
        "http://mirror/$(reboot)",
        "https://mirror/a b",
        "http://mir;ror/",
        "http://mirror:99999/",
        "https://mirror/`id`",
    ] {
        let mut f = example();
        f.cluster.package_mirror = bad.into();
        assert_error(&f, "cluster.package_mirror", "not a usable http(s) URL");
    }
    let mut f = example();
    f.cluster.containerd_mirror = "http://10.77.0.1:8080/docker/".into();
    f.cluster.containerd_mirror_key = FPR.into();
    f.cluster.manifest_mirror = "https://mirror.example.internal/calico".into();
    f.cluster.package_mirror = "http://[fd00::1]:8080/pkgs.k8s.io".into();
    f.cluster.package_mirror_key = FPR.into();
    let (c, _) = validate::check(&f).unwrap();
    assert_eq!(c.docker_key, FPR);
    assert_eq!(c.docker_base, "http://10.77.0.1:8080/docker");
    assert_eq!(c.package_base, "http://[fd00::1]:8080/pkgs.k8s.io");
}

#[test]
fn values_that_reach_a_shell_are_restricted() {
    let mut f = example();
    f.ssh.user = Some("ops;reboot".into());
    assert_error(&f, "ssh.user", "not a valid user name");
    let mut f = example();
    f.nodes[1].user = Some("$(id)".into());
    assert_error(&f, "nodes[1].user", "not a valid user name");
    let mut f = example();
    f.load_balancer.endpoint = "lb.example.internal;rm".into();
    assert_error(&f, "load_balancer.endpoint", "not a DNS name");
    let mut f = example();
    f.cluster.containerd_source = "snap".into();
    assert_error(&f, "cluster.containerd_source", "not a containerd source");
}

#[test]
fn containerd_from_the_distro_warns_from_1_36() {
    let mut f = example();
    f.cluster.containerd_source = "distro".into();
    assert!(
        warnings(&f)
            .iter()
            .any(|w| w.key == "cluster.containerd_source" && w.message.contains(">= 2.0"))
    );
    f.cluster.kubernetes_version = "1.35".into();
    assert!(warnings(&f).is_empty());
}

#[test]
fn ssh_needs_a_way_to_authenticate() {
    let mut f = example();
    f.ssh.identity_file = None;
    assert_error(&f, "ssh.identity_file", "no way to authenticate");
    f.ssh.use_agent = true;
    assert!(errors(&f).is_empty());
}

#[test]
fn every_problem_is_listed_not_only_the_first() {
    let mut f = example();
    f.cluster.name = "Bad Name".into();
    f.nodes[0].address = "nope".into();
    f.load_balancer.port = 0;
    f.cluster.pod_subnet = "x".into();
    let e = errors(&f);
    for key in [
        "cluster.name",
        "nodes[0].address",
        "load_balancer.port",
        "cluster.pod_subnet",
    ] {
        assert!(e.iter().any(|i| i.key == key), "{key} missing from {e:#?}");
    }
}

#[test]
fn the_file_round_trips_through_toml() {
    let f = example();
    let again = inventory::parse(&f.to_toml()).unwrap();
    assert_eq!(f, again);
}

const FPR: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

#[test]
fn a_plain_http_mirror_needs_its_signing_key_pinned() {
    for (mirror, key) in [
        ("package_mirror", "package_mirror_key"),
        ("containerd_mirror", "containerd_mirror_key"),
    ] {
        let set = |f: &mut InventoryFile, url: &str, fpr: &str| {
            let (u, k) = if mirror == "package_mirror" {
                (
                    &mut f.cluster.package_mirror,
                    &mut f.cluster.package_mirror_key,
                )
            } else {
                (
                    &mut f.cluster.containerd_mirror,
                    &mut f.cluster.containerd_mirror_key,
                )
            };
            *u = url.into();
            *k = fpr.into();
        };
        // http without a pin: refused, naming the key and both ways out.
        let mut f = example();
        set(&mut f, "http://10.77.0.1:8080/m", "");
        assert_error(&f, &format!("cluster.{key}"), "is plain http");
        let e = errors(&f);
        assert!(
            e[0].fix.contains("gpg --show-keys") && e[0].fix.contains("https mirror"),
            "{e:?}"
        );
        // A malformed pin: refused.
        for bad in [
            "0123",
            "not a fingerprint at all, not one bit of it!",
            &"G".repeat(40),
        ] {
            let mut f = example();
            set(&mut f, "http://10.77.0.1:8080/m", bad);
            assert_error(
                &f,
                &format!("cluster.{key}"),
                "is not an OpenPGP key fingerprint",
            );
        }
        // Pinned (gpg's spaced lowercase form is fine), or https: accepted.
        let mut f = example();
        set(
            &mut f,
            "http://10.77.0.1:8080/m",
            "0123 4567 89ab cdef 0123  4567 89ab cdef 0123 4567",
        );
        assert!(errors(&f).is_empty(), "{:?}", errors(&f));
        let mut f = example();
        set(&mut f, "https://mirror.example.internal/m", "");
        assert!(errors(&f).is_empty(), "{:?}", errors(&f));
    }
    // The key names in the file are the ones the errors name.
    let f = inventory::parse(&EXAMPLE.replace(
        "package_mirror = \"\"",
        &format!("package_mirror = \"http://10.77.0.1:8080/p\"\npackage_mirror_key = \"{FPR}\""),
    ))
    .unwrap();
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
}

/// The manifests' pinned sums: both or neither, each 64 hex digits; the error names the key.
#[test]
fn manifest_sums_are_sha256_and_come_in_pairs() {
    let mut f = example();
    f.cluster.manifest_crds_sha256 = "abc".into();
    f.cluster.manifest_operator_sha256 = "0".repeat(64);
    assert_error(&f, "cluster.manifest_crds_sha256", "is not a sha256");
    let mut f = example();
    f.cluster.manifest_crds_sha256 = "0".repeat(64);
    assert_error(&f, "cluster.manifest_operator_sha256", "both are checked");
    let mut f = example();
    f.cluster.manifest_crds_sha256 = "0".repeat(64);
    f.cluster.manifest_operator_sha256 = "F".repeat(64);
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
}
