//! The russh client handler: the server's host key judged against known_hosts, host
//! certificates and the operator's answer, before anything runs.

use super::*;

/// Why the handshake stopped: russh's own errors, or our verdict on the host key.
#[derive(Debug)]
pub(super) enum ClientError {
    Russh(russh::Error),
    Refused(TransportError),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Russh(e)
    }
}

pub(super) type SeenKey = Arc<std::sync::Mutex<Option<String>>>;

/// The russh handler: decides about the server's host key.
pub(super) struct Client {
    pub(super) node: String,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) known: Arc<KnownHosts>,
    pub(super) questions: Option<mpsc::Sender<HostKeyQuestion>>,
    /// true while a question waits for the operator (the connect timeout pauses).
    pub(super) asking: watch::Sender<bool>,
    /// Set when the operator accepted the key during this attempt.
    pub(super) accepted: Arc<AtomicBool>,
    /// The fingerprint of the key the server offered.
    pub(super) seen_key: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, ClientError> {
        // Checked once per connection: do not keep the operator's channel open afterwards.
        let questions = self.questions.take();
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(cert) => {
                let fingerprint = self.check_certificate(cert)?;
                *self.seen_key.lock().expect("lock") = Some(fingerprint);
                return Ok(true);
            }
        };
        let algorithm = key.algorithm().as_str().to_string();
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        *self.seen_key.lock().expect("lock") = Some(fingerprint.clone());
        let verdict = self
            .known
            .check(&self.host, self.port, key)
            .map_err(|e| ClientError::Refused(TransportError::Other(e)))?;
        match verdict {
            Verdict::Known => Ok(true),
            Verdict::Changed { file, line } => {
                Err(ClientError::Refused(TransportError::HostKeyChanged {
                    host: self.host.clone(),
                    algorithm,
                    fingerprint,
                    known_hosts: file.display().to_string(),
                    line,
                }))
            }
            Verdict::Revoked { file, line } => {
                Err(ClientError::Refused(TransportError::Other(format!(
                    "the {algorithm} host key of {} ({fingerprint}) is marked @revoked in {}:{line}; refused",
                    self.host,
                    file.display()
                ))))
            }
            Verdict::Unknown => self.ask(questions, key, algorithm, fingerprint).await,
        }
    }
}

impl Client {
    /// A host certificate, checked as OpenSSH checks one: a host (not user) certificate, signed
    /// by a CA an `@cert-authority` line lists for this host, neither it nor the CA `@revoked`,
    /// inside its validity window, the name kha-tui dialled among its principals (an empty list
    /// is valid for any host, as OpenSSH has it), no critical options. Returns the host key's
    /// fingerprint. Offered only when such a CA line exists (see `client_config`).
    fn check_certificate(&self, cert: &russh::keys::Certificate) -> Result<String, ClientError> {
        use russh::keys::ssh_key::certificate::CertType;
        let refuse = |why: String| {
            ClientError::Refused(TransportError::Other(format!(
                "the host certificate of {} is refused: {why}",
                self.host
            )))
        };
        let other = |e: String| ClientError::Refused(TransportError::Other(e));
        if cert.cert_type() != CertType::Host {
            return Err(refuse(
                "it is a user certificate, not a host certificate".into(),
            ));
        }
        let ca = cert.signature_key();
        let ca_fp = ca.fingerprint(HashAlg::Sha256);
        let cas = self
            .known
            .authorities(&self.host, self.port)
            .map_err(other)?;
        if !cas.iter().any(|(k, _, _)| k.key_data() == ca) {
            return Err(refuse(format!(
                "its CA {ca_fp} is not listed by an @cert-authority line for this host"
            )));
        }
        for (what, key) in [("CA", ca), ("host key", cert.public_key())] {
            if let Some((file, line)) = self
                .known
                .revoked(&self.host, self.port, key)
                .map_err(other)?
            {
                return Err(refuse(format!(
                    "its {what} is marked @revoked in {}:{line}",
                    file.display()
                )));
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if cert.validate_at(now, [&ca_fp]).is_err() {
            let window = (cert.valid_after(), cert.valid_before());
            return Err(refuse(if cert.verify_signature().is_err() {
                "its signature does not verify".into()
            } else {
                format!(
                    "it is not valid now (valid from {} to {} in Unix seconds, now {now})",
                    window.0, window.1
                )
            }));
        }
        let principals = cert.valid_principals();
        if !principals.is_empty()
            && !principals
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&self.host))
        {
            return Err(refuse(format!(
                "{} is not among its principals ({})",
                self.host,
                principals.join(", ")
            )));
        }
        if !cert.critical_options().is_empty() {
            return Err(refuse(
                "it has critical options, which host certificates never have".into(),
            ));
        }
        Ok(cert.public_key().fingerprint(HashAlg::Sha256).to_string())
    }

    /// Puts an unknown key to the operator; saves it when accepted.
    async fn ask(
        &mut self,
        questions: Option<mpsc::Sender<HostKeyQuestion>>,
        key: &PublicKey,
        algorithm: String,
        fingerprint: String,
    ) -> Result<bool, ClientError> {
        let unknown = TransportError::HostKeyUnknown {
            host: self.host.clone(),
            fingerprint: fingerprint.clone(),
        };
        let Some(questions) = questions else {
            return Err(ClientError::Refused(unknown));
        };
        let (answer_tx, answer_rx) = oneshot::channel();
        let question = HostKeyQuestion {
            node: self.node.clone(),
            host: self.host.clone(),
            port: self.port,
            algorithm,
            fingerprint,
            answer: answer_tx,
        };
        self.asking.send_replace(true);
        let answer = match questions.send(question).await {
            Ok(()) => answer_rx.await.unwrap_or(false),
            Err(_) => false,
        };
        drop(questions);
        self.asking.send_replace(false);
        if !answer {
            return Err(ClientError::Refused(unknown));
        }

        let (known, host, port, key) = (
            self.known.clone(),
            self.host.clone(),
            self.port,
            key.clone(),
        );
        let saved = tokio::task::spawn_blocking(move || known.learn(&host, port, &key)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ClientError::Refused(TransportError::Other(format!(
                    "cannot save the host key of {} to {}: {e}",
                    self.host,
                    self.known.write.display()
                ))));
            }
            Err(e) => return Err(ClientError::Refused(TransportError::Other(e.to_string()))),
        }
        self.accepted.store(true, Ordering::SeqCst);
        Ok(true)
    }
}
