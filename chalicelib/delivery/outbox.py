"""The outbox: a message the member is not waiting for is written with the change it
reports, and sent after the answer.

A request never calls SES or SNS for these: it adds an item to the ``outbox`` table in
the same transaction as its own writes (and the limits it counts), and answers. The
table's stream hands each new item to the outbox sender (a function of its own in AWS;
the dev stack drives the same handler from the emulator's stream). The sender claims an
item by a conditional write (``message_id`` is the idempotency key: a claimed, sent or
skipped message is never sent again), sends it, retries a provider failure with jittered
exponential backoff, records the outcome, and removes what the message said and to whom
once it is sent. What stays synchronous and why: docs/decisions.md ("The outbox").
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

from pynamodb.expressions.update import Action

from chalicelib import metrics
from chalicelib.accounts.erasure import scrub_events
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import DeliveryFailed, StorageUnavailable
from chalicelib.storage.models import OutboxModel
from chalicelib.storage.store import Conflict, Txn

log = logging.getLogger(__name__)

Channel = Literal["email", "sms", "audit"]
OutboxKind = Literal["notice", "reminder", "decoy", "scrub"]

KEPT_SECONDS = 7 * 86_400  # an item's lifetime (TTL): what was sent, for a week, without its text
MAX_ATTEMPTS = 5  # claims of one message across invocations, then it stays failed (and the DLQ has it)
BACKOFF = (0.2, 0.6, 1.8)  # seconds before each retry within one invocation (plus up to as much jitter)


def queue(
    txn: Txn,
    *,
    channel: Channel,
    destination: str,
    body: str,
    now: float,
    subject: str | None = None,
    kind: OutboxKind = "notice",
) -> str:
    """Add a message to ``txn`` (sent once the transaction commits); its id."""
    message_id = secrets.token_urlsafe(16)
    item = OutboxModel(
        message_id,
        channel=channel,
        kind=kind,
        destination=destination,
        subject=subject,
        body=body,
        status="queued",
        attempts=0,
        created_at=now,
    )
    item.expires_at = to_datetime(now + KEPT_SECONDS)
    txn.put("outbox", item, OutboxModel.message_id.does_not_exist())
    return message_id


def email_notice(txn: Txn, to: str, message: tuple[str, str], now: float) -> str:
    """A security notice by email (``message``: subject and body), in ``txn``."""
    subject, body = message
    return queue(txn, channel="email", destination=to, subject=subject, body=body, now=now)


def sms_notice(txn: Txn, to: str, text: str, now: float) -> str:
    """A security notice by SMS, in ``txn``."""
    return queue(txn, channel="sms", destination=to, body=text, now=now)


def scrub_after(txn: Txn, account_id: str, now: float) -> str:
    """Remove the personal details from an erased account's audit events once ``txn``
    (the erasure) has committed: never before, so a failed erasure keeps its evidence
    whole, and retried like a message if storage fails meanwhile."""
    return queue(txn, channel="audit", kind="scrub", destination=account_id, body="", now=now)


# --- the sender ------------------------------------------------------------------------


def _claim(deps: Deps, message_id: str, now: float) -> OutboxModel | None:
    """Take the message for sending (queued, or failed earlier), or None if another sender
    has it or it is done: the conditional write that makes every send happen once."""
    takeable = OutboxModel.status.is_in("queued", "failed") & (OutboxModel.attempts < MAX_ATTEMPTS)
    try:
        return deps.store.update_outbox(
            message_id,
            [OutboxModel.status.set("sending"), OutboxModel.attempts.add(1), OutboxModel.lease_until.set(now + 60)],
            OutboxModel.message_id.exists() & takeable,
        )
    except Conflict:
        return None


def _send(deps: Deps, item: OutboxModel) -> None:
    if item.channel == "email":
        deps.sender.send_email(item.destination or "", item.subject or "", item.body or "")
    else:
        deps.sender.send_sms(item.destination or "", item.body or "")


def _finish(deps: Deps, item: OutboxModel, status: str, now: float, failure: str | None = None) -> None:
    actions: list[Action] = [OutboxModel.status.set(status), OutboxModel.lease_until.remove()]
    if status in ("sent", "skipped"):
        # done: what it said and to whom is no longer needed
        actions += [
            OutboxModel.sent_at.set(now),
            OutboxModel.destination.remove(),
            OutboxModel.subject.remove(),
            OutboxModel.body.remove(),
        ]
    if failure:
        actions.append(OutboxModel.failure.set(failure))
    deps.store.update_outbox(item.message_id, actions, OutboxModel.status == "sending")


def send_one(deps: Deps, message_id: str, sleep: Callable[[float], None] = time.sleep) -> str:
    """Send one message at most once: ``sent``, ``skipped`` (a decoy, an opted-out number),
    ``taken`` (another sender has it, or it is done), or ``failed`` (the provider refused
    every try of this invocation; it may be claimed again)."""
    item = _claim(deps, message_id, deps.clock())
    if item is None:
        return "taken"
    if item.kind == "scrub":
        try:
            scrub_events(deps, item.destination or "")
        except StorageUnavailable:
            _finish(deps, item, "failed", deps.clock(), failure="storage_unavailable")
            return "failed"
        _finish(deps, item, "sent", deps.clock())
        return "sent"
    if item.kind == "decoy" or (item.channel == "sms" and deps.sender.sms_opted_out(item.destination or "")):
        _finish(deps, item, "skipped", deps.clock())
        return "skipped"
    for retry in range(len(BACKOFF) + 1):
        try:
            _send(deps, item)
        except DeliveryFailed:
            if retry == len(BACKOFF):
                _finish(deps, item, "failed", deps.clock(), failure="provider_unavailable")
                metrics.count("OutboxFailed", channel=item.channel)
                return "failed"
            sleep(BACKOFF[retry] * (1 + secrets.randbelow(1000) / 1000))
            continue
        _finish(deps, item, "sent", deps.clock())
        metrics.count("OutboxSent", channel=item.channel)
        return "sent"
    raise AssertionError("unreachable")


def handle_stream(deps: Deps, event: dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The outbox table's stream records (new items only): each message sent once. A message
    that could not be sent is reported back, so Lambda retries it (and, past its retries,
    hands the record to the dead-letter queue)."""
    failures = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        change = record.get("dynamodb", {})
        message_id = change.get("Keys", {}).get("message_id", {}).get("S")
        if not message_id:
            continue
        try:
            outcome = send_one(deps, message_id, sleep)
        except StorageUnavailable:
            outcome = "failed"
        if outcome == "failed":
            failures.append({"itemIdentifier": change.get("SequenceNumber", message_id)})
    if failures:
        log.warning("outbox messages not sent: %d", len(failures))
    return {"batchItemFailures": failures}
