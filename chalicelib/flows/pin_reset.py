"""Forgot PIN: name + NIK + birth date, a code by email or SMS, a new PIN.

States: choose_channel -> code_verification -> new_pin -> completed.

The identity check answers one ``422 identity_mismatch`` whichever field is wrong, and
does the same reads whether or not the NIK is known. Attempts are limited per NIK and
per client address (counted before the answer is decided, so a full limit answers
``429`` without saying whether the data matched). ``send`` may be called again to
resend to the same or the other channel under the resend rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib import limits
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.flows import common
from chalicelib.flows.common import Outgoing
from chalicelib.flows.sessions import new_pin
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel, FlowModel
from chalicelib.storage.store import Txn
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

FLOW_TYPE = "pin_reset"
CHOOSE_CHANNEL = "choose_channel"
CODE_VERIFICATION = "code_verification"
NEW_PIN = "new_pin"
COMPLETED = "completed"
CHANNELS: dict[str, Literal["email", "sms"]] = {"email": "email", "sms": "sms"}


def _lifetime(deps: Deps) -> int:
    return deps.settings.flow_ttl


def _identity_limits(deps: Deps, nik_hash: str, client_ip: str) -> list[Limit]:
    s = deps.settings
    found = [Limit("nik", "identity#nik#" + nik_hash, s.identity_attempts_per_nik, 3600, rolling=True)]
    if s.client_limits_enabled and client_ip:
        client = "identity#client#" + keyed_hash(deps.keys.destination, "client", client_ip)
        found.append(Limit("client", client, s.identity_attempts_per_client, 3600))
    return found


def _matches(account: AccountModel | None, full_name: str, birth_date: str) -> bool:
    return (
        account is not None
        and account.status == "active"
        and name_key(account.full_name) == name_key(full_name)
        and account.birth_date == birth_date
    )


def _view(deps: Deps, flow: FlowModel) -> dict[str, Any]:
    data = common.flow_data(flow)
    channels = [
        {"channel": "email", "destination": common.mask_email(data["email"])},
        {"channel": "sms", "destination": common.mask_phone(data["phone"])},
    ]
    return common.flow_view(deps, flow, {"channels": channels})


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
        data = {"email": account.email, "phone": account.phone}
        flow = common.new_flow(FLOW_TYPE, CHOOSE_CHANNEL, now, _lifetime(deps), lang, data, account.account_id)

    def build(txn: Txn) -> None:
        if flow is not None:
            txn.put("flow", flow, FlowModel.flow_id.does_not_exist())

    limits.commit_within(deps.store, build, _identity_limits(deps, nik_hash, client_ip), now)
    if flow is None:
        raise ApiError("identity_mismatch")
    return _view(deps, flow)


def get(deps: Deps, flow_id: str) -> dict[str, Any]:
    """The flow as it stands."""
    return _view(deps, common.load_flow(deps, flow_id, FLOW_TYPE, deps.clock()))


def send(deps: Deps, flow_id: str, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Send a code to the chosen channel; again = resend, to the same or the other one."""
    channel = required(body, "channel", lambda v: _channel(parse_text(v)))
    now = deps.clock()
    flow = common.load_flow(deps, flow_id, FLOW_TYPE, now)
    allowed = (CHOOSE_CHANNEL, CODE_VERIFICATION)
    common.require_state(flow, *allowed)
    data = common.flow_data(flow)
    destination = data["email"] if channel == "email" else data["phone"]
    outgoing = Outgoing(channel, destination, FLOW_TYPE, "code", client_ip)
    bound = common.contact_check(flow.account_id or "-", data["email"], data["phone"])
    flow = common.send_challenge(
        deps, flow, outgoing, lang, now, allowed, CODE_VERIFICATION, _lifetime(deps), also=bound
    )
    return _view(deps, flow)


def _channel(value: str) -> Literal["email", "sms"]:
    if value not in CHANNELS:
        raise FieldError("invalid_channel")
    return CHANNELS[value]


def verify(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the code; the flow moves to ``new_pin``."""
    code = required(body, "code", parse_code)
    now = deps.clock()

    def bound(txn: Txn, flow: FlowModel) -> None:
        data = common.flow_data(flow)
        common.contact_check(flow.account_id or "-", data["email"], data["phone"])(txn)

    flow = common.verify_code(
        deps, flow_id, FLOW_TYPE, CODE_VERIFICATION, code, now, NEW_PIN, _lifetime(deps), also=bound
    )
    return _view(deps, flow)


def complete(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Set the new PIN; a disabled PIN works again."""
    now = deps.clock()
    flow = common.load_flow(deps, flow_id, FLOW_TYPE, now)
    common.require_state(flow, NEW_PIN)
    data = common.flow_data(flow)
    account = common.require_contact(deps.store.get(AccountModel, flow.account_id or ""), data["email"], data["phone"])
    pin = new_pin(deps, account, body)
    actions = [
        AccountModel.pin_hash.set(deps.hasher.hash(pin)),
        AccountModel.pin_failures.set(0),
        AccountModel.pin_disabled.set(False),
        AccountModel.updated_at.set(now),
    ]
    bound = common.contact_bound(data["email"], data["phone"])
    flow = common.finish_with_account_change(
        deps, flow, NEW_PIN, COMPLETED, account.account_id, actions, "pin.reset", now, bound=bound
    )
    return _view(deps, flow)
