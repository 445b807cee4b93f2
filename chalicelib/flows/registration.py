"""Registration: email + code, profile, phone + SMS code, password, account.

States: email_verification -> profile -> phone -> phone_verification -> password -> completed.

An email that already has an account gets the same answer and flow; the address is
sent a notice instead of a code, and no code ever verifies (see ``challenges.codes.issue``). The
account, its four uniqueness claims, the flow's completion and the first session are
written in one transaction, so racing flows give exactly one account.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from chalicelib import audit, limits
from chalicelib.accounts import credentials
from chalicelib.accounts.sessions import new_session
from chalicelib.challenges.send import MessageKind, Outgoing, first_reads, send_code, start_with_code
from chalicelib.challenges.verify import verify_code
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage import account_claims, claim_key
from chalicelib.storage.flows import check_flow, flow_data, load_flow, new_flow, require_state
from chalicelib.storage.models import AccountModel, ClaimModel, FlowModel
from chalicelib.storage.store import Conflict, Txn, in_states, live_flow
from chalicelib.validation import (
    Collector,
    email_key,
    mask_nik,
    nik_matches_birth_date,
    parse_birth_date,
    parse_code,
    parse_email,
    parse_full_name,
    parse_kpj,
    parse_membership_type,
    parse_nik,
    parse_phone,
    required,
)
from chalicelib.views import flow_view, profile_view

FLOW_TYPE = "registration"
PURPOSE = "registration"

EMAIL_VERIFICATION = "email_verification"
PROFILE = "profile"
PHONE = "phone"
PHONE_VERIFICATION = "phone_verification"
PASSWORD = "password"
COMPLETED = "completed"

CLAIM_ERRORS = {"nik": "nik_registered", "phone": "phone_registered", "kpj": "kpj_registered"}


def _lifetime(deps: Deps) -> int:
    return deps.settings.registration_flow_ttl


def _today(now: float) -> date:
    return datetime.fromtimestamp(now, tz=UTC).date()


def _kind(registered: bool, decoy: bool) -> MessageKind:
    return "decoy" if decoy else ("notice" if registered else "code")


def start(deps: Deps, body: dict[str, Any], lang: str, client_ip: str = "") -> dict[str, Any]:
    """Open a flow for an email and send it a code (or, if registered, a notice)."""
    email = required(body, "email", parse_email)
    now = deps.clock()
    owner, suppressed = first_reads(deps, claim_key("email", email_key(email)), email)
    data = {"email": email, "decoy": suppressed}
    flow = new_flow(FLOW_TYPE, state=EMAIL_VERIFICATION, now=now, lifetime=_lifetime(deps), lang=lang, data=data)
    outgoing = Outgoing("email", email, PURPOSE, _kind(owner is not None, suppressed), client_ip, hidden=True)
    flow = start_with_code(deps, flow, outgoing=outgoing, lang=lang, now=now)
    return flow_view(deps, flow)


def get(deps: Deps, flow_id: str) -> dict[str, Any]:
    """The flow as it stands."""
    return flow_view(deps, load_flow(deps, flow_id, FLOW_TYPE, deps.clock()))


def verify_email(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the emailed code; the flow moves to ``profile``."""
    code = required(body, "code", parse_code)
    now = deps.clock()
    flow = verify_code(
        deps,
        flow_id,
        flow_type=FLOW_TYPE,
        state=EMAIL_VERIFICATION,
        code=code,
        now=now,
        to_state=PROFILE,
        lifetime=_lifetime(deps),
    )
    return flow_view(deps, flow)


def resend_email(deps: Deps, flow_id: str, lang: str, client_ip: str = "") -> dict[str, Any]:
    """A fresh email code (the previous one stops working)."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, EMAIL_VERIFICATION)
    data = flow_data(flow)
    outgoing = Outgoing(
        "email", data["email"], PURPOSE, _kind(bool(flow.ch_notice), bool(data.get("decoy"))), client_ip, hidden=True
    )
    flow = send_code(
        deps,
        flow,
        outgoing=outgoing,
        lang=lang,
        now=now,
        from_states=(EMAIL_VERIFICATION,),
        to_state=EMAIL_VERIFICATION,
        lifetime=_lifetime(deps),
    )
    return flow_view(deps, flow)


def _parse_profile(deps: Deps, body: dict[str, Any], now: float) -> dict[str, Any]:
    fields = Collector(body)
    membership = fields.field("membership_type", parse_membership_type)
    name = fields.field("full_name", parse_full_name)
    born = fields.field("birth_date", lambda v: parse_birth_date(v, _today(now)))
    nik = fields.field("nik", parse_nik)
    kpj = fields.field("kpj", lambda v: parse_kpj(v, deps.settings.kpj_length))
    if nik and born and not nik_matches_birth_date(nik, born):
        fields.add("nik", "birth_date_mismatch")
    fields.raise_if_any()
    assert nik is not None and born is not None
    return {
        "membership_type": membership,
        "full_name": name,
        "birth_date": born.isoformat(),
        "nik_hash": keyed_hash(deps.keys.nik, nik),
        "nik_masked": mask_nik(nik),
        "kpj": kpj,
    }


def _profile_limits(deps: Deps, flow_id: str, profile: dict[str, Any], client_ip: str) -> list[Limit]:
    """Whether a NIK or KPJ has an account is told here, so probing is bounded like
    forgot-PIN's identity check: per flow, per NIK and KPJ, and per client address."""
    s = deps.settings
    per_value, hour = s.profile_attempts_per_value, 3600
    found = [
        Limit("flow", f"profile#flow#{flow_id}", s.profile_attempts_per_flow, _lifetime(deps), rolling=True),
        Limit(
            "nik",
            "profile#nik#" + keyed_hash(deps.keys.destination, "nik-limit", profile["nik_hash"]),
            per_value,
            hour,
            rolling=True,
        ),
        Limit("kpj", "profile#kpj#" + keyed_hash(deps.keys.nik, "kpj", profile["kpj"]), per_value, hour, rolling=True),
    ]
    found += limits.for_client(
        s,
        deps.keys.destination,
        "profile#client#",
        client_ip,
        max_per_address=s.identity_attempts_per_client,
        window=hour,
    )
    return found


def set_profile(deps: Deps, flow_id: str, body: dict[str, Any], client_ip: str = "") -> dict[str, Any]:
    """Record who the person is; a NIK or KPJ that has an account is refused (409).

    Every submission is counted against the profile limits in the same transaction
    that would advance the flow, before the answer is chosen: a full limit is ``429``
    whether or not the NIK is registered.
    """
    now = deps.clock()
    profile = _parse_profile(deps, body, now)
    flow, nik_owner, kpj_owner = deps.store.get_many(
        (FlowModel, flow_id),
        (ClaimModel, claim_key("nik", profile["nik_hash"])),
        (ClaimModel, claim_key("kpj", profile["kpj"])),
    )
    flow = check_flow(flow, FLOW_TYPE, now)
    allowed = (PROFILE, PHONE)  # the person may go back and correct the profile before the phone step
    require_state(flow, *allowed)
    taken = None if nik_owner is None else "nik_registered"
    taken = taken or (None if kpj_owner is None else "kpj_registered")
    data = {"email": flow_data(flow)["email"], "decoy": False, **profile}
    moves = [
        FlowModel.data.set(data),
        FlowModel.state.set(PHONE),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + _lifetime(deps)),
    ]

    def build(txn: Txn) -> None:
        if taken is None:
            txn.update("flow", FlowModel(flow_id), moves, live_flow(flow_id, FLOW_TYPE, now) & in_states(allowed))

    try:
        limits.commit_within(deps.store, build, _profile_limits(deps, flow_id, profile, client_ip), now)
    except Conflict as exc:
        fresh = load_flow(deps, flow_id, FLOW_TYPE, now)
        raise ApiError("wrong_state", {"state": fresh.state}) from exc
    if taken is not None:
        raise ApiError(taken)
    flow.data, flow.state, flow.updated_at = data, PHONE, now
    flow.expires_at = to_datetime(now + _lifetime(deps))
    return flow_view(deps, flow)


def set_phone(deps: Deps, flow_id: str, body: dict[str, Any], lang: str, client_ip: str = "") -> dict[str, Any]:
    """Record the phone and text it a code; a number that has an account is refused (409)."""
    phone = required(body, "phone", parse_phone)
    now = deps.clock()
    flow, owner = deps.store.get_many((FlowModel, flow_id), (ClaimModel, claim_key("phone", phone)))
    flow = check_flow(flow, FLOW_TYPE, now)
    allowed = (PHONE, PHONE_VERIFICATION)  # a mistyped number may be replaced (resend rules apply)
    require_state(flow, *allowed)
    counted = _phone_limits(deps, flow_id, client_ip)
    if owner is not None:
        # counted like a send: the step is not a directory of members' numbers
        limits.commit_within(deps.store, lambda txn: None, counted, now)
        raise ApiError("phone_registered")
    data = {**flow_data(flow), "phone": phone}
    flow = send_code(
        deps,
        flow,
        outgoing=Outgoing("sms", phone, PURPOSE, client_ip=client_ip),
        lang=lang,
        now=now,
        from_states=allowed,
        to_state=PHONE_VERIFICATION,
        lifetime=_lifetime(deps),
        data=data,
        extra_limits=counted,
    )
    return flow_view(deps, flow)


def _phone_limits(deps: Deps, flow_id: str, client_ip: str) -> list[Limit]:
    """The phone step's own limits, counted on both of its answers (a code sent, or ``409
    phone_registered``): 5 numbers per flow, 20 per client address an hour."""
    s = deps.settings
    found = [Limit("phone_flow", f"phone#flow#{flow_id}", s.phone_numbers_per_flow, _lifetime(deps), rolling=True)]
    found += limits.for_client(
        s,
        deps.keys.destination,
        "phone#client#",
        client_ip,
        max_per_address=s.phone_numbers_per_client,
        window=3600,
        name="phone_client",
    )
    return found


def verify_phone(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the SMS code; the flow moves to ``password``."""
    code = required(body, "code", parse_code)
    now = deps.clock()
    flow = verify_code(
        deps,
        flow_id,
        flow_type=FLOW_TYPE,
        state=PHONE_VERIFICATION,
        code=code,
        now=now,
        to_state=PASSWORD,
        lifetime=_lifetime(deps),
    )
    return flow_view(deps, flow)


def resend_phone(deps: Deps, flow_id: str, lang: str, client_ip: str = "") -> dict[str, Any]:
    """A fresh SMS code to the same number."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, PHONE_VERIFICATION)
    outgoing = Outgoing("sms", flow_data(flow)["phone"], PURPOSE, client_ip=client_ip)
    flow = send_code(
        deps,
        flow,
        outgoing=outgoing,
        lang=lang,
        now=now,
        from_states=(PHONE_VERIFICATION,),
        to_state=PHONE_VERIFICATION,
        lifetime=_lifetime(deps),
    )
    return flow_view(deps, flow)


def complete(deps: Deps, flow_id: str, body: dict[str, Any], device: str = "") -> dict[str, Any]:
    """Create the account, claim its unique values and sign the person in."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, PASSWORD)
    data = flow_data(flow)
    password = credentials.new_password(deps, body, data["email"], data["full_name"], data["nik_hash"])
    account = AccountModel(
        secrets.token_hex(16),
        status="active",
        email=data["email"],
        phone=data["phone"],
        full_name=data["full_name"],
        birth_date=data["birth_date"],
        nik_hash=data["nik_hash"],
        nik_masked=data["nik_masked"],
        kpj=data["kpj"],
        membership_type=data["membership_type"],
        password_hash=deps.hasher.hash(password),
        lang=flow.lang or "id",
        created_at=now,
        updated_at=now,
    )
    session, tokens = new_session(deps, account, now, device, amr=["pwd"])
    txn = Txn()
    txn.put("account", account, AccountModel.account_id.does_not_exist())
    claims = account_claims(email_key(account.email), account.nik_hash, account.phone, account.kpj)
    for kind, key in claims.items():
        claim = ClaimModel(key, account_id=account.account_id, created_at=now)
        txn.put(kind, claim, ClaimModel.claim_key.does_not_exist())
    txn.put("session", session)
    txn.put("audit", audit.for_account(deps, "account.created", account.account_id, now))
    txn.update(
        "flow",
        FlowModel(flow_id),
        # The flow keeps no personal data once the account holds it.
        [FlowModel.state.set(COMPLETED), FlowModel.updated_at.set(now), FlowModel.data.set({})],
        live_flow(flow_id, FLOW_TYPE, now) & (FlowModel.state == PASSWORD),
    )
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise _completion_refused(deps, flow_id, now, exc.labels) from exc
    return {"account": profile_view(account), "session": tokens}


def _completion_refused(deps: Deps, flow_id: str, now: float, labels: frozenset[str]) -> ApiError:
    if "flow" in labels:
        fresh = load_flow(deps, flow_id, FLOW_TYPE, now)
        return ApiError("wrong_state", {"state": fresh.state})
    for kind, key in CLAIM_ERRORS.items():
        if kind in labels:
            return ApiError(key)
    if "email" in labels:
        # The address was verified by this person, so saying it has an account reveals nothing new.
        return ApiError("email_registered_during_flow", {"state": PASSWORD})
    return ApiError("wrong_state", {"state": PASSWORD})
