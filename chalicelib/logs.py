"""Structured logs: one JSON object per line, on stdout (CloudWatch Logs in Lambda).

A 30-line formatter instead of Powertools' Logger: the same one-line JSON shape without
adding its import to every cold start. Nothing here ever receives a request body, a
code, a token or a full NIK: callers log fixed words, ids and counts only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from chalicelib.audit import origin

_CONFIGURED = False
_FIELDS = ("route", "method", "status", "latency_ms", "event")


class JsonFormatter(logging.Formatter):
    """``{"level", "logger", "message", "request_id", ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = origin().request_id
        if request_id:
            line["request_id"] = request_id
        for name in _FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        return json.dumps(line, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure() -> None:
    """Send the service's loggers to stdout as JSON lines (once per container)."""
    global _CONFIGURED
    if _CONFIGURED:
        return
    handler = _StdoutHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    for name in ("chalicelib", "sandi"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    _CONFIGURED = True
