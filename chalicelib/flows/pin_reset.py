"""Forgot PIN: name + NIK + birth date, a code by email or SMS, a new PIN.

States: choose_channel -> code_verification -> new_pin -> completed.

The identity check answers one ``422 identity_mismatch`` whichever field is wrong, and
does the same reads whether or not the NIK is known. Attempts are limited per NIK and
per client address (counted before the answer is decided, so a full limit answers
``429`` without saying whether the data matched). ``send`` may be called again to
resend to the same or the other channel under the resend rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib import limits
from chalicelib.accounts import contact, credentials
from chalicelib.accounts.authenticator import Use, use_of
from chalicelib.accounts.changes import finish_with_account_change
from chalicelib.accounts.credentials import new_pin
from chalicelib.challenges import codes
from chalicelib.challenges.send import Outgoing, check_resend, send_code
from chalicelib.challenges.verify import sent_code_check, verify_code
from chalicelib.clock import to_datetime
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, validation_error
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage import claim_key
from chalicelib.storage.flows import flow_data, load_flow, new_flow, require_state
from chalicelib.storage.models import AccountModel, FlowModel
from chalicelib.storage.store import Conflict, Txn, fill_challenge, in_states, live_flow, set_challenge
from chalicelib.validation import (
    Collector,
    FieldError,
    name_key,
    parse_birth_date,
    parse_code,
    parse_full_name,
    parse_nik,
    parse_text,
    required,
)
from chalicelib.views import flow_view, mask_email, mask_phone

FLOW_TYPE = "pin_reset"
CHOOSE_CHANNEL = "choose_channel"
CODE_VERIFICATION = "code_verification"
NEW_PIN = "new_pin"
COMPLETED = "completed"
CHANNELS: dict[str, Literal["email", "sms", "authenticator"]] = {
    "email": "email",
    "sms": "sms",
    "authenticator": "authenticator",
}


def _lifetime(deps: Deps) -> int:
    return deps.settings.flow_ttl


def _identity_limits(deps: Deps, nik_hash: str, client_ip: str) -> list[Limit]:
    s = deps.settings
    found = [
        Limit(
            "nik",
            "identity#nik#" + keyed_hash(deps.keys.destination, "nik-limit", nik_hash),
            s.identity_attempts_per_nik,
            3600,
            rolling=True,
        )
    ]
    found += limits.for_client(
        s,
        deps.keys.destination,
        "identity#client#",
        client_ip,
        max_per_address=s.identity_attempts_per_client,
        window=3600,
    )
    return found


def _matches(account: AccountModel | None, full_name: str, birth_date: str) -> bool:
    return (
        account is not None
        and account.status == "active"
        and name_key(account.full_name) == name_key(full_name)
        and account.birth_date == birth_date
    )


def _view(deps: Deps, flow: FlowModel) -> dict[str, Any]:
    data = flow_data(flow)
    channels = [
        {"channel": "email", "destination": mask_email(data["email"])},
        {"channel": "sms", "destination": mask_phone(data["phone"])},
    ]
    if data.get("authenticator"):
        channels.append({"channel": "authenticator"})
    return flow_view(deps, flow, {"channels": channels})


def start(deps: Deps, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Check who the person is; on a match, a flow offering the masked channels."""
    now = deps.clock()
    today = datetime.fromtimestamp(now, tz=UTC).date()
    fields = Collector(body)
    name = fields.field("full_name", parse_full_name)
    nik = fields.field("nik", parse_nik)
    born = fields.field("birth_date", lambda v: parse_birth_date(v, today))
    fields.raise_if_any()
    assert name is not None and nik is not None and born is not None
    nik_hash = keyed_hash(deps.keys.nik, nik)
    owner = deps.store.claim_owner(claim_key("nik", nik_hash))
    # The same read whether or not the NIK is known: no timing tell.
    account = deps.store.get(AccountModel, owner or "no-such-account")
    matched = _matches(account, name, born.isoformat())
    flow: FlowModel | None = None
    if matched:
        assert account is not None
        data = {"email": account.email, "phone": account.phone, "authenticator": bool(account.totp_secret)}
        flow = new_flow(
            FLOW_TYPE,
            state=CHOOSE_CHANNEL,
            now=now,
            lifetime=_lifetime(deps),
            lang=lang,
            data=data,
            account_id=account.account_id,
        )

    def build(txn: Txn) -> None:
        if flow is not None:
            txn.put("flow", flow, FlowModel.flow_id.does_not_exist())

    limits.commit_within(deps.store, build, _identity_limits(deps, nik_hash, client_ip), now)
    if flow is None:
        raise ApiError("identity_mismatch")
    return _view(deps, flow)


def get(deps: Deps, flow_id: str) -> dict[str, Any]:
    """The flow as it stands."""
    return _view(deps, load_flow(deps, flow_id, FLOW_TYPE, deps.clock()))


def send(deps: Deps, flow_id: str, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Send a code to the chosen channel; again = resend, to the same or the other one."""
    channel = required(body, "channel", lambda v: _channel(parse_text(v)))
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    allowed = (CHOOSE_CHANNEL, CODE_VERIFICATION)
    require_state(flow, *allowed)
    data = flow_data(flow)
    still_bound = contact.contact_check(flow.account_id or "-", data["email"], data["phone"])
    if channel == "authenticator":
        if not data.get("authenticator"):
            raise validation_error({"channel": ["invalid_channel"]})
        return _view(deps, _await_authenticator(deps, flow, now=now, from_states=allowed, still_bound=still_bound))
    destination = data["email"] if channel == "email" else data["phone"]
    outgoing = Outgoing(channel, destination, FLOW_TYPE, "code", client_ip)
    flow = send_code(
        deps,
        flow,
        outgoing=outgoing,
        lang=lang,
        now=now,
        from_states=allowed,
        to_state=CODE_VERIFICATION,
        lifetime=_lifetime(deps),
        in_same_txn=still_bound,
    )
    return _view(deps, flow)


def _channel(value: str) -> Literal["email", "sms", "authenticator"]:
    if value not in CHANNELS:
        raise FieldError("invalid_channel")
    return CHANNELS[value]


def _await_authenticator(
    deps: Deps, flow: FlowModel, *, now: float, from_states: tuple[str, ...], still_bound: Callable[[Txn], None]
) -> FlowModel:
    """Choosing the authenticator sends nothing: the challenge waits for a code the
    member's app shows, under the same attempt limit and lifetime as a sent code, and
    choosing it again follows the resend rules (the cooldown, the sends per flow): it
    never buys fresh attempts faster than a resend would. Its wrong codes also count on
    the account (``verify``)."""
    s = deps.settings
    current = check_resend(deps, flow, now)  # the cooldown and the sends per flow, as for a sent code
    sends = (current.sends if current else 0) + 1
    challenge = codes.Challenge(
        channel="authenticator",
        destination="",
        code_id=codes.new_code_id(),
        code_hash="",
        expires_at=now + s.code_ttl,
        resend_at=now + s.resend_cooldown,
        attempts=0,
        sends=sends,
        delivery="delivered",  # nothing travels: the code is already on the member's phone
    )
    moves = [
        *set_challenge(challenge),
        FlowModel.state.set(CODE_VERIFICATION),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + _lifetime(deps)),
    ]
    unchanged = (
        FlowModel.ch_code_id.does_not_exist() if current is None else FlowModel.ch_code_id == current.code_id
    )  # a parallel choice of the channel does not slip past the cooldown
    txn = Txn()
    guard = live_flow(flow.flow_id, FLOW_TYPE, now) & in_states(from_states) & unchanged
    txn.update("flow", FlowModel(flow.flow_id), moves, guard)
    still_bound(txn)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("flow_expired" if "contact" in exc.labels else "wrong_state", {}) from exc
    fill_challenge(flow, challenge)
    flow.state, flow.updated_at, flow.expires_at = CODE_VERIFICATION, now, to_datetime(now + _lifetime(deps))
    return flow


def verify(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the code; the flow moves to ``new_pin``."""
    code = required(body, "code", parse_code)
    now = deps.clock()

    used: list[Use] = []

    def by_authenticator(flow: FlowModel, typed: str) -> bool:
        if flow.ch_channel != "authenticator":
            return sent_code_check(deps)(flow, typed)
        # As at the sign-in second step: counted on the account before the check, so the
        # guesses of every forgot-PIN round (and every sign-in) share the one lockout.
        guard = credentials.account_guard(flow.account_id or "-")
        account = credentials.reserve(deps, guard, "code", now)
        use = use_of(deps, account, typed, now)
        if use is None:
            error = credentials.wrong_code(deps, guard, account, now)
            if error.key == "account_locked":
                raise error
            return False
        used.append(use)
        return True

    def still_bound(txn: Txn, flow: FlowModel) -> None:
        data = flow_data(flow)
        condition = (AccountModel.status == "active") & contact.contact_bound(data["email"], data["phone"])
        if used:  # one write on the account: the binding, the code's single use, the strikes reset
            actions = [*credentials.reset_actions(), *used[0].actions]
            txn.update("contact", AccountModel(flow.account_id or "-"), actions, condition & used[0].condition)
        else:
            txn.check("contact", AccountModel, flow.account_id or "-", condition)

    flow = verify_code(
        deps,
        flow_id,
        flow_type=FLOW_TYPE,
        state=CODE_VERIFICATION,
        code=code,
        now=now,
        to_state=NEW_PIN,
        lifetime=_lifetime(deps),
        on_consume=still_bound,
        check=by_authenticator,
    )
    return _view(deps, flow)


def complete(deps: Deps, flow_id: str, body: dict[str, Any], lang: str = "id") -> dict[str, Any]:
    """Set the new PIN; a disabled PIN works again; every session ends (as a password
    reset's do: whoever holds one, the owner hears of it at once by email and SMS)."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, NEW_PIN)
    data = flow_data(flow)
    account = contact.require_contact(deps.store.get(AccountModel, flow.account_id or ""), data["email"], data["phone"])
    pin = new_pin(deps, account, body)
    actions = [
        AccountModel.pin_hash.set(deps.hasher.hash(pin)),
        AccountModel.pin_failures.set(0),
        AccountModel.pin_disabled.set(False),
        AccountModel.session_epoch.add(1),  # every session and refresh token ends
        AccountModel.updated_at.set(now),
    ]
    told = notices.to_account("pin_reset", account, lang)
    flow = finish_with_account_change(
        deps,
        flow,
        from_state=NEW_PIN,
        to_state=COMPLETED,
        account_id=account.account_id,
        actions=actions,
        event="pin.reset",
        now=now,
        in_same_txn=lambda txn: notices.tell(txn, deps, told, now),
        contact_condition=contact.contact_bound(data["email"], data["phone"]),
    )
    return _view(deps, flow)
