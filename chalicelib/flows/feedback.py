"""SES feedback: bounces and complaints, delivered through SNS, suppress an address.

A later send to a suppressed address is skipped and reported as ``suppressed`` in the
challenge, so the app can offer the other channel instead of waiting for a code that
will never arrive. Transient (soft) bounces do not suppress.
"""

from __future__ import annotations

import json
import logging
from email.utils import parseaddr
from typing import Any

from chalicelib.deps import Deps
from chalicelib.flows.common import destination_key

log = logging.getLogger(__name__)


def _recipients(note: dict[str, Any]) -> tuple[str, list[str]]:
    kind = note.get("notificationType") or note.get("eventType") or ""
    if kind == "Bounce" and note.get("bounce", {}).get("bounceType") == "Permanent":
        return "bounce", [r.get("emailAddress", "") for r in note["bounce"].get("bouncedRecipients", [])]
    if kind == "Complaint":
        return "complaint", [
            r.get("emailAddress", "") for r in note.get("complaint", {}).get("complainedRecipients", [])
        ]
    return "", []


def handle(deps: Deps, message: str) -> int:
    """Suppress the addresses a notification names; how many were suppressed."""
    try:
        note = json.loads(message)
    except ValueError:
        log.warning("ses feedback: not JSON, ignored")
        return 0
    if not isinstance(note, dict):
        return 0
    reason, addresses = _recipients(note)
    now = deps.clock()
    count = 0
    for raw in addresses:
        email = parseaddr(raw)[1]
        if "@" in email:
            deps.store.suppress(destination_key(deps, "email", email), reason, now)
            count += 1
    log.info("ses feedback: %s, %d address(es) suppressed", reason or "ignored", count)
    return count
