//! The run's secrets: generated here, placed only in 0600 files or on stdin, and redacted from
//! every line kha-tui shows, logs or stores. Also the discovery CA pin, computed by kha-tui
//! from the CA certificate itself rather than scraped from kubeadm's output.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::plan::Placeholder;

const TOKEN_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(chars: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| chars[rand::random_range(0..chars.len())] as char)
        .collect()
}

/// A kubeadm bootstrap token: `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn bootstrap_token() -> String {
    format!(
        "{}.{}",
        random_from(TOKEN_CHARS, 6),
        random_from(TOKEN_CHARS, 16)
    )
}

/// A kubeadm certificate key: 32 random bytes as 64 lowercase hex digits.
pub fn certificate_key() -> String {
    let mut b = [0u8; 32];
    rand::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn is_bootstrap_token(s: &str) -> bool {
    let ok = |p: &str, n: usize| {
        p.len() == n
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    matches!(s.split_once('.'), Some((a, b)) if ok(a, 6) && ok(b, 16))
}

pub fn is_certificate_key(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Replaces every known secret in text with a label. Cheap when there is nothing to replace.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<(String, &'static str)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Adds a secret, whatever its length: a four-character sudo password is as secret as a
    /// token (replacing the same letters inside ordinary words is the price). An empty value
    /// hides nothing and is ignored.
    pub fn add(&mut self, secret: &str, label: &'static str) {
        if !secret.is_empty() && !self.secrets.iter().any(|(s, _)| s == secret) {
            self.secrets.push((secret.to_string(), label));
            // Longest first, so a secret containing another is replaced whole.
            self.secrets
                .sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        }
    }

    /// Registers a bootstrap token: the whole token and its secret half (the id is public).
    pub fn add_token(&mut self, token: &str) {
        self.add(token, "bootstrap-token");
        if let Some((_, secret)) = token.split_once('.') {
            self.add(secret, "bootstrap-token-secret");
        }
    }

    /// Registers a placeholder's value for this run when the placeholder says it is secret
    /// ([`Placeholder::is_secret`]), with the parts of it that are secrets on their own.
    pub fn add_value(&mut self, p: Placeholder, value: &str) {
        if !p.is_secret() {
            return;
        }
        match p {
            Placeholder::BootstrapToken => self.add_token(value),
            Placeholder::AdminKubeconfig => {
                self.add(value, p.name());
                for line in value.lines() {
                    if let Some((key, v)) = line.trim().split_once(':')
                        && matches!(
                            key,
                            "client-key-data" | "client-certificate-data" | "token" | "password"
                        )
                    {
                        self.add(v.trim(), "kubeconfig-credential");
                    }
                }
            }
            _ => self.add(value, p.name()),
        }
    }

    /// A redactor for every secret placeholder that has a value (`get`), so a placeholder
    /// added to [`Placeholder::ALL`] is redacted without a second list to keep in step.
    pub fn for_values<'a>(get: impl Fn(Placeholder) -> Option<&'a str>) -> Redactor {
        let mut r = Redactor::default();
        for p in Placeholder::ALL {
            if let Some(v) = get(p) {
                r.add_value(p, v);
            }
        }
        r
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (s, label) in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), &format!("[redacted {label}]"));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// The values that fill a plan's placeholders in this run.
#[derive(Clone, Default)]
pub struct RunValues {
    pub token: String,
    pub certificate_key: String,
    pub ca_cert_hash: Option<String>,
    pub admin_kubeconfig: Option<String>,
    /// The pair's VRRP password, read or made by [`super::vrrp_secret`] when a step needs it.
    pub vrrp_password: Option<String>,
}

impl std::fmt::Debug for RunValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunValues")
            .field("token", &"<redacted>")
            .field("certificate_key", &"<redacted>")
            .field("ca_cert_hash", &self.ca_cert_hash)
            .field(
                "admin_kubeconfig",
                &self.admin_kubeconfig.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "vrrp_password",
                &self.vrrp_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl RunValues {
    pub fn generate() -> RunValues {
        RunValues {
            token: bootstrap_token(),
            certificate_key: certificate_key(),
            ca_cert_hash: None,
            admin_kubeconfig: None,
            vrrp_password: None,
        }
    }

    pub fn get(&self, p: Placeholder) -> Option<&str> {
        match p {
            Placeholder::BootstrapToken => Some(&self.token),
            Placeholder::CertificateKey => Some(&self.certificate_key),
            Placeholder::CaCertHash => self.ca_cert_hash.as_deref(),
            Placeholder::AdminKubeconfig => self.admin_kubeconfig.as_deref(),
            Placeholder::VrrpPassword => self.vrrp_password.as_deref(),
        }
    }

    /// Fills every placeholder in `content`; `Err` names one that has no value yet.
    pub fn fill(&self, content: &str) -> Result<String, Placeholder> {
        let mut out = content.to_string();
        for p in Placeholder::ALL {
            let m = p.marker();
            if out.contains(&m) {
                out = out.replace(&m, self.get(p).ok_or(p)?);
            }
        }
        Ok(out)
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::for_values(|p| self.get(p))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PemError {
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("the certificate is not valid base64")]
    Base64,
    #[error("the certificate is not valid DER: {0}")]
    Der(&'static str),
}

/// Decodes the first `CERTIFICATE` block of a PEM text.
pub fn pem_certificate_der(pem: &str) -> Result<Vec<u8>, PemError> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin).ok_or(PemError::NoCertificate)? + begin.len();
    let end = pem[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or(PemError::NoCertificate)?
        + start;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| PemError::Base64)
}

/// One DER element: (tag, header+content bytes, content bytes).
fn der_element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), PemError> {
    let tag = *input.first().ok_or(PemError::Der("truncated"))?;
    let first = *input.get(1).ok_or(PemError::Der("truncated"))?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(PemError::Der("unsupported length"));
        }
        let bytes = input.get(2..2 + n).ok_or(PemError::Der("truncated"))?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let total = hdr
        .checked_add(len)
        .ok_or(PemError::Der("length overflow"))?;
    let whole = input.get(..total).ok_or(PemError::Der("truncated"))?;
    Ok((tag, whole, &whole[hdr..]))
}

/// The DER SubjectPublicKeyInfo of an X.509 certificate.
pub fn subject_public_key_info(der: &[u8]) -> Result<&[u8], PemError> {
    let (tag, _, cert) = der_element(der)?;
    if tag != 0x30 {
        return Err(PemError::Der("certificate is not a SEQUENCE"));
    }
    let (tag, _, mut tbs) = der_element(cert)?;
    if tag != 0x30 {
        return Err(PemError::Der("tbsCertificate is not a SEQUENCE"));
    }
    // [0] version (optional), serialNumber, signature, issuer, validity, subject, spki
    let mut index = 0;
    loop {
        let (tag, whole, _) = der_element(tbs)?;
        tbs = &tbs[whole.len()..];
        if index == 0 && tag == 0xa0 {
            continue; // explicit version
        }
        if index == 5 {
            if tag != 0x30 {
                return Err(PemError::Der("subjectPublicKeyInfo is not a SEQUENCE"));
            }
            return Ok(whole);
        }
        index += 1;
    }
}

/// kubeadm's discovery pin: `sha256:` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo.
pub fn ca_cert_hash(pem: &str) -> Result<String, PemError> {
    let der = pem_certificate_der(pem)?;
    let spki = subject_public_key_info(&der)?;
    let digest = Sha256::digest(spki);
    Ok(format!(
        "sha256:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_kubeadms_formats_and_differ() {
        let (a, b) = (bootstrap_token(), bootstrap_token());
        assert!(is_bootstrap_token(&a) && is_bootstrap_token(&b), "{a} {b}");
        assert_ne!(a, b);
        let (k1, k2) = (certificate_key(), certificate_key());
        assert!(is_certificate_key(&k1) && is_certificate_key(&k2));
        assert_ne!(k1, k2);
        assert!(!is_bootstrap_token("ABCDEF.0123456789abcdef"));
        assert!(!is_certificate_key(&k1[..63]));
    }

    #[test]
    fn redaction_covers_token_halves_and_key() {
        let v = RunValues {
            token: "abcdef.0123456789abcdef".into(),
            certificate_key: "f".repeat(64),
            ca_cert_hash: Some("sha256:00".into()),
            admin_kubeconfig: Some("users:\n- user:\n    client-key-data: S0VZS0VZS0VZ\n".into()),
            vrrp_password: None,
        };
        let r = v.redactor();
        let line = format!(
            "kubeadm join x --token abcdef.0123456789abcdef --certificate-key {} secret=0123456789abcdef key S0VZS0VZS0VZ",
            "f".repeat(64)
        );
        let out = r.redact(&line);
        assert!(!out.contains("0123456789abcdef"), "{out}");
        assert!(!out.contains(&"f".repeat(64)), "{out}");
        assert!(!out.contains("S0VZS0VZS0VZ"), "{out}");
        assert!(out.contains("[redacted bootstrap-token]"));
        assert!(out.contains("[redacted certificate-key]"));
        assert_eq!(format!("{v:?}").matches("<redacted>").count(), 3);
    }

    #[test]
    fn secrets_of_any_length_are_redacted_and_empty_ones_ignored() {
        let mut r = Redactor::default();
        r.add("", "password");
        assert!(r.is_empty());
        assert_eq!(r.redact("nothing to hide"), "nothing to hide");
        r.add("pw4!", "password");
        r.add("x", "password");
        let out = r.redact("sudo: pw4! then x");
        assert!(!out.contains("pw4!") && !out.contains('x'), "{out}");
        assert!(out.contains("[redacted password]"), "{out}");
    }

    #[test]
    fn every_secret_placeholder_is_redacted_and_no_public_one() {
        // Short values on purpose: length decides nothing.
        let value = |p: Placeholder| match p {
            Placeholder::BootstrapToken => "abcdef.0123456789abcdef",
            Placeholder::AdminKubeconfig => "client-key-data: S0VZ",
            _ => p.name(),
        };
        let r = Redactor::for_values(|p| Some(value(p)));
        for p in Placeholder::ALL {
            let line = format!("value {} end", value(p));
            let out = r.redact(&line);
            assert_eq!(out == line, !p.is_secret(), "{p:?}: {out}");
        }
        assert!(
            !r.redact("S0VZ").contains("S0VZ"),
            "a kubeconfig credential alone"
        );
        assert!(!r.redact("0123456789abcdef").contains("0123456789abcdef"));
    }

    #[test]
    fn fill_replaces_placeholders_or_names_the_missing_one() {
        let v = RunValues::generate();
        let t = "token: \"<<kha:bootstrap-token>>\"\nhash: <<kha:ca-cert-hash>>";
        assert_eq!(v.fill(t), Err(Placeholder::CaCertHash));
        let v = RunValues {
            ca_cert_hash: Some("sha256:ab".into()),
            ..v
        };
        let filled = v.fill(t).unwrap();
        assert!(
            filled.contains(&v.token) && filled.contains("sha256:ab") && !filled.contains("<<kha:")
        );
    }

    #[test]
    fn der_walk_rejects_garbage() {
        assert_eq!(ca_cert_hash("nothing"), Err(PemError::NoCertificate));
        let bad = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
        assert!(ca_cert_hash(bad).is_err());
    }
}
