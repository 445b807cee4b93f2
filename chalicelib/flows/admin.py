"""Call-center routes: look up, view, change contact data, unlock, reset, read the audit.

Staff sign in to the stage's Cognito staff pool (groups ``agent`` and ``supervisor``);
API Gateway's Cognito authorizer checks their token in deployed stages and the route
checks it again (``accounts.staff.authorize``, the route's ``staff=``). Every call is audited with
who, what, when, why and from where. Staff can never choose a user's password or PIN:
there is no route for it; a reset closes the account so the person registers again.
"""

from __future__ import annotations

from typing import Any

from chalicelib import audit
from chalicelib.accounts.authenticator import off_actions
from chalicelib.accounts.erasure import erase_in
from chalicelib.accounts.staff import Staff, target_account
from chalicelib.clock import rfc3339
from chalicelib.delivery import notices, outbox
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, validation_error
from chalicelib.keys import keyed_hash
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import (
    FieldError,
    email_key,
    parse_email,
    parse_kpj,
    parse_nik,
    parse_phone,
    parse_staff_reason,
    required,
)
from chalicelib.views import account_view

LOOKUP_KEYS = ("email", "nik", "phone", "kpj")


def _reason(body: dict[str, Any]) -> str:
    return required(body, "reason", parse_staff_reason)


# --- routes ------------------------------------------------------------------------------


def lookup(deps: Deps, staff: Staff, query: dict[str, str]) -> dict[str, Any]:
    """Accounts by exactly one of email, NIK, phone (any common form) or KPJ."""
    given = {k: v for k, v in query.items() if k in LOOKUP_KEYS and v}
    if len(given) != 1:
        raise validation_error({k: ["exactly_one_key"] for k in (given or dict.fromkeys(LOOKUP_KEYS))})
    ((kind, raw),) = given.items()
    key = _lookup_claim(deps, kind, raw)
    now = deps.clock()
    owner = deps.store.claim_owner(key)
    account = deps.store.get(AccountModel, owner) if owner else None
    subject = audit.account_subject(account.account_id) if account else audit.staff_subject(staff.staff_id)
    deps.store.put_audit(
        audit.event("admin.lookup", subject, now, deps.settings.audit_retention_days, staff.actor, details={"by": kind})
    )
    return {"accounts": [account_view(account, now)] if account else []}


def _lookup_claim(deps: Deps, kind: str, raw: str) -> str:
    try:
        if kind == "email":
            return claim_key("email", email_key(parse_email(raw)))
        if kind == "nik":
            return claim_key("nik", keyed_hash(deps.keys.nik, parse_nik(raw)))
        if kind == "phone":
            return claim_key("phone", parse_phone(raw))
        return claim_key("kpj", parse_kpj(raw, deps.settings.kpj_length))
    except FieldError as exc:
        raise validation_error({kind: exc.reasons}) from exc


def view(deps: Deps, staff: Staff, account_id: str) -> dict[str, Any]:
    """One account with contact data and status."""
    account = target_account(deps, account_id)
    now = deps.clock()
    deps.store.put_audit(audit.for_account(deps, "admin.view", account_id, now, staff.actor))
    return account_view(account, now)


def unlock(deps: Deps, staff: Staff, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """End a sign-in lock and its doubling (a disabled PIN still needs the forgot-PIN flow)."""
    reason = _reason(body)
    account = target_account(deps, account_id)
    now = deps.clock()
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account_id),
        [
            AccountModel.locked_until.set(0),
            AccountModel.failed_logins.set(0),
            AccountModel.lock_count.set(0),
            AccountModel.updated_at.set(now),
        ],
        AccountModel.account_id.exists(),
    )
    txn.put("audit", audit.for_account(deps, "admin.unlocked", account_id, now, staff.actor, reason))
    _tell(txn, deps, "account_unlocked", account, now)
    deps.store.commit(txn)
    # the answer is built from what was written: a read after the commit could fail and
    # turn a done unlock into a 503 that invites a second one
    account.locked_until, account.failed_logins, account.lock_count, account.updated_at = 0, 0, 0, now
    return account_view(account, now)


def reset(deps: Deps, staff: Staff, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Close the account and free its email, NIK, phone and KPJ, in one transaction.

    The personal data is erased at once, as a member's own deletion erases it (see
    docs/data-protection.md): the person registers again with a new account, and the
    audit trail keeps who reset it, when and why. Every session ends (epoch).
    """
    reason = _reason(body)
    account = target_account(deps, account_id)
    now = deps.clock()
    if account.status != "active":
        raise ApiError("wrong_state", {"state": account.status})
    txn = Txn()
    erase_in(txn, account, "closed", now)
    txn.put("audit", audit.for_account(deps, "admin.reset", account_id, now, staff.actor, reason))
    _tell(txn, deps, "account_reset", account, now)
    outbox.scrub_after(txn, account_id, now)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("wrong_state", {"state": "changed"}) from exc
    tombstone = AccountModel(account_id, status="closed", created_at=account.created_at, updated_at=now)
    return account_view(tombstone, now)


def reset_authenticator(deps: Deps, staff: Staff, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Turn a member's authenticator off (a lost phone): supervisors only, with a reason;
    the member is told by email and SMS."""
    reason = _reason(body)
    account = target_account(deps, account_id)
    if account.status != "active":
        raise ApiError("wrong_state", {"state": account.status})
    now = deps.clock()
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account_id),
        [*off_actions(), AccountModel.updated_at.set(now)],
        AccountModel.status == "active",
    )
    txn.put("audit", audit.for_account(deps, "admin.authenticator_reset", account_id, now, staff.actor, reason))
    _tell(txn, deps, "authenticator_off", account, now)
    deps.store.commit(txn)
    account.totp_secret = account.totp_pending = account.recovery_codes = None
    account.totp_last_step, account.updated_at = None, now
    return account_view(account, now)


def _tell(txn: Txn, deps: Deps, event: str, account: AccountModel, now: float) -> None:
    """A staff action's security notice, to the account's email and phone, in the member's language."""
    told = notices.to_account(event, account, account.lang or "id", by_staff=True)
    notices.tell(txn, deps, told, now)


def audit_log(deps: Deps, staff: Staff, account_id: str, query: dict[str, str]) -> dict[str, Any]:
    """The account's events, newest first, a page at a time (``?limit=&cursor=``)."""
    target_account(deps, account_id)
    try:
        limit = min(max(int(query.get("limit") or deps.settings.audit_page_size), 1), 200)
    except ValueError as exc:
        raise validation_error({"limit": ["invalid_number"]}) from exc
    items, cursor = deps.store.audit_page(audit.account_subject(account_id), limit, query.get("cursor") or None)
    events = [
        {
            "at": rfc3339(item.at),
            "kind": item.kind,
            "actor": item.actor,
            "reason": item.reason,
            "client": item.client_hash,
            "device": item.device,
            "details": dict(item.details.as_dict() if hasattr(item.details, "as_dict") else item.details or {}),
        }
        for item in items
    ]
    deps.store.put_audit(audit.for_account(deps, "admin.audit_viewed", account_id, deps.clock(), staff.actor))
    return {"events": events, "next_cursor": cursor}
