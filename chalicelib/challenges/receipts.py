"""Delivery receipts: a challenge's ``sent`` becomes ``delivered`` or ``failed``.

SES (through its configuration set's SNS event destination) and SNS SMS (through its
delivery status logs) report each message's outcome with the destination it went to and
the time the provider accepted it. When a code is sent, the same transaction that
stores the challenge writes a *receipt item* for its destination
(``receipt#<keyed hash of the destination>``: flow, code id, time, the send-cap events it
used), so recording a send costs no extra round trip. A receipt reads that item and
moves the flow's challenge, conditionally:

- only forward: ``sent`` (or ``queued``) to ``delivered`` or ``failed``, never back, so a
  late or duplicate receipt changes nothing;
- only the code the receipt was for: the item names a code id and the update requires
  the flow to still hold that code, so a receipt for a replaced code is ignored; a
  receipt accepted before the newest send to that destination was written is for an
  older message and is ignored too;
- a failed send gives back the send-cap events it used (it reached nobody), and the
  forgot-PIN flow lets the member switch channel at once (pin_reset.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib import metrics
from chalicelib.challenges.destinations import destination_key
from chalicelib.deps import Deps
from chalicelib.limits import Taken
from chalicelib.storage.models import CounterModel, FlowModel
from chalicelib.storage.store import Conflict, Txn

log = logging.getLogger(__name__)

FAILURES = ("unreachable", "rejected", "bounced", "expired", "unknown")
RECEIPT_LIFETIME = 3600  # a receipt arriving later than this after the send is ignored
CLOCK_SKEW = 2.0  # seconds: the provider's clock against ours


@dataclass(frozen=True)
class Receipt:
    """One provider outcome, as the handlers parse it."""

    channel: str  # "email" | "sms"
    destination: str  # the address or E.164 number the message went to
    accepted_at: float  # when the provider accepted the message (epoch seconds)
    delivery: str  # "delivered" | "failed"
    failure: str | None = None  # one of FAILURES when failed


def receipt_key(deps: Deps, channel: str, destination: str) -> str:
    """The receipt item of one destination (a keyed hash: no address in a key)."""
    return "receipt#" + destination_key(deps, channel, destination)


def index_send(deps: Deps, channel: str, destination: str, flow_id: str, code_id: str, now: float) -> Any:
    """An ``after`` for ``limits.commit_within``: the receipt item, in the same transaction."""

    def add(txn: Txn, taken: list[Taken]) -> None:
        refund = [[t.counter_key, t.stamp] for t in taken if t.stamp is not None]
        item = CounterModel(
            receipt_key(deps, channel, destination),
            flow_id=flow_id,
            code_id=code_id,
            sent_at=now,
            refund=json.dumps(refund),
        )
        item.expire_at(now + RECEIPT_LIFETIME)
        txn.put("receipt", item)

    return add


def record(deps: Deps, receipt: Receipt) -> str:
    """Apply one receipt; what happened (``applied``, ``unknown``, ``stale``, ``ignored``)."""
    now = deps.clock()
    item = deps.store.get(CounterModel, receipt_key(deps, receipt.channel, receipt.destination))
    if item is None or not item.flow_id or not item.code_id or item.expires_at.timestamp() <= now:
        return "unknown"  # not a code of ours (a notice, a decoy from long ago) or expired
    if receipt.accepted_at + CLOCK_SKEW < float(item.sent_at or 0):
        return "stale"  # accepted before the newest send to this destination was stored
    failure = receipt.failure if receipt.delivery == "failed" else None
    actions: list[Action] = [FlowModel.ch_delivery.set(receipt.delivery)]
    if failure:
        actions.append(FlowModel.ch_delivery_failure.set(failure))
    condition = (
        FlowModel.flow_id.exists()
        & (FlowModel.ch_code_id == item.code_id)
        & FlowModel.ch_delivery.is_in("sent", "queued")
    )
    try:
        deps.store.update_flow(item.flow_id, actions, condition)
    except Conflict:
        return "ignored"  # a newer code, a finished flow, or an outcome already recorded
    if receipt.delivery == "failed":
        metrics.count("DeliveryFailed", channel=receipt.channel, reason=failure or "unknown")
        _refund(deps, item)
    else:
        metrics.count("Delivered", channel=receipt.channel)
    return "applied"


def _refund(deps: Deps, item: CounterModel) -> None:
    """A send that reached nobody does not count against the destination's caps."""
    try:
        events = [(str(key), int(stamp)) for key, stamp in json.loads(item.refund or "[]")]
    except (ValueError, TypeError):
        return
    for key, stamp in events:
        deps.store.remove_stamp(key, stamp)
