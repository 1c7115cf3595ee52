#!/usr/bin/env python3
"""kha-lab: the default download hosts of kha-tui's inventory, inside a lab.

Serves the lab's file server tree over HTTPS on the bridge address, under the names kha-tui uses
when an inventory sets no mirror: https://pkgs.k8s.io/..., https://download.docker.com/linux/...
and https://raw.githubusercontent.com/projectcalico/calico/... The hosts resolve those names to
the bridge (/etc/hosts) and trust the lab's own CA, so an inventory typed from nothing installs
from the lab's stand-in repositories; nothing leaves the machine.

    tlsfront.py ADDRESS PORT WWW CERT KEY
"""
import http.server
import os
import posixpath
import ssl
import sys
import urllib.parse

# host name -> (path prefix of the default URL, directory of the file server tree)
ROUTES = {
    "pkgs.k8s.io": ("", "pkgs.k8s.io"),
    "download.docker.com": ("/linux", "docker"),
    "raw.githubusercontent.com": ("/projectcalico/calico", "calico"),
}


def main():
    addr, port, www, cert, key = sys.argv[1:6]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            route = ROUTES.get(host)
            p = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
            if route is None or not p.startswith(route[0] + "/"):
                return "/nonexistent/kha-lab"
            rel = posixpath.normpath(p[len(route[0]):]).lstrip("/")
            if rel.startswith(".."):
                return "/nonexistent/kha-lab"
            return os.path.join(www, route[1], rel)

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.headers.get("Host"), fmt % args))

    srv = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
