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
from chalicelib.accounts import credentials, passkeys
from chalicelib.accounts.credentials import step_up
from chalicelib.accounts.erasure import erase_in
from chalicelib.accounts.signed_in import Caller, Signed, load
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import notices, outbox, templates
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable
from chalicelib.storage.models import AccountModel, SessionModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.views import event_view, profile_view, session_view

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


def list_sessions(deps: Deps, caller: Caller) -> dict[str, Any]:
    """Where the member is signed in, newest first (two round trips: the caller, the index)."""
    signed = load(deps, caller)
    current = signed.session.session_id
    return {"sessions": [session_view(s, current) for s in _live_sessions(deps, signed)]}


def revoke_session(deps: Deps, caller: Caller, session_id: str) -> None:
    """Sign one device out: its access and refresh tokens stop working at once."""
    signed = load(deps, caller, (SessionModel, session_id))
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


def export(deps: Deps, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Everything stored about the member, as one document (schema: ``MemberExport``),
    after the step-up: a stolen session alone cannot copy a member's data."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body)
    account = step.account
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        step.write(),
        step.guarded(AccountModel.status == "active"),
    )
    txn.put("audit", audit.for_account(deps, "account.exported", account.account_id, deps.clock()))
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same authenticator code won in a parallel request
    events, cursor = [], None
    while True:
        page, cursor = deps.store.audit_page(audit.account_subject(account.account_id), 200, cursor)
        events += [event_view(item) for item in page]
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
        "sessions": [session_view(s, current) for s in _live_sessions(deps, signed)],
        "passkeys": [
            {
                "name": p.name,
                "created_at": rfc3339(p.created_at),
                "last_used_at": rfc3339(p.last_used_at) if p.last_used_at else None,
            }
            for p in passkeys.owned(deps, account)
        ],
        "audit_events": events,
        "notes": {"nik": NIK_NOTE, "secrets": "Passwords, PINs, codes and tokens are never included."},
    }


# --- deleting ---------------------------------------------------------------------------


def delete_account(deps: Deps, caller: Caller, body: dict[str, Any], lang: str) -> None:
    """Delete the signed-in member's account (password first; wrong counts toward the lock)."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body)
    account = step.account
    now = deps.clock()
    txn = Txn()
    erase_in(txn, account, "deleted", now, spend=step)
    txn.put("audit", audit.for_account(deps, "account.deleted", account.account_id, now))
    outbox.scrub_after(txn, account.account_id, now)
    if account.email:  # the old address hears of it (sent after the erasure commits)
        outbox.email_notice(txn, account.email, templates.account_deleted_email(lang, deps.settings.app_name), now)
    notices.tell(txn, deps, notices.notice("account_deleted", emails=[], phones=[account.phone], lang=lang), now)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("unauthenticated") from exc  # deleted, reset or signed out everywhere meanwhile
    except StorageUnavailable:
        credentials.uncount(deps, account.account_id)
        raise
