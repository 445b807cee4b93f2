"""Where a message goes, as the counters and suppressions know it: a keyed hash, no address."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.keys import keyed_hash


def destination_key(deps: Deps, channel: str, destination: str) -> str:
    """The key of a destination in counters and suppressions (a keyed hash, no address)."""
    return "dest#" + keyed_hash(deps.keys.destination, channel, destination.lower())
