//! The real kha-tui binary, run as an operator runs it on the LB node, and what the day-2 lab
//! tests share: the seed install and an etcdctl on a member.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::Instant;

pub const KHA: &str = env!("CARGO_BIN_EXE_kha-tui");

/// An etcdctl of the bundled etcd "image", with the node's healthcheck client certificate.
pub const ETCDCTL: &str = "sudo /usr/lib/kha-standin/images/etcd/etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";

/// `kha-tui ARGS…`, to the end.
pub fn kha(args: &[&str]) -> Output {
    Command::new(KHA).args(args).output().expect("kha-tui runs")
}

/// `kha-tui apply --yes --accept-new-host-keys` of the inventory `inv` with the data dir `dd`,
/// as the day-2 tests' one install; fails the test with kha-tui's output if it fails.
pub fn install(what: &str, inv: &str, dd: &str) {
    let t0 = Instant::now();
    let out = kha(&[
        "apply",
        "--config",
        inv,
        "--yes",
        "--accept-new-host-keys",
        "--data-dir",
        dd,
    ]);
    assert!(
        out.status.success(),
        "{what}:\n{}",
        super::output::text(&out)
    );
    eprintln!("{what}: {:.0}s", t0.elapsed().as_secs_f64());
}
