//! OpenSSH host certificates in the SSH transport, against a real sshd on 127.0.0.1 whose host
//! key is signed by a test CA (`ssh-keygen -s CA -h`, `HostCertificate`): accepted when an
//! `@cert-authority` line lists the CA for the host, the name is a principal and the window is
//! open; refused otherwise, with the reason. Needs root, sshd and ssh-keygen (skips without
//! them, except under CI=true).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kha_tui::transport::ssh::{SshConfig, SshTransport};
use kha_tui::transport::{Auth, Target, Timeouts, Transport, TransportError};

#[path = "common/sshd.rs"]
mod sshd;

use sshd::{Sshd, keygen, public_key_line};

/// An sshd whose host key is signed by `ca` with ssh-keygen's `args` (`-n`, `-V`).
fn signed_sshd(dir: &Path, ca: &Path, args: &[&str]) -> Option<Sshd> {
    if let Err(why) = sshd::prerequisites() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("cannot run the host certificate tests under CI: {why}");
        }
        eprintln!("skipping: {why}");
        return None;
    }
    let cert = dir.join("host_ed25519-cert.pub");
    let extra = format!("HostCertificate {}\n", cert.display());
    Some(Sshd::start_with(dir, &["127.0.0.1"], &extra, |host_key| {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-s"])
            .arg(ca)
            .args(["-I", "kha-test-host", "-h"])
            .args(args)
            .arg(host_key.with_extension("pub"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }))
}

/// Connects with `known_hosts` as the only known_hosts text; no question channel, so an
/// unknown key is refused rather than asked about.
async fn connect(sshd: &Sshd, dir: &Path, known_hosts: &str) -> Result<(), TransportError> {
    let known = dir.join("known_hosts");
    std::fs::write(&known, known_hosts).unwrap();
    let key = dir.join("id_user");
    if !key.exists() {
        keygen(dir, "id_user", "ed25519", "");
    }
    sshd.authorize(&key);
    let transport = SshTransport::new(SshConfig {
        known_hosts: vec![known],
        learned_known_hosts: dir.join("data/known_hosts"),
        agent_socket: None,
    });
    let target = Target {
        node: "master1".into(),
        host: "127.0.0.1".into(),
        port: sshd.port,
        user: "root".into(),
        auth: Auth::KeyFile {
            path: key,
            passphrase: None,
        },
        timeouts: Timeouts {
            connect: Duration::from_secs(10),
            ..Timeouts::default()
        },
        more_keys: Vec::new(),
        jumps: Vec::new(),
        proxy_command: None,
    };
    let s = transport.connect(&target, None).await?;
    kha_tui::transport::Session::close(s).await;
    assert!(
        !dir.join("data/known_hosts").exists(),
        "a certified host is not learned"
    );
    Ok(())
}

fn ca(dir: &Path) -> (std::path::PathBuf, String) {
    let ca = keygen(dir, "host_ca", "ed25519", "");
    let line = public_key_line(&ca);
    (ca, line)
}

#[tokio::test]
async fn a_certificate_from_a_listed_ca_for_this_name_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_line) = ca(dir.path());
    let Some(sshd) = signed_sshd(
        dir.path(),
        &ca,
        &["-n", "127.0.0.1,master1", "-V", "-5m:+1h"],
    ) else {
        return;
    };
    let port = sshd.port;
    connect(
        &sshd,
        dir.path(),
        &format!("@cert-authority [127.0.0.1]:{port} {ca_line}\n"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
}

#[tokio::test]
async fn a_certificate_is_refused_for_another_name_out_of_its_window_or_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_line) = ca(dir.path());
    // Another principal.
    let d1 = dir.path().join("other-name");
    std::fs::create_dir_all(&d1).unwrap();
    let Some(sshd) = signed_sshd(&d1, &ca, &["-n", "master9.example", "-V", "-5m:+1h"]) else {
        return;
    };
    let authority = format!("@cert-authority [127.0.0.1]:{} {ca_line}\n", sshd.port);
    let e = connect(&sshd, &d1, &authority)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("127.0.0.1 is not among its principals (master9.example)"),
        "{e}"
    );
    // Expired.
    let d2 = dir.path().join("expired");
    std::fs::create_dir_all(&d2).unwrap();
    let sshd = signed_sshd(&d2, &ca, &["-n", "127.0.0.1", "-V", "20200101:20200102"]).unwrap();
    let authority = format!("@cert-authority [127.0.0.1]:{} {ca_line}\n", sshd.port);
    let e = connect(&sshd, &d2, &authority)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("it is not valid now"), "{e}");
    // The CA revoked.
    let d3 = dir.path().join("revoked");
    std::fs::create_dir_all(&d3).unwrap();
    let sshd = signed_sshd(&d3, &ca, &["-n", "127.0.0.1", "-V", "-5m:+1h"]).unwrap();
    let authority = format!(
        "@cert-authority [127.0.0.1]:{p} {ca_line}\n@revoked [127.0.0.1]:{p} {ca_line}\n",
        p = sshd.port
    );
    let e = connect(&sshd, &d3, &authority)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("its CA is marked @revoked"), "{e}");
    // A CA listed for other hosts only: no certificate is asked for, and the plain key is
    // unknown.
    let e = connect(&sshd, &d3, &format!("@cert-authority 10.9.9.9 {ca_line}\n"))
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
}
