"""A hand-driven HTTP/1.1 upload, for the cases a polite client never produces:
a body that stops half-way, a connection held open while the server is killed."""

from __future__ import annotations

import socket
from urllib.parse import urlparse


class PartialUpload:
    def __init__(self, storage_url: str, token: str, container: str, obj: str, data: bytes, headers: dict):
        u = urlparse(storage_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        self.data = data
        path = f"{u.path}/{container}/{obj}"
        lines = [f"PUT {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", f"X-Auth-Token: {token}",
                 f"Content-Length: {len(data)}"] + [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, start: int, end: int) -> None:
        self.sock.sendall(self.data[start:end])

    def response_status(self) -> int:
        buf = b""
        while b"\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        return int(buf.split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()
