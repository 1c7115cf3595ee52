//! A control plane's apiserver certificate made to expire in 10 days, as an operator finds it
//! eleven months after the install: re-signed by the cluster's CA with the same key, subject
//! and extensions (python3-cryptography on the lab host).

use base64::Engine as _;

/// The shell command (run on the control plane) that re-signs the certificate read from
/// `source` into /etc/kubernetes/pki/apiserver.crt, valid for 10 days from now.
pub fn shorten_apiserver_cert(source: &str) -> String {
    let py = format!(
        "import datetime\n\
from cryptography import x509\n\
from cryptography.hazmat.primitives import hashes, serialization\n\
p = '/etc/kubernetes/pki/'\n\
old = x509.load_pem_x509_certificate(open('{source}', 'rb').read())\n\
ca = x509.load_pem_x509_certificate(open(p + 'ca.crt', 'rb').read())\n\
cak = serialization.load_pem_private_key(open(p + 'ca.key', 'rb').read(), None)\n\
now = datetime.datetime.now(datetime.timezone.utc)\n\
b = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject).public_key(old.public_key())\n\
     .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=10)))\n\
for e in old.extensions: b = b.add_extension(e.value, e.critical)\n\
open(p + 'apiserver.crt', 'wb').write(b.sign(cak, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))\n"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(py);
    format!("echo {b64} | base64 -d | sudo python3")
}
