"""The authenticator app (TOTP): enrolment, turning it off, and checking its codes.

Enrolment: the password is re-checked, a new secret is stored *pending* (encrypted)
and shown once as text, URI and QR code; verifying a first code turns it on and gives
ten recovery codes, shown once. A code is accepted for its step and one step either
side, and never twice: the last used step is kept on the account and only advanced by
a conditional write. Recovery codes are kept as keyed hashes and removed by a
conditional write when used. Wrong codes count toward the account lockout.
"""

from __future__ import annotations

from typing import Any

from chalicelib import audit, totp
from chalicelib.accounts import credentials
from chalicelib.accounts.authenticator import enabled, off_actions, use_of
from chalicelib.accounts.credentials import after_recheck, recheck_password, step_up
from chalicelib.accounts.signed_in import Caller, load
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import parse_text, required
from chalicelib.views import mask_email


def _label(account: AccountModel) -> str:
    return mask_email(account.email or "")


def enrol(deps: Deps, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """A new pending secret (replacing a pending one), after the password re-check, and,
    when one is already on, its current or a recovery code (a session and the password
    alone cannot swap the second factor)."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body)
    account = step.account
    now = deps.clock()
    secret = totp.new_secret()
    shown = totp.enrolment(secret, _label(account), deps.settings.app_name)
    actions = [
        *step.write(),
        AccountModel.totp_pending.set(totp.seal(deps.keys.totp, account.account_id, secret)),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update("account", AccountModel(account.account_id), actions, step.guarded(AccountModel.status == "active"))
    txn.put("audit", audit.for_account(deps, "authenticator.enrolment_started", account.account_id, now))
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same code won in a parallel request
    return {"secret": shown.secret, "otpauth_uri": shown.uri, "qr_svg": shown.qr_svg}


def confirm(deps: Deps, caller: Caller, body: dict[str, Any], lang: str = "id") -> dict[str, Any]:
    """Turn the pending secret on with a first code; ten recovery codes, shown this once."""
    code = required(body, "code", parse_text)
    signed = load(deps, caller)
    if not signed.account.totp_pending:
        raise ApiError("wrong_state", {"state": "no_pending_authenticator"})
    now = deps.clock()
    guard = credentials.account_guard(signed.account.account_id)
    account = credentials.reserve(deps, guard, "code", now)
    secret = totp.unseal(deps.keys.totp, account.account_id, account.totp_pending or "")
    step = totp.matching_step(secret, code.strip(), now, -1)
    if step is None:
        raise credentials.wrong_code(deps, guard, account, now)
    codes = totp.new_recovery_codes()
    hashes = {totp.recovery_hash(deps.keys.totp, account.account_id, c) for c in codes}
    actions = [
        *credentials.reset_actions(),
        AccountModel.totp_secret.set(account.totp_pending),
        AccountModel.totp_pending.remove(),
        AccountModel.totp_last_step.set(step),
        AccountModel.recovery_codes.set(hashes),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    # Bound to the pending secret that was checked: a replaced enrolment cannot be confirmed.
    condition = (AccountModel.status == "active") & (AccountModel.totp_pending == account.totp_pending)
    txn.update("account", AccountModel(account.account_id), actions, condition)
    txn.put("audit", audit.for_account(deps, "authenticator.enabled", account.account_id, now))
    event = "authenticator_replaced" if enabled(account) else "authenticator_on"
    notices.tell(txn, deps, notices.to_account(event, account, lang), now)
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("wrong_state", {"state": "enrolment_replaced"}) from exc
    return {"enabled": True, "recovery_codes": codes}


def turn_off(deps: Deps, caller: Caller, body: dict[str, Any], lang: str) -> None:
    """The member turns it off with the password and a current or recovery code."""
    signed = load(deps, caller)
    account = recheck_password(deps, signed, body)
    now = deps.clock()
    code = after_recheck(deps, account, lambda: required(body, "code", parse_text))
    use = use_of(deps, account, code, now)
    if use is None:
        if not enabled(account):
            credentials.settle_success(deps, account)
            raise ApiError("wrong_state", {"state": "authenticator_off"})
        raise credentials.wrong_code(deps, credentials.account_guard(account.account_id), account, now)
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        [*credentials.reset_actions(), *off_actions(), AccountModel.updated_at.set(now)],
        (AccountModel.status == "active") & use.condition,
    )
    txn.put("audit", audit.for_account(deps, "authenticator.disabled", account.account_id, now))
    told = notices.to_account("authenticator_off", account, lang)
    notices.tell(txn, deps, told, now)
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same code was just used by a parallel request
