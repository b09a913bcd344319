"""Files on the local disk written one way: private files (keys, secrets, backups) and the
directory fsync that makes a rename durable.

Pure Python (no Django, no app): the server apps, device/ and provenance/ all use it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

PRIVATE = 0o600  # owner read/write only


def open_private(path: str | Path, *, exclusive: bool = False) -> BinaryIO:
    """``path`` opened for binary writing with mode 0600 from the first byte (never readable by
    others, whatever the umask). ``exclusive``: refuse a file that exists (FileExistsError);
    otherwise an existing file is truncated and made 0600 too (``O_TRUNC`` keeps its old mode)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE)
    try:
        if not exclusive:
            os.fchmod(fd, PRIVATE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` as a private file (see ``open_private``)."""
    with open_private(path, exclusive=exclusive) as f:
        f.write(data.encode() if isinstance(data, str) else data)


def fsync_dir(path: str | Path) -> None:
    """Flush directory ``path`` itself, so a file created or renamed in it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["open_private", "write_private", "fsync_dir"]
