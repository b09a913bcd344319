"""Read an upload body straight from the socket when served by gunicorn.

gunicorn's ``Body.read`` pulls 1 KiB at a time through two layers of BytesIO; at
multi-GB uploads that costs more CPU than hashing. For a Content-Length body we take
the bytes gunicorn already buffered, then ``recv_into`` large buffers ourselves,
keeping gunicorn's own byte count right so keep-alive and draining still work.
Anything else (chunked bodies, other servers, the test client) uses the normal stream.
"""

from __future__ import annotations

import io
import socket


class DirectSocketBody:
    def __init__(self, body, timeout: float):
        self._reader = body.reader
        self._sock = self._reader.unreader.sock
        # Bytes already pulled off the socket belong to this body up to its length;
        # anything past it is a pipelined next request and goes back.
        pending = body.buf.getvalue()
        body.buf = io.BytesIO()
        raw = self._reader.unreader.buf.getvalue()
        self._reader.unreader.buf = io.BytesIO()
        take = min(len(raw), self._reader.length)
        self._pending = pending + raw[:take]
        self._reader.length -= take
        if len(raw) > take:
            self._reader.unreader.unread(raw[take:])
        self._old_timeout = self._sock.gettimeout()
        self._sock.settimeout(timeout)

    def read(self, n: int) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        want = min(n, self._reader.length)
        if want <= 0:
            return b""
        buf = bytearray(want)
        view = memoryview(buf)
        got = 0
        try:
            while got < want:
                k = self._sock.recv_into(view[got:], want - got)
                if k == 0:
                    break
                got += k
        except (socket.timeout, ConnectionError):
            pass  # reported as a short body by the caller
        self._reader.length -= got
        return bytes(buf) if got == want else bytes(view[:got])

    def close(self) -> None:
        self._sock.settimeout(self._old_timeout)


def direct_body(environ, timeout: float = 120.0) -> DirectSocketBody | None:
    body = environ.get("wsgi.input")
    reader = getattr(body, "reader", None)
    if type(body).__module__ != "gunicorn.http.body" or type(reader).__name__ != "LengthReader":
        return None
    if not hasattr(getattr(reader, "unreader", None), "sock"):
        return None
    return DirectSocketBody(body, timeout)
