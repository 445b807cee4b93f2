"""Sending a code (or the notice or decoy that stands in for one): write, send, undo.

The flow item (with the code's HMAC) and the destination's send log are written in one
transaction whose conditions enforce the cooldown and the caps; only then is the message
handed to SES/SNS. If the provider refuses, the write is undone (the old challenge
restored, the send stamp removed) and the client gets ``503 delivery_unavailable``:
nothing was consumed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pynamodb.expressions.update import Action

from chalicelib import audit, limits, metrics
from chalicelib.challenges import codes, receipts
from chalicelib.challenges.destinations import destination_key
from chalicelib.clock import to_datetime
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, DeliveryFailed, retry_after
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage.flows import flow_data, load_flow, require_state
from chalicelib.storage.models import ClaimModel, FlowModel, SuppressionModel
from chalicelib.storage.store import (
    Conflict,
    Txn,
    challenge_of,
    clear_challenge,
    fill_challenge,
    in_states,
    live_flow,
    set_challenge,
)
from chalicelib.views import mask_destination

MessageKind = Literal["code", "notice", "decoy"]


@dataclass(frozen=True)
class Outgoing:
    """A message a challenge sends.

    ``kind``: a code; a notice that stands in for one (the address has an account); or a
    decoy (the address has none: the same work is done, nobody receives anything).
    ``client_ip`` is who asked, for the per-client limits.
    """

    channel: Literal["email", "sms"]
    destination: str
    purpose: str
    kind: MessageKind = "code"
    client_ip: str = ""
    # A stranger may be asking (sign-up, password reset): suppression is never told, the
    # journey chose a decoy for a suppressed address at its start (``first_reads``).
    hidden: bool = False


def send_limits(deps: Deps, outgoing: Outgoing) -> list[Limit]:
    """The limits one send counts against: its destination, the sender's address, and the
    hourly budget of its channel (SMS also by number range).

    The destination's cap is counted per journey: a stranger driving one journey never
    sees sends of another (a member's own sign-up or PIN reset) in the answer.
    """
    s = deps.settings
    found = [
        Limit(
            "destination",
            destination_key(deps, outgoing.channel, outgoing.destination) + "#" + outgoing.purpose,
            s.max_sends_per_destination,
            s.destination_window,
            rolling=True,
        )
    ]
    per_client = s.sms_per_client_per_hour if outgoing.channel == "sms" else s.email_per_client_per_hour
    found += limits.for_client(
        s,
        deps.keys.destination,
        f"client#{outgoing.channel}#",
        outgoing.client_ip,
        max_per_address=per_client,
        window=3600,
    )
    if outgoing.channel == "sms":
        # SMS pumping walks number ranges: the number minus its last 4 digits is a range.
        prefix = "prefix#" + keyed_hash(deps.keys.destination, "prefix", outgoing.destination[:-4])
        found.append(Limit("prefix", prefix, s.sms_per_prefix_per_hour, 3600))
    # SMS costs money; mass sign-ups to dead addresses would push SES's bounce rate to a sending pause.
    budget = limits.channel_budget(s, outgoing.channel)
    return found + ([budget] if budget else [])


def first_reads(deps: Deps, claim: str, email: str) -> tuple[str | None, bool]:
    """The owner of ``claim`` and whether ``email`` is suppressed, in one round trip.

    Journeys a stranger can start by naming an address (sign-up, password reset) send
    a suppressed address a decoy and report ``sent`` as for anyone else: ``suppressed``
    would only ever appear for addresses someone once wrote to, so it would tell.
    """
    owner, suppression = deps.store.get_many(
        (ClaimModel, claim), (SuppressionModel, destination_key(deps, "email", email))
    )
    return (owner.account_id if owner else None), suppression is not None


def deliver(deps: Deps, outgoing: Outgoing, code: str, lang: str) -> None:
    """Hand the message to SES or SNS (raises DeliveryFailed)."""
    s = deps.settings
    if outgoing.kind == "decoy":
        # Same work as a real send, to SES's mailbox simulator: nobody receives anything.
        if s.ses_decoy_address:
            subject, body = templates.account_exists_email(lang, s.app_name, outgoing.purpose)
            deps.sender.send_email(s.ses_decoy_address, subject, body)
    elif outgoing.channel == "email":
        if outgoing.kind == "notice":
            subject, body = templates.account_exists_email(lang, s.app_name, outgoing.purpose)
        else:
            subject, body = templates.code_email(lang, code, s.code_ttl, outgoing.purpose, s.app_name)
        deps.sender.send_email(outgoing.destination, subject, body)
    else:
        text = templates.code_sms(
            lang, code, s.code_ttl, outgoing.purpose, s.app_name, s.sms_autofill_domain, s.sms_android_hash
        )
        deps.sender.send_sms(outgoing.destination, text)


Write = Callable[[Txn, codes.Challenge], None]


def _write_and_send(
    deps: Deps,
    outgoing: Outgoing,
    *,
    code: str,
    challenge: codes.Challenge,
    write: Write,
    undo: Callable[[codes.Challenge], None],
    lang: str,
    now: float,
    subject: str,
    flow_id: str,
    extra_limits: Sequence[Limit] = (),
) -> codes.Challenge:
    """Store a challenge under the send limits, then send it; the challenge as stored.

    A suppressed destination (bounced or complained email, opted-out number) is not
    sent to and not counted: the challenge says ``suppressed`` so the app can offer the
    other channel.
    """
    if outgoing.channel == "sms" and deps.sender.sms_opted_out(outgoing.destination):
        return _store_suppressed(deps, outgoing, challenge, write, subject, now)
    not_suppressed: Callable[[Txn], None] = lambda txn: None  # noqa: E731
    if outgoing.channel == "email" and outgoing.kind != "decoy" and not outgoing.hidden:
        key = destination_key(deps, "email", outgoing.destination)
        condition = SuppressionModel.destination_key.does_not_exist()
        not_suppressed = lambda txn: txn.check("suppressed", SuppressionModel, key, condition)  # noqa: E731

    def build(txn: Txn) -> None:
        write(txn, challenge)
        not_suppressed(txn)
        txn.put("audit", _code_event(deps, outgoing, challenge, subject, now))

    receipt = None
    if outgoing.kind == "decoy":
        # Every decoy goes to one simulator address, so its receipts cannot tell decoys
        # apart: the challenge reads "delivered" a few seconds on instead, as a real one would.
        challenge = replace(challenge, settles_at=now + DECOY_SETTLES + secrets.randbelow(3000) / 1000)
    else:
        receipt = receipts.index_send(deps, outgoing.channel, outgoing.destination, flow_id, challenge.code_id, now)
    try:
        counted = [*send_limits(deps, outgoing), *extra_limits]
        taken = limits.commit_within(deps.store, build, counted, now, after=receipt)
    except Conflict as exc:
        if exc.labels != {"suppressed"}:
            raise
        return _store_suppressed(deps, outgoing, challenge, write, subject, now)
    try:
        deliver(deps, outgoing, code, lang)
    except DeliveryFailed as exc:
        undo(challenge)
        limits.give_back(deps.store, taken)
        raise retry_after("delivery_unavailable", deps.settings.delivery_retry_after) from exc
    metrics.count("CodesSent", channel=outgoing.channel)
    return challenge


DECOY_SETTLES = 1.0  # seconds (plus up to 3 at random): about SES's own delivery time


def _code_event(deps: Deps, outgoing: Outgoing, challenge: codes.Challenge, subject: str, now: float) -> Any:
    details = {
        "channel": outgoing.channel,
        "destination": mask_destination(outgoing.channel, outgoing.destination),
        "purpose": outgoing.purpose,
        "delivery": challenge.delivery,
    }
    return audit.event("code.sent", subject, now, deps.settings.audit_retention_days, details=details)


def _store_suppressed(
    deps: Deps, outgoing: Outgoing, challenge: codes.Challenge, write: Write, subject: str, now: float
) -> codes.Challenge:
    suppressed = replace(challenge, delivery="suppressed")
    metrics.count("Suppressed", channel=outgoing.channel)
    txn = Txn()
    write(txn, suppressed)
    txn.put("audit", _code_event(deps, outgoing, suppressed, subject, now))
    deps.store.commit(txn)
    return suppressed


def start_with_code(
    deps: Deps,
    flow: FlowModel,
    *,
    outgoing: Outgoing,
    lang: str,
    now: float,
    in_same_txn: Callable[[Txn], None] | None = None,
) -> FlowModel:
    """Create a flow with its first challenge and send it (one transaction, then the send).

    ``in_same_txn`` adds writes or checks that belong to the same transaction."""
    s = deps.settings
    code, challenge = codes.issue(
        deps.keys.code,
        flow.flow_id,
        outgoing.channel,
        outgoing.destination,
        now,
        s.code_ttl,
        s.resend_cooldown,
        sends=1,
        notice=outgoing.kind != "code",
    )

    def write(txn: Txn, ch: codes.Challenge) -> None:
        fill_challenge(flow, ch)
        txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
        if in_same_txn is not None:
            in_same_txn(txn)

    def undo(ch: codes.Challenge) -> None:
        deps.store.delete_flow(flow.flow_id, FlowModel.ch_code_id == ch.code_id)

    subject = audit.subject_for(flow.account_id, flow.flow_id)
    stored = _write_and_send(
        deps,
        outgoing,
        code=code,
        challenge=challenge,
        write=write,
        undo=undo,
        lang=lang,
        now=now,
        subject=subject,
        flow_id=flow.flow_id,
    )
    fill_challenge(flow, stored)
    return flow


def check_resend(deps: Deps, flow: FlowModel, now: float, channel: str | None = None) -> codes.Challenge | None:
    """The current challenge, after the cooldown and per-flow cap are checked.

    After the provider reported the current code ``failed``, the member may switch to
    the other channel at once: no cooldown (the failed send is not counted either)."""
    current = challenge_of(flow)
    if current is None:
        return None
    switching = current.delivery == "failed" and channel is not None and channel != current.channel
    if now < current.resend_at and not switching:
        raise retry_after("resend_too_soon", current.resend_at - now)
    if current.sends >= deps.settings.max_sends_per_flow:
        raise retry_after("rate_limited", flow.expires_at.timestamp() - now)
    return current


def send_code(
    deps: Deps,
    flow: FlowModel,
    *,
    outgoing: Outgoing,
    lang: str,
    now: float,
    from_states: tuple[str, ...],
    to_state: str,
    lifetime: int,
    data: dict[str, Any] | None = None,
    in_same_txn: Callable[[Txn], None] | None = None,
    extra_limits: Sequence[Limit] = (),
) -> FlowModel:
    """Send a new code on an existing flow: a first send for this step, or a resend.
    ``extra_limits`` are counted with the send's own (the step's limits: one transaction).

    A resend (a code is already outstanding) obeys the cooldown and the per-flow cap;
    every send obeys the destination's rolling cap. The old code stops working.
    """
    s = deps.settings
    current = check_resend(deps, flow, now, outgoing.channel)
    # a send the provider reported failed reached nobody: it does not count toward the cap
    counted = (current.sends - (current.delivery == "failed")) if current else 0
    code, challenge = codes.issue(
        deps.keys.code,
        flow.flow_id,
        outgoing.channel,
        outgoing.destination,
        now,
        s.code_ttl,
        s.resend_cooldown,
        sends=counted + 1,
        notice=outgoing.kind != "code",
    )
    same_challenge = FlowModel.ch_code_id == current.code_id if current else FlowModel.ch_code_id.does_not_exist()
    condition = live_flow(flow.flow_id, flow.flow_type, now) & in_states(from_states) & same_challenge
    moves = [
        FlowModel.state.set(to_state),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + lifetime),
    ]
    if data is not None:
        moves.append(FlowModel.data.set(data))

    def write(txn: Txn, ch: codes.Challenge) -> None:
        txn.update("flow", FlowModel(flow.flow_id), [*set_challenge(ch), *moves], condition)
        if in_same_txn is not None:
            in_same_txn(txn)

    def undo(ch: codes.Challenge) -> None:
        _undo_send(deps, flow, ch, current)

    try:
        subject = audit.subject_for(flow.account_id, flow.flow_id)
        stored = _write_and_send(
            deps,
            outgoing,
            code=code,
            challenge=challenge,
            write=write,
            undo=undo,
            lang=lang,
            now=now,
            subject=subject,
            flow_id=flow.flow_id,
            extra_limits=extra_limits,
        )
    except Conflict as exc:
        if "contact" in exc.labels:
            raise ApiError("flow_expired") from exc  # the account's email or phone changed since
        # Another request changed the flow first (a parallel resend): explain from fresh state.
        fresh = load_flow(deps, flow.flow_id, flow.flow_type, now)
        require_state(fresh, *from_states)
        check_resend(deps, fresh, now, outgoing.channel)
        raise ApiError("wrong_state", {"state": fresh.state}) from exc
    # The transaction returns nothing: show the flow as it was just written.
    fill_challenge(flow, stored)
    flow.state, flow.updated_at, flow.expires_at = to_state, now, to_datetime(now + lifetime)
    if data is not None:
        flow.data = data
    return flow


def _undo_send(deps: Deps, before: FlowModel, sent: codes.Challenge, previous: codes.Challenge | None) -> None:
    """Put the flow back as it was before a send the provider refused."""
    restore: list[Action] = [
        FlowModel.state.set(before.state),
        # the expiry and its index shard exactly as they were (not a fresh draw)
        FlowModel.expires_at.set(before.expires_at),
        *([FlowModel.expiry_shard.set(before.expiry_shard)] if before.expiry_shard else []),
        FlowModel.updated_at.set(before.updated_at),
        FlowModel.data.set(flow_data(before)),
    ]
    restore += set_challenge(previous) if previous else clear_challenge()
    try:
        deps.store.update_flow(before.flow_id, restore, FlowModel.ch_code_id == sent.code_id)
    except Conflict:
        pass  # a newer send already replaced it; nothing of ours to undo
