//! kha-tui's discovery CA pin equals what the kubeadm docs compute with openssl, for RSA and
//! ECDSA CAs.

#[path = "common/prereq.rs"]
mod prereq;

use std::process::Command;

fn sh(cmd: &str) -> String {
    let out = Command::new("bash").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ca_pin_matches_openssl_for_rsa_and_ecdsa() {
    if !prereq::require(prereq::have("openssl"), "openssl is not installed") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    for (name, key) in [
        ("rsa", "-newkey rsa:2048"),
        ("ec", "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"),
    ] {
        sh(&format!(
            "openssl req -x509 {key} -nodes -keyout {d}/{name}.key -out {d}/{name}.crt -days 1 -subj /CN=kubernetes 2>/dev/null"
        ));
        let expected = sh(&format!(
            "openssl x509 -pubkey -noout -in {d}/{name}.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1"
        ));
        let pem = std::fs::read_to_string(format!("{d}/{name}.crt")).unwrap();
        let pin = kha_tui::engine::secrets::ca_cert_hash(&pem).unwrap();
        assert_eq!(pin, format!("sha256:{}", expected.trim()), "{name}");
    }
}
