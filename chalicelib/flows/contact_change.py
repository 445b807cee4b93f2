"""Changing the signed-in account's phone or email, with a code sent to the new one.

States: code_verification -> completed. The swap of the uniqueness claim (old value
released, new value claimed) and the account update are one transaction with the
code's consumption, so the old value is free to register again at once and a value
taken meanwhile is refused without consuming anything else.

A phone that has an account answers ``409 phone_registered`` (the contract allows it).
An email that has an account gets the same ``201`` as any other: the address is sent
a notice instead of a code, and no code verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chalicelib import audit
from chalicelib.accounts import contact
from chalicelib.accounts.credentials import after_recheck, step_up
from chalicelib.accounts.signed_in import Caller, load
from chalicelib.challenges.send import Outgoing, start_with_code
from chalicelib.challenges.verify import verify_code
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, validation_error
from chalicelib.storage import claim_key
from chalicelib.storage.flows import check_flow, flow_data, new_flow
from chalicelib.storage.models import AccountModel, ClaimModel, FlowModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import FieldError, email_key, parse_code, parse_email, parse_phone, required
from chalicelib.views import flow_view, mask_destination

CODE_VERIFICATION = "code_verification"
COMPLETED = "completed"


@dataclass(frozen=True)
class Contact:
    """How one kind of contact is parsed, claimed, stored and sent to."""

    field: Literal["phone", "email"]
    flow_type: str
    channel: Literal["sms", "email"]

    def parse(self, value: Any) -> str:
        return parse_phone(value) if self.field == "phone" else parse_email(value)

    def claim(self, value: str) -> str:
        return claim_key("phone", value) if self.field == "phone" else claim_key("email", email_key(value))

    def attribute(self) -> Any:
        return AccountModel.phone if self.field == "phone" else AccountModel.email


PHONE = Contact("phone", "phone_change", "sms")
EMAIL = Contact("email", "email_change", "email")


def start(
    deps: Deps,
    kind: Contact,
    caller: Caller,
    body: dict[str, Any],
    lang: str,
    client_ip: str = "",
) -> dict[str, Any]:
    """Open a change flow and send a code to the new phone or email.

    The password is checked before anything about the new value is told: a stolen
    access token alone cannot change a contact, nor learn whether a number has an
    account. The new value is parsed first only to read its claim in the same round
    trip as the session; a parse failure is reported after the password check.
    """
    try:
        value: str | None = kind.parse(body.get(kind.field))
    except FieldError:
        value = None
    extra = [(ClaimModel, kind.claim(value))] if value else []
    signed = load(deps, caller, *extra)
    step = step_up(deps, signed, body)
    account = step.account
    claim = signed.extra[0] if value else None
    value = after_recheck(deps, account, lambda: _acceptable(kind, body, account, claim))
    now = deps.clock()
    data = {kind.field: value, "bound": contact.contact_tag(deps, account.email, account.phone)}
    flow = new_flow(
        kind.flow_type,
        state=CODE_VERIFICATION,
        now=now,
        lifetime=deps.settings.flow_ttl,
        lang=lang,
        data=data,
        account_id=account.account_id,
    )
    outgoing = Outgoing(kind.channel, value, kind.flow_type, "notice" if claim is not None else "code", client_ip)
    settle = lambda txn: txn.update(  # noqa: E731 - the right step-up ends the run of wrong ones, spends the code
        "account", AccountModel(account.account_id), step.write(), step.guarded(AccountModel.status == "active")
    )
    # A refusal after the right password (a send cap, SES down) still settles the check.
    try:
        started = after_recheck(
            deps,
            account,
            lambda: start_with_code(deps, flow, outgoing=outgoing, lang=lang, now=now, in_same_txn=settle),
        )
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same authenticator code won in a parallel request
    return flow_view(deps, started)


def _acceptable(kind: Contact, body: dict[str, Any], account: AccountModel, claim: ClaimModel | None) -> str:
    """The new value, once the password was right: valid, changed, and (a phone) not another's."""
    value = required(body, kind.field, kind.parse)
    if claim is not None and claim.account_id == account.account_id:
        raise validation_error({kind.field: ["unchanged"]})
    if claim is not None and kind is PHONE:
        raise ApiError("phone_registered")
    return value


def verify(deps: Deps, kind: Contact, caller: Caller, flow_id: str, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """Check the code; the account's phone or email changes and the claims swap."""
    code = required(body, "code", parse_code)
    signed = load(deps, caller, (FlowModel, flow_id))  # one read for both
    account = signed.account
    now = deps.clock()
    flow = check_flow(signed.extra[0], kind.flow_type, now, owner=account.account_id)
    data = flow_data(flow)
    if data.get("bound") != contact.contact_tag(deps, account.email, account.phone):
        raise ApiError("flow_expired")  # the account's email or phone changed since the flow began
    value = str(data[kind.field])
    old = getattr(account, kind.field)

    def swap_claims(txn: Txn, _flow: FlowModel) -> None:
        txn.update(
            "account",
            AccountModel(account.account_id),
            [kind.attribute().set(value), AccountModel.updated_at.set(now)],
            (AccountModel.status == "active") & contact.contact_bound(account.email, account.phone),
        )
        txn.delete("old", ClaimModel(kind.claim(old)), ClaimModel.account_id == account.account_id)
        new_claim = ClaimModel(kind.claim(value), account_id=account.account_id, created_at=now)
        txn.put("new", new_claim, ClaimModel.claim_key.does_not_exist())
        details = {"to": mask_destination(kind.channel, value)}
        txn.put("audit", audit.for_account(deps, f"{kind.field}.changed", account.account_id, now, details=details))
        masked = mask_destination(kind.channel, value)
        told = notices.contact_changed(
            kind.field, email=account.email, phone=account.phone, new=value, masked=masked, lang=lang
        )
        notices.tell(txn, deps, told, now)

    try:
        flow = verify_code(
            deps,
            flow_id,
            flow_type=kind.flow_type,
            state=CODE_VERIFICATION,
            code=code,
            now=now,
            to_state=COMPLETED,
            lifetime=deps.settings.flow_ttl,
            owner=account.account_id,
            on_consume=swap_claims,
        )
    except Conflict as exc:
        raise _swap_refused(kind, exc.labels) from exc
    return flow_view(deps, flow)


def _swap_refused(kind: Contact, labels: frozenset[str]) -> ApiError:
    if "new" in labels:
        if kind is PHONE:
            return ApiError("phone_registered")
        return ApiError("email_registered_during_flow", {"state": CODE_VERIFICATION})
    # The account's contact changed since the flow began (another change, the call center).
    return ApiError("flow_expired")
