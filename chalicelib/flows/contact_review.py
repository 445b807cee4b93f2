"""The call center's contact change, four-eyes (API.md "Call center"): one staff member
requests it, saying how the member's identity was checked; a *different* supervisor
approves or rejects it within 24 hours.

A request is a flow (type ``contact_change_request``, state ``pending``) waiting in the
sparse ``by_queue`` index; the account names its one pending request
(``pending_change``), so a second request replaces the first and an approval applies
only the request the account still names. On approval, in one transaction: the claims
swap, the email and phone change, every session of the member ends (epoch), the flows
bound to the old contacts die (their binding no longer matches), the request leaves the
queue, the audit event names both people, and the notices go to the old email and
phone and to the new ones.
"""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.update import Action

from chalicelib import audit
from chalicelib.accounts.staff import Staff, target_account
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, validation_error
from chalicelib.storage import claim_key
from chalicelib.storage.flows import new_flow
from chalicelib.storage.models import AccountModel, ClaimModel, FlowModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import (
    Collector,
    FieldError,
    email_key,
    parse_email,
    parse_phone,
    parse_staff_reason,
    required,
)
from chalicelib.views import account_view, mask_email, mask_phone

FLOW_TYPE = "contact_change_request"
QUEUE = "contact_change"
PENDING, APPROVED, REJECTED, REPLACED = "pending", "approved", "rejected", "replaced"
LIFETIME = 24 * 3600
VERIFICATIONS = ("questions", "video_call", "branch_visit")


def _verification(value: Any) -> str:
    if value not in VERIFICATIONS:
        raise FieldError("invalid_verification")
    return str(value)


def change_view(flow: FlowModel) -> dict[str, Any]:
    """A request as staff see it (the new values in full: staff see contact data)."""
    data = flow.data.as_dict() if hasattr(flow.data, "as_dict") else dict(flow.data or {})
    status = flow.state
    return {
        "change_id": flow.flow_id,
        "status": status,
        "account_id": flow.account_id,
        **({"email": data["email"]} if data.get("email") else {}),
        **({"phone": data["phone"]} if data.get("phone") else {}),
        "reason": data.get("reason"),
        "verification": data.get("verification"),
        "requested_by": data.get("requested_by"),
        "requested_at": rfc3339(flow.created_at),
        "expires_at": rfc3339(flow.expires_at.timestamp()),
        **({"decided_by": data["decided_by"]} if data.get("decided_by") else {}),
    }


def request(deps: Deps, staff: Staff, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ask for a contact change: nothing changes until a different supervisor approves it."""
    fields = Collector(body)
    reason = fields.field("reason", parse_staff_reason)
    verification = fields.field("verification", _verification)
    email = fields.field("email", parse_email) if body.get("email") is not None else None
    phone = fields.field("phone", parse_phone) if body.get("phone") is not None else None
    if email is None and phone is None and "email" not in fields.errors and "phone" not in fields.errors:
        fields.add("email", "required")
        fields.add("phone", "required")
    fields.raise_if_any()
    assert reason is not None and verification is not None
    account = target_account(deps, account_id)
    if account.status != "active":
        raise ApiError("wrong_state", {"state": account.status})
    email = email if email is not None and email_key(email) != email_key(account.email) else None
    phone = phone if phone is not None and phone != account.phone else None
    if email is None and phone is None:
        raise validation_error({"email": ["unchanged"], "phone": ["unchanged"]})
    _refuse_taken(deps, email, phone)
    now = deps.clock()
    data = {
        "email": email,
        "phone": phone,
        "reason": reason,
        "verification": verification,
        "requested_by": staff.actor,
        "requested_by_id": staff.staff_id,
        "old_email": account.email,
        "old_phone": account.phone,
    }
    flow = new_flow(FLOW_TYPE, state=PENDING, now=now, lifetime=LIFETIME, lang="id", data=data, account_id=account_id)
    flow.queue = QUEUE
    txn = Txn()
    txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
    replaced = account.pending_change
    txn.update(
        "account",
        AccountModel(account_id),
        [AccountModel.pending_change.set(flow.flow_id)],
        (AccountModel.status == "active")
        & (AccountModel.pending_change.does_not_exist() if not replaced else AccountModel.pending_change == replaced),
    )
    if replaced:  # a second request replaces the first: it leaves the queue
        txn.update("replaced", FlowModel(replaced), [FlowModel.state.set(REPLACED), FlowModel.queue.remove()])
    details = {"change_id": flow.flow_id, "verification": verification, "requested_by": staff.actor}
    details.update(_masked(email, phone))
    txn.put(
        "audit",
        audit.for_account(deps, "admin.contact_change_requested", account_id, now, staff.actor, reason, details),
    )
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("wrong_state", {"state": "changed"}) from exc  # another request or a closure won the race
    return change_view(flow)


def _masked(email: str | None, phone: str | None) -> dict[str, str]:
    return {**({"email": mask_email(email)} if email else {}), **({"phone": mask_phone(phone)} if phone else {})}


def _refuse_taken(deps: Deps, email: str | None, phone: str | None) -> None:
    keys = [claim_key("email", email_key(email))] if email else []
    keys += [claim_key("phone", phone)] if phone else []
    owners = deps.store.get_many(*((ClaimModel, k) for k in keys)) if keys else []
    for key, owner in zip(keys, owners, strict=True):
        if owner is not None:
            if key.startswith("phone"):
                raise ApiError("phone_registered")
            raise validation_error({"email": ["already_registered"]})  # staff may know; members never see this


def pending(deps: Deps, staff: Staff, query: dict[str, str]) -> dict[str, Any]:
    """The requests awaiting a second person, oldest first (supervisors)."""
    status = query.get("status") or PENDING
    if status != PENDING:
        raise validation_error({"status": ["invalid_status"]})
    now = to_datetime(deps.clock())
    waiting = [f for f in deps.store.queued_flows(QUEUE) if f.state == PENDING and f.expires_at > now]
    return {"changes": [change_view(f) for f in waiting]}


def _decidable(deps: Deps, staff: Staff, change_id: str) -> tuple[FlowModel, dict[str, Any]]:
    flow = deps.store.get(FlowModel, change_id)
    if flow is None or flow.flow_type != FLOW_TYPE:
        raise ApiError("not_found")
    data = flow.data.as_dict() if hasattr(flow.data, "as_dict") else dict(flow.data or {})
    if data.get("requested_by_id") == staff.staff_id:
        raise ApiError("forbidden")  # four eyes: never the requester's own
    if flow.state != PENDING:
        raise ApiError("wrong_state", {"state": flow.state})
    if flow.expires_at <= to_datetime(deps.clock()):
        raise ApiError("flow_expired")
    return flow, data


def approve(deps: Deps, staff: Staff, change_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply the request: the contact changes, every session ends, everyone is told."""
    note = required(body, "reason", parse_staff_reason) if body.get("reason") is not None else None
    flow, data = _decidable(deps, staff, change_id)
    account_id = flow.account_id or "-"
    account = target_account(deps, account_id)
    now = deps.clock()
    old_email, old_phone = data["old_email"], data["old_phone"]
    email, phone = data.get("email"), data.get("phone")
    txn = Txn()
    actions: list[Action] = [
        AccountModel.pending_change.remove(),
        AccountModel.session_epoch.add(1),  # every session and refresh token of the member ends
        AccountModel.updated_at.set(now),
    ]
    if email:
        _swap(txn, "email", email_key(old_email), email_key(email), account_id, now)
        actions.append(AccountModel.email.set(email))
    if phone:
        _swap(txn, "phone", old_phone, phone, account_id, now)
        actions.append(AccountModel.phone.set(phone))
    condition = (
        (AccountModel.status == "active")
        & (AccountModel.pending_change == change_id)
        & (AccountModel.email == old_email)
        & (AccountModel.phone == old_phone)
    )
    txn.update("account", AccountModel(account_id), actions, condition)
    txn.update(
        "flow",
        FlowModel(change_id),
        [
            FlowModel.state.set(APPROVED),
            FlowModel.queue.remove(),
            FlowModel.data.set({**data, "decided_by": staff.actor}),
        ],
        FlowModel.state == PENDING,
    )
    details = {
        "change_id": change_id,
        "verification": data.get("verification"),
        "requested_by": data.get("requested_by"),
        "decided_by": staff.actor,
        **_masked(email, phone),
    }
    reason = note or data.get("reason")
    txn.put(
        "audit",
        audit.for_account(deps, "admin.contact_change_approved", account_id, now, staff.actor, reason, details),
    )
    # The old email and phone and the new ones all hear of it (when both change at once,
    # the old addresses too: a takeover moves both, and the old ones are the owner's).
    emails, phones, lang = [old_email, email], [old_phone, phone], account.lang or "id"
    for field, new in (("email", email), ("phone", phone)):
        if new:
            masked = mask_email(new) if field == "email" else mask_phone(new)
            told = notices.notice(
                f"{field}_changed", emails=emails, phones=phones, lang=lang, by_staff=True, new=masked
            )
            notices.tell(txn, deps, told, now)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        if "new_phone" in exc.labels:
            raise ApiError("phone_registered") from exc
        if "new_email" in exc.labels:
            raise validation_error({"email": ["already_registered"]}) from exc
        raise ApiError("wrong_state", {"state": "changed"}) from exc  # replaced, decided or the account moved meanwhile
    account.email, account.phone = email or old_email, phone or old_phone  # what was written (no read after it)
    account.pending_change, account.updated_at = None, now
    return account_view(account, now)


def _swap(txn: Txn, kind: str, old: str, new: str, account_id: str, now: float) -> None:
    txn.delete(f"old_{kind}", ClaimModel(claim_key(kind, old)), ClaimModel.account_id == account_id)
    claim = ClaimModel(claim_key(kind, new), account_id=account_id, created_at=now)
    txn.put(f"new_{kind}", claim, ClaimModel.claim_key.does_not_exist())


def reject(deps: Deps, staff: Staff, change_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Refuse the request (a reason is required); nothing about the account changes."""
    reason = required(body, "reason", parse_staff_reason)
    flow, data = _decidable(deps, staff, change_id)
    account_id = flow.account_id or "-"
    now = deps.clock()
    data = {**data, "decided_by": staff.actor}
    txn = Txn()
    txn.update(
        "flow",
        FlowModel(change_id),
        [FlowModel.state.set(REJECTED), FlowModel.queue.remove(), FlowModel.data.set(data)],
        FlowModel.state == PENDING,
    )
    txn.update(
        "account",
        AccountModel(account_id),
        [AccountModel.pending_change.remove()],
        AccountModel.pending_change == change_id,
    )
    details = {
        "change_id": change_id,
        "requested_by": data.get("requested_by"),
        "decided_by": staff.actor,
        "verification": data.get("verification"),
    }
    txn.put(
        "audit",
        audit.for_account(deps, "admin.contact_change_rejected", account_id, now, staff.actor, reason, details),
    )
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("wrong_state", {"state": "changed"}) from exc
    flow.state, flow.data = REJECTED, data  # type: ignore[assignment]
    return change_view(flow)
