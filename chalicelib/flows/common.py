"""What every flow shares: loading, the flow view, and the code challenge steps.

Sending a code: the flow item (with the code's HMAC) and the destination's send log
are written in one transaction whose conditions enforce the cooldown and the caps;
only then is the message handed to SES/SNS. If the provider refuses, the write is
undone (the old challenge restored, the send stamp removed) and the client gets
``503 delivery_unavailable``: nothing was consumed.

Verifying a code: one conditional update raises the attempt counter *before* the
comparison (refused once the limit is reached, the code expired or the state moved
on); a second conditional update, bound to the code's id, consumes it and advances
the state, so two correct submissions cannot both pass.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pynamodb.attributes import MapAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import audit, limits, metrics, otp
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, DeliveryFailed, StorageUnavailable, retry_after
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage.models import AccountModel, FlowModel, SuppressionModel
from chalicelib.storage.store import (
    CHALLENGE_ATTRIBUTES,
    Conflict,
    Txn,
    challenge_of,
    clear_challenge,
    fill_challenge,
    in_states,
    live_flow,
    set_challenge,
)

Kind = Literal["code", "notice", "decoy"]


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
    kind: Kind = "code"
    client_ip: str = ""
    # A stranger may be asking (sign-up, password reset): suppression is never told, the
    # journey chose a decoy for a suppressed address at its start (``first_reads``).
    hidden: bool = False


def new_flow_id() -> str:
    """An unguessable flow id (192 random bits)."""
    return secrets.token_urlsafe(24)


def new_flow(
    flow_type: str,
    state: str,
    now: float,
    lifetime: int,
    lang: str,
    data: dict[str, Any],
    account_id: str | None = None,
) -> FlowModel:
    """A new flow item (not yet written) with an unguessable id."""
    flow = FlowModel(
        new_flow_id(),
        flow_type=flow_type,
        state=state,
        created_at=now,
        updated_at=now,
        lang=lang,
        account_id=account_id,
        data=data,
    )
    flow.expire_at(now + lifetime)
    return flow


# --- contact binding -------------------------------------------------------------
# A reset or contact change is bound to the email and phone the account had when it
# started: if the call center (or the member) changes either meanwhile, the flow is dead
# (410 flow_expired), so a code read from a mailbox that was moved away cannot finish it.


def contact_bound(email: str, phone: str) -> Condition:
    """The account still has this email and phone (a condition for the finishing write)."""
    return (AccountModel.email == email) & (AccountModel.phone == phone)


def contact_check(account_id: str, email: str, phone: str) -> Callable[[Txn], None]:
    """A transaction check that the account is active and still has this email and phone."""

    def check(txn: Txn) -> None:
        condition = (AccountModel.status == "active") & contact_bound(email, phone)
        txn.check("contact", AccountModel, account_id, condition)

    return check


def email_claim_check(email: str) -> Callable[[Txn, FlowModel], None]:
    """A transaction check that the email's claim still belongs to the flow's account
    (the email moved away, or the account closed, and the claim is gone or another's)."""
    from chalicelib.storage import claim_key
    from chalicelib.storage.models import ClaimModel
    from chalicelib.validation import email_key

    def check(txn: Txn, flow: FlowModel) -> None:
        key = claim_key("email", email_key(email))
        txn.check("contact", ClaimModel, key, ClaimModel.account_id == (flow.account_id or "-"))

    return check


def contact_tag(deps: Deps, email: str, phone: str) -> str:
    """A keyed fingerprint of an account's email and phone, kept in a flow to bind it."""
    return keyed_hash(deps.keys.destination, "contact", email.lower(), phone)[:32]


def require_contact(account: AccountModel | None, email: str, phone: str | None = None) -> AccountModel:
    """The account, if it is active and still has the email (and phone) the flow was
    started for; else ``410 flow_expired``."""
    if (
        account is None
        or account.status != "active"
        or account.email.lower() != email.lower()
        or (phone is not None and account.phone != phone)
    ):
        raise ApiError("flow_expired")
    return account


# --- reading -------------------------------------------------------------------


def check_flow(flow: FlowModel | None, flow_type: str, now: float, owner: str | None = None) -> FlowModel:
    """The flow if it exists, is of this type (and this account's) and is alive; else 404 or 410."""
    if flow is None or flow.flow_type != flow_type or (owner is not None and flow.account_id != owner):
        raise ApiError("not_found")
    if flow.expires_at <= to_datetime(now):
        raise ApiError("flow_expired")
    return flow


def load_flow(deps: Deps, flow_id: str, flow_type: str, now: float, owner: str | None = None) -> FlowModel:
    """Read a flow (one round trip) and check it."""
    return check_flow(deps.store.get(FlowModel, flow_id), flow_type, now, owner)


def flow_data(flow: FlowModel) -> dict[str, Any]:
    """The flow's journey-specific data as a plain dict."""
    data = flow.data
    if isinstance(data, MapAttribute):
        return dict(data.as_dict())
    return dict(data or {})


def require_state(flow: FlowModel, *states: str) -> None:
    """409 wrong_state unless the flow is in one of ``states``."""
    if flow.state not in states:
        raise ApiError("wrong_state", {"state": flow.state})


def mask_email(email: str) -> str:
    """``budi@gmail.com`` -> ``bu***i@g***l.com``."""
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""

    def part(text: str, keep: int) -> str:
        if len(text) <= keep + 1:
            return text[:1] + "***"
        return text[:keep] + "***" + text[-1:]

    return f"{part(local, 2)}@{part(host, 1)}{dot}{tld}"


def mask_phone(phone: str) -> str:
    """``+6281234567890`` -> ``+62812*****890``."""
    return phone[:6] + "*" * max(0, len(phone) - 9) + phone[-3:]


def mask_destination(channel: str, destination: str) -> str:
    """A destination as the API may show it."""
    if channel == "authenticator":
        return "authenticator"
    return mask_email(destination) if channel == "email" else mask_phone(destination)


def flow_view(deps: Deps, flow: FlowModel, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flow as every step answers it."""
    view: dict[str, Any] = {
        "flow_id": flow.flow_id,
        "type": flow.flow_type,
        "state": flow.state,
        "expires_at": rfc3339(flow.expires_at.timestamp()),
    }
    if extra:
        view.update(extra)
    challenge = challenge_of(flow)
    if challenge is not None:
        view["challenge"] = {
            "channel": challenge.channel,
            "destination": mask_destination(challenge.channel, challenge.destination),
            "expires_at": rfc3339(challenge.expires_at),
            "resend_available_at": rfc3339(challenge.resend_at),
            "attempts_remaining": challenge.attempts_remaining(deps.settings.code_max_attempts),
            "delivery": challenge.delivery,
        }
        if challenge.delivery == "sent" and challenge.settles_at and deps.clock() >= challenge.settles_at:
            view["challenge"]["delivery"] = "delivered"
        if challenge.delivery == "failed":
            view["challenge"]["delivery_failure"] = challenge.delivery_failure or "unknown"
    return view


# --- sending -------------------------------------------------------------------


def destination_key(deps: Deps, channel: str, destination: str) -> str:
    """The key of a destination in counters and suppressions (a keyed hash, no address)."""
    return "dest#" + keyed_hash(deps.keys.destination, channel, destination.lower())


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
    if s.client_limits_enabled and outgoing.client_ip:
        client = f"client#{outgoing.channel}#" + keyed_hash(deps.keys.destination, "client", outgoing.client_ip)
        found.append(Limit("client", client, per_client, 3600))
    if outgoing.channel == "sms":
        # SMS pumping walks number ranges: the number minus its last 4 digits is a range.
        prefix = "prefix#" + keyed_hash(deps.keys.destination, "prefix", outgoing.destination[:-4])
        found.append(Limit("prefix", prefix, s.sms_per_prefix_per_hour, 3600))
        if s.sms_budget_enabled:
            found.append(Limit("budget", "budget#sms", s.sms_budget_per_hour, 3600))
    elif s.email_budget_enabled:
        # Mass sign-ups to dead addresses would push SES's bounce rate to a sending pause.
        found.append(Limit("budget", "budget#email", s.email_budget_per_hour, 3600))
    return found


def first_reads(deps: Deps, claim: str, email: str) -> tuple[str | None, bool]:
    """The owner of ``claim`` and whether ``email`` is suppressed, in one round trip.

    Journeys a stranger can start by naming an address (sign-up, password reset) send
    a suppressed address a decoy and report ``sent`` as for anyone else: ``suppressed``
    would only ever appear for addresses someone once wrote to, so it would tell.
    """
    from chalicelib.storage.models import ClaimModel

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


Write = Callable[[Txn, otp.Challenge], None]


def _write_and_send(
    deps: Deps,
    outgoing: Outgoing,
    code: str,
    challenge: otp.Challenge,
    write: Write,
    undo: Callable[[otp.Challenge], None],
    lang: str,
    now: float,
    subject: str,
    flow_id: str,
) -> otp.Challenge:
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

    from chalicelib.flows import receipts  # it builds on this module

    receipt = None
    if outgoing.kind == "decoy":
        # Every decoy goes to one simulator address, so its receipts cannot tell decoys
        # apart: the challenge reads "delivered" a few seconds on instead, as a real one would.
        challenge = replace(challenge, settles_at=now + DECOY_SETTLES + secrets.randbelow(3000) / 1000)
    else:
        receipt = receipts.index_send(deps, outgoing.channel, outgoing.destination, flow_id, challenge.code_id, now)
    try:
        taken = limits.commit_within(deps.store, build, send_limits(deps, outgoing), now, after=receipt)
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


def _code_event(deps: Deps, outgoing: Outgoing, challenge: otp.Challenge, subject: str, now: float) -> Any:
    details = {
        "channel": outgoing.channel,
        "destination": mask_destination(outgoing.channel, outgoing.destination),
        "purpose": outgoing.purpose,
        "delivery": challenge.delivery,
    }
    return audit.event("code.sent", subject, now, deps.settings.audit_retention_days, details=details)


def _store_suppressed(
    deps: Deps, outgoing: Outgoing, challenge: otp.Challenge, write: Write, subject: str, now: float
) -> otp.Challenge:
    suppressed = replace(challenge, delivery="suppressed")
    metrics.count("Suppressed", channel=outgoing.channel)
    txn = Txn()
    write(txn, suppressed)
    txn.put("audit", _code_event(deps, outgoing, suppressed, subject, now))
    deps.store.commit(txn)
    return suppressed


def start_flow(
    deps: Deps,
    flow: FlowModel,
    outgoing: Outgoing,
    lang: str,
    now: float,
    also: Callable[[Txn], None] | None = None,
) -> FlowModel:
    """Create a flow with its first challenge and send it (one transaction, then the send).

    ``also`` adds writes or checks that belong to the same transaction."""
    s = deps.settings
    code, challenge = otp.issue(
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

    def write(txn: Txn, ch: otp.Challenge) -> None:
        fill_challenge(flow, ch)
        txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
        if also is not None:
            also(txn)

    def undo(ch: otp.Challenge) -> None:
        deps.store.delete_flow(flow.flow_id, FlowModel.ch_code_id == ch.code_id)

    subject = audit.subject_for(flow.account_id, flow.flow_id)
    stored = _write_and_send(deps, outgoing, code, challenge, write, undo, lang, now, subject, flow.flow_id)
    fill_challenge(flow, stored)
    return flow


def _check_resend(deps: Deps, flow: FlowModel, now: float, channel: str | None = None) -> otp.Challenge | None:
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


def send_challenge(
    deps: Deps,
    flow: FlowModel,
    outgoing: Outgoing,
    lang: str,
    now: float,
    allowed_states: tuple[str, ...],
    next_state: str,
    lifetime: int,
    data: dict[str, Any] | None = None,
    also: Callable[[Txn], None] | None = None,
) -> FlowModel:
    """Send a new code on an existing flow: a first send for this step, or a resend.

    A resend (a code is already outstanding) obeys the cooldown and the per-flow cap;
    every send obeys the destination's rolling cap. The old code stops working.
    """
    s = deps.settings
    current = _check_resend(deps, flow, now, outgoing.channel)
    # a send the provider reported failed reached nobody: it does not count toward the cap
    counted = (current.sends - (current.delivery == "failed")) if current else 0
    code, challenge = otp.issue(
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
    condition = live_flow(flow.flow_id, flow.flow_type, now) & in_states(allowed_states) & same_challenge
    moves = [
        FlowModel.state.set(next_state),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + lifetime),
    ]
    if data is not None:
        moves.append(FlowModel.data.set(data))

    def write(txn: Txn, ch: otp.Challenge) -> None:
        txn.update("flow", FlowModel(flow.flow_id), [*set_challenge(ch), *moves], condition)
        if also is not None:
            also(txn)

    def undo(ch: otp.Challenge) -> None:
        _undo_send(deps, flow, ch, current)

    try:
        subject = audit.subject_for(flow.account_id, flow.flow_id)
        stored = _write_and_send(deps, outgoing, code, challenge, write, undo, lang, now, subject, flow.flow_id)
    except Conflict as exc:
        if "contact" in exc.labels:
            raise ApiError("flow_expired") from exc  # the account's email or phone changed since
        # Another request changed the flow first (a parallel resend): explain from fresh state.
        fresh = load_flow(deps, flow.flow_id, flow.flow_type, now)
        require_state(fresh, *allowed_states)
        _check_resend(deps, fresh, now, outgoing.channel)
        raise ApiError("wrong_state", {"state": fresh.state}) from exc
    # The transaction returns nothing: show the flow as it was just written.
    fill_challenge(flow, stored)
    flow.state, flow.updated_at, flow.expires_at = next_state, now, to_datetime(now + lifetime)
    if data is not None:
        flow.data = data
    return flow


def _undo_send(deps: Deps, before: FlowModel, sent: otp.Challenge, previous: otp.Challenge | None) -> None:
    """Put the flow back as it was before a send the provider refused."""
    restore: list[Action] = [
        FlowModel.state.set(before.state),
        *FlowModel.expiry_actions(before.expires_at.timestamp()),
        FlowModel.updated_at.set(before.updated_at),
        FlowModel.data.set(flow_data(before)),
    ]
    restore += set_challenge(previous) if previous else clear_challenge()
    try:
        deps.store.update_flow(before.flow_id, restore, FlowModel.ch_code_id == sent.code_id)
    except Conflict:
        pass  # a newer send already replaced it; nothing of ours to undo


def finish_with_account_change(
    deps: Deps,
    flow: FlowModel,
    state: str,
    finished: str,
    account_id: str,
    actions: Sequence[Action],
    event: str,
    now: float,
    also: Callable[[Txn], None] | None = None,
    bound: Condition | None = None,
) -> FlowModel:
    """Move a flow from ``state`` to ``finished`` and change its account, with the audit
    event, in one transaction; ``409 wrong_state`` if either moved meanwhile, ``410
    flow_expired`` if ``also``'s ``contact`` check (the flow's binding) failed."""
    txn = Txn()
    condition = AccountModel.status == "active"
    if bound is not None:
        condition &= bound  # the email/phone the flow is bound to (one item: one operation)
    txn.update("account", AccountModel(account_id), list(actions), condition)
    if also is not None:
        also(txn)
    txn.update(
        "flow",
        FlowModel(flow.flow_id),
        [FlowModel.state.set(finished), FlowModel.updated_at.set(now)],
        (FlowModel.state == state) & (FlowModel.account_id == account_id),
    )
    txn.put("audit", audit.for_account(deps, event, account_id, now))
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        if "contact" in exc.labels:
            raise ApiError("flow_expired") from exc
        fresh = load_flow(deps, flow.flow_id, flow.flow_type, now)
        raise ApiError("wrong_state", {"state": fresh.state}) from exc
    flow.state, flow.updated_at = finished, now
    return flow


def _give_back_attempt(deps: Deps, flow_id: str, code_id: str) -> None:
    """Best effort: un-count an attempt whose right code could not be consumed."""
    try:
        deps.store.update_flow(flow_id, [FlowModel.ch_attempts.add(-1)], FlowModel.ch_code_id == code_id)
    except (Conflict, StorageUnavailable):
        pass  # the code changed meanwhile, or storage is still failing: the attempt stays counted


# --- verifying -----------------------------------------------------------------


def _explain_refusal(deps: Deps, flow_id: str, flow_type: str, state: str, now: float, owner: str | None) -> ApiError:
    """Why a conditional step on a flow was refused, read from the flow as it is now."""
    flow = load_flow(deps, flow_id, flow_type, now, owner)
    challenge = challenge_of(flow)
    if flow.state != state or challenge is None:
        return ApiError("wrong_state", {"state": flow.state})
    if challenge.attempts >= deps.settings.code_max_attempts:
        return ApiError("code_locked", {"attempts_remaining": 0})
    if challenge.expires_at <= now:
        metrics.count("CodesExpired", channel=challenge.channel)
        return ApiError("code_expired")
    return ApiError("wrong_state", {"state": flow.state})


def sent_code_check(deps: Deps) -> Callable[[FlowModel, str], bool]:
    """Whether a typed code is the one this flow's challenge sent (its keyed hash)."""

    def matches(flow: FlowModel, code: str) -> bool:
        return otp.code_matches(deps.keys.code, flow.flow_id, flow.ch_code_id or "", code, flow.ch_code_hash or "")

    return matches


def _consume_refused(
    deps: Deps, exc: Conflict, flow_id: str, flow_type: str, state: str, now: float, owner: str | None
) -> Exception:
    """Why consuming a right code was refused: the flow's binding, its state, or ``also``'s own."""
    if "contact" in exc.labels:
        return ApiError("flow_expired")
    if "flow" in exc.labels or exc.labels == {"item"}:
        return _explain_refusal(deps, flow_id, flow_type, state, now, owner)
    return exc


def verify_code(
    deps: Deps,
    flow_id: str,
    flow_type: str,
    state: str,
    code: str,
    now: float,
    next_state: str,
    lifetime: int,
    owner: str | None = None,
    also: Callable[[Txn, FlowModel], None] | None = None,
    check: Callable[[FlowModel, str], bool] | None = None,
) -> FlowModel:
    """Check a code and, if right, consume it and move the flow to ``next_state``.

    ``owner`` restricts the flow to one account. ``also`` adds writes that must happen
    with the consumption, in one transaction, given the flow as read (a refused
    condition of theirs raises ``Conflict`` with their labels, and the code is not
    consumed; a refused ``contact`` check is ``410 flow_expired``).
    """
    max_attempts = deps.settings.code_max_attempts
    base = live_flow(flow_id, flow_type, now) & (FlowModel.state == state)
    if owner is not None:
        base &= FlowModel.account_id == owner
    counted = (
        base & FlowModel.ch_code_id.exists() & (FlowModel.ch_attempts < max_attempts) & (FlowModel.ch_expires_at > now)
    )
    try:
        flow = deps.store.update_flow(flow_id, [FlowModel.ch_attempts.add(1)], counted)
    except Conflict as exc:
        raise _explain_refusal(deps, flow_id, flow_type, state, now, owner) from exc
    challenge = challenge_of(flow)
    assert challenge is not None
    # ``check``: a code the member's authenticator shows, not one we sent
    right = (check or sent_code_check(deps))(flow, code)
    if challenge.notice or not right:
        remaining = challenge.attempts_remaining(max_attempts)
        subject = audit.subject_for(flow.account_id, flow_id)
        details = {"flow_type": flow_type, "attempts_remaining": remaining}
        deps.store.put_audit_quietly(
            audit.event("code.failed", subject, now, deps.settings.audit_retention_days, details=details)
        )
        if remaining == 0:
            metrics.count("CodesLocked", channel=challenge.channel)
            raise ApiError("code_locked", {"attempts_remaining": 0})
        metrics.count("CodesWrong", channel=challenge.channel)
        raise ApiError("invalid_code", {"attempts_remaining": remaining})
    metrics.count("CodesVerified", channel=challenge.channel)
    actions = [
        *clear_challenge(),
        FlowModel.state.set(next_state),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + lifetime),
    ]
    single_use = base & (FlowModel.ch_code_id == challenge.code_id)
    try:
        if also is None:
            return deps.store.update_flow(flow_id, actions, single_use)
        txn = Txn()
        txn.update("flow", FlowModel(flow_id), actions, single_use)
        also(txn, flow)
        deps.store.commit(txn)
    except Conflict as exc:
        refusal = _consume_refused(deps, exc, flow_id, flow_type, state, now, owner)
        if refusal is exc:
            raise
        raise refusal from exc
    except StorageUnavailable:
        _give_back_attempt(deps, flow_id, challenge.code_id)  # the right code was not used
        raise
    for attr in CHALLENGE_ATTRIBUTES:
        setattr(flow, attr.attr_name, None)
    flow.state, flow.updated_at, flow.expires_at = next_state, now, to_datetime(now + lifetime)
    return flow
