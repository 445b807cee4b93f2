"""Provider feedback: SES events (through SNS) and SNS SMS delivery status logs.

Email: SES sends through the stage's configuration set, whose SNS event destination
carries Delivery, Bounce, Complaint, Reject and DeliveryDelay events here (the same
topic also takes identity notifications, the older ``notificationType`` shape). A
permanent bounce or a complaint suppresses the address (a later send is skipped and
reported ``suppressed``); each outcome moves the challenge it was for (receipts.py).

SMS: SNS writes each SMS's delivery status to CloudWatch Logs; a subscription filter
hands the log events here (``sms_logs``), and the carrier's answer is mapped to the
contract's ``delivery_failure``.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import logging
from email.utils import parseaddr
from typing import Any

from chalicelib.challenges import receipts
from chalicelib.challenges.destinations import destination_key
from chalicelib.challenges.receipts import Receipt
from chalicelib.deps import Deps

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


def _time(text: Any) -> float:
    """An SES or SNS timestamp (ISO 8601, or SNS's "2026-11-23 11:00:00.123") as epoch seconds."""
    try:
        parsed = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _bounce_failure(bounce: dict[str, Any]) -> str:
    kind, sub = bounce.get("bounceType"), bounce.get("bounceSubType")
    if kind == "Permanent" or sub == "MailboxFull":
        return "bounced"  # no such mailbox, or full
    return "expired" if kind == "Transient" else "unknown"


def email_receipts(note: dict[str, Any]) -> list[Receipt]:
    """The challenge outcomes an SES event reports (none for a complaint or a delay)."""
    kind = note.get("eventType") or note.get("notificationType") or ""
    mail = note.get("mail") or {}
    accepted = _time(mail.get("timestamp"))
    if kind == "Delivery":
        to = (note.get("delivery") or {}).get("recipients") or mail.get("destination") or []
        return [Receipt("email", parseaddr(a)[1], accepted, "delivered") for a in to]
    if kind == "Bounce":
        bounce = note.get("bounce") or {}
        failure = _bounce_failure(bounce)
        to = [r.get("emailAddress", "") for r in bounce.get("bouncedRecipients", [])]
        return [Receipt("email", parseaddr(a)[1], accepted, "failed", failure) for a in to]
    if kind == "Reject":
        return [Receipt("email", parseaddr(a)[1], accepted, "failed", "rejected") for a in mail.get("destination", [])]
    return []  # Complaint (the mail was delivered), DeliveryDelay (SES keeps trying), Send...


def handle(deps: Deps, message: str) -> int:
    """Suppress what a notification names and record its outcomes; how many were suppressed."""
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
    outcomes = [receipts.record(deps, r) for r in email_receipts(note) if "@" in r.destination]
    log.info("ses feedback: %s, %d suppressed, receipts %s", reason or "no suppression", count, outcomes)
    return count


# --- SMS: SNS delivery status logs ------------------------------------------------------

# SNS's providerResponse texts, mapped to the contract's delivery_failure (first match).
_SMS_FAILURES = (
    ("expired", ("expired", "carrier is currently unreachable", "unable to reach phone carrier", "ttl")),
    (
        "unreachable",
        (
            "phone is currently unreachable",
            "unavailable",
            "invalid phone",
            "not valid",
            "unknown error attempting to reach phone",
            "unknown phone",
        ),
    ),
    ("rejected", ("blocked", "spam", "opted out", "price exceeds", "message is invalid", "rejected", "filtered")),
)


def sms_failure(provider_response: str) -> str:
    """The contract's ``delivery_failure`` for an SNS providerResponse text."""
    text = provider_response.lower()
    for failure, markers in _SMS_FAILURES:
        if any(m in text for m in markers):
            return failure
    return "unknown"


def sms_receipt(entry: dict[str, Any]) -> Receipt | None:
    """One SNS SMS delivery status log entry as a receipt (None if it is not one)."""
    delivery, notification = entry.get("delivery") or {}, entry.get("notification") or {}
    destination, status = delivery.get("destination"), entry.get("status")
    if not isinstance(destination, str) or status not in ("SUCCESS", "FAILURE"):
        return None
    accepted = _time(notification.get("timestamp"))
    if status == "SUCCESS":
        return Receipt("sms", destination, accepted, "delivered")
    return Receipt("sms", destination, accepted, "failed", sms_failure(str(delivery.get("providerResponse", ""))))


def sms_logs(deps: Deps, event: dict[str, Any]) -> list[str]:
    """A CloudWatch Logs subscription event (base64 gzip JSON) of SNS SMS statuses."""
    try:
        data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    except (KeyError, TypeError, ValueError, OSError):
        log.warning("sms receipts: not a CloudWatch Logs event, ignored")
        return []
    outcomes = []
    for log_event in data.get("logEvents", []):
        try:
            receipt = sms_receipt(json.loads(log_event.get("message", "")))
        except (ValueError, AttributeError):
            receipt = None
        if receipt is None:
            outcomes.append("not a receipt")
            continue
        outcomes.append(receipts.record(deps, receipt))
    log.info("sms receipts: %s", outcomes)
    return outcomes
