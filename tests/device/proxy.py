"""A small HTTP(S) relay in front of a live server, for dock tests: terminates TLS with a
self-signed certificate, and can corrupt a body in transit or misreport the server's hash.
It relays to the real server; the dock and the server are the real ones."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def self_signed(dir: Path) -> tuple[Path, Path, bytes]:
    """(cert.pem, key.pem, DER) for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bodycam test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = dir / "cert.pem", dir / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert_pem, key_pem, cert.public_bytes(serialization.Encoding.DER)


class Relay:
    def __init__(self, upstream: str, tls: tuple[Path, Path] | None = None, mode: str | None = None):
        self.upstream = urlsplit(upstream)
        self.mode = mode
        self.tls = tls
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if relay.mode == "flip" and self.command == "PUT" and self.path.endswith(".mp4") and body:
                    body = body[:-100] + bytes([body[-100] ^ 0xFF]) + body[-99:]
                up = http.client.HTTPConnection(relay.upstream.hostname, relay.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                up.request(self.command, self.path, body=body if self.command in ("PUT", "POST") else None,
                           headers=headers)
                r = up.getresponse()
                data = r.read()
                up.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("connection", "transfer-encoding", "content-length"):
                        continue
                    if k.lower() == "x-storage-url" and relay.tls:
                        v = v.replace("http://", "https://", 1)
                    if k.lower() == "x-object-sha256" and relay.mode == "lie" and self.command == "PUT":
                        v = "0" * 64
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def connection(self, conn: dict, cert_der: bytes | None = None) -> dict:
        import base64

        out = {**conn, "AuthenticationTokenURI": [self.url + "/auth/v1.0"]}
        if cert_der is not None:
            out["HTTPSCertificate"] = [base64.b64encode(cert_der).decode()]
        return out
