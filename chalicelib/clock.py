"""Time as a parameter: flows take ``now`` from a clock so tests can move it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]

system_clock: Clock = time.time


def to_datetime(ts: float) -> datetime:
    """An epoch timestamp as an aware UTC datetime (for TTL attributes)."""
    return datetime.fromtimestamp(ts, tz=UTC)


def rfc3339(ts: float) -> str:
    """An epoch timestamp as RFC 3339 UTC, rounded up to whole seconds (``2026-11-21T23:05:00Z``)."""
    return datetime.fromtimestamp(math.ceil(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
