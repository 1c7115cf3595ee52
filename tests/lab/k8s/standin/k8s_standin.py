#!/usr/bin/python3
"""Stand-ins for kubeadm, kubelet, kube-apiserver, kube-controller-manager,
kube-scheduler, kubectl and crictl, for kha-tui's lab.

One module, dispatched on its first argument. It is shipped inside the lab's
kubeadm/kubelet/kubectl/cri-tools .debs. State lives in real etcd (the Debian
etcd binary, run by the stand-in kubelet as the etcd static pod). Certificates
are real (openssl). See tests/lab/k8s/README.md.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import yaml

ROOT = os.environ.get("KHA_STANDIN_ROOT", "")
HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.environ.get("KHA_STANDIN_IMAGES", "/usr/lib/kha-standin/images")
CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
ETCD_IMAGE_TAG = "3.4.23-0"


def P(path):
    if ROOT and path.startswith(ROOT + "/"):
        return path
    return ROOT + path


def version():
    v = os.environ.get("KHA_STANDIN_VERSION")
    if not v:
        try:
            with open(os.path.join(HERE, "VERSION")) as f:
                v = f.read().strip()
        except OSError:
            v = "1.37.1"
    return v


def minor():
    return int(version().split(".")[1])


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t=None):
    return (t or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def klog(sev, msg, out=sys.stderr, src="standin.go:0"):
    t = datetime.datetime.now()
    out.write("%s%s %s %7d %s] %s\n" % (sev, t.strftime("%m%d"), t.strftime("%H:%M:%S.%f"), os.getpid(), src, msg))
    out.flush()


def read(path, default=None, binary=False):
    try:
        with open(P(path), "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return default


def write(path, data, mode=0o644):
    full = P(path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    tmp = full + ".tmp%d" % os.getpid()
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, full)


def exists(path):
    return os.path.exists(P(path))


def run(cmd, input=None, check=True, env=None):
    r = subprocess.run(cmd, input=input, capture_output=True, env=env)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.decode(errors="replace").strip()))
    return r


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(s):
    return base64.b64decode(s)


def dur(s, default):
    """Parse a Go duration such as 4m0s, 30s, 2h."""
    if s is None or s == "":
        return default
    if isinstance(s, (int, float)):
        return float(s)
    if re.match(r"^[0-9.]+$", str(s)):
        return float(s)
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(h|ms|m|s)", str(s)):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def fmt_dur(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%dm%ds" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)
    if seconds >= 60:
        return "%dm%ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def hostname():
    return os.environ.get("KHA_STANDIN_HOSTNAME") or socket.gethostname().split(".")[0].lower()


def default_ip():
    """The address of the interface holding the default route (as kubeadm picks it)."""
    try:
        out = run(["ip", "-4", "route", "get", "1.1.1.1"], check=False).stdout.decode()
        m = re.search(r"\bsrc\s+(\S+)", out)
        if m:
            return m.group(1)
    except OSError:
        pass
    try:
        out = run(["ip", "-4", "-o", "addr", "show", "scope", "global"], check=False).stdout.decode()
        m = re.search(r"inet\s+([0-9.]+)/", out)
        if m:
            return m.group(1)
    except OSError:
        pass
    return "127.0.0.1"


# ---------------------------------------------------------------- PKI (openssl)

PKI = "/etc/kubernetes/pki"


def gen_key(path, algo="RSA-2048"):
    os.makedirs(os.path.dirname(P(path)), exist_ok=True)
    if algo.startswith("ECDSA"):
        cmd = ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        bits = algo.split("-")[1] if "-" in algo else "2048"
        cmd = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:" + bits]
    key = run(cmd).stdout
    write(path, key, 0o600)


def subj(cn, orgs=()):
    return "".join("/O=" + o for o in orgs) + "/CN=" + cn


def make_ca(crt, key, cn, algo, days=3650):
    gen_key(key, algo)
    out = run(["openssl", "req", "-x509", "-new", "-key", P(key), "-subj", subj(cn), "-days", str(days),
               "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
               "-addext", "subjectAltName=DNS:" + cn]).stdout
    write(crt, out)


def sign_csr(csr_pem, ca_crt, ca_key, cn=None, orgs=(), dns=(), ips=(), server=False, client=False, days=365):
    usages = []
    if server:
        usages.append("serverAuth")
    if client:
        usages.append("clientAuth")
    ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
           "extendedKeyUsage=" + ",".join(usages or ["clientAuth"]), "authorityKeyIdentifier=keyid"]
    sans = ["DNS:" + d for d in dns] + ["IP:" + i for i in ips]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "ext"), "w") as f:
            f.write("\n".join(ext) + "\n")
        with open(os.path.join(d, "csr"), "wb") as f:
            f.write(csr_pem)
        cmd = ["openssl", "x509", "-req", "-in", os.path.join(d, "csr"), "-CA", P(ca_crt), "-CAkey", P(ca_key),
               "-set_serial", "0x" + secrets.token_hex(8), "-days", str(days), "-extfile", os.path.join(d, "ext"), "-sha256"]
        if cn is not None:
            cmd += ["-subj", subj(cn, orgs)]
        return run(cmd).stdout


def make_cert(crt, key, ca, cn, orgs=(), dns=(), ips=(), server=False, client=False, algo="RSA-2048"):
    gen_key(key, algo)
    csr = run(["openssl", "req", "-new", "-key", P(key), "-subj", subj(cn, orgs)]).stdout
    pem = sign_csr(csr, ca + ".crt", ca + ".key", None, (), dns, ips, server, client)
    write(crt, pem)


def spki_hash(ca_pem):
    """sha256: of the CA certificate's DER SubjectPublicKeyInfo (kubeadm's pin)."""
    pub = run(["openssl", "x509", "-pubkey", "-noout"], input=ca_pem).stdout
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub).stdout
    return "sha256:" + hashlib.sha256(der).hexdigest()


def cert_enddate(pem):
    out = run(["openssl", "x509", "-enddate", "-noout"], input=pem).stdout.decode().strip()
    s = out.split("=", 1)[1]
    return datetime.datetime.strptime(s, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=datetime.timezone.utc)


def csr_subject(csr_pem):
    out = run(["openssl", "req", "-noout", "-subject", "-nameopt", "RFC2253"], input=csr_pem).stdout.decode()
    s = out.strip().split("=", 1)[1] if out.startswith("subject=") else out.strip()
    cn, orgs = None, []
    for part in re.split(r"(?<!\\),", s):
        k, _, v = part.strip().partition("=")
        if k == "CN":
            cn = v
        elif k == "O":
            orgs.append(v)
    return cn, orgs


# ---------------------------------------------------------------- kubeconfig

def make_kubeconfig(server, ca_pem, user, cert_pem=None, key_pem=None, token=None, cert_file=None, key_file=None,
                    cluster="kubernetes"):
    u = {}
    if cert_pem:
        u["client-certificate-data"] = b64(cert_pem)
        u["client-key-data"] = b64(key_pem)
    if cert_file:
        u["client-certificate"] = cert_file
        u["client-key"] = key_file
    if token:
        u["token"] = token
    ctx = "%s@%s" % (user, cluster)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": b64(ca_pem), "server": server}}],
        "contexts": [{"name": ctx, "context": {"cluster": cluster, "user": user}}],
        "current-context": ctx, "preferences": {},
        "users": [{"name": user, "user": u}],
    }, default_flow_style=False, sort_keys=True)


class Kubeconfig:
    def __init__(self, server, ca=None, cert=None, key=None, token=None, insecure=False):
        self.server, self.ca, self.cert, self.key, self.token, self.insecure = server, ca, cert, key, token, insecure

    @staticmethod
    def load(path, real_path=None):
        text = read(path) if real_path is None else open(real_path).read()
        if text is None:
            raise FileNotFoundError(path)
        return Kubeconfig.parse(text, os.path.dirname(real_path or P(path)))

    @staticmethod
    def parse(text, base="."):
        cfg = yaml.safe_load(text) or {}
        cur = cfg.get("current-context")
        ctx = next((c["context"] for c in cfg.get("contexts") or [] if c.get("name") == cur), None)
        if ctx is None and cfg.get("contexts"):
            ctx = cfg["contexts"][0]["context"]
        if ctx is None:
            raise ValueError("no context")
        cl = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        us = next((u["user"] for u in cfg.get("users") or [] if u["name"] == ctx.get("user")), {}) or {}

        def data(d, k_data, k_file):
            if d.get(k_data):
                return unb64(d[k_data])
            if d.get(k_file):
                f = d[k_file] if os.path.isabs(d[k_file]) else os.path.join(base, d[k_file])
                with open(ROOT + f if ROOT and not f.startswith(ROOT) else f, "rb") as fh:
                    return fh.read()
            return None
        return Kubeconfig(cl["server"], data(cl, "certificate-authority-data", "certificate-authority"),
                          data(us, "client-certificate-data", "client-certificate"),
                          data(us, "client-key-data", "client-key"), us.get("token"),
                          bool(cl.get("insecure-skip-tls-verify")))


# ---------------------------------------------------------------- HTTPS client

class ApiError(Exception):
    def __init__(self, code, status):
        self.code, self.status = code, status
        super().__init__((status or {}).get("message") if isinstance(status, dict) else str(status))

    @property
    def reason(self):
        return (self.status or {}).get("reason") if isinstance(self.status, dict) else None


class Unreachable(Exception):
    pass


def client_context(ca=None, cert=None, key=None, insecure=False, check_hostname=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if insecure or ca is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cadata=ca.decode() if isinstance(ca, bytes) else ca)
        ctx.check_hostname = check_hostname
    if cert:
        fd, path = tempfile.mkstemp(prefix="kc-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        try:
            os.write(fd, cert if cert.endswith(b"\n") else cert + b"\n")
            if key and key not in cert:
                os.write(fd, key)
            os.close(fd)
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)
    return ctx


class Api:
    def __init__(self, kc, timeout=10):
        self.kc = kc
        u = urllib.parse.urlparse(kc.server)
        self.host, self.port = u.hostname, u.port or 443
        self.timeout = timeout
        self.ctx = client_context(kc.ca, kc.cert, kc.key, kc.insecure)

    def request(self, method, path, body=None, ctype="application/json", raw=False):
        headers = {"Accept": "application/json", "User-Agent": "kha-standin"}
        if self.kc.token:
            headers["Authorization"] = "Bearer " + self.kc.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except ssl.SSLCertVerificationError:
            raise
        except (OSError, http.client.HTTPException) as e:
            raise Unreachable(self._unreach(e))
        finally:
            conn.close()
        if raw:
            return resp.status, payload
        try:
            obj = json.loads(payload) if payload else {}
        except ValueError:
            obj = {"message": payload.decode(errors="replace")}
        if resp.status >= 400:
            raise ApiError(resp.status, obj)
        return obj

    def _unreach(self, e):
        if isinstance(e, (ssl.SSLEOFError, http.client.RemoteDisconnected, ConnectionResetError)):
            return 'Get "https://%s:%s": EOF' % (self.host, self.port)
        if isinstance(e, ConnectionRefusedError):
            return "dial tcp %s:%s: connect: connection refused" % (self.host, self.port)
        if isinstance(e, (socket.timeout, TimeoutError)):
            return "dial tcp %s:%s: i/o timeout" % (self.host, self.port)
        return "%s:%s: %s" % (self.host, self.port, e)

    def get(self, path):
        return self.request("GET", path)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def put(self, path, obj):
        return self.request("PUT", path, obj)

    def patch(self, path, obj):
        return self.request("PATCH", path, obj, "application/merge-patch+json")

    def delete(self, path):
        return self.request("DELETE", path)

    def create_or_update(self, path, obj):
        name = obj["metadata"]["name"]
        try:
            return self.create(path, obj)
        except ApiError as e:
            if e.code != 409:
                raise
            cur = self.get(path + "/" + name)
            obj = dict(obj)
            obj["metadata"] = dict(obj["metadata"], resourceVersion=cur["metadata"]["resourceVersion"])
            return self.put(path + "/" + name, obj)


# ---------------------------------------------------------------- etcd (v3 JSON gateway)

def prefix_end(prefix):
    b = bytearray(prefix)
    b[-1] += 1
    return bytes(b)


class EtcdError(Exception):
    pass


class Etcd:
    def __init__(self, endpoints, ca_file, cert_file, key_file, timeout=5):
        self.endpoints = [e for e in endpoints if e]
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.check_hostname = False
        self.ctx.load_verify_locations(P(ca_file))
        self.ctx.load_cert_chain(P(cert_file), P(key_file))
        self.timeout = timeout
        self.local = threading.local()

    def call(self, path, body):
        last = None
        for ep in self.endpoints:
            u = urllib.parse.urlparse(ep)
            conn = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=self.ctx, timeout=self.timeout)
            try:
                conn.request("POST", "/v3" + path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = json.loads(resp.read() or b"{}")
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = "%s: %s" % (ep, e)
                continue
            finally:
                conn.close()
            if resp.status != 200:
                msg = data.get("error") or data.get("message") or str(data)
                raise EtcdError(msg)
            return data
        raise EtcdError("context deadline exceeded (%s)" % last)

    def get(self, key):
        r = self.call("/kv/range", {"key": b64(key)})
        kvs = r.get("kvs") or []
        if not kvs:
            return None
        return self._kv(kvs[0])

    @staticmethod
    def _kv(kv):
        return {"key": unb64(kv["key"]).decode(), "value": unb64(kv.get("value", "")),
                "mod": int(kv.get("mod_revision", 0)), "create": int(kv.get("create_revision", 0)),
                "lease": int(kv.get("lease", 0))}

    def list(self, prefix):
        p = prefix.encode()
        r = self.call("/kv/range", {"key": b64(p), "range_end": b64(prefix_end(p))})
        return [self._kv(kv) for kv in r.get("kvs") or []], int(r.get("header", {}).get("revision", 0))

    def txn_put(self, key, value, cmp_target, cmp_value, lease=0):
        put = {"request_put": {"key": b64(key), "value": b64(value)}}
        if lease:
            put["request_put"]["lease"] = str(lease)
        cmp = {"key": b64(key), "result": "EQUAL", "target": cmp_target}
        cmp[{"CREATE": "create_revision", "MOD": "mod_revision"}[cmp_target]] = str(cmp_value)
        r = self.call("/kv/txn", {"compare": [cmp], "success": [put], "failure": []})
        if not r.get("succeeded"):
            return 0
        return int(r.get("header", {}).get("revision", 0))

    def put(self, key, value, lease=0):
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        r = self.call("/kv/put", body)
        return int(r.get("header", {}).get("revision", 0))

    def delete(self, key):
        r = self.call("/kv/deleterange", {"key": b64(key)})
        return int(r.get("deleted", 0))

    def lease_grant(self, ttl):
        r = self.call("/lease/grant", {"TTL": str(max(2, int(ttl)))})
        return int(r["ID"])

    def members(self):
        return self.call("/cluster/member/list", {}).get("members") or []

    def member_add(self, peer_url):
        return self.call("/cluster/member/add", {"peerURLs": [peer_url]})

    def member_remove(self, mid):
        return self.call("/cluster/member/remove", {"ID": str(mid)})


# ---------------------------------------------------------------- kube-apiserver

CLUSTER_SCOPED = {"nodes", "namespaces", "persistentvolumes", "customresourcedefinitions", "clusterroles",
                  "clusterrolebindings", "certificatesigningrequests", "storageclasses", "priorityclasses",
                  "installations", "apiservers", "tigerastatuses", "validatingwebhookconfigurations",
                  "mutatingwebhookconfigurations", "ippools", "felixconfigurations", "imagesets"}


def status_obj(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
         "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def parse_args(argv):
    out = {}
    for a in argv:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif a.startswith("--"):
            out[a[2:]] = "true"
    return out


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def label_match(labels, selector):
    labels = labels or {}
    for term in [t for t in (selector or "").split(",") if t]:
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class Request:
    """A parsed resource path."""

    def __init__(self, path):
        u = urllib.parse.urlparse(path)
        self.query = dict(urllib.parse.parse_qsl(u.query))
        parts = [p for p in u.path.split("/") if p]
        self.ok = False
        if parts[:2] == ["api", "v1"]:
            self.group, self.version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            self.group, self.version, rest = parts[1], parts[2], parts[3:]
        else:
            return
        self.ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            self.ns, rest = rest[1], rest[2:]
        if not rest:
            return
        self.resource = rest[0]
        self.name = rest[1] if len(rest) > 1 else None
        self.sub = rest[2] if len(rest) > 2 else None
        self.ok = True

    def key(self, name=None):
        g = self.group or "core"
        base = "/registry/%s/%s/" % (g, self.resource)
        if self.ns is not None:
            base += self.ns + "/"
        return base + (name if name is not None else (self.name or ""))

    def gv(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    def gr(self):
        return self.resource + ("." + self.group if self.group else "")


class ApiServer:
    def __init__(self, args):
        self.args = args
        self.etcd = Etcd(args.get("etcd-servers", "https://127.0.0.1:2379").split(","),
                         args.get("etcd-cafile", PKI + "/etcd/ca.crt"),
                         args.get("etcd-certfile", PKI + "/apiserver-etcd-client.crt"),
                         args.get("etcd-keyfile", PKI + "/apiserver-etcd-client.key"))
        self.ca_file = args.get("client-ca-file", PKI + "/ca.crt")
        self.ca_key = os.path.join(os.path.dirname(self.ca_file), "ca.key")
        self.leases = {}

    # --- authentication and authorization
    def authenticate(self, h):
        cert = h.connection.getpeercert() if hasattr(h.connection, "getpeercert") else None
        if cert:
            cn, orgs = None, []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            return cn, orgs + ["system:authenticated"]
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            m = re.match(r"^([a-z0-9]{6})\.([a-z0-9]{16})$", tok)
            if m:
                s = self.etcd.get("/registry/core/secrets/kube-system/bootstrap-token-" + m.group(1))
                if s:
                    sec = json.loads(s["value"])
                    d = {k: unb64(v).decode() for k, v in (sec.get("data") or {}).items()}
                    exp = d.get("expiration")
                    if (d.get("token-secret") == m.group(2) and d.get("usage-bootstrap-authentication") == "true"
                            and (not exp or parse_rfc3339(exp) > now())):
                        groups = ["system:bootstrappers"] + [g for g in d.get("auth-extra-groups", "").split(",") if g]
                        return "system:bootstrap:" + m.group(1), groups + ["system:authenticated"]
            return None, None
        return "system:anonymous", ["system:unauthenticated"]

    def authorize(self, user, groups, verb, r):
        if "system:masters" in groups or "kubeadm:cluster-admins" in groups:
            return True
        if "system:nodes" in groups or user in ("system:kube-controller-manager", "system:kube-scheduler",
                                                 "kube-apiserver-kubelet-client"):
            return True
        res = r.resource
        if "system:bootstrappers" in groups:
            if res == "configmaps" and verb == "get" and r.ns in ("kube-system", "kube-public"):
                return True
            if res == "certificatesigningrequests" and verb in ("create", "get", "list", "watch"):
                return True
            if res == "nodes" and verb == "get":
                return True
            if res == "secrets" and verb == "get" and r.ns == "kube-system" and r.name == "kubeadm-certs":
                return True
            if res == "nodes" and verb == "create":
                return True
        if res == "configmaps" and verb == "get" and r.ns == "kube-public" and r.name == "cluster-info":
            return True
        return False

    def forbidden(self, user, verb, r):
        scope = 'in the namespace "%s"' % r.ns if r.ns else "at the cluster scope"
        what = '%s "%s"' % (r.gr(), r.name) if r.name else r.gr()
        return status_obj(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
                          % (what, user, verb, r.resource, r.group, scope))

    # --- storage
    def lease_for(self, obj):
        """Bootstrap tokens expire (token-cleaner) and their dependents go with them (garbage collector):
        both are an etcd lease here."""
        if obj.get("type") == "bootstrap.kubernetes.io/token":
            exp = (obj.get("data") or {}).get("expiration")
            if exp:
                ttl = (parse_rfc3339(unb64(exp).decode()) - now()).total_seconds()
                return self.etcd.lease_grant(max(ttl, 2))
        for ref in obj.get("metadata", {}).get("ownerReferences") or []:
            if ref.get("kind") == "Secret":
                ns = obj["metadata"].get("namespace", "kube-system")
                owner = self.etcd.get("/registry/core/secrets/%s/%s" % (ns, ref.get("name")))
                if owner and owner["lease"]:
                    return owner["lease"]
        return 0

    def decorate(self, obj, kv):
        obj.setdefault("metadata", {})["resourceVersion"] = str(kv["mod"])
        return obj

    def handle(self, h, method):
        path = h.path
        u = urllib.parse.urlparse(path)
        if u.path in ("/readyz", "/livez", "/healthz"):
            try:
                self.etcd.get("/registry/health")
                return 200, "text/plain", b"ok"
            except EtcdError:
                return 500, "text/plain", b"[-]etcd failed: reason withheld\n%s check failed" % u.path[1:].encode()
        if u.path == "/version":
            v = version()
            return 200, None, {"major": "1", "minor": v.split(".")[1], "gitVersion": "v" + v,
                               "gitCommit": "standin", "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z",
                               "goVersion": "go1.25.3", "compiler": "gc", "platform": "linux/amd64"}
        if u.path == "/api":
            return 200, None, {"kind": "APIVersions", "versions": ["v1"]}
        if u.path == "/apis":
            return 200, None, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        user, groups = self.authenticate(h)
        if user is None:
            return 401, None, status_obj(401, "Unauthorized", "Unauthorized")
        r = Request(path)
        if not r.ok:
            return 404, None, status_obj(404, "NotFound", "the server could not find the requested resource")
        verb = {"GET": "get" if r.name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}[method]
        if not self.authorize(user, groups, verb, r):
            return 403, None, self.forbidden(user, verb, r)
        body = None
        if method in ("POST", "PUT", "PATCH"):
            n = int(h.headers.get("Content-Length") or 0)
            raw = h.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw.strip().startswith(b"{") else yaml.safe_load(raw)
            except ValueError:
                return 400, None, status_obj(400, "BadRequest", "the object provided is unrecognized")
        try:
            return getattr(self, "do_" + verb)(r, body, user, h)
        except EtcdError as e:
            return 500, None, status_obj(500, "InternalError", "etcdserver: " + str(e))

    def not_found(self, r):
        return 404, None, status_obj(404, "NotFound", '%s "%s" not found' % (r.gr(), r.name),
                                     {"name": r.name, "kind": r.resource})

    def do_get(self, r, body, user, h):
        kv = self.etcd.get(r.key())
        if not kv:
            return self.not_found(r)
        return 200, None, self.decorate(json.loads(kv["value"]), kv)

    def do_list(self, r, body, user, h):
        prefix = r.key("")
        kvs, rev = self.etcd.list(prefix)
        items = []
        for kv in kvs:
            obj = self.decorate(json.loads(kv["value"]), kv)
            if label_match(obj.get("metadata", {}).get("labels"), r.query.get("labelSelector")):
                fs = r.query.get("fieldSelector", "")
                if fs.startswith("metadata.name=") and obj["metadata"].get("name") != fs.split("=", 1)[1]:
                    continue
                items.append(obj)
        kind = (items[0].get("kind") if items else r.resource.capitalize().rstrip("s")) + "List"
        return 200, None, {"kind": kind, "apiVersion": r.gv(), "metadata": {"resourceVersion": str(rev)}, "items": items}

    def do_create(self, r, body, user, h):
        if not isinstance(body, dict) or "metadata" not in body:
            return 400, None, status_obj(400, "BadRequest", "the object provided is unrecognized")
        md = body["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + secrets.token_hex(3)[:5]
        if r.ns is not None:
            md["namespace"] = r.ns
        md.setdefault("uid", "%s-%s-%s-%s-%s" % tuple(secrets.token_hex(n) for n in (4, 2, 2, 2, 6)))
        md["creationTimestamp"] = rfc3339()
        md.pop("resourceVersion", None)
        r.name = md["name"]
        if r.ns is not None and r.resource != "events":
            if not self.etcd.get("/registry/core/namespaces/" + r.ns) and r.ns not in ("default", "kube-system",
                                                                                       "kube-public", "kube-node-lease"):
                return 404, None, status_obj(404, "NotFound", 'namespaces "%s" not found' % r.ns,
                                             {"name": r.ns, "kind": "namespaces"})
        if r.resource == "certificatesigningrequests":
            self.sign_csr(body, user)
        if r.resource == "customresourcedefinitions":
            # what apiextensions-apiserver's naming and establishing controllers report
            sp = body.get("spec") or {}
            t = rfc3339()
            body["status"] = {"acceptedNames": sp.get("names") or {},
                              "storedVersions": [v["name"] for v in sp.get("versions") or [] if v.get("storage")],
                              "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                              "message": "no conflicts found", "lastTransitionTime": t},
                                             {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                              "message": "the initial names have been accepted", "lastTransitionTime": t}]}
        lease = self.lease_for(body)
        rev = self.etcd.txn_put(r.key(), json.dumps(body), "CREATE", 0, lease)
        if not rev:
            return 409, None, status_obj(409, "AlreadyExists", '%s "%s" already exists' % (r.gr(), r.name),
                                         {"name": r.name, "kind": r.resource})
        body["metadata"]["resourceVersion"] = str(rev)
        return 201, None, body

    def _update(self, r, new, cur, expect_rv):
        if expect_rv and str(cur["mod"]) != str(expect_rv):
            return 409, None, status_obj(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                                         'modified; please apply your changes to the latest version and try again'
                                         % (r.gr(), r.name))
        new.setdefault("metadata", {}).pop("resourceVersion", None)
        old = json.loads(cur["value"])
        for k in ("uid", "creationTimestamp", "namespace"):
            if k in old.get("metadata", {}):
                new["metadata"][k] = old["metadata"][k]
        lease = cur["lease"] or self.lease_for(new)
        rev = self.etcd.txn_put(r.key(), json.dumps(new), "MOD", cur["mod"], lease)
        if not rev:
            return 409, None, status_obj(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                                         'modified; please apply your changes to the latest version and try again'
                                         % (r.gr(), r.name))
        new["metadata"]["resourceVersion"] = str(rev)
        return 200, None, new

    def do_update(self, r, body, user, h):
        cur = self.etcd.get(r.key())
        if not cur:
            return self.not_found(r)
        if r.sub == "status":
            old = json.loads(cur["value"])
            old["status"] = body.get("status")
            body = old
        return self._update(r, body, cur, (body.get("metadata") or {}).get("resourceVersion"))

    def do_patch(self, r, body, user, h):
        for _ in range(5):
            cur = self.etcd.get(r.key())
            if not cur:
                return self.not_found(r)
            obj = json.loads(cur["value"])
            if r.sub == "status":
                body = {"status": (body or {}).get("status")}
            new = merge_patch(obj, body or {})
            code, ct, res = self._update(r, new, cur, None)
            if code != 409:
                return code, ct, res
        return code, ct, res

    def do_delete(self, r, body, user, h):
        kv = self.etcd.get(r.key())
        if not kv or not self.etcd.delete(r.key()):
            return self.not_found(r)
        obj = json.loads(kv["value"])
        if r.resource == "namespaces":
            kvs, _ = self.etcd.list("/registry/")
            for x in kvs:
                if "/%s/" % r.name in x["key"] and x["key"].split("/")[-2] == r.name:
                    self.etcd.delete(x["key"])
        return 200, None, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                           "details": {"name": r.name, "kind": r.resource, "uid": obj["metadata"].get("uid")}}

    # --- what kube-controller-manager's csrapproving and csrsigning do, synchronously
    def sign_csr(self, obj, user):
        spec = obj.get("spec") or {}
        if spec.get("signerName") not in ("kubernetes.io/kube-apiserver-client-kubelet", None):
            return
        csr = unb64(spec.get("request", ""))
        try:
            cn, orgs = csr_subject(csr)
        except RuntimeError:
            return
        if not (cn or "").startswith("system:node:") or orgs != ["system:nodes"]:
            return
        if user.startswith("system:node:") and user != cn:
            return
        pem = sign_csr(csr, self.ca_file, self.ca_key, client=True)
        spec["username"] = user
        obj["status"] = {"certificate": b64(pem), "conditions": [
            {"type": "Approved", "status": "True", "reason": "AutoApproved",
             "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
             "lastUpdateTime": rfc3339(), "lastTransitionTime": rfc3339()}]}


class TLSHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ctx):
        self.ctx = ctx
        http.server.HTTPServer.__init__(self, addr, handler)

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.RequestHandlerClass(request, client_address, self)
        except (OSError, ssl.SSLError):
            pass


def make_handler(dispatch):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _do(self, method):
            try:
                code, ctype, body = dispatch(self, method)
            except Exception as e:  # noqa: BLE001 - report, keep serving
                klog("E", "handler error: %r" % e)
                code, ctype, body = 500, None, status_obj(500, "InternalError", str(e))
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._do("GET")

        def do_POST(self):
            self._do("POST")

        def do_PUT(self):
            self._do("PUT")

        def do_PATCH(self):
            self._do("PATCH")

        def do_DELETE(self):
            self._do("DELETE")
    return H


def serve_tls(bind, port, cert, key, dispatch, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(P(cert), P(key))
    if client_ca:
        ctx.load_verify_locations(P(client_ca))
        ctx.verify_mode = ssl.CERT_OPTIONAL
    srv = TLSHTTPServer((bind, port), make_handler(dispatch), ctx)
    return srv


def main_apiserver(argv):
    args = parse_args(argv)
    api = ApiServer(args)
    port = int(args.get("secure-port", "6443"))
    bind = args.get("bind-address", "0.0.0.0")
    klog("I", "Serving securely on %s:%d" % (bind, port))
    srv = serve_tls(bind, port, args.get("tls-cert-file", PKI + "/apiserver.crt"),
                    args.get("tls-private-key-file", PKI + "/apiserver.key"), api.handle, api.ca_file)
    serve_until_terminated(srv, dur(args.get("shutdown-delay-duration"), 0))


class InFlight:
    """Requests being answered right now, and whether the server is shutting down."""
    def __init__(self):
        self.lock = threading.Lock()
        self.busy = 0
        self.stopping = False


def count_in_flight(srv):
    """Counts the connections being served (from the TLS handshake to the last answer) and, once
    the server shuts down, answers with `Connection: close` (Go's http.Server.Shutdown turns
    keep-alives off and closes idle connections)."""
    state = InFlight()
    base = srv.RequestHandlerClass

    class Closing(base):
        def end_headers(self):
            if state.stopping:
                self.send_header("Connection", "close")
            base.end_headers(self)
    srv.RequestHandlerClass = Closing
    serve = srv.finish_request

    def counted(request, client_address):
        with state.lock:
            state.busy += 1
        try:
            serve(request, client_address)
        finally:
            with state.lock:
                state.busy -= 1
    srv.finish_request = counted
    return state


def serve_until_terminated(srv, delay):
    """Serves until SIGTERM, then stops as kube-apiserver does (k8s.io/apiserver genericapiserver,
    graceful termination): it keeps serving for --shutdown-delay-duration (0 by default), then stops
    listening, lets the requests in flight finish (at most 60 s), and exits 0. The kubelet stops a
    static pod with SIGTERM, so a client never sees a request cut off mid-answer."""
    state = count_in_flight(srv)
    term = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: term.set())
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    while not term.wait(1):
        pass
    klog("I", '"[graceful-termination] shutdown event" name="ShutdownInitiated"')
    time.sleep(delay)
    with state.lock:
        state.stopping = True
    srv.shutdown()
    srv.server_close()
    klog("I", '"[graceful-termination] shutdown event" name="HTTPServerStoppedListening"')
    deadline = time.time() + 60
    while time.time() < deadline:
        with state.lock:
            if state.busy == 0:
                break
        time.sleep(0.05)
    klog("I", '"[graceful-termination] shutdown event" name="InFlightRequestsDrained"')
    os._exit(0)


def self_signed(dirpath, cn):
    os.makedirs(dirpath, exist_ok=True)
    crt, key = os.path.join(dirpath, cn + ".crt"), os.path.join(dirpath, cn + ".key")
    if not os.path.exists(crt):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
             "-out", crt, "-days", "365", "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    return crt, key


def healthz_server(port, bind, name):
    d = tempfile.mkdtemp(prefix=name + "-")
    crt, key = self_signed(d, name)

    def dispatch(h, method):
        return 200, "text/plain", b"ok"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv = TLSHTTPServer((bind, port), make_handler(dispatch), ctx)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def jws_sign(content, token_id, token_secret):
    """Detached JWS (HS256) over the cluster-info kubeconfig, as the bootstrap signer makes it."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(token_secret.encode(), header + b"." + payload, hashlib.sha256).digest()).rstrip(b"=")
    return (header + b".." + sig).decode()


def jws_verify(detached, content, token_id, token_secret):
    try:
        header, _, sig = detached.split(".")
    except ValueError:
        return False
    return hmac.compare_digest(jws_sign(content, token_id, token_secret), detached)


def main_controller_manager(argv):
    args = parse_args(argv)
    healthz_server(int(args.get("secure-port", "10257")), args.get("bind-address", "127.0.0.1"), "kube-controller-manager")
    kc_path = args.get("kubeconfig", "/etc/kubernetes/controller-manager.conf")
    grace = dur(args.get("node-monitor-grace-period"), 40)
    api = None
    while True:
        time.sleep(2)
        try:
            if api is None:
                api = Api(Kubeconfig.load(kc_path))
            bootstrap_signer(api)
            node_lifecycle(api, grace)
        except (ApiError, Unreachable, OSError, ValueError) as e:
            klog("E", "controller sync failed: %s" % e)


def bootstrap_signer(api):
    cm = api.get_or_none("/api/v1/namespaces/kube-public/configmaps/cluster-info")
    if not cm:
        return
    content = (cm.get("data") or {}).get("kubeconfig", "")
    secrets_ = api.get("/api/v1/namespaces/kube-system/secrets").get("items", [])
    want = {}
    for s in secrets_:
        if s.get("type") != "bootstrap.kubernetes.io/token":
            continue
        d = {k: unb64(v).decode() for k, v in (s.get("data") or {}).items()}
        if d.get("usage-bootstrap-signing") != "true":
            continue
        if d.get("expiration") and parse_rfc3339(d["expiration"]) <= now():
            continue
        want["jws-kubeconfig-" + d["token-id"]] = jws_sign(content, d["token-id"], d["token-secret"])
    data = dict(cm.get("data") or {})
    have = {k: v for k, v in data.items() if k.startswith("jws-kubeconfig-")}
    if have == want:
        return
    data = {k: v for k, v in data.items() if not k.startswith("jws-kubeconfig-")}
    data.update(want)
    cm["data"] = data
    try:
        api.put("/api/v1/namespaces/kube-public/configmaps/cluster-info", cm)
    except ApiError as e:
        if e.code != 409:
            raise


def node_lifecycle(api, grace):
    for n in api.get("/api/v1/nodes").get("items", []):
        conds = (n.get("status") or {}).get("conditions") or []
        ready = next((c for c in conds if c.get("type") == "Ready"), None)
        if not ready or ready.get("status") == "Unknown":
            continue
        hb = ready.get("lastHeartbeatTime")
        if hb and (now() - parse_rfc3339(hb)).total_seconds() > grace:
            for c in conds:
                c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                          "message": "Kubelet stopped posting node status.", "lastTransitionTime": rfc3339()})
            try:
                api.request("PUT", "/api/v1/nodes/%s/status" % n["metadata"]["name"], n)
            except ApiError:
                pass


def main_scheduler(argv):
    args = parse_args(argv)
    healthz_server(int(args.get("secure-port", "10259")), args.get("bind-address", "127.0.0.1"), "kube-scheduler")
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------- kubeadm

class KubeadmError(Exception):
    def __init__(self, msg, phase=None):
        self.phase = phase
        super().__init__(msg)


def out(s=""):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


KUBEADM_FIELDS = {
    "InitConfiguration": {"bootstrapTokens": None, "nodeRegistration": "NodeRegistration", "localAPIEndpoint": "APIEndpoint",
                          "certificateKey": None, "skipPhases": None, "patches": None, "timeouts": "Timeouts", "dryRun": None},
    "ClusterConfiguration": {"etcd": "Etcd", "networking": "Networking", "kubernetesVersion": None,
                             "controlPlaneEndpoint": None, "apiServer": "APIServer",
                             "controllerManager": "ControlPlaneComponent", "scheduler": "ControlPlaneComponent",
                             "dns": "DNS", "proxy": "Proxy",
                             "certificatesDir": None, "imageRepository": None, "featureGates": None, "clusterName": None,
                             "encryptionAlgorithm": None, "certificateValidityPeriod": None,
                             "caCertificateValidityPeriod": None, "upgrade": None},
    "JoinConfiguration": {"nodeRegistration": "NodeRegistration", "caCertPath": None, "discovery": "Discovery",
                          "controlPlane": "JoinControlPlane", "skipPhases": None, "patches": None, "timeouts": "Timeouts",
                          "dryRun": None},
    "ResetConfiguration": {"cleanupTmpDir": None, "criSocket": None, "dryRun": None, "force": None,
                           "ignorePreflightErrors": None, "skipPhases": None, "certificatesDir": None, "unmountFlags": None},
    "UpgradeConfiguration": {"apply": None, "diff": None, "node": None, "plan": None, "timeouts": "Timeouts"},
    "Networking": {"serviceSubnet": None, "podSubnet": None, "dnsDomain": None},
    "APIServer": {"extraArgs": None, "extraVolumes": None, "extraEnvs": None, "certSANs": None},
    "ControlPlaneComponent": {"extraArgs": None, "extraVolumes": None, "extraEnvs": None},
    "Etcd": {"local": "LocalEtcd", "external": "ExternalEtcd"},
    "LocalEtcd": {"imageRepository": None, "imageTag": None, "dataDir": None, "extraArgs": None, "extraEnvs": None,
                  "serverCertSANs": None, "peerCertSANs": None},
    "ExternalEtcd": {"endpoints": None, "caFile": None, "certFile": None, "keyFile": None},
    "DNS": {"imageRepository": None, "imageTag": None, "disabled": None},
    "Proxy": {"disabled": None},
    "NodeRegistration": {"name": None, "criSocket": None, "taints": None, "kubeletExtraArgs": None,
                         "ignorePreflightErrors": None, "imagePullPolicy": None, "imagePullSerial": None},
    "APIEndpoint": {"advertiseAddress": None, "bindPort": None},
    "JoinControlPlane": {"localAPIEndpoint": "APIEndpoint", "certificateKey": None},
    "Discovery": {"bootstrapToken": "BootstrapTokenDiscovery", "file": None, "tlsBootstrapToken": None, "timeout": None},
    "BootstrapTokenDiscovery": {"token": None, "apiServerEndpoint": None, "caCertHashes": None,
                                "unsafeSkipCAVerification": None},
    "Timeouts": {"controlPlaneComponentHealthCheck": None, "kubeletHealthCheck": None, "kubernetesAPICall": None,
                 "etcdAPICall": None, "tlsBootstrap": None, "discovery": None, "upgradeManifests": None},
}
COMPONENT_KINDS = {("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
                   ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration")}
TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")


def unknown_fields(kind, doc, prefix=""):
    spec = KUBEADM_FIELDS.get(kind)
    if spec is None or not isinstance(doc, dict):
        return []
    bad = []
    for k, v in doc.items():
        if prefix == "" and k in ("apiVersion", "kind"):
            continue
        if k not in spec:
            bad.append(prefix + k)
        elif spec[k]:
            bad += unknown_fields(spec[k], v, prefix + k + ".")
    if kind == "InitConfiguration" and prefix == "":
        for i, t in enumerate(doc.get("bootstrapTokens") or []):
            for k in t or {}:
                if k not in ("token", "description", "ttl", "expires", "usages", "groups"):
                    bad.append("bootstrapTokens[%d].%s" % (i, k))
    return bad


def load_config(path, strict=False):
    """Split a kubeadm config file into its documents, as kubeadm's document map does."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise KubeadmError("unable to read config from \"%s\" : open %s: %s" % (path, path, e.strerror.lower()))
    docs = {}
    try:
        loaded = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as e:
        raise KubeadmError("error converting YAML to JSON: yaml: %s" % str(e).splitlines()[0])
    for d in loaded:
        api, kind = d.get("apiVersion"), d.get("kind")
        if not api or not kind:
            raise KubeadmError("invalid configuration for GroupVersionKind /, Kind=: kind and apiVersion is mandatory "
                               "information that must be specified")
        group, _, ver = api.partition("/")
        if group == "kubeadm.k8s.io":
            if ver in ("v1beta1", "v1beta2"):
                raise KubeadmError('your configuration file uses an old API spec: "%s" (kind: "%s"). Please use kubeadm '
                                   "%s instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', "
                                   "which will write the new, similar spec using a newer API version."
                                   % (api, kind, "v1.21" if ver == "v1beta1" else "v1.22"))
            if ver not in ("v1beta3", "v1beta4"):
                raise KubeadmError('no kind "%s" is registered for version "%s" in scheme '
                                   '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"' % (kind, api))
            if kind not in ("InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "ResetConfiguration",
                            "UpgradeConfiguration"):
                raise KubeadmError('no kind "%s" is registered for version "%s" in scheme '
                                   '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"' % (kind, api))
            if ver == "v1beta3" and kind in ("ResetConfiguration", "UpgradeConfiguration"):
                raise KubeadmError('no kind "%s" is registered for version "%s" in scheme '
                                   '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"' % (kind, api))
            if ver == "v1beta3":
                klog("W", 'your configuration file uses a deprecated API spec: "%s" (kind: "%s"). Please use '
                     "'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write "
                     "the new, similar spec using a newer API version." % (api, kind), src="common.go:101")
                d = upgrade_v1beta3(kind, d)
            if kind in docs:
                raise KubeadmError('invalid configuration: kind "%s" is specified twice in YAML file' % kind)
            bad = unknown_fields(kind, d)
            if bad:
                msg = ('error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"%s", '
                       'Kind:"%s"}: strict decoding error: %s' % (ver, kind, ", ".join('unknown field "%s"' % b for b in bad)))
                if strict:
                    raise KubeadmError(msg)
                # kubeadm init/join only warn (its strictErrors is false there), as the real one does
                klog("W", msg, src="joinconfiguration.go:163" if kind == "JoinConfiguration" else "initconfiguration.go:332")
            docs[kind] = d
        elif (api, kind) in COMPONENT_KINDS:
            docs[kind] = d
        else:
            out("[config] WARNING: Ignored configuration document with GroupVersionKind %s, Kind=%s" % (api, kind))
    return docs


def upgrade_v1beta3(kind, d):
    d = json.loads(json.dumps(d))

    def args_list(m):
        if isinstance(m, dict):
            return [{"name": k, "value": str(v)} for k, v in m.items()]
        return m
    if kind == "ClusterConfiguration":
        for c in ("apiServer", "controllerManager", "scheduler"):
            if isinstance(d.get(c), dict) and "extraArgs" in d[c]:
                d[c]["extraArgs"] = args_list(d[c]["extraArgs"])
            if c == "apiServer" and isinstance(d.get(c), dict) and "timeoutForControlPlane" in d[c]:
                d[c].pop("timeoutForControlPlane")
    nr = d.get("nodeRegistration")
    if isinstance(nr, dict) and "kubeletExtraArgs" in nr:
        nr["kubeletExtraArgs"] = args_list(nr["kubeletExtraArgs"])
    if kind == "JoinConfiguration" and isinstance(d.get("discovery"), dict) and "timeout" in d["discovery"]:
        d.setdefault("timeouts", {})["discovery"] = d["discovery"].pop("timeout")
    d["apiVersion"] = "kubeadm.k8s.io/v1beta4"
    return d


def validate_cluster(cc, init=None):
    errs = []
    net = cc.get("networking") or {}
    for f in ("podSubnet", "serviceSubnet"):
        v = net.get(f)
        if v:
            for part in str(v).split(","):
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    errs.append('networking.%s: Invalid value: "%s": couldn\'t parse subnet' % (f, v))
    cpe = cc.get("controlPlaneEndpoint")
    if cpe and not re.match(r"^[A-Za-z0-9.\-\[\]:]+$", cpe):
        errs.append('controlPlaneEndpoint: Invalid value: "%s": Invalid host' % cpe)
    for i, t in enumerate((init or {}).get("bootstrapTokens") or []):
        tok = (t or {}).get("token")
        if tok and not TOKEN_RE.match(str(tok)):
            errs.append('bootstrapTokens[%d].token: Invalid value: "%s": the bootstrap token "%s" was not of the form '
                        '"\\\\A([a-z0-9]{6})\\\\.([a-z0-9]{16})\\\\z"' % (i, tok, tok))
    key = (init or {}).get("certificateKey")
    if key and not re.match(r"^[0-9a-f]{64}$", str(key)):
        errs.append('certificateKey: Invalid value: "%s": certificate key must be a hex string of size 64' % key)
    if errs:
        raise KubeadmError("\n".join(errs))


def parse_version(v):
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", str(v))
    if not m:
        raise KubeadmError('couldn\'t parse kubernetes version "%s": could not parse pre-release/metadata (%s) in '
                           'version "%s"' % (v, v, v))
    return tuple(int(x) for x in m.groups())


def kube_version(cc):
    v = cc.get("kubernetesVersion") or ("stable-1." + str(minor()))
    if v.startswith("stable") or v == "latest":
        return "v" + version()
    mine = parse_version(version())
    want = parse_version(v)
    if want[:2] < (mine[0], mine[1] - 1):
        raise KubeadmError("this version of kubeadm only supports deploying clusters with the control plane version >= "
                           "%d.%d.0. Current version: v%d.%d.%d" % (mine[0], mine[1] - 1, *want))
    return "v%d.%d.%d" % want


def flag(argv, name, default=None):
    """--name=value or --name value; returns the last."""
    val = default
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--" + name and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            val = argv[i + 1]
            i += 1
        elif a.startswith("--" + name + "="):
            val = a.split("=", 1)[1]
        elif a == "--" + name:
            val = "true"
        i += 1
    return val


def positional(argv, takes_value=()):
    res = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            if "=" not in a and a.lstrip("-") in takes_value:
                i += 1
        else:
            res.append(a)
        i += 1
    return res


def swap_on():
    lines = (read("/proc/swaps") or "").strip().splitlines()
    return len(lines) > 1, lines


def port_in_use(port):
    for fam, path in ((socket.AF_INET, "/proc/net/tcp"), (socket.AF_INET6, "/proc/net/tcp6")):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def cri_check(sock_url):
    path = sock_url.replace("unix://", "")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(P(path))
        return None
    except OSError as e:
        reason = "no such file or directory" if isinstance(e, FileNotFoundError) else "connection refused"
        return ('container runtime is not running: output: time="%s" level=fatal msg="validate service connection: '
                'validate CRI v1 runtime API for endpoint \\"%s\\": rpc error: code = Unavailable desc = connection '
                'error: desc = \\"transport: Error while dialing: dial unix %s: connect: %s\\""\n, error: exit status 1'
                % (rfc3339(), sock_url, path, reason))
    finally:
        s.close()


def preflight(checks_for, ignore, extra_files=(), ports=(), dirs=()):
    """kubeadm's preflight. Returns nothing or raises with kubeadm's wording."""
    errors, warnings = [], []

    def add(name, msg, warn=False):
        if name.lower() in ignore or "all" in ignore:
            warnings.append("[WARNING %s]: %s" % (name, msg))
        elif warn:
            warnings.append("[WARNING %s]: %s" % (name, msg))
        else:
            errors.append("[ERROR %s]: %s" % (name, msg))
    if os.geteuid() != 0 and not ROOT:
        add("IsPrivilegedUser", "user is not running as root")
    e = cri_check(CRI_SOCKET)
    if e:
        add("CRI", e)
    elif not ROOT:
        try:
            cri_disabled = containerd_info(CRI_SOCKET)[2]
        except OSError:
            cri_disabled = False
        if cri_disabled:
            add("CRI", 'container runtime is not running: output: time="%s" level=fatal msg="validate service '
                'connection: validate CRI v1 runtime API for endpoint \\"%s\\": rpc error: code = Unimplemented desc = '
                'unknown service runtime.v1.RuntimeService"\n, error: exit status 1' % (rfc3339(), CRI_SOCKET))
    if checks_for == "controlplane":
        n = os.cpu_count() or 1
        if n < 2:
            add("NumCPU", "the number of available CPUs %d is less than the required 2" % n)
        try:
            mem = int(re.search(r"MemTotal:\s+(\d+)", read("/proc/meminfo", "")).group(1)) // 1024
            if mem < 1700:
                add("Mem", "the system RAM (%d MB) is less than the minimum 1700 MB" % mem)
        except AttributeError:
            pass
    for port in ports:
        if port_in_use(port):
            add("Port-%d" % port, "Port %d is in use" % port)
    for f in extra_files:
        if exists(f):
            add("FileAvailable-" + f.replace("/", "-"), "%s already exists" % f)
    for d in dirs:
        if os.path.isdir(P(d)) and os.listdir(P(d)):
            add("DirAvailable-" + d.replace("/", "-"), "%s is not empty" % d)
    for f in ("/proc/sys/net/bridge/bridge-nf-call-iptables",):
        if not os.path.exists(f):
            add("FileExisting-" + f.replace("/", "-"), "%s does not exist" % f)
    fwd = "/proc/sys/net/ipv4/ip_forward"
    try:
        with open(fwd) as fh:
            if fh.read().strip() != "1":
                add("FileContent-" + fwd.replace("/", "-"), "%s contents are not set to 1" % fwd)
    except OSError:
        add("FileContent-" + fwd.replace("/", "-"), "%s does not exist" % fwd)
    on, _ = swap_on()
    if on:
        add("Swap", "running with swap on is not supported. Please disable swap")
    for w in warnings:
        out("\t" + w)
    if errors:
        raise KubeadmError("[preflight] Some fatal errors occurred:\n" + "\n".join("\t" + e for e in errors) +
                           "\n[preflight] If you know what you are doing, you can make a check non-fatal with "
                           "`--ignore-preflight-errors=...`", "preflight")


def aes_gcm(key):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    if len(key) not in (16, 24, 32):
        raise KubeadmError("crypto/aes: invalid key size %d" % len(key))
    return AESGCM(key)


def encrypt_bytes(data, key):
    nonce = os.urandom(12)
    return nonce + aes_gcm(key).encrypt(nonce, data, None)


def decrypt_bytes(data, key):
    from cryptography.exceptions import InvalidTag
    if len(data) < 12:
        raise KubeadmError("the data is too short")
    try:
        return aes_gcm(key).decrypt(data[:12], data[12:], None)
    except InvalidTag:
        raise KubeadmError("cipher: message authentication failed")


CERTS_TO_TRANSFER = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key",
                     "etcd/ca.crt", "etcd/ca.key"]


class Cluster:
    """What kubeadm knows about the cluster: ClusterConfiguration plus this node's settings."""

    def __init__(self, cc, node_name, adv, bind_port=6443, algo="RSA-2048"):
        self.cc = cc
        self.node = node_name
        self.adv = adv
        self.bind_port = bind_port
        net = cc.get("networking") or {}
        self.pod_subnet = net.get("podSubnet")
        self.svc_subnet = net.get("serviceSubnet") or "10.96.0.0/12"
        self.dns_domain = net.get("dnsDomain") or "cluster.local"
        self.endpoint = cc.get("controlPlaneEndpoint") or "%s:%d" % (adv, bind_port)
        if ":" not in self.endpoint.rsplit("]", 1)[-1]:
            self.endpoint += ":%d" % bind_port
        self.algo = cc.get("encryptionAlgorithm") or algo
        self.version = cc.get("kubernetesVersion") or "v" + version()
        self.repo = cc.get("imageRepository") or "registry.k8s.io"

    @property
    def server(self):
        return "https://" + self.endpoint

    def svc_ip(self):
        net = ipaddress.ip_network(self.svc_subnet.split(",")[0], strict=False)
        return str(net.network_address + 1)

    def dns_ip(self):
        net = ipaddress.ip_network(self.svc_subnet.split(",")[0], strict=False)
        return str(net.network_address + 10)

    def extra_args(self, comp):
        ea = (self.cc.get(comp) or {}).get("extraArgs") or []
        return {a["name"]: a["value"] for a in ea} if isinstance(ea, list) else dict(ea)

    def cert_sans(self):
        return [str(s) for s in (self.cc.get("apiServer") or {}).get("certSANs") or []]


def gen_control_plane_certs(c, have_ca=False):
    out('[certs] Using certificateDir folder "%s"' % PKI)
    if not have_ca:
        out('[certs] Generating "ca" certificate and key')
        make_ca(PKI + "/ca.crt", PKI + "/ca.key", "kubernetes", c.algo)
    ep_host = c.endpoint.rsplit(":", 1)[0].strip("[]")
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + c.dns_domain, c.node]
    ips = [c.svc_ip(), c.adv]
    for s in [ep_host] + c.cert_sans():
        try:
            ipaddress.ip_address(s)
            if s not in ips:
                ips.append(s)
        except ValueError:
            if s not in dns:
                dns.append(s)
    out('[certs] Generating "apiserver" certificate and key')
    out("[certs] apiserver serving cert is signed for DNS names [%s] and IPs [%s]" % (" ".join(dns), " ".join(ips)))
    make_cert(PKI + "/apiserver.crt", PKI + "/apiserver.key", PKI + "/ca", "kube-apiserver", dns=dns, ips=ips,
              server=True, algo=c.algo)
    out('[certs] Generating "apiserver-kubelet-client" certificate and key')
    make_cert(PKI + "/apiserver-kubelet-client.crt", PKI + "/apiserver-kubelet-client.key", PKI + "/ca",
              "kube-apiserver-kubelet-client", orgs=["kubeadm:cluster-admins"], client=True, algo=c.algo)
    if not have_ca:
        out('[certs] Generating "front-proxy-ca" certificate and key')
        make_ca(PKI + "/front-proxy-ca.crt", PKI + "/front-proxy-ca.key", "front-proxy-ca", c.algo)
    out('[certs] Generating "front-proxy-client" certificate and key')
    make_cert(PKI + "/front-proxy-client.crt", PKI + "/front-proxy-client.key", PKI + "/front-proxy-ca",
              "front-proxy-client", client=True, algo=c.algo)
    if not have_ca:
        out('[certs] Generating "etcd/ca" certificate and key')
        make_ca(PKI + "/etcd/ca.crt", PKI + "/etcd/ca.key", "etcd-ca", c.algo)
    edns, eips = ["localhost", c.node], [c.adv, "127.0.0.1", "0:0:0:0:0:0:0:1"]
    out('[certs] Generating "etcd/server" certificate and key')
    out("[certs] etcd/server serving cert is signed for DNS names [%s] and IPs [%s]" % (" ".join(edns), " ".join(eips)))
    make_cert(PKI + "/etcd/server.crt", PKI + "/etcd/server.key", PKI + "/etcd/ca", c.node, dns=edns, ips=eips,
              server=True, client=True, algo=c.algo)
    out('[certs] Generating "etcd/peer" certificate and key')
    out("[certs] etcd/peer serving cert is signed for DNS names [%s] and IPs [%s]" % (" ".join(edns), " ".join(eips)))
    make_cert(PKI + "/etcd/peer.crt", PKI + "/etcd/peer.key", PKI + "/etcd/ca", c.node, dns=edns, ips=eips,
              server=True, client=True, algo=c.algo)
    out('[certs] Generating "etcd/healthcheck-client" certificate and key')
    make_cert(PKI + "/etcd/healthcheck-client.crt", PKI + "/etcd/healthcheck-client.key", PKI + "/etcd/ca",
              "kube-etcd-healthcheck-client", client=True, algo=c.algo)
    out('[certs] Generating "apiserver-etcd-client" certificate and key')
    make_cert(PKI + "/apiserver-etcd-client.crt", PKI + "/apiserver-etcd-client.key", PKI + "/etcd/ca",
              "kube-apiserver-etcd-client", client=True, algo=c.algo)
    if not have_ca:
        out('[certs] Generating "sa" key and public key')
        gen_key(PKI + "/sa.key", c.algo)
        write(PKI + "/sa.pub", run(["openssl", "pkey", "-in", P(PKI + "/sa.key"), "-pubout"]).stdout)
    else:
        out('[certs] Valid certificates and keys now exist in "%s"' % PKI)
        out('[certs] Using the existing "sa" key')


def client_kubeconfig(c, name, cn, orgs=(), server=None):
    out('[kubeconfig] Writing "%s" kubeconfig file' % name)
    tmp = PKI + "/.kubeconfig-client"
    make_cert(tmp + ".crt", tmp + ".key", PKI + "/ca", cn, orgs=orgs, client=True, algo=c.algo)
    cert, key = read(tmp + ".crt", binary=True), read(tmp + ".key", binary=True)
    os.unlink(P(tmp + ".crt"))
    os.unlink(P(tmp + ".key"))
    user = {"admin.conf": "kubernetes-admin", "super-admin.conf": "kubernetes-super-admin",
            "controller-manager.conf": "system:kube-controller-manager",
            "scheduler.conf": "system:kube-scheduler"}.get(name, cn)
    write("/etc/kubernetes/" + name, make_kubeconfig(server or c.server, read(PKI + "/ca.crt", binary=True), user,
                                                     cert, key), 0o600)


def write_kubeconfigs(c, init):
    out('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"')
    client_kubeconfig(c, "admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"])
    if init:
        client_kubeconfig(c, "super-admin.conf", "kubernetes-super-admin", ["system:masters"])
        client_kubeconfig(c, "kubelet.conf", "system:node:" + c.node, ["system:nodes"])
    local = "https://%s:%d" % (c.adv, c.bind_port)
    client_kubeconfig(c, "controller-manager.conf", "system:kube-controller-manager", server=local)
    client_kubeconfig(c, "scheduler.conf", "system:kube-scheduler", server=local)


def static_pod(name, image, command, probe_port, probe_path, host, scheme="HTTPS", annotations=None, volumes=()):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "creationTimestamp": None,
                     "labels": {"component": name, "tier": "control-plane"}, "annotations": annotations or {}},
        "spec": {"containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
                                 "livenessProbe": {"httpGet": {"host": host, "path": probe_path, "port": probe_port,
                                                               "scheme": scheme},
                                                   "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 15,
                                                   "failureThreshold": 8},
                                 "resources": {"requests": {"cpu": "250m" if name == "kube-apiserver" else "100m"}},
                                 "volumeMounts": [{"name": v[0], "mountPath": v[1], "readOnly": True} for v in volumes]}],
                 "hostNetwork": True, "priority": 2000001000, "priorityClassName": "system-node-critical",
                 "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                 "volumes": [{"name": v[0], "hostPath": {"path": v[1], "type": "DirectoryOrCreate"}} for v in volumes]},
        "status": {},
    }


def write_control_plane_manifests(c):
    out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"')
    cert_vols = [("ca-certs", "/etc/ssl/certs"), ("k8s-certs", PKI)]
    api_args = {
        "advertise-address": c.adv, "allow-privileged": "true", "authorization-mode": "Node,RBAC",
        "client-ca-file": PKI + "/ca.crt", "enable-admission-plugins": "NodeRestriction",
        "enable-bootstrap-token-auth": "true", "etcd-cafile": PKI + "/etcd/ca.crt",
        "etcd-certfile": PKI + "/apiserver-etcd-client.crt", "etcd-keyfile": PKI + "/apiserver-etcd-client.key",
        "etcd-servers": "https://127.0.0.1:2379",
        "kubelet-client-certificate": PKI + "/apiserver-kubelet-client.crt",
        "kubelet-client-key": PKI + "/apiserver-kubelet-client.key",
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": PKI + "/front-proxy-client.crt", "proxy-client-key-file": PKI + "/front-proxy-client.key",
        "requestheader-allowed-names": "front-proxy-client", "requestheader-client-ca-file": PKI + "/front-proxy-ca.crt",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-", "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User", "secure-port": str(c.bind_port),
        "service-account-issuer": "https://kubernetes.default.svc." + c.dns_domain,
        "service-account-key-file": PKI + "/sa.pub", "service-account-signing-key-file": PKI + "/sa.key",
        "service-cluster-ip-range": c.svc_subnet, "tls-cert-file": PKI + "/apiserver.crt",
        "tls-private-key-file": PKI + "/apiserver.key"}
    api_args.update(c.extra_args("apiServer"))
    pods = {"kube-apiserver": static_pod(
        "kube-apiserver", "%s/kube-apiserver:%s" % (c.repo, c.version),
        ["kube-apiserver"] + ["--%s=%s" % kv for kv in sorted(api_args.items())], c.bind_port, "/livez", c.adv,
        annotations={"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "%s:%d" % (c.adv, c.bind_port)},
        volumes=cert_vols)}
    cm_args = {"authentication-kubeconfig": "/etc/kubernetes/controller-manager.conf",
               "authorization-kubeconfig": "/etc/kubernetes/controller-manager.conf", "bind-address": "127.0.0.1",
               "client-ca-file": PKI + "/ca.crt", "cluster-name": c.cc.get("clusterName") or "kubernetes",
               "cluster-signing-cert-file": PKI + "/ca.crt", "cluster-signing-key-file": PKI + "/ca.key",
               "controllers": "*,bootstrapsigner,tokencleaner", "kubeconfig": "/etc/kubernetes/controller-manager.conf",
               "leader-elect": "true", "requestheader-client-ca-file": PKI + "/front-proxy-ca.crt",
               "root-ca-file": PKI + "/ca.crt", "service-account-private-key-file": PKI + "/sa.key",
               "use-service-account-credentials": "true"}
    if c.pod_subnet:
        cm_args.update({"allocate-node-cidrs": "true", "cluster-cidr": c.pod_subnet})
    cm_args["service-cluster-ip-range"] = c.svc_subnet
    cm_args.update(c.extra_args("controllerManager"))
    pods["kube-controller-manager"] = static_pod(
        "kube-controller-manager", "%s/kube-controller-manager:%s" % (c.repo, c.version),
        ["kube-controller-manager"] + ["--%s=%s" % kv for kv in sorted(cm_args.items())], 10257, "/healthz", "127.0.0.1",
        volumes=cert_vols + [("kubeconfig", "/etc/kubernetes/controller-manager.conf")])
    sch_args = {"authentication-kubeconfig": "/etc/kubernetes/scheduler.conf",
                "authorization-kubeconfig": "/etc/kubernetes/scheduler.conf", "bind-address": "127.0.0.1",
                "kubeconfig": "/etc/kubernetes/scheduler.conf", "leader-elect": "true"}
    sch_args.update(c.extra_args("scheduler"))
    pods["kube-scheduler"] = static_pod(
        "kube-scheduler", "%s/kube-scheduler:%s" % (c.repo, c.version),
        ["kube-scheduler"] + ["--%s=%s" % kv for kv in sorted(sch_args.items())], 10259, "/livez", "127.0.0.1",
        volumes=[("kubeconfig", "/etc/kubernetes/scheduler.conf")])
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        out('[control-plane] Creating static Pod manifest for "%s"' % name)
        write("/etc/kubernetes/manifests/%s.yaml" % name, yaml.safe_dump(pods[name], default_flow_style=False), 0o600)


def write_etcd_manifest(c, initial_cluster, existing):
    peer = "https://%s:2380" % c.adv
    client = "https://%s:2379" % c.adv
    args = {"advertise-client-urls": client, "cert-file": PKI + "/etcd/server.crt", "client-cert-auth": "true",
            "data-dir": "/var/lib/etcd", "initial-advertise-peer-urls": peer, "initial-cluster": initial_cluster,
            "key-file": PKI + "/etcd/server.key", "listen-client-urls": "https://127.0.0.1:2379," + client,
            "listen-metrics-urls": "http://127.0.0.1:2381", "listen-peer-urls": peer, "name": c.node,
            "peer-cert-file": PKI + "/etcd/peer.crt", "peer-client-cert-auth": "true",
            "peer-key-file": PKI + "/etcd/peer.key", "peer-trusted-ca-file": PKI + "/etcd/ca.crt",
            "snapshot-count": "10000", "trusted-ca-file": PKI + "/etcd/ca.crt"}
    if existing:
        args["initial-cluster-state"] = "existing"
    pod = static_pod("etcd", "%s/etcd:%s" % (c.repo, ETCD_IMAGE_TAG),
                     ["etcd"] + ["--%s=%s" % kv for kv in sorted(args.items())], 2381, "/health", "127.0.0.1", "HTTP",
                     annotations={"kubeadm.kubernetes.io/etcd.advertise-client-urls": client},
                     volumes=[("etcd-certs", PKI + "/etcd"), ("etcd-data", "/var/lib/etcd")])
    pod["metadata"]["labels"]["component"] = "etcd"
    write("/etc/kubernetes/manifests/etcd.yaml", yaml.safe_dump(pod, default_flow_style=False), 0o600)


def kubelet_config(c, docs_kubelet=None):
    cfg = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
           "authentication": {"anonymous": {"enabled": False}, "webhook": {"cacheTTL": "0s", "enabled": True},
                              "x509": {"clientCAFile": PKI + "/ca.crt"}},
           "authorization": {"mode": "Webhook"}, "cgroupDriver": "systemd", "clusterDNS": [c.dns_ip()],
           "clusterDomain": c.dns_domain, "containerRuntimeEndpoint": "", "healthzBindAddress": "127.0.0.1",
           "healthzPort": 10248, "rotateCertificates": True, "staticPodPath": "/etc/kubernetes/manifests",
           "runtimeRequestTimeout": "0s", "shutdownGracePeriod": "0s", "streamingConnectionIdleTimeout": "0s",
           "syncFrequency": "0s", "volumeStatsAggPeriod": "0s", "fileCheckFrequency": "0s",
           "httpCheckFrequency": "0s", "imageMinimumGCAge": "0s", "nodeStatusReportFrequency": "0s",
           "nodeStatusUpdateFrequency": "0s", "cpuManagerReconcilePeriod": "0s", "memorySwap": {},
           "evictionPressureTransitionPeriod": "0s", "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"}, "text": {"infoBufferSize": "0"}}, "verbosity": 0}}
    for k, v in (docs_kubelet or {}).items():
        if k not in ("apiVersion", "kind"):
            cfg[k] = v
    return cfg


def write_kubelet_files(c, kcfg, node_reg):
    out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
    args = ["--container-runtime-endpoint=" + (node_reg.get("criSocket") or CRI_SOCKET),
            "--pod-infra-container-image=registry.k8s.io/pause:3.10.1"]
    if node_reg.get("name") and node_reg["name"] != socket.gethostname():
        args.append("--hostname-override=" + node_reg["name"])
    ea = node_reg.get("kubeletExtraArgs") or []
    ea = [{"name": k, "value": v} for k, v in ea.items()] if isinstance(ea, dict) else ea
    args += ["--%s=%s" % (a["name"], a["value"]) for a in ea]
    write("/var/lib/kubelet/kubeadm-flags.env", 'KUBELET_KUBEADM_ARGS="%s"\n' % " ".join(args))
    out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    write("/var/lib/kubelet/config.yaml", yaml.safe_dump(kcfg, default_flow_style=False))


def systemd_available():
    return not ROOT and os.path.isdir("/run/systemd/system")


def restart_kubelet():
    out("[kubelet-start] Starting the kubelet")
    if systemd_available():
        run(["systemctl", "daemon-reload"], check=False)
        run(["systemctl", "restart", "kubelet"], check=False)


def http_ok(url, timeout=3):
    try:
        ctx = ssl._create_unverified_context()
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status == 200, None
    except urllib.error.HTTPError as e:
        return False, "%s" % e
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ConnectionRefusedError):
            u = urllib.parse.urlparse(url)
            return False, 'Get "%s": dial tcp %s:%s: connect: connection refused' % (url, u.hostname, u.port)
        return False, 'Get "%s": %s' % (url, reason)


KUBELET_TROUBLE = """
Unfortunately, an error has occurred, likely caused by:
	- The kubelet is not running
	- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)

If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:
	- 'systemctl status kubelet'
	- 'journalctl -xeu kubelet'
"""


def wait_kubelet(timeout, phase):
    out("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to %s"
        % fmt_dur(timeout))
    t0 = time.time()
    err = None
    while time.time() - t0 < timeout:
        ok, err = http_ok("http://127.0.0.1:10248/healthz")
        if ok:
            out("[kubelet-check] The kubelet is healthy after %.9fs" % (time.time() - t0))
            return
        time.sleep(1)
    out("[kubelet-check] The kubelet is not healthy after %s" % fmt_dur(timeout))
    out(KUBELET_TROUBLE)
    raise KubeadmError("failed while waiting for the kubelet to start: The HTTP call equal to 'curl -sSL "
                       "http://127.0.0.1:10248/healthz' returned error: %s" % err, phase)


def wait_control_plane(c, timeout):
    out("[control-plane-check] Waiting for healthy control plane components. This can take up to %s" % fmt_dur(timeout))
    comps = [("kube-apiserver", "https://%s:%d/livez" % (c.adv, c.bind_port)),
             ("kube-controller-manager", "https://127.0.0.1:10257/healthz"),
             ("kube-scheduler", "https://127.0.0.1:10259/livez")]
    for n, u in comps:
        out("[control-plane-check] Checking %s at %s" % (n, u))
    t0 = time.time()
    pending = dict(comps)
    errs = {}
    while pending and time.time() - t0 < timeout:
        for n, u in list(pending.items()):
            ok, e = http_ok(u)
            if ok:
                out("[control-plane-check] %s is healthy after %.9fs" % (n, time.time() - t0))
                pending.pop(n)
            else:
                errs[n] = e
        time.sleep(0.5)
    if pending:
        out("[control-plane-check] " + ", ".join("%s is not healthy after %s" % (n, fmt_dur(timeout)) for n in pending))
        raise KubeadmError("failed while waiting for the control plane to start: " +
                           ", ".join("%s check failed at %s: %s" % (n, u, errs.get(n)) for n, u in pending.items()),
                           "wait-control-plane")


def retry_api(fn, timeout, what="API call"):
    """kubeadm's API calls retry while the API is unreachable or answers 5xx (a control plane
    going away behind the load balancer, etcd electing a leader)."""
    t0 = time.time()
    while True:
        try:
            return fn()
        except (Unreachable, ApiError, ssl.SSLError) as e:
            if isinstance(e, ApiError) and e.code not in (500, 503, 429) and "etcdserver" not in str(e):
                raise
            if isinstance(e, ssl.SSLCertVerificationError):
                raise
            if time.time() - t0 > timeout:
                raise KubeadmError("%s: %s" % (what, e))
            time.sleep(1)


def token_secret_obj(tok, ttl, usages=("signing", "authentication"), groups=("system:bootstrappers:kubeadm:default-node-token",),
                     description=None):
    tid, tsec = tok.split(".")
    data = {"token-id": tid, "token-secret": tsec}
    if ttl:
        data["expiration"] = rfc3339(now() + datetime.timedelta(seconds=ttl))
    for u in usages:
        data["usage-bootstrap-" + u] = "true"
    if groups:
        data["auth-extra-groups"] = ",".join(groups)
    if description:
        data["description"] = description
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system"},
            "data": {k: b64(v) for k, v in data.items()}}


def gen_token():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))


def upload_certs(api, key_hex, cc):
    out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    try:
        key = bytes.fromhex(key_hex)
    except ValueError as e:
        raise KubeadmError("error decoding certificate key: encoding/hex: %s" % e)
    ttl = float(os.environ.get("KUBEADM_STANDIN_CERTS_TTL") or 7200)
    tok = gen_token()
    owner = api.create("/api/v1/namespaces/kube-system/secrets",
                       token_secret_obj(tok, ttl, usages=(), groups=(),
                                        description="Proxy for managing TTL for the kubeadm-certs secret"))
    data = {}
    for name in CERTS_TO_TRANSFER:
        raw = read(PKI + "/" + name, binary=True)
        if raw is not None:
            data[name.replace("/", "-")] = b64(encrypt_bytes(raw, key))
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "kubeadm-certs", "namespace": "kube-system",
                           "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": owner["metadata"]["name"],
                                                "uid": owner["metadata"]["uid"], "controller": True,
                                                "blockOwnerDeletion": True}]},
              "data": data}
    try:
        api.delete("/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
    except ApiError:
        pass
    api.create("/api/v1/namespaces/kube-system/secrets", secret)
    out("[upload-certs] Using certificate key:")
    out(key_hex)


def download_certs(api, key_hex):
    out('[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    try:
        key = bytes.fromhex(key_hex)
    except ValueError as e:
        raise KubeadmError("error downloading certs: error decoding certificate key: encoding/hex: %s" % e,
                           "control-plane-prepare/download-certs")
    try:
        sec = api.get("/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
    except ApiError as e:
        if e.code == 404:
            raise KubeadmError('error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not '
                               'found in the "kube-system" Namespace. This Secret might have expired. Please, run '
                               '`kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
                               "control-plane-prepare/download-certs")
        raise KubeadmError("error downloading certs: error downloading the secret: %s" % e,
                           "control-plane-prepare/download-certs")
    files = {}
    try:
        for name, val in (sec.get("data") or {}).items():
            files[name] = decrypt_bytes(unb64(val), key) if val else b""
    except KubeadmError as e:
        raise KubeadmError("error downloading certs: error decoding secret data with provided key: %s" % e,
                           "control-plane-prepare/download-certs")
    out('[download-certs] Saving the certificates to the folder: "%s"' % PKI)
    for name in CERTS_TO_TRANSFER:
        data = files.get(name.replace("/", "-"))
        if data is None:
            raise KubeadmError("error downloading certs: the Secret does not include the required certificate or key - "
                               "name: %s, path: %s" % (name, PKI + "/" + name), "control-plane-prepare/download-certs")
        write(PKI + "/" + name, data, 0o600 if name.endswith(".key") else 0o644)


def cluster_info_kubeconfig(server, ca_pem):
    return yaml.safe_dump({"apiVersion": "v1", "clusters": [{"cluster": {"certificate-authority-data": b64(ca_pem),
                                                                          "server": server}, "name": ""}],
                           "contexts": None, "current-context": "", "kind": "Config", "preferences": {}, "users": None},
                          default_flow_style=False)


def cluster_configuration(c, cc):
    doc = dict(cc)
    doc.update({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
                "kubernetesVersion": c.version, "controlPlaneEndpoint": c.endpoint,
                "certificatesDir": PKI, "clusterName": cc.get("clusterName") or "kubernetes",
                "imageRepository": c.repo, "encryptionAlgorithm": c.algo,
                "etcd": cc.get("etcd") or {"local": {"dataDir": "/var/lib/etcd"}},
                "networking": {"dnsDomain": c.dns_domain, "serviceSubnet": c.svc_subnet}})
    if c.pod_subnet:
        doc["networking"]["podSubnet"] = c.pod_subnet
    return doc


def join_command(endpoint, token, cahash, cert_key=None, indent="\t"):
    lines = ["kubeadm join %s --token %s" % (endpoint, token), "%s--discovery-token-ca-cert-hash %s" % (indent, cahash)]
    if cert_key:
        lines.append("%s--control-plane --certificate-key %s" % (indent, cert_key))
    return " \\\n".join(lines)


def mark_control_plane(api, node, taints, timeout):
    labels = ["node-role.kubernetes.io/control-plane", "node.kubernetes.io/exclude-from-external-load-balancers"]
    out("[mark-control-plane] Marking the node %s as control-plane by adding the labels: [%s]" % (node, " ".join(labels)))
    if taints is None:
        taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    out("[mark-control-plane] Marking the node %s as control-plane by adding the taints [%s]"
        % (node, " ".join("%s:%s" % (t["key"], t["effect"]) for t in taints)))
    t0 = time.time()
    while True:
        try:
            n = api.get("/api/v1/nodes/" + node)
            cur = (n.get("spec") or {}).get("taints") or []
            for t in taints:
                if not any(x.get("key") == t["key"] and x.get("effect") == t["effect"] for x in cur):
                    cur.append(t)
            api.patch("/api/v1/nodes/" + node, {"metadata": {"labels": {k: "" for k in labels}},
                                                 "spec": {"taints": cur}})
            return
        except (ApiError, Unreachable) as e:
            if time.time() - t0 > timeout:
                raise KubeadmError("timed out waiting for the condition: %s" % e, "mark-control-plane")
            time.sleep(1)


def kubeadm_init(argv):
    cfg_path = flag(argv, "config")
    if cfg_path:
        mixed = [f for f in ("certificate-key", "pod-network-cidr", "service-cidr", "control-plane-endpoint",
                             "kubernetes-version", "token", "token-ttl", "apiserver-advertise-address", "node-name",
                             "cri-socket") if flag(argv, f) is not None]
        if mixed:
            raise KubeadmError("can not mix '--config' with arguments [%s]" % " ".join(mixed))
        docs = load_config(cfg_path)
    else:
        docs = {"InitConfiguration": {}, "ClusterConfiguration": {}}
        cc = docs["ClusterConfiguration"]
        if flag(argv, "control-plane-endpoint"):
            cc["controlPlaneEndpoint"] = flag(argv, "control-plane-endpoint")
        net = {}
        if flag(argv, "pod-network-cidr"):
            net["podSubnet"] = flag(argv, "pod-network-cidr")
        if flag(argv, "service-cidr"):
            net["serviceSubnet"] = flag(argv, "service-cidr")
        cc["networking"] = net
        if flag(argv, "kubernetes-version"):
            cc["kubernetesVersion"] = flag(argv, "kubernetes-version")
        ic = docs["InitConfiguration"]
        if flag(argv, "token"):
            ic["bootstrapTokens"] = [{"token": flag(argv, "token"), "ttl": flag(argv, "token-ttl", "24h0m0s")}]
        if flag(argv, "apiserver-advertise-address"):
            ic["localAPIEndpoint"] = {"advertiseAddress": flag(argv, "apiserver-advertise-address")}
        if flag(argv, "certificate-key"):
            ic["certificateKey"] = flag(argv, "certificate-key")
        ic["nodeRegistration"] = {k: v for k, v in (("name", flag(argv, "node-name")),
                                                     ("criSocket", flag(argv, "cri-socket"))) if v}
    ic = docs.get("InitConfiguration") or {}
    cc = docs.get("ClusterConfiguration") or {}
    validate_cluster(cc, ic)
    nr = ic.get("nodeRegistration") or {}
    node = (nr.get("name") or hostname()).lower()
    lae = ic.get("localAPIEndpoint") or {}
    adv = lae.get("advertiseAddress") or default_ip()
    kv = kube_version(cc)
    cc["kubernetesVersion"] = kv
    timeouts = ic.get("timeouts") or {}
    c = Cluster(cc, node, adv, int(lae.get("bindPort") or 6443))
    ignore = [x.lower() for x in (flag(argv, "ignore-preflight-errors") or "").split(",") if x] + \
        [x.lower() for x in nr.get("ignorePreflightErrors") or []]
    out("[init] Using Kubernetes version: %s" % kv)
    out("[preflight] Running pre-flight checks")
    if parse_version(kv)[:2] > parse_version(version())[:2] or parse_version(kv) > parse_version(version()):
        if "kubernetesversion" not in ignore:
            raise KubeadmError("[preflight] Some fatal errors occurred:\n\t[ERROR KubernetesVersion]: Kubernetes version "
                               "is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: "
                               "%s. Kubeadm version: %s.x" % (kv.lstrip("v"), ".".join(version().split(".")[:2])),
                               "preflight")
    preflight("controlplane", ignore,
              extra_files=["/etc/kubernetes/manifests/kube-apiserver.yaml",
                           "/etc/kubernetes/manifests/kube-controller-manager.yaml",
                           "/etc/kubernetes/manifests/kube-scheduler.yaml", "/etc/kubernetes/manifests/etcd.yaml"],
              ports=[c.bind_port, 10259, 10257, 10250, 2379, 2380], dirs=["/var/lib/etcd"])
    out("[preflight] Pulling images required for setting up a Kubernetes cluster")
    out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
    out("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
    pull_images(c)
    gen_control_plane_certs(c)
    write_kubeconfigs(c, init=True)
    out('[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"')
    write_etcd_manifest(c, "%s=https://%s:2380" % (node, adv), False)
    write_control_plane_manifests(c)
    kcfg = kubelet_config(c, docs.get("KubeletConfiguration"))
    write_kubelet_files(c, kcfg, nr)
    restart_kubelet()
    out('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory '
        '"/etc/kubernetes/manifests"')
    wait_kubelet(dur(timeouts.get("kubeletHealthCheck"), 240), "wait-control-plane")
    wait_control_plane(c, dur(timeouts.get("controlPlaneComponentHealthCheck"), 240))
    api_timeout = dur(timeouts.get("kubernetesAPICall"), 60)
    api = Api(Kubeconfig.load("/etc/kubernetes/super-admin.conf"))
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    ccdoc = cluster_configuration(c, cc)
    for nsname in ("kube-system", "kube-public", "kube-node-lease", "default"):
        retry_api(lambda: create_ignore(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                     "metadata": {"name": nsname}}),
                  api_timeout, "unable to create namespace")
    retry_api(lambda: api.create_or_update("/api/v1/namespaces/kube-system/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": yaml.safe_dump(ccdoc, default_flow_style=False)}}), api_timeout,
        "error uploading the kubeadm ClusterConfiguration")
    out('[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets '
        'in the cluster')
    retry_api(lambda: api.create_or_update("/api/v1/namespaces/kube-system/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubelet-config", "namespace": "kube-system"},
        "data": {"kubelet": yaml.safe_dump(kcfg, default_flow_style=False)}}), api_timeout)
    key = None
    if flag(argv, "upload-certs") == "true":
        key = ic.get("certificateKey") or secrets.token_hex(32)
        retry_api(lambda: upload_certs(api, key, cc), api_timeout)
    else:
        out("[upload-certs] Skipping phase. Please see --upload-certs")
    mark_control_plane(api, node, nr.get("taints"), dur(timeouts.get("kubernetesAPICall"), 120))
    tokens = ic.get("bootstrapTokens") or [{}]
    first = None
    for t in tokens:
        tok = t.get("token") or gen_token()
        first = first or tok
        out("[bootstrap-token] Using token: %s" % tok)
        ttl = dur(t.get("ttl"), 86400)
        usages = tuple(t.get("usages") or ("signing", "authentication"))
        groups = tuple(t.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",))
        retry_api(lambda: api.create_or_update("/api/v1/namespaces/kube-system/secrets",
                                               token_secret_obj(tok, ttl, usages, groups, t.get("description"))),
                  api_timeout)
    out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    out("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes")
    out("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get "
        "long term certificate credentials")
    out("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a "
        "Node Bootstrap Token")
    out("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the "
        "cluster")
    out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
    ca_pem = read(PKI + "/ca.crt", binary=True)
    retry_api(lambda: api.create_or_update("/api/v1/namespaces/kube-public/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
        "data": {"kubeconfig": cluster_info_kubeconfig(c.server, ca_pem)}}), api_timeout)
    out('[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate '
        'and key')
    out("[addons] Applied essential addon: CoreDNS")
    out("[addons] Applied essential addon: kube-proxy")
    cahash = spki_hash(ca_pem)
    out()
    out("Your Kubernetes control-plane has initialized successfully!")
    out()
    out("To start using your cluster, you need to run the following as a regular user:")
    out()
    out("  mkdir -p $HOME/.kube")
    out("  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
    out("  sudo chown $(id -u):$(id -g) $HOME/.kube/config")
    out()
    out("Alternatively, if you are the root user, you can run:")
    out()
    out("  export KUBECONFIG=/etc/kubernetes/admin.conf")
    out()
    out("You should now deploy a pod network to the cluster.")
    out('Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:')
    out("  https://kubernetes.io/docs/concepts/cluster-administration/addons/")
    out()
    if cc.get("controlPlaneEndpoint"):
        if key:
            out("You can now join any number of control-plane nodes running the following command on each as root:")
            out()
            out("  " + join_command(c.endpoint, first, cahash, key))
            out()
            out("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!")
            out("As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use")
            out('"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.')
            out()
        else:
            out("You can now join any number of control-plane nodes by copying certificate authorities")
            out("and service account keys on each node and then running the following as root:")
            out()
            out("  " + join_command(c.endpoint, first, cahash) + " \\\n\t--control-plane ")
            out()
    out("Then you can join any number of worker nodes by running the following on each as root:")
    out()
    out(join_command(c.endpoint, first, cahash))


def create_ignore(api, path, obj):
    try:
        api.create(path, obj)
    except ApiError as e:
        if e.code != 409:
            raise


def pull_images(c):
    for img in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        if not os.path.exists(os.path.join(IMAGES, img, img)):
            raise KubeadmError("[preflight] Some fatal errors occurred:\n\t[ERROR ImagePull]: failed to pull image "
                               "%s/%s:%s: output: E%s failed to pull image: rpc error: code = NotFound desc = not found, "
                               "error: exit status 1" % (c.repo, img, c.version if img != "etcd" else ETCD_IMAGE_TAG,
                                                          time.strftime("%m%d")), "preflight")


def admin_api(kubeconfig=None):
    if kubeconfig:
        if not os.path.exists(P(kubeconfig)):
            raise KubeadmError("failed to load admin kubeconfig: open %s: no such file or directory" % kubeconfig)
        return Api(Kubeconfig.load(kubeconfig))
    for f in ("/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"):
        if exists(f):
            return Api(Kubeconfig.load(f))
    raise KubeadmError("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory")


def kubeadm_upload_certs_phase(argv):
    if flag(argv, "upload-certs") != "true":
        out("[upload-certs] Skipping phase. Please see --upload-certs")
        return
    key = flag(argv, "certificate-key")
    if flag(argv, "config"):
        docs = load_config(flag(argv, "config"))
        key = key or (docs.get("InitConfiguration") or {}).get("certificateKey")
    key = key or secrets.token_hex(32)
    api = admin_api(flag(argv, "kubeconfig"))
    cc = yaml.safe_load(retry_api(lambda: api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config"), 60)
                        ["data"]["ClusterConfiguration"])
    retry_api(lambda: upload_certs(api, key, cc), 60)


def discovery(endpoint, token, hashes, timeout, unsafe=False):
    m = TOKEN_RE.match(token or "")
    if not m:
        raise KubeadmError('the bootstrap token "%s" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"' % token,
                           "preflight")
    tid, tsec = m.groups()
    pins = []
    for h in hashes:
        fmt, _, value = h.partition(":")
        if not _:
            raise KubeadmError('invalid hash "%s", expected "format:hex-value"' % h, "preflight")
        if fmt.lower() != "sha256":
            raise KubeadmError('unknown hash format "%s". Known format(s) are: sha256' % fmt, "preflight")
        if len(value) // 2 != 32:
            raise KubeadmError("expected a 32 byte SHA-256 hash, found %d bytes" % (len(value) // 2), "preflight")
        if not re.match(r"^[0-9a-fA-F]+$", value):
            raise KubeadmError("could not decode SHA-256 from hex: encoding/hex: invalid byte", "preflight")
        pins.append("sha256:" + value.lower())
    if not pins and not unsafe:
        raise KubeadmError("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without "
                           "caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file "
                           "or pass --discovery-token-unsafe-skip-ca-verification flag to continue", "preflight")
    api = Api(Kubeconfig("https://" + endpoint, insecure=True), timeout=10)
    t0 = time.time()
    err = None
    cm = None
    while True:
        try:
            cm = api.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
            if "jws-kubeconfig-" + tid in (cm.get("data") or {}):
                err = None
                break
            err = 'could not find a JWS signature in the cluster-info ConfigMap for token ID "%s"' % tid
        except (ApiError, Unreachable) as e:
            err = 'Get "https://%s/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": %s' % (endpoint, e)
        if time.time() - t0 >= timeout:
            break
        time.sleep(min(5, max(0.5, timeout / 10)))
    if err:
        raise KubeadmError("couldn't validate the identity of the API Server: " + err, "preflight")
    data = cm["data"]
    kubeconfig = data.get("kubeconfig")
    if not kubeconfig:
        raise KubeadmError("couldn't validate the identity of the API Server: there is no kubeconfig key in the "
                           "cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect",
                           "preflight")
    if not jws_verify(data["jws-kubeconfig-" + tid], kubeconfig, tid, tsec):
        raise KubeadmError("couldn't validate the identity of the API Server: failed to verify JWS signature of received "
                           "cluster info object, can't trust this API Server", "preflight")
    kc = yaml.safe_load(kubeconfig)
    ca_pem = unb64(kc["clusters"][0]["cluster"]["certificate-authority-data"])
    if pins:
        have = spki_hash(ca_pem)
        if have not in pins:
            raise KubeadmError('couldn\'t validate the identity of the API Server: cluster CA found in cluster-info '
                               'ConfigMap is invalid: none of the public keys "%s" are pinned' % have, "preflight")
    # second round, validating TLS against the pinned CA
    secure = Api(Kubeconfig("https://" + endpoint, ca=ca_pem), timeout=10)
    cm2 = secure.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
    if cm2["data"].get("kubeconfig") != kubeconfig:
        raise KubeadmError("couldn't validate the identity of the API Server: the second kubeconfig from the cluster-info "
                           "ConfigMap (using validated TLS) was different from the first", "preflight")
    return ca_pem, kc["clusters"][0]["cluster"]["server"]


def etcd_client_local(endpoints):
    return Etcd(endpoints, PKI + "/etcd/ca.crt", PKI + "/apiserver-etcd-client.crt", PKI + "/apiserver-etcd-client.key")


def kubeadm_join(argv):
    cfg_path = flag(argv, "config")
    pos = positional(argv, takes_value=("token", "discovery-token", "tls-bootstrap-token", "discovery-token-ca-cert-hash",
                                        "certificate-key", "node-name", "apiserver-advertise-address",
                                        "apiserver-bind-port", "cri-socket", "ignore-preflight-errors", "config",
                                        "discovery-file", "v"))
    if cfg_path:
        mixed = [f for f in ("token", "discovery-token-ca-cert-hash", "certificate-key", "node-name",
                             "apiserver-advertise-address") if flag(argv, f) is not None]
        if mixed or pos:
            raise KubeadmError("can not mix '--config' with arguments [%s]" % " ".join(mixed + (["endpoint"] if pos else [])))
        docs = load_config(cfg_path)
        jc = docs.get("JoinConfiguration")
        if jc is None:
            raise KubeadmError("no JoinConfiguration kind was found in the YAML file")
    else:
        tok = flag(argv, "token")
        jc = {"discovery": {"bootstrapToken": {"token": flag(argv, "discovery-token") or tok,
                                               "apiServerEndpoint": pos[0] if pos else "",
                                               "caCertHashes": [h for h in (flag(argv, "discovery-token-ca-cert-hash") or "").split(",") if h],
                                               "unsafeSkipCAVerification": flag(argv, "discovery-token-unsafe-skip-ca-verification") == "true"},
                            "tlsBootstrapToken": flag(argv, "tls-bootstrap-token") or tok},
              "nodeRegistration": {k: v for k, v in (("name", flag(argv, "node-name")),
                                                     ("criSocket", flag(argv, "cri-socket"))) if v}}
        if flag(argv, "control-plane") == "true":
            jc["controlPlane"] = {"certificateKey": flag(argv, "certificate-key") or "",
                                  "localAPIEndpoint": {"advertiseAddress": flag(argv, "apiserver-advertise-address") or ""}}
        docs = {"JoinConfiguration": jc}
        # flags given several times: kubeadm takes the hash list
        hashes = [a.split("=", 1)[1] if "=" in a else None for a in argv if a.startswith("--discovery-token-ca-cert-hash")]
        if len(hashes) > 1:
            jc["discovery"]["bootstrapToken"]["caCertHashes"] = [h for h in hashes if h]
    bt = (jc.get("discovery") or {}).get("bootstrapToken") or {}
    endpoint = bt.get("apiServerEndpoint") or ""
    if not endpoint:
        raise KubeadmError("discovery.bootstrapToken.apiServerEndpoint: Invalid value: \"\": the API server endpoint "
                           "must be set")
    nr = jc.get("nodeRegistration") or {}
    node = (nr.get("name") or hostname()).lower()
    cp = jc.get("controlPlane")
    timeouts = jc.get("timeouts") or {}
    ignore = [x.lower() for x in (flag(argv, "ignore-preflight-errors") or "").split(",") if x] + \
        [x.lower() for x in nr.get("ignorePreflightErrors") or []]
    disc_timeout = dur(os.environ.get("KUBEADM_STANDIN_DISCOVERY_TIMEOUT") or timeouts.get("discovery"), 300)
    api_timeout = dur(timeouts.get("kubernetesAPICall"), 60)
    out("[preflight] Running pre-flight checks")
    preflight("node", ignore, extra_files=["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf",
                                           PKI + "/ca.crt"], ports=[10250])
    ca_pem, server = discovery(endpoint, bt.get("token"), bt.get("caCertHashes") or [], disc_timeout,
                               bt.get("unsafeSkipCAVerification"))
    tls_tok = jc.get("discovery", {}).get("tlsBootstrapToken") or bt.get("token")
    boot = Api(Kubeconfig(server, ca=ca_pem, token=tls_tok))
    out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    out("[preflight] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.")
    try:
        cm = retry_api(lambda: boot.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config"), api_timeout)
    except ApiError as e:
        raise KubeadmError("unable to fetch the kubeadm-config ConfigMap: %s" % e, "preflight")
    cc = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    existing = None
    try:
        existing = boot.get_or_none("/api/v1/nodes/" + node)
    except ApiError:
        pass
    if existing:
        ready = next((x for x in (existing.get("status") or {}).get("conditions") or [] if x.get("type") == "Ready"), {})
        if ready.get("status") == "True":
            raise KubeadmError('a Node with name "%s" and status "Ready" already exists in the cluster. You must delete '
                               'the existing Node or change the name of this new joining Node' % node,
                               "kubelet-start")
    if cp is not None and not cc.get("controlPlaneEndpoint"):
        raise KubeadmError(CP_CONDITIONS % "unable to add a new control plane instance to a cluster that doesn't have a "
                           "stable controlPlaneEndpoint address", "preflight")
    adv = ((cp or {}).get("localAPIEndpoint") or {}).get("advertiseAddress") or default_ip()
    bind_port = int(((cp or {}).get("localAPIEndpoint") or {}).get("bindPort") or 6443)
    c = Cluster(cc, node, adv, bind_port)
    if cp is not None:
        out("[preflight] Running pre-flight checks before initializing the new control plane instance")
        preflight("controlplane", ignore,
                  extra_files=["/etc/kubernetes/manifests/kube-apiserver.yaml",
                               "/etc/kubernetes/manifests/kube-controller-manager.yaml",
                               "/etc/kubernetes/manifests/kube-scheduler.yaml", "/etc/kubernetes/manifests/etcd.yaml"],
                  ports=[bind_port, 10259, 10257, 2379, 2380], dirs=["/var/lib/etcd"])
        out("[preflight] Pulling images required for setting up a Kubernetes cluster")
        out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
        out("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
        pull_images(c)
        if not cp.get("certificateKey") and not exists(PKI + "/ca.key"):
            raise KubeadmError(CP_CONDITIONS % ("[failure loading certificate for CA: couldn't load the certificate file "
                                                "%s/ca.crt: open %s/ca.crt: no such file or directory]" % (PKI, PKI)),
                               "preflight")
        if cp.get("certificateKey"):
            download_certs(boot, cp["certificateKey"])
        gen_control_plane_certs(c, have_ca=True)
        write_kubeconfigs(c, init=False)
        write_control_plane_manifests(c)
        out("[check-etcd] Checking that the etcd cluster is healthy")
        admin = Api(Kubeconfig.load("/etc/kubernetes/admin.conf"))
        pods = retry_api(lambda: admin.get("/api/v1/namespaces/kube-system/pods?labelSelector=component%3Detcd"),
                         api_timeout)["items"]
        endpoints = [p["metadata"].get("annotations", {}).get("kubeadm.kubernetes.io/etcd.advertise-client-urls")
                     for p in pods]
        endpoints = [e for e in endpoints if e]
        if not endpoints:
            raise KubeadmError("etcd cluster is not healthy: no etcd endpoints found in the kube-system etcd Pods",
                               "check-etcd")
        etcd = etcd_client_local(endpoints)
        try:
            etcd.members()
        except EtcdError as e:
            raise KubeadmError("etcd cluster is not healthy: failed to dial endpoint %s with maintenance client: %s"
                               % (endpoints[0], e), "check-etcd")
    # kubelet-start
    kcfg_cm = retry_api(lambda: boot.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config"), api_timeout)
    kcfg = yaml.safe_load(kcfg_cm["data"]["kubelet"])
    write("/etc/kubernetes/bootstrap-kubelet.conf",
          make_kubeconfig(server, ca_pem, "tls-bootstrap-token-user", token=tls_tok, cluster="kubernetes"), 0o600)
    write(PKI + "/ca.crt", ca_pem)
    write_kubelet_files(c, kcfg, nr)
    restart_kubelet()
    wait_kubelet(dur(timeouts.get("kubeletHealthCheck"), 240), "kubelet-start")
    out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    t0 = time.time()
    tls_timeout = dur(timeouts.get("tlsBootstrap"), 300)
    while not exists("/etc/kubernetes/kubelet.conf"):
        if time.time() - t0 > tls_timeout:
            raise KubeadmError("timed out waiting for the condition", "kubelet-start")
        time.sleep(0.5)
    if cp is not None:
        etcd_join(c, etcd, dur(os.environ.get("KUBEADM_STANDIN_ETCD_API_TIMEOUT") or timeouts.get("etcdAPICall"), 120))
        mark_control_plane(admin, node, nr.get("taints"), 120)
        out()
        out("This node has joined the cluster and a new control plane instance was created:")
        out()
        out("* Certificate signing request was sent to apiserver and approval was received.")
        out("* The Kubelet was informed of the new secure connection details.")
        out("* Control plane label and taint were applied to the new node.")
        out("* The Kubernetes control plane instances scaled up.")
        out("* A new etcd member was added to the local/stacked etcd cluster.")
        out()
        out("To start administering your cluster from this node, you need to run the following as a regular user:")
        out()
        out("\tmkdir -p $HOME/.kube")
        out("\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
        out("\tsudo chown $(id -u):$(id -g) $HOME/.kube/config")
        out()
        out("Run 'kubectl get nodes' to see this node join the cluster.")
        out()
    else:
        out()
        out("This node has joined the cluster:")
        out("* Certificate signing request was sent to apiserver and a response was received.")
        out("* The Kubelet was informed of the new secure connection details.")
        out()
        out("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.")
        out()


CP_CONDITIONS = """
One or more conditions for hosting a new control plane instance is not satisfied.

%s

Please ensure that:
* The cluster has a stable controlPlaneEndpoint address.
* The certificates that must be shared among control plane instances are provided.

"""


def etcd_join(c, etcd, timeout):
    peer = "https://%s:2380" % c.adv
    t0 = time.time()
    last = None
    members = None
    while time.time() - t0 < timeout:
        try:
            members = etcd.members()
            if any(peer in (m.get("peerURLs") or []) for m in members):
                break
            etcd.member_add(peer)
            members = etcd.members()
            break
        except EtcdError as e:
            last = e
            time.sleep(2)
    else:
        raise KubeadmError("error creating local etcd static pod manifest file: %s" % last, "control-plane-join/etcd")
    out("[etcd] Announced new etcd member joining to the existing etcd cluster")
    init = []
    for m in members:
        urls = m.get("peerURLs") or []
        name = m.get("name") or (c.node if peer in urls else "")
        if name:
            init += ["%s=%s" % (name, u) for u in urls]
    write_etcd_manifest(c, ",".join(init), True)
    out('[etcd] Creating static Pod manifest for "etcd"')
    out("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s")
    t0 = time.time()
    while time.time() - t0 < 40:
        try:
            ms = etcd.members()
            if any(peer in (m.get("peerURLs") or []) and m.get("name") for m in ms):
                return
        except EtcdError:
            pass
        time.sleep(1)
    raise KubeadmError("error creating local etcd static pod manifest file: timeout waiting for etcd cluster to be "
                       "available", "control-plane-join/etcd")


def kubeadm_reset(argv):
    force = flag(argv, "force") == "true" or "-f" in argv
    if not force:
        sys.stdout.write("W%s reset.go] [reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' "
                         "will be reverted.\n[reset] Are you sure you want to proceed? [y/N]: " % time.strftime("%m%d"))
        sys.stdout.flush()
        ans = sys.stdin.readline().strip().lower()
        if ans != "y":
            raise KubeadmError("aborted reset operation", "preflight")
    out("[preflight] Running pre-flight checks")
    if exists("/etc/kubernetes/manifests/etcd.yaml"):
        last = None
        try:
            me = "https://%s:2380" % default_ip()
            endpoints = ["https://127.0.0.1:2379"]
            pod = yaml.safe_load(read("/etc/kubernetes/manifests/etcd.yaml"))
            for a in pod["spec"]["containers"][0]["command"]:
                if a.startswith("--initial-advertise-peer-urls="):
                    me = a.split("=", 1)[1]
                if a.startswith("--initial-cluster="):
                    for member in a.split("=", 1)[1].split(","):
                        url = member.split("=", 1)[-1]
                        endpoints.append(url.replace(":2380", ":2379"))
            etcd = etcd_client_local(endpoints)
            etcd.timeout = 3
            t0 = time.time()
            while time.time() - t0 < 40:  # etcd refuses while a member joined less than 5 s ago
                try:
                    ms = etcd.members()
                    mine = [m for m in ms if me in (m.get("peerURLs") or [])]
                    if len(ms) > 1 and mine:
                        etcd.member_remove(mine[0]["ID"])
                    last = None
                    break
                except EtcdError as e:
                    last = e
                    time.sleep(2)
        except (OSError, ValueError, KeyError, TypeError) as e:
            last = e
        if last is not None:
            klog("W", "[reset] Failed to remove etcd member: %s\n.Please manually remove this etcd member using etcdctl"
                 % last)
    if os.path.isdir(P("/var/lib/etcd")):
        out("[reset] Deleted contents of the etcd data directory: /var/lib/etcd")
        for e in os.listdir(P("/var/lib/etcd")):
            shutil.rmtree(os.path.join(P("/var/lib/etcd"), e), ignore_errors=True)
    out("[reset] Stopping the kubelet service")
    if systemd_available():
        run(["systemctl", "stop", "kubelet"], check=False)
    out('[reset] Unmounting mounted directories in "/var/lib/kubelet"')
    reset_unmount_kubelet_dir()
    dirs = ["/etc/kubernetes/manifests", "/var/lib/kubelet", PKI]
    out("[reset] Deleting contents of directories: [%s]" % " ".join(dirs))
    for d in dirs:
        if os.path.isdir(P(d)):
            for e in os.listdir(P(d)):
                p = os.path.join(P(d), e)
                try:
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)
                except OSError as err:
                    klog("W", "[reset] Failed to delete %s: %s" % (p, err))
    files = ["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf",
             "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/controller-manager.conf",
             "/etc/kubernetes/scheduler.conf"]
    out("[reset] Deleting files: [%s]" % " ".join(files))
    for f in files:
        try:
            os.unlink(P(f))
        except OSError:
            pass
    out()
    out("The reset process does not perform cleanup of CNI plugin configuration,")
    out("network filtering rules and kubeconfig files.")
    out()
    out("For information on how to perform this cleanup manually, please see:")
    out("    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/")
    out()


def reset_unmount_kubelet_dir():
    """kubeadm reset's unmountKubeletDirectory (cmd/kubeadm/app/cmd/phases/reset/unmount_linux.go):
    every mount under /var/lib/kubelet/ (symlinks resolved; the directory itself is skipped by
    the trailing "/"), in /proc/mounts order, before the directory's contents are deleted, so
    that a pod's volume is never deleted into. Any failure ends the reset, in kubeadm's words."""
    if ROOT or not os.path.isdir("/var/lib/kubelet"):
        return  # development mode: nothing of the node's is mounted under ROOT
    d = os.path.realpath("/var/lib/kubelet")
    prefix = d.rstrip("/") + "/"
    errs = []
    with open("/proc/mounts") as f:
        mounts = [line.split(" ") for line in f.read().split("\n")]
    for m in mounts:
        if len(m) < 2:
            continue
        target = m[1].replace("\\040", " ")
        if not target.startswith(prefix):
            continue
        r = run(["umount", target], check=False)
        if r.returncode != 0:
            why = r.stderr.decode(errors="replace").strip().rsplit(": ", 1)[-1] or "device or resource busy"
            errs.append('failed to unmount "%s": %s' % (target, why))
    if errs:
        raise KubeadmError('could not unmount mounted directories in "%s": encountered the following errors while '
                           'unmounting directories in "%s": [%s]' % (d, prefix, ", ".join(errs)), "cleanup-node")


def kubeadm_token(argv):
    sub = positional(argv, takes_value=("ttl", "description", "usages", "groups", "kubeconfig", "certificate-key",
                                        "config"))
    cmd = sub[0] if sub else ""
    if cmd == "generate":
        out(gen_token())
        return
    api = admin_api(flag(argv, "kubeconfig"))
    if cmd == "create":
        bt = {}
        if flag(argv, "config"):
            docs = load_config(flag(argv, "config"))
            bt = ((docs.get("InitConfiguration") or {}).get("bootstrapTokens") or [{}])[0] or {}
        tok = sub[1] if len(sub) > 1 else (bt.get("token") or gen_token())
        if not TOKEN_RE.match(tok):
            raise KubeadmError('the bootstrap token "%s" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"' % tok)
        ttl = dur(flag(argv, "ttl") or bt.get("ttl"), 86400)
        usages = tuple((flag(argv, "usages") or "").split(",")) if flag(argv, "usages") else \
            tuple(bt.get("usages") or ("signing", "authentication"))
        groups = tuple((flag(argv, "groups") or "").split(",")) if flag(argv, "groups") else \
            tuple(bt.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",))
        try:
            retry_api(lambda: api.create("/api/v1/namespaces/kube-system/secrets",
                                         token_secret_obj(tok, ttl, usages, groups,
                                                          flag(argv, "description") or bt.get("description"))), 60)
        except ApiError as e:
            if e.code == 409:
                raise KubeadmError('failed to create or update bootstrap token with name %s: secrets "%s" already exists'
                                   % ("bootstrap-token-" + tok.split(".")[0], "bootstrap-token-" + tok.split(".")[0]))
            raise
        if flag(argv, "print-join-command") == "true":
            cc = yaml.safe_load(retry_api(lambda: api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config"),
                                          60)["data"]["ClusterConfiguration"])
            cahash = spki_hash(read(PKI + "/ca.crt", binary=True))
            line = "kubeadm join %s --token %s --discovery-token-ca-cert-hash %s " % (cc["controlPlaneEndpoint"], tok, cahash)
            if flag(argv, "certificate-key"):
                line += "--control-plane --certificate-key %s " % flag(argv, "certificate-key")
            out(line)
        else:
            out(tok)
    elif cmd == "list":
        # kubeadm's text printer writes the header with the first token: no tokens, no output.
        header = True
        for s in api.get("/api/v1/namespaces/kube-system/secrets").get("items", []):
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            if header:
                out("TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION"
                    "                                                EXTRA GROUPS")
                header = False
            d = {k: unb64(v).decode() for k, v in (s.get("data") or {}).items()}
            exp = d.get("expiration")
            ttl = "<forever>" if not exp else fmt_dur_short((parse_rfc3339(exp) - now()).total_seconds())
            usages = ",".join(k[len("usage-bootstrap-"):] for k in sorted(d) if k.startswith("usage-bootstrap-")) or "<none>"
            out("%-25s %-11s %-22s %-24s %-58s %s" % (d["token-id"] + "." + d["token-secret"], ttl, exp or "<never>", usages,
                                                      d.get("description", "<none>"), d.get("auth-extra-groups", "")))
    elif cmd == "delete":
        for t in sub[1:]:
            tid = t.split(".")[0]
            api.delete("/api/v1/namespaces/kube-system/secrets/bootstrap-token-" + tid)
            out('bootstrap token "%s" deleted' % tid)
    else:
        raise KubeadmError('unknown command "%s" for "kubeadm token"' % cmd)


def fmt_dur_short(s):
    s = max(0, int(s))
    if s >= 86400 * 365:
        return "%dy" % (s // (86400 * 365))
    if s >= 86400:
        return "%dd" % (s // 86400)
    if s >= 3600:
        return "%dh" % (s // 3600)
    if s >= 60:
        return "%dm" % (s // 60)
    return "%ds" % s


def kubeadm_check_expiration(argv):
    out('[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    out("[check-expiration] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.")
    out()

    def row(name, pem):
        end = cert_enddate(pem)
        return end.strftime("%b %d, %Y %H:%M UTC"), fmt_dur_short((end - now()).total_seconds())
    certs = [("admin.conf", "conf", "ca"), ("apiserver", "apiserver.crt", "ca"),
             ("apiserver-etcd-client", "apiserver-etcd-client.crt", "etcd-ca"),
             ("apiserver-kubelet-client", "apiserver-kubelet-client.crt", "ca"),
             ("controller-manager.conf", "conf", "ca"), ("etcd-healthcheck-client", "etcd/healthcheck-client.crt", "etcd-ca"),
             ("etcd-peer", "etcd/peer.crt", "etcd-ca"), ("etcd-server", "etcd/server.crt", "etcd-ca"),
             ("front-proxy-client", "front-proxy-client.crt", "front-proxy-ca"), ("scheduler.conf", "conf", "ca"),
             ("super-admin.conf", "conf", "ca")]
    out("%-26s %-24s %-15s %-23s %s" % ("CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY",
                                        "EXTERNALLY MANAGED"))
    for name, f, ca in certs:
        if f == "conf":
            if not exists("/etc/kubernetes/" + name):
                continue
            pem = Kubeconfig.load("/etc/kubernetes/" + name).cert
        else:
            pem = read(PKI + "/" + f, binary=True)
            if pem is None:
                continue
        exp, res = row(name, pem)
        out("%-26s %-24s %-15s %-23s %s" % (name, exp, res, ca, "no"))
    out()
    out("%-23s %-24s %-15s %s" % ("CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"))
    for name, f in (("ca", "ca.crt"), ("etcd-ca", "etcd/ca.crt"), ("front-proxy-ca", "front-proxy-ca.crt")):
        pem = read(PKI + "/" + f, binary=True)
        if pem is None:
            continue
        exp, res = row(name, pem)
        out("%-23s %-24s %-15s %s" % (name, exp, res, "no"))


def main_kubeadm(argv):
    args = [a for a in argv if not re.match(r"^--v=\d+$|^-v=?\d+$", a)]
    cmd = positional(args, takes_value=("config", "token", "discovery-token-ca-cert-hash", "certificate-key", "node-name",
                                        "ttl", "description", "kubeconfig", "ignore-preflight-errors", "output", "o",
                                        "pod-network-cidr", "service-cidr", "control-plane-endpoint", "kubernetes-version",
                                        "apiserver-advertise-address", "cri-socket", "token-ttl", "usages", "groups",
                                        "discovery-token", "tls-bootstrap-token"))
    try:
        if not cmd:
            out("kubeadm: easily bootstrap a secure Kubernetes cluster (stand-in; see tests/lab/k8s/README.md)")
            return 0
        if cmd[0] == "version":
            o = flag(args, "output") or flag(args, "o") or ("short" if "-o" in args and "short" in args else None)
            if o == "short" or (("-o" in args) and "short" in args):
                out("v" + version())
            else:
                v = version()
                out('kubeadm version: &version.Info{Major:"1", Minor:"%s", EmulationMajor:"", EmulationMinor:"", '
                    'MinCompatibilityMajor:"", MinCompatibilityMinor:"", GitVersion:"v%s", GitCommit:"standin", '
                    'GitTreeState:"clean", BuildDate:"2026-11-01T00:00:00Z", GoVersion:"go1.25.3", Compiler:"gc", '
                    'Platform:"linux/amd64"}' % (v.split(".")[1], v))
            return 0
        if cmd[0] == "init":
            if len(cmd) >= 3 and cmd[1] == "phase" and cmd[2] == "upload-certs":
                kubeadm_upload_certs_phase(args)
            elif len(cmd) >= 2 and cmd[1] == "phase":
                raise KubeadmError('unknown command "%s" for "kubeadm init phase"' % (cmd[2] if len(cmd) > 2 else ""))
            else:
                kubeadm_init(args)
        elif cmd[0] == "join":
            args.remove("join")
            kubeadm_join(args)
        elif cmd[0] == "reset":
            kubeadm_reset(args)
        elif cmd[0] == "token":
            kubeadm_token(args[args.index("token") + 1:])
        elif cmd[0] == "certs" and len(cmd) > 1 and cmd[1] == "check-expiration":
            kubeadm_check_expiration(args)
        elif cmd[0] == "certs" and len(cmd) > 2 and cmd[1] == "renew":
            kubeadm_certs_renew(args, cmd[2])
        elif cmd[0] == "certs" and len(cmd) > 1 and cmd[1] == "certificate-key":
            out(secrets.token_hex(32))
        elif cmd[0] == "config" and len(cmd) > 2 and cmd[1] == "images":
            for img in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
                line = "registry.k8s.io/%s:v%s" % (img, version())
                out(("[config/images] Pulled " + line) if cmd[2] == "pull" else line)
            for extra in ("registry.k8s.io/coredns/coredns:v1.12.1", "registry.k8s.io/pause:3.10.1",
                          "registry.k8s.io/etcd:" + ETCD_IMAGE_TAG):
                out(("[config/images] Pulled " + extra) if cmd[2] == "pull" else extra)
        elif cmd[0] == "upgrade":
            kubeadm_upgrade(args, cmd)
        elif cmd[0] == "config" and len(cmd) > 1 and cmd[1] == "validate":
            docs = load_config(flag(args, "config"), strict=True)
            validate_cluster(docs.get("ClusterConfiguration") or {}, docs.get("InitConfiguration"))
            out("ok")
        else:
            raise KubeadmError('unknown command "%s" for "kubeadm"' % " ".join(cmd))
    except (ApiError, Unreachable, EtcdError) as e:
        sys.stderr.write("error: %s\n" % e)
        sys.stderr.write("To see the stack trace of this error execute with --v=5 or higher\n")
        return 1
    except KubeadmError as e:
        if e.phase:
            sys.stderr.write("error: error execution phase %s: %s\n" % (e.phase, e))
        else:
            sys.stderr.write("error: %s\n" % e)
        sys.stderr.write("To see the stack trace of this error execute with --v=5 or higher\n")
        return 1
    return 0



# ---------------------------------------------------------------- kubeadm certs renew (issue 16)
# As kubeadm's `certs renew all` (cmd/kubeadm/app/cmd/certs.go, phases/certs/renewal): every
# leaf certificate kubeadm manages and the client certificate embedded in admin.conf,
# super-admin.conf, controller-manager.conf and scheduler.conf signed again by the local CA
# with a new key, the same subject and extensions (SANs) and a fresh year; kubelet.conf is
# left alone (the kubelet rotates its own). Nothing is restarted: a running API server keeps
# serving the certificate it loaded at start until its static pod restarts, as the real one.

RENEW_CERTS = [
    ("admin.conf", "conf", "ca", "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"),
    ("apiserver", "apiserver", "ca", "certificate for serving the Kubernetes API"),
    ("apiserver-etcd-client", "apiserver-etcd-client", "etcd/ca", "certificate the apiserver uses to access etcd"),
    ("apiserver-kubelet-client", "apiserver-kubelet-client", "ca", "certificate for the API server to connect to kubelet"),
    ("controller-manager.conf", "conf", "ca",
     "certificate embedded in the kubeconfig file for the controller manager to use"),
    ("etcd-healthcheck-client", "etcd/healthcheck-client", "etcd/ca", "certificate for liveness probes to healthcheck etcd"),
    ("etcd-peer", "etcd/peer", "etcd/ca", "certificate for etcd nodes to communicate with each other"),
    ("etcd-server", "etcd/server", "etcd/ca", "certificate for serving etcd"),
    ("front-proxy-client", "front-proxy-client", "front-proxy-ca", "certificate for the front proxy client"),
    ("scheduler.conf", "conf", "ca", "certificate embedded in the kubeconfig file for the scheduler manager to use"),
    ("super-admin.conf", "conf", "ca", "certificate embedded in the kubeconfig file for the super-admin"),
]


def renew_cert_pem(old_pem, ca_name, days=365):
    """(cert, key) PEMs: OLD's subject and extensions, a new key of the same kind, signed by CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    old = x509.load_pem_x509_certificate(old_pem)
    ca_pem = read(PKI + "/" + ca_name + ".crt", binary=True)
    ca_key_pem = read(PKI + "/" + ca_name + ".key", binary=True)
    if ca_pem is None or ca_key_pem is None:
        raise KubeadmError("failed to renew certificate: the certificate authority %s is not available locally "
                           "(external CA)" % ca_name)
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    pub = old.public_key()
    key = ec.generate_private_key(ec.SECP256R1()) if isinstance(pub, ec.EllipticCurvePublicKey) \
        else rsa.generate_private_key(public_exponent=65537, key_size=pub.key_size)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    b = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days, minutes=5)))
    for ext in old.extensions:
        if ext.oid == x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            continue
        b = b.add_extension(ext.value, ext.critical)
    cert = b.sign(ca_key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def kubeadm_certs_renew(argv, which):
    names = [c[0] for c in RENEW_CERTS]
    if which != "all" and which not in names:
        raise KubeadmError('unknown command "%s" for "kubeadm certs renew"' % which)
    out("[renew] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...")
    out("[renew] Use 'kubeadm init phase upload-config --config your-config-file' to re-upload it.")
    out()
    for name, f, ca, long_name in RENEW_CERTS:
        if which not in ("all", name):
            continue
        if f == "conf":
            path = "/etc/kubernetes/" + name
            if not exists(path):
                continue
            cfg = yaml.safe_load(read(path))
            user = cfg["users"][0]["user"]
            crt, key = renew_cert_pem(unb64(user["client-certificate-data"]), ca)
            user["client-certificate-data"], user["client-key-data"] = b64(crt), b64(key)
            write(path, yaml.safe_dump(cfg, default_flow_style=False, sort_keys=True), 0o600)
        else:
            old = read(PKI + "/" + f + ".crt", binary=True)
            if old is None:
                continue
            crt, key = renew_cert_pem(old, ca)
            write(PKI + "/" + f + ".key", key, 0o600)
            write(PKI + "/" + f + ".crt", crt, 0o644)
        out(long_name + " renewed")
    if which == "all":
        out()
        out("Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, "
            "kube-scheduler and etcd, so that they can use the new certificates.")

# ---------------------------------------------------------------- end of kubeadm certs renew

# ---------------------------------------------------------------- kubelet

def kubelet_fail(msg):
    klog("E", '"command failed" err="%s"' % msg.replace('"', '\\"'))
    sys.exit(1)


def cgroup_fs_type():
    """statfs(/sys/fs/cgroup) as the kubelet reads it: cgroup2 on a unified (v2) host."""
    try:
        t = run(["stat", "-fc", "%T", "/sys/fs/cgroup"], check=False).stdout.decode().strip()
        if t:
            return "cgroup2" if t == "cgroup2fs" else t
    except OSError:
        pass
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                parts = line.split()
                if parts[4] == "/sys/fs/cgroup":
                    return parts[parts.index("-") + 1]
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def containerd_info(sock):
    """(version, systemd_cgroup, cri_disabled) as the runtime reports them."""
    ver = None
    r = None
    try:
        r = run(["ctr", "--address", sock.replace("unix://", ""), "version"], check=False)
    except OSError:
        pass
    if r is not None and r.returncode == 0:
        m = re.search(r"Server:\s*\n\s*Version:\s*v?(\S+)", r.stdout.decode())
        if m:
            ver = m.group(1)
    if ver is None:
        try:
            r = run(["containerd", "--version"], check=False)
            m = re.search(r"containerd\s+\S+\s+v?(\d+\.\d+\.\d+)", r.stdout.decode())
            ver = m.group(1) if m else None
        except OSError:
            pass
    dump = ""
    try:
        dump = run(["containerd", "config", "dump"], check=False).stdout.decode()
    except OSError:
        pass
    systemd = None
    section = None
    for line in dump.splitlines():
        s = line.strip()
        if s.startswith("["):
            section = s
        m = re.match(r"SystemdCgroup\s*=\s*(true|false)", s)
        if m and section and "runtimes.runc.options" in section:
            systemd = m.group(1) == "true"
    if systemd is None:
        systemd = False
    cri_disabled = bool(re.search(r"""disabled_plugins\s*=\s*\[[^\]]*["'](io\.containerd\.grpc\.v1\.)?cri["']""", dump))
    return ver, systemd, cri_disabled


class StaticPod:
    def __init__(self, kubelet, path):
        self.k = kubelet
        self.path = path
        self.proc = None
        self.restarts = 0
        self.started = 0
        self.next_start = 0
        self.load()

    def load(self):
        self.raw = read(self.path) or ""
        self.pod = yaml.safe_load(self.raw) or {}
        self.name = self.pod.get("metadata", {}).get("name", os.path.basename(self.path))

    def argv(self):
        c = self.pod["spec"]["containers"][0]
        image = c["image"].rsplit("/", 1)[-1].split(":")[0]
        cmd = list(c.get("command") or []) + list(c.get("args") or [])
        if ROOT:  # development mode: the node's files live under ROOT
            cmd = [re.sub(r"(=|,)(/etc/kubernetes|/var/lib/etcd)", lambda m: m.group(1) + ROOT + m.group(2), a)
                   for a in cmd]
        exe = os.path.join(IMAGES, image, os.path.basename(cmd[0]))
        return image, [exe] + cmd[1:]

    def start(self):
        image, argv = self.argv()
        if not os.path.exists(argv[0]):
            klog("E", '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"%s\\" with ErrImagePull" '
                 'pod="kube-system/%s"' % (self.name, self.name))
            self.next_start = time.time() + 10
            return
        logdir = "/var/log/pods/kube-system_%s-%s" % (self.name, self.k.node)
        os.makedirs(P(logdir), exist_ok=True)
        log = open(P(logdir + "/%s.log" % self.name), "ab")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        # A control-plane image runs the version its tag names (what kubeadm upgrade changes).
        tag = self.pod["spec"]["containers"][0]["image"].rsplit(":", 1)[-1]
        if re.match(r"^v\d+\.\d+\.\d+$", tag):
            env["KHA_STANDIN_VERSION"] = tag[1:]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=env)
        log.close()
        self.started = time.time()
        klog("I", '"Started static pod container" pod="kube-system/%s-%s" pid=%d' % (self.name, self.k.node, self.proc.pid))

    def poll(self):
        if self.proc is None:
            if time.time() >= self.next_start:
                self.start()
            return
        rc = self.proc.poll()
        if rc is None:
            return
        self.proc = None
        if time.time() - self.started > 60:
            self.restarts = 0
        backoff = min(300, 10 * (2 ** self.restarts)) if self.restarts else 1
        self.restarts += 1
        self.next_start = time.time() + backoff
        klog("E", '"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"%s\\" with CrashLoopBackOff: '
             '\\"back-off %s restarting failed container=%s pod=%s-%s\\"" exitCode=%d'
             % (self.name, fmt_dur(backoff), self.name, self.name, self.k.node, rc))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Kubelet:
    def __init__(self, args):
        self.args = args
        self.pods = {}
        self.lock = threading.Lock()
        self.api = None
        self.registered = False
        self.mirrors = {}
        self.ready_since = None

    def fail_checks(self):
        cfg_path = self.args.get("config")
        if not cfg_path:
            kubelet_fail("failed to run Kubelet: no config file (--config) given; the kubelet needs the configuration "
                         "written by kubeadm")
        text = read(cfg_path)
        if text is None:
            kubelet_fail("failed to load kubelet config file, path: %s, error: failed to load Kubelet config file %s, "
                         "error failed to read kubelet config file \"%s\", error: open %s: no such file or directory"
                         % (cfg_path, cfg_path, cfg_path, cfg_path))
        self.cfg = yaml.safe_load(text) or {}
        self.node = (self.args.get("hostname-override") or hostname()).lower()
        if minor() >= 35 and cgroup_fs_type() != "cgroup2" and self.cfg.get("failCgroupV1", True) is not False:
            kubelet_fail("failed to validate kubelet configuration, error: kubelet is configured to not run on a host "
                         "using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release, "
                         "path: &TypeMeta{Kind:,APIVersion:,}")
        on, lines = swap_on()
        if on and self.cfg.get("failSwapOn", True) is not False:
            kubelet_fail("failed to run Kubelet: running with swap on is not supported, please disable swap or set "
                         "--fail-swap-on flag to false")
        endpoint = self.args.get("container-runtime-endpoint") or self.cfg.get("containerRuntimeEndpoint") or CRI_SOCKET
        err = cri_check(endpoint)
        if err:
            kubelet_fail("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "
                         "\"%s\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while "
                         "dialing: dial unix %s: connect: no such file or directory\""
                         % (endpoint, endpoint.replace("unix://", "")))
        ver, systemd, cri_disabled = containerd_info(endpoint)
        self.runtime_version = ver or "unknown"
        if cri_disabled:
            kubelet_fail("failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "
                         "\"%s\": rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService"
                         % endpoint)
        major = int(ver.split(".")[0]) if ver and ver[0].isdigit() else 2
        driver = self.cfg.get("cgroupDriver") or "cgroupfs"
        runtime_driver = "systemd" if systemd else "cgroupfs"
        if major < 2:
            klog("E", '"RuntimeConfig from runtime service failed" err="rpc error: code = Unimplemented desc = unknown '
                 'method RuntimeConfig for service runtime.v1.RuntimeService"')
            if minor() >= 36:
                kubelet_fail("failed to run Kubelet: the container runtime does not support the RuntimeConfig CRI call "
                             "and this kubelet no longer falls back to its cgroupDriver setting: containerd %s is not "
                             "supported by Kubernetes v%s, upgrade the runtime to containerd 2.0 or later"
                             % (ver, version()))
            klog("I", '"CRI implementation should be updated to support RuntimeConfig when KubeletCgroupDriverFromCRI '
                 'feature gate has been enabled. Falling back to using cgroupDriver from kubelet config."')
        if driver != runtime_driver:
            kubelet_fail("failed to run Kubelet: misconfiguration: kubelet cgroup driver: \"%s\" is different from the "
                         "container runtime cgroup driver: \"%s\" (containerd: SystemdCgroup = %s)"
                         % (driver, runtime_driver, "true" if systemd else "false"))

    def run(self):
        self.fail_checks()
        klog("I", '"Kubelet version" kubeletVersion="v%s"' % version())
        hp = int(self.cfg.get("healthzPort", 10248))

        def healthz(h, method):
            return 200, "text/plain", b"ok"
        srv = http.server.ThreadingHTTPServer((self.cfg.get("healthzBindAddress", "127.0.0.1"), hp), make_handler(healthz))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        d = "/var/lib/kubelet/pki"
        os.makedirs(P(d), exist_ok=True)
        crt, key = self_signed(P(d), "kubelet")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv2 = TLSHTTPServer(("127.0.0.1" if ROOT else "0.0.0.0", 10250), make_handler(healthz), ctx)
        threading.Thread(target=srv2.serve_forever, daemon=True).start()
        signal.signal(signal.SIGTERM, self.shutdown)
        threading.Thread(target=self.node_loop, daemon=True).start()
        static = self.cfg.get("staticPodPath") or "/etc/kubernetes/manifests"
        while True:
            self.sync_static(static)
            time.sleep(1)

    def shutdown(self, *a):
        for p in list(self.pods.values()):
            p.stop()
        os._exit(0)

    def sync_static(self, d):
        try:
            files = sorted(f for f in os.listdir(P(d)) if f.endswith((".yaml", ".yml", ".json")) and not f.startswith("."))
        except OSError:
            files = []
        paths = {os.path.join(d, f) for f in files}
        with self.lock:
            for path in list(self.pods):
                if path not in paths:
                    self.pods.pop(path).stop()
            for path in paths:
                p = self.pods.get(path)
                if p is None:
                    try:
                        self.pods[path] = StaticPod(self, path)
                    except (yaml.YAMLError, KeyError, TypeError):
                        continue
                elif (read(path) or "") != p.raw:
                    p.stop()
                    p.load()
                    p.next_start = 0
            for p in self.pods.values():
                try:
                    p.poll()
                except (KeyError, IndexError, TypeError, OSError) as e:
                    klog("E", "static pod %s: %s" % (p.path, e))
        try:
            state = {p.name: {"pid": p.proc.pid if p.running() else None, "restarts": p.restarts,
                              "image": p.pod["spec"]["containers"][0]["image"], "started": p.started}
                     for p in self.pods.values()}
            write("/var/lib/kubelet/standin-pods.json", json.dumps(state))
        except (OSError, KeyError, IndexError):
            pass

    # --- API side
    def connect(self):
        kc = self.args.get("kubeconfig", "/etc/kubernetes/kubelet.conf")
        if exists(kc):
            return Api(Kubeconfig.load(kc))
        boot = self.args.get("bootstrap-kubeconfig")
        if boot and exists(boot):
            self.tls_bootstrap(boot, kc)
            return Api(Kubeconfig.load(kc))
        return None

    def tls_bootstrap(self, boot, kc_path):
        bkc = Kubeconfig.load(boot)
        api = Api(bkc)
        d = "/var/lib/kubelet/pki"
        gen_key(d + "/kubelet-client.key.tmp", "ECDSA-P256")
        csr = run(["openssl", "req", "-new", "-key", P(d + "/kubelet-client.key.tmp"),
                   "-subj", subj("system:node:" + self.node, ["system:nodes"])]).stdout
        obj = api.create("/apis/certificates.k8s.io/v1/certificatesigningrequests", {
            "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "node-csr-"},
            "spec": {"request": b64(csr), "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                     "usages": ["digital signature", "client auth"]}})
        cert = (obj.get("status") or {}).get("certificate")
        t0 = time.time()
        while not cert and time.time() - t0 < 300:
            time.sleep(1)
            obj = api.get("/apis/certificates.k8s.io/v1/certificatesigningrequests/" + obj["metadata"]["name"])
            cert = (obj.get("status") or {}).get("certificate")
        if not cert:
            raise ApiError(500, {"message": "timed out waiting for the CSR to be signed"})
        pem = unb64(cert) + read(d + "/kubelet-client.key.tmp", binary=True)
        name = "kubelet-client-%s.pem" % now().strftime("%Y-%m-%d-%H-%M-%S")
        write(d + "/" + name, pem, 0o600)
        try:
            os.unlink(P(d + "/kubelet-client-current.pem"))
        except OSError:
            pass
        os.symlink(P(d + "/" + name), P(d + "/kubelet-client-current.pem"))
        os.unlink(P(d + "/kubelet-client.key.tmp"))
        write(kc_path, make_kubeconfig(bkc.server, bkc.ca, "default-auth", cert_file=d + "/kubelet-client-current.pem",
                                       key_file=d + "/kubelet-client-current.pem", cluster="default-cluster"), 0o600)
        klog("I", '"Certificate rotation detected, shutting down client connections to start using new credentials"')

    def node_ip(self):
        return self.args.get("node-ip") or default_ip()

    def node_loop(self):
        while True:
            try:
                if self.api is None:
                    self.api = self.connect()
                if self.api is not None:
                    self.heartbeat()
            except (ApiError, Unreachable, OSError, ValueError, RuntimeError) as e:
                klog("E", '"Unable to update node status" err="%s"' % e)
            time.sleep(10 if self.registered else 2)

    def cni_ready(self):
        d = P("/etc/cni/net.d")
        try:
            return any(f.endswith((".conf", ".conflist", ".json")) for f in os.listdir(d))
        except OSError:
            return False

    def heartbeat(self):
        api = self.api
        if not self.registered:
            labels = {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
            for kv in (self.args.get("node-labels") or "").split(","):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    labels[k] = v
            try:
                api.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
                    "name": self.node, "labels": labels,
                    "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": CRI_SOCKET,
                                    "node.alpha.kubernetes.io/ttl": "0",
                                    "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                    "spec": {}})
                klog("I", '"Successfully registered node" node="%s"' % self.node)
            except ApiError as e:
                if e.code != 409:
                    raise
            self.registered = True
        ready = self.cni_ready()
        t = rfc3339()
        if ready:
            rc = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
        else:
            rc = {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                  "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                             "message:Network plugin returns error: cni plugin not initialized"}
        if self.ready_since is None or self.ready_since[0] != ready:
            self.ready_since = (ready, t)
        rc.update({"lastHeartbeatTime": t, "lastTransitionTime": self.ready_since[1]})
        conds = [{"type": ty, "status": "False", "reason": "Kubelet" + r, "message": m, "lastHeartbeatTime": t,
                  "lastTransitionTime": self.ready_since[1]}
                 for ty, r, m in (("MemoryPressure", "HasSufficientMemory", "kubelet has sufficient memory available"),
                                  ("DiskPressure", "HasNoDiskPressure", "kubelet has no disk pressure"),
                                  ("PIDPressure", "HasSufficientPID", "kubelet has sufficient PID available"))] + [rc]
        osr = read("/etc/os-release", "")
        m = re.search(r'PRETTY_NAME="?([^"\n]*)', osr)
        mem = re.search(r"MemTotal:\s+(\d+)", read("/proc/meminfo", "") or "")
        cap = {"cpu": str(os.cpu_count() or 1), "memory": "%sKi" % (mem.group(1) if mem else "0"), "pods": "110",
               "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0"}
        status = {"conditions": conds,
                  "addresses": [{"type": "InternalIP", "address": self.node_ip()}, {"type": "Hostname", "address": self.node}],
                  "capacity": cap, "allocatable": cap,
                  "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                  "nodeInfo": {"architecture": "amd64", "bootID": (read("/proc/sys/kernel/random/boot_id", "") or "").strip(),
                               "containerRuntimeVersion": "containerd://" + self.runtime_version,
                               "kernelVersion": os.uname().release, "kubeProxyVersion": "", "kubeletVersion": "v" + version(),
                               "machineID": (read("/etc/machine-id", "") or "").strip(), "operatingSystem": "linux",
                               "osImage": m.group(1) if m else "Linux", "systemUUID": ""}}
        try:
            api.patch("/api/v1/nodes/%s/status" % self.node, {"status": status})
        except ApiError as e:
            if e.code == 404:
                # The real kubelet registers once per start (registrationCompleted is never
                # reset): a deleted Node stays deleted until the kubelet restarts.
                raise RuntimeError('error getting node "%s": nodes "%s" not found' % (self.node, self.node))
            raise
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.node, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": self.node, "leaseDurationSeconds": 40,
                          "renewTime": now().strftime("%Y-%m-%dT%H:%M:%S.000000Z")}}
        try:
            api.create_or_update("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)
        except ApiError:
            pass
        self.sync_mirrors(api)
        self.calico_node(api)

    def sync_mirrors(self, api):
        with self.lock:
            pods = list(self.pods.values())
        for p in pods:
            name = "%s-%s" % (p.name, self.node)
            phase = "Running" if p.running() else "Pending"
            if self.mirrors.get(name) == (phase, p.raw):
                continue
            md = p.pod.get("metadata", {})
            ann = dict(md.get("annotations") or {})
            ann.update({"kubernetes.io/config.mirror": hashlib.md5(p.raw.encode()).hexdigest(),
                        "kubernetes.io/config.source": "file"})
            obj = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": "kube-system", "labels": md.get("labels") or {},
                                "annotations": ann},
                   "spec": dict(p.pod.get("spec") or {}, nodeName=self.node),
                   "status": {"phase": phase, "podIP": self.node_ip(), "hostIP": self.node_ip(),
                              "containerStatuses": [{"name": p.name, "ready": phase == "Running",
                                                     "restartCount": p.restarts,
                                                     "image": p.pod["spec"]["containers"][0]["image"]}]}}
            try:
                api.create_or_update("/api/v1/namespaces/kube-system/pods", obj)
                self.mirrors[name] = (phase, p.raw)
            except ApiError as e:
                klog("E", '"Failed creating a mirror pod" err="%s" pod="kube-system/%s"' % (e, name))

    def calico_node(self, api):
        """What the calico-node DaemonSet (installed by the Tigera operator) does on this node."""
        inst = api.get_or_none("/apis/operator.tigera.io/v1/installations/default")
        op = api.get_or_none("/apis/apps/v1/namespaces/tigera-operator/deployments/tigera-operator")
        if not inst or not op:
            return
        cm = api.get_or_none("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
        pod_cidrs = []
        if cm:
            cc = yaml.safe_load(cm["data"].get("ClusterConfiguration", "")) or {}
            pod_cidrs = [x.strip() for x in ((cc.get("networking") or {}).get("podSubnet") or "").split(",") if x.strip()]
        pools = ((inst.get("spec") or {}).get("calicoNetwork") or {}).get("ipPools") or [{"cidr": "192.168.0.0/16"}]
        err = None
        for pool in pools:
            cidr = pool.get("cidr", "")
            try:
                pn = ipaddress.ip_network(cidr, strict=False)
                within = any(pn.version == ipaddress.ip_network(c, strict=False).version and
                             pn.subnet_of(ipaddress.ip_network(c, strict=False)) for c in pod_cidrs)
            except ValueError:
                within = False
            if pod_cidrs and not within:
                err = ("Could not resolve CalicoNetwork IPPool and kubeadm configuration: IPPool %s is not within the "
                       "platform's configured pod network CIDR(s) [%s]" % (cidr, " ".join(pod_cidrs)))
                break
        cond = {"type": "Degraded", "status": "True", "reason": "InvalidConfigurationError", "message": err} if err else \
            {"type": "Ready", "status": "True", "reason": "AllObjectsAvailable", "message": "All objects available"}
        if ((inst.get("status") or {}).get("conditions") or [{}])[0].get("message") != cond["message"]:
            try:
                api.patch("/apis/operator.tigera.io/v1/installations/default",
                          {"status": {"conditions": [dict(cond, lastTransitionTime=rfc3339())],
                                      "variant": "Calico" if not err else None}})
            except ApiError:
                pass
        if err:
            klog("E", '"Reconciler error" controller="tigera-installation-controller" error="%s"' % err)
            return
        if self.cni_ready():
            return
        ca = Kubeconfig.load(self.args.get("kubeconfig", "/etc/kubernetes/kubelet.conf")).ca or b""
        write("/etc/cni/net.d/calico-kubeconfig", make_kubeconfig("https://%s" % api.host + ":%d" % api.port, ca,
                                                                  "calico-cni-plugin", token="standin"), 0o600)
        write("/etc/cni/net.d/10-calico.conflist", json.dumps({
            "name": "k8s-pod-network", "cniVersion": "0.3.1",
            "plugins": [{"type": "calico", "datastore_type": "kubernetes", "mtu": 0, "nodename_file_optional": False,
                         "log_level": "Info", "log_file_path": "/var/log/calico/cni/cni.log",
                         "ipam": {"type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "false"},
                         "container_settings": {"allow_ip_forwarding": False},
                         "policy": {"type": "k8s"},
                         "kubernetes": {"k8s_api_root": "https://10.96.0.1:443",
                                        "kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}},
                        {"type": "bandwidth", "capabilities": {"bandwidth": True}},
                        {"type": "portmap", "snat": True, "capabilities": {"portMappings": True}}]}, indent=2))
        klog("I", "calico-node: wrote CNI config /etc/cni/net.d/10-calico.conflist")


def main_kubelet(argv):
    args = parse_args(argv)
    for a in argv:
        if a in ("--version", "-version"):
            out("Kubernetes v" + version())
            return 0
    Kubelet(args).run()
    return 0


# ---------------------------------------------------------------- kubectl

RESOURCES = {
    # kind: (plural, group/version, namespaced, short names)
    "Node": ("nodes", "v1", False, ("node", "no")),
    "Namespace": ("namespaces", "v1", False, ("namespace", "ns")),
    "Pod": ("pods", "v1", True, ("pod", "po")),
    "Service": ("services", "v1", True, ("service", "svc")),
    "ConfigMap": ("configmaps", "v1", True, ("configmap", "cm")),
    "Secret": ("secrets", "v1", True, ("secret",)),
    "ServiceAccount": ("serviceaccounts", "v1", True, ("serviceaccount", "sa")),
    "Endpoints": ("endpoints", "v1", True, ("ep",)),
    "Event": ("events", "v1", True, ("event", "ev")),
    "Deployment": ("deployments", "apps/v1", True, ("deployment", "deploy")),
    "DaemonSet": ("daemonsets", "apps/v1", True, ("daemonset", "ds")),
    "StatefulSet": ("statefulsets", "apps/v1", True, ("statefulset", "sts")),
    "ReplicaSet": ("replicasets", "apps/v1", True, ("replicaset", "rs")),
    "Lease": ("leases", "coordination.k8s.io/v1", True, ("lease",)),
    "CertificateSigningRequest": ("certificatesigningrequests", "certificates.k8s.io/v1", False, ("csr",)),
    "CustomResourceDefinition": ("customresourcedefinitions", "apiextensions.k8s.io/v1", False, ("crd", "crds")),
    "ClusterRole": ("clusterroles", "rbac.authorization.k8s.io/v1", False, ("clusterrole",)),
    "ClusterRoleBinding": ("clusterrolebindings", "rbac.authorization.k8s.io/v1", False, ("clusterrolebinding",)),
    "Role": ("roles", "rbac.authorization.k8s.io/v1", True, ("role",)),
    "RoleBinding": ("rolebindings", "rbac.authorization.k8s.io/v1", True, ("rolebinding",)),
    "PodDisruptionBudget": ("poddisruptionbudgets", "policy/v1", True, ("pdb",)),
    "PriorityClass": ("priorityclasses", "scheduling.k8s.io/v1", False, ("pc",)),
    "ValidatingWebhookConfiguration": ("validatingwebhookconfigurations", "admissionregistration.k8s.io/v1", False, ()),
    "MutatingWebhookConfiguration": ("mutatingwebhookconfigurations", "admissionregistration.k8s.io/v1", False, ()),
}


class KubectlError(Exception):
    pass


class Kubectl:
    def __init__(self, argv):
        self.argv = argv
        self.ns_flag = flag(argv, "namespace") or self.short("-n")
        self.kcpath = flag(argv, "kubeconfig") or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        self._api = None
        self.crds = None

    def short(self, opt):
        for i, a in enumerate(self.argv):
            if a == opt and i + 1 < len(self.argv):
                return self.argv[i + 1]
            if a.startswith(opt + "=") or (a.startswith(opt) and len(a) > len(opt) and not a.startswith("--")):
                return a[len(opt):].lstrip("=")
        return None

    def api(self):
        if self._api is None:
            path = self.kcpath.split(":")[0]
            if not os.path.exists(path):
                raise KubectlError("The connection to the server localhost:8080 was refused - did you specify the right "
                                   "host or port?")
            self._api = Api(Kubeconfig.load(None, real_path=path), timeout=float(dur(flag(self.argv, "request-timeout"), 30) or 30))
        return self._api

    def call(self, fn, *a):
        try:
            return fn(*a)
        except Unreachable as e:
            host = "%s:%s" % (self.api().host, self.api().port)
            if "refused" in str(e):
                raise KubectlError("The connection to the server %s was refused - did you specify the right host or port?"
                                   % host)
            raise KubectlError("Unable to connect to the server: %s" % e)
        except ssl.SSLCertVerificationError as e:
            raise KubectlError("Unable to connect to the server: tls: failed to verify certificate: %s" % e.verify_message)
        except ApiError as e:
            raise KubectlError("Error from server (%s): %s" % (e.reason or "InternalError", e))

    def resolve(self, word):
        w = word.lower()
        for kind, (plural, gv, nsd, shorts) in RESOURCES.items():
            if w in (kind.lower(), plural) + tuple(shorts):
                return kind, plural, gv, nsd
        if self.crds is None:
            try:
                self.crds = self.api().get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").get("items", [])
            except (ApiError, Unreachable):
                self.crds = []
        for crd in self.crds:
            sp = crd.get("spec", {})
            names = sp.get("names", {})
            cands = [names.get("kind", "").lower(), names.get("plural"), names.get("singular")] + \
                list(names.get("shortNames") or [])
            if w in cands or w == "%s.%s" % (names.get("plural"), sp.get("group")):
                ver = next((v["name"] for v in sp.get("versions", []) if v.get("storage")), sp.get("versions", [{}])[0].get("name"))
                return names["kind"], names["plural"], "%s/%s" % (sp["group"], ver), sp.get("scope") == "Namespaced"
        return None

    def resolve_kind(self, api_version, kind):
        for k, (plural, gv, nsd, _) in RESOURCES.items():
            if k == kind and gv == api_version:
                return plural, nsd
        r = self.resolve(kind)
        if r and r[2].split("/")[0] == api_version.split("/")[0]:
            return r[1], r[3]
        return None

    def path(self, gv, plural, nsd, ns, name=None):
        base = "/api/" + gv if "/" not in gv else "/apis/" + gv
        if nsd:
            base += "/namespaces/" + ns
        base += "/" + plural
        return base + ("/" + name if name else "")

    def namespace(self):
        return self.ns_flag or "default"

    def run(self):
        pos = positional(self.argv, takes_value=("namespace", "n", "kubeconfig", "output", "o", "filename", "f", "for",
                                                 "timeout", "selector", "l", "request-timeout", "field-manager"))
        if not pos:
            out("kubectl controls the Kubernetes cluster manager (stand-in; see tests/lab/k8s/README.md).")
            return 0
        cmd = pos[0]
        fn = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if fn is None:
            raise KubectlError('unknown command "%s" for "kubectl"' % cmd)
        return fn(pos[1:]) or 0

    def output(self):
        return flag(self.argv, "output") or self.short("-o")

    # ---- commands
    def cmd_version(self, pos):
        o = self.output()
        client = {"major": "1", "minor": version().split(".")[1], "gitVersion": "v" + version(), "platform": "linux/amd64"}
        server = None
        if flag(self.argv, "client") != "true":
            try:
                server = self.call(self.api().get, "/version")
            except KubectlError as e:
                if o not in ("json", "yaml"):
                    out("Client Version: v" + version())
                    out("Kustomize Version: v5.7.1")
                raise e
        if o == "json":
            d = {"clientVersion": client, "kustomizeVersion": "v5.7.1"}
            if server:
                d["serverVersion"] = server
            out(json.dumps(d, indent=2))
            return
        out("Client Version: v" + version())
        out("Kustomize Version: v5.7.1")
        if server:
            out("Server Version: " + server["gitVersion"])

    def cmd_cluster_info(self, pos):
        self.call(self.api().get, "/api/v1/namespaces/kube-system/services")
        server = self.api().kc.server
        out("Kubernetes control plane is running at " + server)
        out("CoreDNS is running at %s/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy" % server)
        out()
        out("To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")

    def cmd_get(self, pos):
        raw = flag(self.argv, "raw")
        if raw:
            code, body = self.call(self.api().request, "GET", raw, None, "application/json", True)
            if code >= 400:
                try:
                    msg = json.loads(body).get("message") or body.decode()
                except ValueError:
                    msg = body.decode(errors="replace").strip()
                raise KubectlError("Error from server (%s): %s" % (
                    {401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(code, "InternalError"), msg))
            sys.stdout.write(body.decode(errors="replace"))
            sys.stdout.flush()
            return
        if not pos:
            raise KubectlError("You must specify the type of resource to get.")
        words = pos[0].split(",") if "/" not in pos[0] else [pos[0]]
        names = pos[1:]
        if "/" in pos[0]:
            words, names = [pos[0].split("/")[0]], [pos[0].split("/")[1]] + pos[1:]
        items = []
        kind = None
        for w in words:
            r = self.resolve(w)
            if r is None:
                raise KubectlError('error: the server doesn\'t have a resource type "%s"' % w)
            kind, plural, gv, nsd = r
            allns = flag(self.argv, "all-namespaces") == "true" or "-A" in self.argv
            if names:
                for n in names:
                    items.append(self.call(self.api().get, self.path(gv, plural, nsd, self.namespace(), n)))
            else:
                p = self.path(gv, plural, nsd and not allns, self.namespace())
                sel = flag(self.argv, "selector") or self.short("-l")
                if sel:
                    p += "?labelSelector=" + urllib.parse.quote(sel)
                lst = self.call(self.api().get, p)
                items += lst.get("items", [])
        o = self.output()
        if o == "json":
            if len(items) == 1 and names:
                out(json.dumps(items[0], indent=4))
            else:
                out(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
                               indent=4))
            return
        if o == "yaml":
            out(yaml.safe_dump(items[0] if len(items) == 1 and names else
                               {"apiVersion": "v1", "kind": "List", "items": items}, default_flow_style=False).rstrip())
            return
        if o == "name":
            for it in items:
                out("%s/%s" % ((kind or "").lower(), it["metadata"]["name"]))
            return
        if o and o.startswith("jsonpath="):
            out(jsonpath(items[0] if len(items) == 1 and names else {"items": items}, o.split("=", 1)[1]))
            return
        if not items:
            if kind in ("Node", "Namespace") or flag(self.argv, "all-namespaces") == "true" or "-A" in self.argv:
                sys.stderr.write("No resources found\n")
            else:
                sys.stderr.write("No resources found in %s namespace.\n" % self.namespace())
            return
        if kind == "Node":
            self.print_nodes(items, o == "wide")
        elif kind == "Pod":
            self.print_pods(items, o == "wide")
        else:
            allns = flag(self.argv, "all-namespaces") == "true" or "-A" in self.argv
            rows = [(["NAMESPACE"] if allns else []) + ["NAME", "AGE"]]
            for it in items:
                rows.append(([it["metadata"].get("namespace", "")] if allns else []) +
                            [it["metadata"]["name"], age(it["metadata"].get("creationTimestamp"))])
            table(rows)

    def print_nodes(self, items, wide):
        head = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        if wide:
            head += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
        rows = [head]
        for n in sorted(items, key=lambda x: x["metadata"]["name"]):
            st = n.get("status") or {}
            ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
            status = "NotReady" if not ready or ready.get("status") != "True" else "Ready"
            if ready and ready.get("status") == "Unknown":
                status = "NotReady"
            if (n.get("spec") or {}).get("unschedulable"):
                status += ",SchedulingDisabled"
            roles = sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {})
                           if k.startswith("node-role.kubernetes.io/"))
            info = st.get("nodeInfo") or {}
            row = [n["metadata"]["name"], status, ",".join(roles) or "<none>", age(n["metadata"].get("creationTimestamp")),
                   info.get("kubeletVersion", "")]
            if wide:
                ip = next((a["address"] for a in st.get("addresses") or [] if a["type"] == "InternalIP"), "<none>")
                row += [ip, "<none>", info.get("osImage", ""), info.get("kernelVersion", ""),
                        info.get("containerRuntimeVersion", "")]
            rows.append(row)
        table(rows)

    def print_pods(self, items, wide):
        allns = flag(self.argv, "all-namespaces") == "true" or "-A" in self.argv
        rows = [(["NAMESPACE"] if allns else []) + ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] +
                (["IP", "NODE"] if wide else [])]
        for p in items:
            st = p.get("status") or {}
            cs = st.get("containerStatuses") or []
            ready = sum(1 for c in cs if c.get("ready"))
            rows.append(([p["metadata"].get("namespace", "")] if allns else []) +
                        [p["metadata"]["name"], "%d/%d" % (ready, max(len(cs), 1)), st.get("phase", "Pending"),
                         str(sum(c.get("restartCount", 0) for c in cs)), age(p["metadata"].get("creationTimestamp"))] +
                        ([st.get("podIP", "<none>"), (p.get("spec") or {}).get("nodeName", "<none>")] if wide else []))
        table(rows)

    def docs_from(self, f):
        if f == "-":
            text = sys.stdin.read()
        elif re.match(r"^https?://", f):
            try:
                with urllib.request.urlopen(f, timeout=30) as r:
                    text = r.read().decode()
            except urllib.error.HTTPError as e:
                raise KubectlError('error: unable to read URL "%s", server reported %d %s, status code=%d'
                                   % (f, e.code, e.reason, e.code))
            except OSError as e:
                raise KubectlError('error: unable to read URL "%s": %s' % (f, e))
        else:
            try:
                with open(f) as fh:
                    text = fh.read()
            except OSError:
                raise KubectlError('error: the path "%s" does not exist' % f)
        docs = []
        for d in yaml.safe_load_all(text):
            if not d:
                continue
            if d.get("kind") == "List" or d.get("kind", "").endswith("List") and "items" in d:
                docs += d.get("items") or []
            else:
                docs.append(d)
        return docs

    def files(self):
        fs = []
        for i, a in enumerate(self.argv):
            if a in ("-f", "--filename") and i + 1 < len(self.argv):
                fs.append(self.argv[i + 1])
            elif a.startswith("--filename="):
                fs.append(a.split("=", 1)[1])
            elif a.startswith("-f") and len(a) > 2 and not a.startswith("--"):
                fs.append(a[2:].lstrip("="))
        if not fs:
            raise KubectlError("error: must specify one of -f and -k")
        return fs

    def cmd_apply(self, pos, create=False):
        errs = []
        server_side = flag(self.argv, "server-side") == "true"
        for f in self.files():
            for d in self.docs_from(f):
                api_version, kind = d.get("apiVersion", ""), d.get("kind", "")
                md = d.setdefault("metadata", {})
                name = md.get("name", "")
                rk = self.resolve_kind(api_version, kind)
                if rk is None:
                    self.crds = None
                    rk = self.resolve_kind(api_version, kind)
                if rk is None:
                    errs.append('error: resource mapping not found for name: "%s" namespace: "%s" from "%s": no matches '
                                'for kind "%s" in version "%s"\nensure CRDs are installed first'
                                % (name, md.get("namespace", ""), f, kind, api_version))
                    continue
                plural, nsd = rk
                ns = md.get("namespace") or self.namespace()
                if nsd:
                    md["namespace"] = ns
                coll = self.path(api_version, plural, nsd, ns)
                label = "%s/%s" % (self.kind_label(kind, api_version), name)
                if not create and not server_side:
                    md.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = \
                        json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n"
                try:
                    cur = self.api().get_or_none(coll + "/" + name)
                    if cur is None:
                        self.api().create(coll, d)
                        out(label + (" serverside-applied" if server_side else " created"))
                    elif create:
                        errs.append('Error from server (AlreadyExists): error when creating "%s": %s "%s" already exists'
                                    % (f, plural, name))
                    else:
                        new = merge_patch(cur, {k: v for k, v in d.items() if k != "status"})
                        if new == cur and not server_side:
                            out(label + " unchanged")
                        elif new == cur:
                            out(label + " serverside-applied")
                        else:
                            self.api().put(coll + "/" + name, new)
                            out(label + (" serverside-applied" if server_side else " configured"))
                except ApiError as e:
                    errs.append('Error from server (%s): error when %s "%s": %s' % (e.reason, "creating", f, e))
                except Unreachable as e:
                    err = e

                    def fail():
                        raise err
                    return self.call(fail)
        if errs:
            raise KubectlError("\n".join(errs))

    def kind_label(self, kind, api_version):
        g = api_version.split("/")[0] if "/" in api_version else ""
        return kind.lower() + ("." + g if g else "")

    def cmd_create(self, pos):
        return self.cmd_apply(pos, create=True)

    def cmd_label(self, pos):
        if len(pos) < 2:
            raise KubectlError("error: one or more resources must be specified as <resource> <name> or <resource>/<name>")
        if "/" in pos[0]:
            word, name = pos[0].split("/", 1)
            labels = pos[1:]
        else:
            word, name, labels = pos[0], pos[1], pos[2:]
        r = self.resolve(word)
        if not r:
            raise KubectlError('error: the server doesn\'t have a resource type "%s"' % word)
        kind, plural, gv, nsd = r
        path = self.path(gv, plural, nsd, self.namespace(), name)
        cur = self.call(self.api().get, path)
        have = cur["metadata"].get("labels") or {}
        patch = {}
        for l in labels:
            if l.endswith("-"):
                patch[l[:-1]] = None
            else:
                k, v = l.split("=", 1)
                if k in have and have[k] != v and flag(self.argv, "overwrite") != "true":
                    raise KubectlError("error: '%s' already has a value (%s), and --overwrite is false" % (k, have[k]))
                patch[k] = v
        self.call(self.api().patch, path, {"metadata": {"labels": patch}})
        out("%s/%s %s" % (kind.lower(), name, "labeled" if any(v is not None for v in patch.values()) else "unlabeled"))

    # ---- node maintenance: cordon, uncordon, drain (kubectl's words; staging/src/k8s.io/kubectl/pkg/drain)
    def set_unschedulable(self, node, on):
        path = "/api/v1/nodes/" + node
        cur = self.call(self.api().get, path)
        if bool((cur.get("spec") or {}).get("unschedulable")) == on:
            out("node/%s already %s" % (node, "cordoned" if on else "uncordoned"))
            return
        self.call(self.api().patch, path, {"spec": {"unschedulable": True if on else None}})
        out("node/%s %s" % (node, "cordoned" if on else "uncordoned"))

    def cmd_cordon(self, pos):
        if not pos:
            raise KubectlError("error: USAGE: cordon NODE [flags]")
        self.set_unschedulable(pos[0], True)

    def cmd_uncordon(self, pos):
        if not pos:
            raise KubectlError("error: USAGE: uncordon NODE [flags]")
        self.set_unschedulable(pos[0], False)

    def pdb_blocks(self, pod):
        """The eviction API's check: a PodDisruptionBudget of the pod's namespace selecting it
        that allows no disruption now (healthy selected pods minus minAvailable, or
        maxUnavailable minus the selected pods that are not healthy)."""
        ns = pod["metadata"].get("namespace", "default")
        labels = pod["metadata"].get("labels") or {}
        try:
            pdbs = self.api().get("/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % ns).get("items", [])
            pods = self.api().get("/api/v1/namespaces/%s/pods" % ns).get("items", [])
        except (ApiError, Unreachable):
            return None
        for b in pdbs:
            sel = ((b.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                continue
            chosen = [p for p in pods if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())
                      and not p["metadata"].get("deletionTimestamp")]
            healthy = len(chosen)
            spec = b.get("spec") or {}
            if "minAvailable" in spec:
                allowed = healthy - int(spec["minAvailable"])
            else:
                allowed = int(spec.get("maxUnavailable", 0)) - (len(chosen) - healthy)
            if allowed <= 0:
                return b["metadata"]["name"]
        return None

    def cmd_drain(self, pos):
        if not pos:
            raise KubectlError("error: USAGE: drain NODE [flags]")
        node = pos[0]
        self.set_unschedulable(node, True)
        timeout = dur(flag(self.argv, "timeout"), 0) or 10 ** 9
        deadline = time.time() + timeout
        try:
            items = self.call(self.api().get, "/api/v1/pods").get("items", [])
        except KubectlError:
            items = []
        pods = [p for p in items if (p.get("spec") or {}).get("nodeName") == node
                and "kubernetes.io/config.mirror" not in (p["metadata"].get("annotations") or {})]
        ds, unmanaged, evict = [], [], []
        for p in pods:
            owners = p["metadata"].get("ownerReferences") or []
            ctrl = next((o for o in owners if o.get("controller")), None)
            ref = "%s/%s" % (p["metadata"].get("namespace", "default"), p["metadata"]["name"])
            if ctrl and ctrl.get("kind") == "DaemonSet":
                ds.append(ref)
            elif not ctrl:
                unmanaged.append(ref)
                evict.append(p)
            else:
                evict.append(p)
        errs = []
        if ds and flag(self.argv, "ignore-daemonsets") != "true":
            errs.append("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " + ", ".join(ds))
        if unmanaged and flag(self.argv, "force") != "true":
            errs.append("cannot delete Pods that declare no controller (use --force to override): " + ", ".join(unmanaged))
        if errs:
            sys.stderr.write("error: unable to drain node \"%s\" due to error: %s, continuing command...\n"
                             % (node, ", ".join(errs)))
            sys.stderr.write("There are pending nodes to be drained:\n %s\n" % node)
            for e in errs:
                sys.stderr.write(e + "\n")
            return 1
        if ds:
            sys.stderr.write("Warning: ignoring DaemonSet-managed Pods: %s\n" % ", ".join(ds))
        if unmanaged:
            sys.stderr.write("Warning: deleting Pods that declare no controller: %s\n" % ", ".join(unmanaged))
        pending = []
        for p in evict:
            ns, name = p["metadata"].get("namespace", "default"), p["metadata"]["name"]
            out("evicting pod %s/%s" % (ns, name))
            while True:
                if self.pdb_blocks(p) is None:
                    self.call(self.api().delete, "/api/v1/namespaces/%s/pods/%s" % (ns, name))
                    out("pod/%s evicted" % name)
                    break
                if time.time() + 5 > deadline:
                    pending.append('error when evicting pods/"%s" -n "%s": global timeout reached: %s'
                                   % (name, ns, fmt_dur(timeout)))
                    break
                sys.stderr.write('error when evicting pods/"%s" -n "%s" (will retry after 5s): Cannot evict pod as it '
                                 "would violate the pod's disruption budget.\n" % (name, ns))
                sys.stderr.flush()
                time.sleep(5)
        if pending:
            sys.stderr.write("There are pending pods in node \"%s\" when an error occurred: [%s]\n" % (node, ", ".join(pending)))
            sys.stderr.write("error: unable to drain node \"%s\" due to error: [%s], continuing command...\n"
                             % (node, ", ".join(pending)))
            sys.stderr.write("There are pending nodes to be drained:\n %s\n%s\n" % (node, "\n".join(pending)))
            return 1
        out("node/%s drained" % node)

    def cmd_exec(self, pos):
        if "--" not in self.argv:
            raise KubectlError("error: you must specify at least one command for the container")
        cmd = self.argv[self.argv.index("--") + 1:]
        pod = positional(self.argv[:self.argv.index("--")],
                         takes_value=("namespace", "n", "kubeconfig", "container", "c"))[1]
        p = self.call(self.api().get, "/api/v1/namespaces/%s/pods/%s" % (self.namespace(), pod))
        if (p.get("spec") or {}).get("nodeName") != hostname():
            raise KubectlError("error: unable to upgrade connection: the stand-in kubectl execs only into static pods "
                               "of the node it runs on (%s is on %s)" % (pod, (p.get("spec") or {}).get("nodeName")))
        image = p["spec"]["containers"][0]["image"].rsplit("/", 1)[-1].split(":")[0]
        exe = os.path.join(IMAGES, image, os.path.basename(cmd[0]))
        if not os.path.exists(exe):
            raise KubectlError('error: Internal error occurred: error executing command in container: failed to exec in '
                               'container: exec: "%s": executable file not found in $PATH' % cmd[0])
        return subprocess.call([exe] + cmd[1:])

    def cmd_delete(self, pos):
        if not pos:
            raise KubectlError("error: You must provide one or more resources by argument or filename.")
        if "/" in pos[0]:
            word, names = pos[0].split("/")[0], [pos[0].split("/")[1]]
        else:
            word, names = pos[0], pos[1:]
        r = self.resolve(word)
        if not r:
            raise KubectlError('error: the server doesn\'t have a resource type "%s"' % word)
        kind, plural, gv, nsd = r
        # --ignore-not-found: a missing object is no error and prints nothing (kubectl delete).
        ignore = flag(self.argv, "ignore-not-found") == "true"
        for n in names:
            try:
                self.call(self.api().delete, self.path(gv, plural, nsd, self.namespace(), n))
            except KubectlError as e:
                if ignore and str(e).startswith("Error from server (NotFound)"):
                    continue
                raise
            out('%s "%s" deleted' % (kind.lower(), n))

    def cmd_wait(self, pos):
        cond = flag(self.argv, "for") or ""
        timeout = dur(flag(self.argv, "timeout"), 30)
        if not pos:
            raise KubectlError("error: resource(s) were provided, but no name was specified")
        if "/" in pos[0]:
            word, names = pos[0].split("/")[0], [pos[0].split("/")[1]]
        else:
            word, names = pos[0], pos[1:]
        r = self.resolve(word)
        if not r:
            raise KubectlError('error: the server doesn\'t have a resource type "%s"' % word)
        kind, plural, gv, nsd = r
        if not cond.startswith("condition="):
            raise KubectlError("error: unrecognized condition: \"%s\"" % cond)
        cname, _, cval = cond[len("condition="):].partition("=")
        cval = cval or "True"
        allres = flag(self.argv, "all") == "true"
        if allres:
            names = [i["metadata"]["name"] for i in self.call(self.api().get, self.path(gv, plural, nsd, self.namespace()))["items"]]
            if not names:
                raise KubectlError("error: no matching resources found")
        t0 = time.time()
        label = kind.lower() + ("." + gv.split("/")[0] if "/" in gv else "")
        for n in names:
            while True:
                obj = self.api().get_or_none(self.path(gv, plural, nsd, self.namespace(), n))
                if obj is None and not allres:
                    raise KubectlError('Error from server (NotFound): %s "%s" not found' % (plural, n))
                conds = ((obj or {}).get("status") or {}).get("conditions") or []
                if any(c.get("type", "").lower() == cname.lower() and c.get("status") == cval for c in conds):
                    out("%s/%s condition met" % (label, n))
                    break
                if time.time() - t0 > timeout:
                    raise KubectlError("error: timed out waiting for the condition on %s/%s" % (plural, n))
                time.sleep(1)


def jsonpath(obj, expr):
    expr = expr.strip("'\"")
    parts = re.findall(r"\{([^}]*)\}|([^{]+)", expr)
    res = ""
    for p, lit in parts:
        if lit:
            res += lit.replace("\\n", "\n")
            continue
        vals = [obj]
        for seg in re.findall(r"\.((?:[A-Za-z0-9_\-/]|\\\.)+)|\[(\*|\d+)\]|\[\?\(@\.([A-Za-z]+)==\"?([^\")]*)\"?\)\]", p):
            key, idx, fk, fv = seg
            key = key.replace("\\.", ".")
            nv = []
            for v in vals:
                if key:
                    if isinstance(v, dict) and key in v:
                        nv.append(v[key])
                elif idx:
                    if isinstance(v, list):
                        nv += v if idx == "*" else ([v[int(idx)]] if int(idx) < len(v) else [])
                elif fk:
                    if isinstance(v, list):
                        nv += [x for x in v if isinstance(x, dict) and str(x.get(fk)) == fv]
            vals = nv
        res += " ".join(v if isinstance(v, str) else json.dumps(v) for v in vals)
    return res


def age(ts):
    if not ts:
        return "<unknown>"
    s = (now() - parse_rfc3339(ts)).total_seconds()
    if s < 120:
        return "%ds" % s
    if s < 600:
        return "%dm%ds" % (s // 60, s % 60) if s % 60 else "%dm" % (s // 60)
    if s < 10800:
        return "%dm" % (s // 60)
    if s < 172800:
        return "%dh" % (s // 3600)
    return "%dd" % (s // 86400)


def table(rows):
    if "--no-headers" in sys.argv or "--no-headers=true" in sys.argv:
        rows = rows[1:]
        if not rows:
            return
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out("   ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def main_kubectl(argv):
    try:
        return Kubectl(argv).run()
    except KubectlError as e:
        msg = str(e)
        sys.stderr.write(msg + "\n")
        return 1


# ---------------------------------------------------------------- crictl

def main_crictl(argv):
    pos = positional(argv, takes_value=("runtime-endpoint", "r", "o", "output"))
    state = json.loads(read("/var/lib/kubelet/standin-pods.json", "{}") or "{}")
    cmd = pos[0] if pos else ""
    if cmd == "exec":
        return crictl_exec(argv, state)
    if cmd == "ps" and ("-q" in argv or "--quiet" in argv or flag(argv, "name")):
        return crictl_ps_filtered(argv, state)
    if cmd == "version":
        ver = "unknown"
        try:
            ver = containerd_info(CRI_SOCKET)[0] or ver
        except OSError:
            pass
        out("Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  v%s\nRuntimeApiVersion:  v1" % ver)
    elif cmd in ("ps", "pods"):
        out("CONTAINER           IMAGE               CREATED             STATE               NAME                "
            "ATTEMPT             POD ID              POD")
        for name, s in sorted(state.items()):
            if s.get("pid") or "-a" in argv:
                cid = hashlib.sha256(name.encode()).hexdigest()[:13]
                out("%-19s %-19s %-19s %-19s %-19s %-19s %-19s %s" % (cid, s["image"].rsplit("/", 1)[-1][:19],
                    age(rfc3339(datetime.datetime.fromtimestamp(s.get("started") or time.time(), datetime.timezone.utc))),
                    "Running" if s.get("pid") else "Exited", name, s.get("restarts", 0), cid[::-1], name))
    elif cmd == "info":
        e = cri_check(CRI_SOCKET)
        if e:
            sys.stderr.write(e + "\n")
            return 1
        ver, systemd, _ = containerd_info(CRI_SOCKET)
        out(json.dumps({"status": {"conditions": [{"type": "RuntimeReady", "status": True},
                                                  {"type": "NetworkReady", "status": bool(os.listdir(P("/etc/cni/net.d")))
                                                   if os.path.isdir(P("/etc/cni/net.d")) else False}]},
                        "config": {"containerd": {"runtimes": {"runc": {"options": {"SystemdCgroup": systemd}}}}}},
                       indent=2))
    elif cmd == "images":
        out("IMAGE                                     TAG                 IMAGE ID            SIZE")
        for img in sorted(os.listdir(IMAGES)) if os.path.isdir(IMAGES) else []:
            tag = ETCD_IMAGE_TAG if img == "etcd" else "v" + version()
            out("registry.k8s.io/%-24s %-19s %-19s %s" % (img, tag, hashlib.sha256(img.encode()).hexdigest()[:13], "-"))
    else:
        out("crictl (stand-in): version, ps [-a], pods, info, images")
    return 0


def crictl_container_id(name):
    """The stand-in's container id of a static pod's (only) container, as `crictl ps` shows it."""
    return hashlib.sha256(name.encode()).hexdigest()[:13]


def crictl_ps_filtered(argv, state):
    """`crictl ps [-a] [-q|--quiet] [--name REGEX] [--state STATE]`: crictl filters on the
    container name by regular expression; without -a only running containers are listed."""
    name_re = flag(argv, "name")
    want = (flag(argv, "state") or ("" if "-a" in argv or "--all" in argv else "running")).lower()
    quiet = "-q" in argv or "--quiet" in argv
    rows = []
    for name, s in sorted(state.items()):
        st = "running" if s.get("pid") else "exited"
        if want and st != want:
            continue
        if name_re and not re.search(name_re, name):
            continue
        rows.append((crictl_container_id(name), name, s, st))
    if quiet:
        for cid, _, _, _ in rows:
            out(cid)
        return 0
    out("CONTAINER           IMAGE               CREATED             STATE               NAME                "
        "ATTEMPT             POD ID              POD")
    for cid, name, s, st in rows:
        out("%-19s %-19s %-19s %-19s %-19s %-19s %-19s %s" % (cid, s["image"].rsplit("/", 1)[-1][:19], "-",
            st.capitalize(), name, s.get("restarts", 0), cid[::-1], name))
    return 0


def crictl_exec(argv, state):
    """`crictl exec [-i] [-t] [-s] CONTAINER COMMAND [ARG...]`: runs COMMAND from the container's
    image (the stand-in's images are directories of binaries), as crictl execs into a container;
    refused as containerd refuses when the container is unknown or not running."""
    rest = argv[argv.index("exec") + 1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    if len(rest) < 2:
        sys.stderr.write('FATA[0000] execing command in container: container ID and command cannot be empty\n')
        return 1
    cid, cmd = rest[0], rest[1:]
    found = [(n, s) for n, s in state.items() if crictl_container_id(n).startswith(cid)]
    if not found:
        sys.stderr.write('FATA[0000] execing command in container: rpc error: code = NotFound desc = an error '
                         'occurred when try to find container "%s": not found\n' % cid)
        return 1
    name, s = found[0]
    if not s.get("pid"):
        sys.stderr.write('FATA[0000] execing command in container: rpc error: code = FailedPrecondition desc = '
                         'container %s is in CONTAINER_EXITED state\n' % cid)
        return 1
    image = s["image"].rsplit("/", 1)[-1].split(":")[0]
    exe = os.path.join(IMAGES, image, os.path.basename(cmd[0]))
    if not os.path.exists(exe):
        sys.stderr.write('FATA[0000] execing command in container: rpc error: code = Unknown desc = failed to exec '
                         'in container: exec: "%s": executable file not found in $PATH\n' % cmd[0])
        return 126
    return subprocess.call([exe] + cmd[1:])


# ---------------------------------------------------------------- kubeadm upgrade plan|apply|node (issue 16)
# After cmd/kubeadm/app/cmd/upgrade/{plan,apply,node}.go and phases/upgrade/policy.go: the version
# policy (one minor at a time, never past kubeadm's own minor) with kubeadm's words, the static pod
# manifests rewritten with the new image tags (the kubelet restarts them; the stand-in's images
# report the tag's version), kubeadm-config's kubernetesVersion moved on by `apply`.

UPGRADE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def upgrade_cluster_config(api):
    out('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    try:
        cm = retry_api(lambda: api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config"), 60)
    except (ApiError, KubeadmError) as e:
        raise KubeadmError("unable to fetch the kubeadm-config ConfigMap: %s" % e, "preflight")
    return cm, yaml.safe_load(cm["data"]["ClusterConfiguration"]) or {}


def upgrade_kubelet_versions(api):
    items = retry_api(lambda: api.get("/api/v1/nodes"), 60).get("items") or []
    return {n["metadata"]["name"]: (n.get("status", {}).get("nodeInfo") or {}).get("kubeletVersion", "")
            for n in items}


def upgrade_policy(cluster_str, new_str, kubelets):
    """policy.go's EnforceVersionPolicies: (mandatory, skippable) error texts."""
    cluster, new, kadm = parse_version(cluster_str), parse_version(new_str), parse_version(version())
    out("[upgrade/versions] Cluster version: %s" % cluster_str)
    out("[upgrade/versions] kubeadm version: v%s" % version())
    mandatory, skippable = [], []
    if new[1] > cluster[1] + 1:
        mandatory.append('Specified version to upgrade to "%s" is too high; kubeadm can upgrade only 1 minor version '
                         'at a time' % new_str)
    if new[1] < cluster[1] - 1:
        mandatory.append('Specified version to downgrade to "%s" is too low; kubeadm can downgrade only 1 minor version '
                         'at a time' % new_str)
    if kadm < new:
        if new[1] > kadm[1]:
            mandatory.append('Specified version to upgrade to "%s" is at least one minor release higher than the kubeadm '
                             'minor release (%d > %d). Such an upgrade is not supported' % (new_str, new[1], kadm[1]))
        else:
            skippable.append('Specified version to upgrade to "%s" is higher than the kubeadm version "v%s". Upgrade '
                             'kubeadm first using the tool you used to install kubeadm' % (new_str, version()))
    if kadm[1] > new[1]:
        skippable.append("Kubeadm version v%s can only be used to upgrade to Kubernetes version %d.%d"
                         % (version(), kadm[0], kadm[1]))
    old = sorted({v for v in kubelets.values() if v and new[1] > parse_version(v)[1] + 1})
    if old:
        skippable.append("There are kubelets in this cluster that are too old that have these versions [%s]"
                         % " ".join(old))
    return mandatory, skippable


def upgrade_enforce(mandatory, skippable, force):
    # cmd/upgrade/common.go: mandatory errors cannot be forced; skippable ones need --force.
    if mandatory:
        raise KubeadmError("the version argument is invalid due to these fatal errors:\n\n%s\nPlease fix the "
                           "misalignments highlighted above and try upgrading again"
                           % "".join("\t- %s\n" % m for m in mandatory), "preflight")
    if skippable and not force:
        raise KubeadmError("the version argument is invalid due to these errors:\n\n%s\nCan be bypassed if you pass "
                           "the --force flag" % "".join("\t- %s\n" % m for m in skippable), "preflight")


def upgrade_manifest_arg(pod, name):
    for a in pod["spec"]["containers"][0].get("command") or []:
        if a.startswith("--%s=" % name):
            return a.split("=", 1)[1]
    return None


def upgrade_static_pods(new_v, timeout=300):
    """Rewrites this control plane's manifests with the new tag and waits for the kubelet to run
    them (the API server answering /version with the new version)."""
    if not exists("/etc/kubernetes/manifests/kube-apiserver.yaml"):
        return False
    out("[upgrade/staticpods] Writing new Static Pod manifests to \"/etc/kubernetes/manifests\"")
    api_pod = None
    for name in UPGRADE_COMPONENTS:
        path = "/etc/kubernetes/manifests/%s.yaml" % name
        pod = yaml.safe_load(read(path) or "") or {}
        if not pod:
            raise KubeadmError("failed to read the static Pod manifest %s" % path, "control-plane")
        c = pod["spec"]["containers"][0]
        c["image"] = c["image"].rsplit(":", 1)[0] + ":" + new_v
        if name == "kube-apiserver":
            api_pod = pod
        out("[upgrade/staticpods] Preparing for \"%s\" upgrade" % name)
        write(path, yaml.safe_dump(pod, default_flow_style=False), 0o600)
        out("[upgrade/staticpods] Component \"%s\" upgraded successfully!" % name)
    adv = upgrade_manifest_arg(api_pod, "advertise-address") or "127.0.0.1"
    port = upgrade_manifest_arg(api_pod, "secure-port") or "6443"
    out("[upgrade/staticpods] Waiting for the kubelet to restart the component")
    ctx = client_context(insecure=True)
    t0, last = time.time(), ""
    while time.time() - t0 < timeout:
        try:
            host = "[%s]" % adv if ":" in adv else adv
            with urllib.request.urlopen("https://%s:%s/version" % (host, port), context=ctx, timeout=3) as r:
                got = json.loads(r.read()).get("gitVersion", "")
            if got == new_v:
                return True
            last = "reports %s" % got
        except (OSError, ValueError) as e:
            last = str(e)
        time.sleep(1)
    raise KubeadmError("static Pod hash for component kube-apiserver on Node %s did not change after %ds: %s"
                       % (hostname(), timeout, last), "control-plane")


def upgrade_kubelet_config(api):
    out("[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config.yaml")
    cm = api.get_or_none("/api/v1/namespaces/kube-system/configmaps/kubelet-config")
    if cm and cm.get("data", {}).get("kubelet"):
        write("/var/lib/kubelet/config.yaml", cm["data"]["kubelet"], 0o644)
        out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')


def kubeadm_upgrade_plan(argv):
    api = admin_api(flag(argv, "kubeconfig"))
    _, cc = upgrade_cluster_config(api)
    cluster_v = cc.get("kubernetesVersion") or ""
    kubelets = upgrade_kubelet_versions(api)
    out("[upgrade] Running cluster health checks")
    target = "v" + version()
    out("[upgrade] Fetching available versions to upgrade to")
    out("[upgrade/versions] Cluster version: %s" % cluster_v)
    out("[upgrade/versions] kubeadm version: %s" % target)
    out("[upgrade/versions] Target version: %s" % target)
    if parse_version(target) <= parse_version(cluster_v):
        out("")
        out("Awesome, you're up-to-date! Enjoy!")
        return
    out("")
    out("Components that must be upgraded manually after you have upgraded the control plane with "
        "'kubeadm upgrade apply':")
    rows = [["COMPONENT", "NODE", "CURRENT", "TARGET"]]
    rows += [["kubelet", n, v, target] for n, v in sorted(kubelets.items())]
    table(rows)
    out("")
    out("Upgrade to the latest stable version:")
    out("")
    rows = [["COMPONENT", "NODE", "CURRENT", "TARGET"]]
    rows += [[comp, hostname(), cluster_v, target] for comp in UPGRADE_COMPONENTS]
    rows.append(["kube-proxy", "", cluster_v, target])
    table(rows)
    out("")
    out("You can now apply the upgrade by executing the following command:")
    out("")
    out("\tkubeadm upgrade apply %s" % target)
    out("")
    out("_____________________________________________________________________")


def kubeadm_upgrade_apply(argv):
    pos = positional(argv, takes_value=("kubeconfig", "config", "ignore-preflight-errors", "v"))
    # pos: ["upgrade", "apply", VERSION]
    if len(pos) < 3:
        raise KubeadmError("missing one or more required arguments. Required arguments: [version]")
    new_v = pos[2] if pos[2].startswith("v") else "v" + pos[2]
    parse_version(new_v)
    force = "--force" in argv or "-f" in argv
    api = admin_api(flag(argv, "kubeconfig"))
    cm, cc = upgrade_cluster_config(api)
    cluster_v = cc.get("kubernetesVersion") or ""
    mandatory, skippable = upgrade_policy(cluster_v, new_v, upgrade_kubelet_versions(api))
    upgrade_enforce(mandatory, skippable, force)
    if not ("-y" in argv or "--yes" in argv or force):
        sys.stdout.write("[upgrade] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise KubeadmError("won't proceed; the user didn't answer (Y|y) in order to continue")
    out("[upgrade] Upgrading your Static Pod-hosted control plane to version \"%s\" (timeout: 5m0s)..." % new_v)
    upgrade_static_pods(new_v)
    cc["kubernetesVersion"] = new_v
    cm["data"]["ClusterConfiguration"] = yaml.safe_dump(cc, default_flow_style=False)
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    retry_api(lambda: api.put("/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
                              dict(cm, metadata={k: v for k, v in cm["metadata"].items()
                                                 if k in ("name", "namespace", "resourceVersion")})), 60)
    upgrade_kubelet_config(api)
    out("[addons] Applied essential addon: CoreDNS")
    out("[addons] Applied essential addon: kube-proxy")
    out("")
    out('[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "%s".' % new_v)
    out("")
    out("[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.")


def kubeadm_upgrade_node(argv):
    kc = flag(argv, "kubeconfig")
    if not kc:
        kc = "/etc/kubernetes/admin.conf" if exists("/etc/kubernetes/manifests/kube-apiserver.yaml") \
            else "/etc/kubernetes/kubelet.conf"
    api = admin_api(kc)
    _, cc = upgrade_cluster_config(api)
    cluster_v = cc.get("kubernetesVersion") or ""
    if exists("/etc/kubernetes/manifests/kube-apiserver.yaml"):
        cur = parse_version(version())
        want = parse_version(cluster_v)
        if want[:2] > cur[:2]:
            raise KubeadmError('Specified version to upgrade to "%s" is at least one minor release higher than the '
                               'kubeadm minor release (%d > %d). Such an upgrade is not supported'
                               % (cluster_v, want[1], cur[1]), "control-plane")
        out("[upgrade] Upgrading your Static Pod-hosted control plane instance to version \"%s\"..." % cluster_v)
        upgrade_static_pods(cluster_v)
    else:
        out("[upgrade] Skipping phase. Not a control plane node.")
    upgrade_kubelet_config(api)
    out("[upgrade] The configuration for this node was successfully upgraded!")
    out("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.")


def kubeadm_upgrade(argv, cmd):
    if len(cmd) < 2 or cmd[1] not in ("plan", "apply", "node", "diff"):
        raise KubeadmError('unknown command "%s" for "kubeadm upgrade"' % (cmd[1] if len(cmd) > 1 else ""))
    if cmd[1] == "plan":
        kubeadm_upgrade_plan(argv)
    elif cmd[1] == "apply":
        kubeadm_upgrade_apply(argv)
    elif cmd[1] == "node":
        kubeadm_upgrade_node(argv)
    else:
        raise KubeadmError("kubeadm upgrade diff: not in the stand-in")



# ---------------------------------------------------------------- dispatch

def main(argv):
    if not argv:
        sys.stderr.write("usage: k8s_standin.py {kubeadm|kubelet|kube-apiserver|kube-controller-manager|"
                         "kube-scheduler|kubectl|crictl} ARGS...\n")
        return 2
    prog, rest = argv[0], argv[1:]
    fn = {"kubeadm": main_kubeadm, "kubelet": main_kubelet, "kube-apiserver": main_apiserver,
          "kube-controller-manager": main_controller_manager, "kube-scheduler": main_scheduler,
          "kubectl": main_kubectl, "crictl": main_crictl}.get(prog)
    if fn is None:
        sys.stderr.write("unknown program %s\n" % prog)
        return 2
    return fn(rest) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
