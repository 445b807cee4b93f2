"""Erasure: an account becomes a tombstone (personal data and secrets removed, every
session ended) and its four claims are freed, in one transaction; its audit events keep
what happened, not who."""

from __future__ import annotations

from typing import Any

from chalicelib import audit
from chalicelib.deps import Deps
from chalicelib.storage import account_claims
from chalicelib.storage.models import AccountModel, AuditModel, ClaimModel, PasskeyModel
from chalicelib.storage.store import (
    Txn,
)
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
    AccountModel.passkeys,
    AccountModel.pending_change,
)


# Audit details that describe what happened and hold nothing about the person.
NEUTRAL_DETAILS = frozenset(
    {
        "method",
        "secret",
        "retry_after",
        "channel",
        "purpose",
        "delivery",
        "flow_type",
        "attempts_remaining",
        "reason",
        "second_factor",
        "verification",
        "change_id",
        "requested_by",
        "decided_by",
        "by",
        "session",
        "counter",
        "passkey_id",
    }
)


def erase_actions(status: str, now: float) -> list[Any]:
    """Update actions that turn an account into a tombstone with ``status``."""
    return [
        AccountModel.status.set(status),
        AccountModel.session_epoch.add(1),  # every session and refresh token ends
        AccountModel.updated_at.set(now),
        AccountModel.erased_at.set(now),
        *(attr.remove() for attr in PERSONAL),
    ]


def erase_in(txn: Txn, account: AccountModel, status: str, now: float, spend: Any = None) -> None:
    """Add to ``txn`` the erasure of an active account and the freeing of its four claims
    (``spend``: a step-up whose authenticator code the same write consumes)."""
    condition = (AccountModel.status == "active") & (AccountModel.session_epoch == int(account.session_epoch or 0))
    txn.update(
        "account",
        AccountModel(account.account_id),
        erase_actions(status, now),
        spend.guarded(condition) if spend is not None else condition,
    )
    claims = account_claims(
        email_key(account.email or ""), account.nik_hash or "", account.phone or "", account.kpj or ""
    )
    for kind, key in claims.items():
        txn.delete(kind, ClaimModel(key), ClaimModel.account_id == account.account_id)
    for credential_id in sorted(account.passkeys or ()):  # its passkeys go with it
        txn.delete("passkey", PasskeyModel(credential_id), PasskeyModel.account_id == account.account_id)


def scrub_events(deps: Deps, account_id: str) -> int:
    """Remove what is personal from the account's audit events: the details that name
    the person (masked contacts). What happened, when, the client's keyed hash and the
    device stay for their retention: the evidence of a takeover survives the erasure.
    Run by the outbox sender *after* the erasure committed (``outbox.scrub_after``)."""
    done, cursor = 0, None
    while True:
        page, cursor = deps.store.audit_page(audit.account_subject(account_id), 200, cursor)
        for item in page:
            if set(_details(item)) - NEUTRAL_DETAILS:
                deps.store.scrub_audit(item, NEUTRAL_DETAILS)
                done += 1
        if cursor is None:
            return done


def _details(item: AuditModel) -> dict[str, Any]:
    return dict(item.details.as_dict() if hasattr(item.details, "as_dict") else item.details or {})
