//! kha-tui's own stream of API requests: TLS `GET /readyz` through the cluster endpoint, a
//! fresh connection each time (so HAProxy balances every one), the server verified against the
//! cluster CA (rustls with the aws-lc-rs provider russh already builds).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

use super::record::{Kind, Recorder, Sample};

/// Requests per second.
pub const RATE: u32 = 10;
/// A request that has not answered by then failed.
const LIMIT: Duration = Duration::from_secs(2);

/// A TLS client trusting only the cluster CA (PEM).
pub fn client_config(ca_pem: &[u8]) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(c.map_err(|e| anyhow::anyhow!("the cluster CA is not valid PEM: {e:?}"))?)
            .map_err(|e| anyhow::anyhow!("the cluster CA cannot be used: {e}"))?;
    }
    anyhow::ensure!(!roots.is_empty(), "the cluster CA holds no certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// `host:port` (or `[v6]:port`) split into the TLS name and the port.
pub fn split_endpoint(endpoint: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = endpoint
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("endpoint {endpoint:?} has no port"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, port.parse()?))
}

/// One `GET /readyz`: Ok when the apiserver answered 200 over verified TLS.
pub async fn once(cfg: Arc<rustls::ClientConfig>, host: &str, port: u16) -> Result<(), String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = tls
            .read(&mut head[got..])
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let line = String::from_utf8_lossy(&head[..got]);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else if got == 0 {
        Err("the connection closed without an answer".into())
    } else {
        Err(format!(
            "answered {}",
            line.lines().next().unwrap_or_default().trim()
        ))
    }
}

/// Sends `RATE` requests a second until `stop`, recording each (one task per request, so a
/// hanging request never delays the next).
pub async fn stream(
    cfg: Arc<rustls::ClientConfig>,
    host: String,
    port: u16,
    t0: Instant,
    rec: Arc<Mutex<Recorder>>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => break,
        }
        let (cfg, host, rec) = (cfg.clone(), host.clone(), rec.clone());
        running.spawn(async move {
            let start = t0.elapsed();
            let r = match tokio::time::timeout(LIMIT, once(cfg, &host, port)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {}s", LIMIT.as_secs())),
            };
            let end = t0.elapsed();
            let mut rec = rec.lock().expect("recorder");
            if let Err(e) = &r {
                rec.last_error = Some(format!("readyz: {e}"));
            }
            rec.push(Sample {
                kind: Kind::Readyz,
                start_ms: start.as_millis() as u64,
                end_ms: end.as_millis() as u64,
                ok: r.is_ok(),
            });
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_into_name_and_port() {
        assert_eq!(
            split_endpoint("10.1.2.3:6443").unwrap(),
            ("10.1.2.3".to_string(), 6443)
        );
        assert_eq!(
            split_endpoint("[fd00::5]:6443").unwrap(),
            ("fd00::5".to_string(), 6443)
        );
        assert_eq!(
            split_endpoint("api.example:443").unwrap(),
            ("api.example".to_string(), 443)
        );
    }

    #[test]
    fn a_ca_that_is_not_pem_is_refused_with_a_reason() {
        let e = client_config(b"not a certificate").unwrap_err().to_string();
        assert!(e.contains("no certificate"), "{e}");
    }
}
