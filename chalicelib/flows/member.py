"""Member rights: my devices, a copy of my data, deleting my account.

Deleting (the app stores require it in-app; UU PDP's right to erasure) is one
transaction: the account becomes a tombstone (personal data and secrets removed, status
``deleted``, session epoch raised so every session dies), its four claims are freed, and
the event is recorded. Afterwards the member's own audit events lose what is personal in
them (client address, masked destinations) and the old address gets a confirmation;
both are best effort, after the erasure has happened.
"""

from __future__ import annotations

from typing import Any

from chalicelib import audit
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable
from chalicelib.flows import credentials
from chalicelib.flows.sessions import Signed, authenticate, notify, profile_view, recheck_password
from chalicelib.storage import account_claims
from chalicelib.storage.models import AccountModel, AuditModel, ClaimModel, SessionModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import email_key

# What an account keeps once erased: its id, its status and the times.
PERSONAL = (
    AccountModel.email,
    AccountModel.phone,
    AccountModel.full_name,
    AccountModel.birth_date,
    AccountModel.nik_hash,
    AccountModel.nik_masked,
    AccountModel.kpj,
    AccountModel.membership_type,
    AccountModel.password_hash,
    AccountModel.pin_hash,
    AccountModel.failed_logins,
    AccountModel.locked_until,
    AccountModel.lock_count,
    AccountModel.pin_failures,
    AccountModel.pin_disabled,
    AccountModel.totp_secret,
    AccountModel.totp_pending,
    AccountModel.totp_last_step,
    AccountModel.recovery_codes,
)
# Audit details that describe what happened and hold nothing about the person.
NEUTRAL_DETAILS = frozenset(
    {"method", "secret", "retry_after", "channel", "purpose", "delivery", "flow_type", "attempts_remaining", "reason"}
)
NIK_NOTE = (
    "Sandi never stores the full NIK: only a keyed hash (to keep one account per NIK) and the masked form shown here."
)


# --- devices ---------------------------------------------------------------------------


def _live_sessions(deps: Deps, signed: Signed) -> list[SessionModel]:
    now = to_datetime(deps.clock())
    epoch = int(signed.account.session_epoch or 0)
    return [
        s
        for s in deps.store.account_sessions(signed.account.account_id)
        if not s.revoked and s.expires_at > now and int(s.epoch or 0) == epoch
    ]


def _session_view(session: SessionModel, current_id: str) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "created_at": rfc3339(session.created_at),
        "last_used_at": rfc3339(session.last_used_at or session.created_at),
        "device": session.device or "Unknown device",
        "current": session.session_id == current_id,
    }


def list_sessions(deps: Deps, authorization: str | None) -> dict[str, Any]:
    """Where the member is signed in, newest first (two round trips: the caller, the index)."""
    signed = authenticate(deps, authorization)
    current = signed.session.session_id
    return {"sessions": [_session_view(s, current) for s in _live_sessions(deps, signed)]}


def revoke_session(deps: Deps, authorization: str | None, session_id: str) -> None:
    """Sign one device out: its access and refresh tokens stop working at once."""
    signed = authenticate(deps, authorization, (SessionModel, session_id))
    target = signed.extra[0]
    mine = signed.account.account_id
    if target is None or target.account_id != mine or target.revoked:
        raise ApiError("not_found")  # another account's session looks like none at all
    txn = Txn()
    txn.update("session", SessionModel(session_id), [SessionModel.revoked.set(True)], SessionModel.account_id == mine)
    txn.put("audit", audit.for_account(deps, "session.revoked", mine, deps.clock(), details={"device": "revoked"}))
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("not_found") from exc


# --- a copy of my data ---------------------------------------------------------------------


def _event_view(item: AuditModel) -> dict[str, Any]:
    details = item.details.as_dict() if hasattr(item.details, "as_dict") else dict(item.details or {})
    return {
        "at": rfc3339(item.at),
        "kind": item.kind,
        "actor": "call_center" if item.actor.startswith("staff:") else item.actor,
        "reason": item.reason,
        "client_ip": item.client_ip,
        "details": details,
    }


def export(deps: Deps, authorization: str | None) -> dict[str, Any]:
    """Everything stored about the member, as one document (schema: ``MemberExport``)."""
    signed = authenticate(deps, authorization)
    account = signed.account
    events, cursor = [], None
    while True:
        page, cursor = deps.store.audit_page(audit.account_subject(account.account_id), 200, cursor)
        events += [_event_view(item) for item in page]
        if cursor is None:
            break
    current = signed.session.session_id
    return {
        "schema": "sandi.member-export.v1",
        "exported_at": rfc3339(deps.clock()),
        "profile": profile_view(account),
        "contact": {"email": account.email, "phone": account.phone},
        "membership": {"membership_type": account.membership_type, "kpj": account.kpj},
        "security": {
            "pin_set": bool(account.pin_hash),
            "pin_disabled": bool(account.pin_disabled),
            "authenticator_enabled": bool(account.totp_secret),
            "locked_until": rfc3339(account.locked_until) if (account.locked_until or 0) > deps.clock() else None,
        },
        "sessions": [_session_view(s, current) for s in _live_sessions(deps, signed)],
        "audit_events": events,
        "notes": {"nik": NIK_NOTE, "secrets": "Passwords, PINs, codes and tokens are never included."},
    }


# --- deleting ---------------------------------------------------------------------------


def erase_actions(status: str, now: float) -> list[Any]:
    """Update actions that turn an account into a tombstone with ``status``."""
    return [
        AccountModel.status.set(status),
        AccountModel.session_epoch.add(1),  # every session and refresh token ends
        AccountModel.updated_at.set(now),
        AccountModel.erased_at.set(now),
        *(attr.remove() for attr in PERSONAL),
    ]


def erase_in(txn: Txn, account: AccountModel, status: str, now: float) -> None:
    """Add to ``txn`` the erasure of an active account and the freeing of its four claims."""
    txn.update(
        "account",
        AccountModel(account.account_id),
        erase_actions(status, now),
        (AccountModel.status == "active") & (AccountModel.session_epoch == int(account.session_epoch or 0)),
    )
    claims = account_claims(
        email_key(account.email or ""), account.nik_hash or "", account.phone or "", account.kpj or ""
    )
    for kind, key in claims.items():
        txn.delete(kind, ClaimModel(key), ClaimModel.account_id == account.account_id)


def scrub_events(deps: Deps, account_id: str) -> int:
    """Remove what is personal from the account's audit events (they stay for their
    retention: what happened and when). Done *before* the erasure commits: a storage
    failure then answers 503 with the account untouched, and a retry scrubs again."""
    done, cursor = 0, None
    while True:
        page, cursor = deps.store.audit_page(audit.account_subject(account_id), 200, cursor)
        for item in page:
            if item.client_ip or set(_details(item)) - NEUTRAL_DETAILS:
                deps.store.scrub_audit(item, NEUTRAL_DETAILS)
                done += 1
        if cursor is None:
            return done


def _details(item: AuditModel) -> dict[str, Any]:
    return dict(item.details.as_dict() if hasattr(item.details, "as_dict") else item.details or {})


def delete_account(deps: Deps, authorization: str | None, body: dict[str, Any], lang: str) -> None:
    """Delete the signed-in member's account (password first; wrong counts toward the lock)."""
    signed = authenticate(deps, authorization)
    account = recheck_password(deps, signed, body)
    now = deps.clock()
    txn = Txn()
    erase_in(txn, account, "deleted", now)
    event = audit.for_account(deps, "account.deleted", account.account_id, now)
    event.client_ip = None  # the member's own address is personal data too
    txn.put("audit", event)
    try:
        scrub_events(deps, account.account_id)
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("unauthenticated") from exc  # deleted, reset or signed out everywhere meanwhile
    except StorageUnavailable:
        credentials.uncount(deps, account.account_id)
        raise
    if account.email:
        notify(deps, account.email, templates.account_deleted_email(lang, deps.settings.app_name))
