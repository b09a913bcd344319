"""Structured logs: one JSON object per line (BODYCAM_LOG_FORMAT=json), for log shippers."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import datetime, timezone

_HOST = socket.gethostname()
_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "host": _HOST,
            "pid": os.getpid(),
        }
        for key, value in vars(record).items():  # extra={...} fields
            if key not in _STD and not key.startswith("_"):
                doc[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)
