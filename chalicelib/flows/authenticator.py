"""The authenticator app (TOTP): enrolment, turning it off, and checking its codes.

Enrolment: the password is re-checked, a new secret is stored *pending* (encrypted)
and shown once as text, URI and QR code; verifying a first code turns it on and gives
ten recovery codes, shown once. A code is accepted for its step and one step either
side, and never twice: the last used step is kept on the account and only advanced by
a conditional write. Recovery codes are kept as keyed hashes and removed by a
conditional write when used. Wrong codes count toward the account lockout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import audit, totp
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.flows import common, credentials
from chalicelib.flows.sessions import after_recheck, authenticate, notify, recheck_password
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import parse_text, required


@dataclass(frozen=True)
class Use:
    """What consuming a right code writes on the account, and the condition that makes it single use."""

    actions: list[Action]
    condition: Condition
    recovery: bool


def enabled(account: AccountModel) -> bool:
    """Whether the member has an authenticator turned on."""
    return bool(account.totp_secret)


def use_of(deps: Deps, account: AccountModel, code: str, now: float) -> Use | None:
    """How a right authenticator or recovery code is consumed, or None if it is not right."""
    if not account.totp_secret:
        return None
    secret = totp.unseal(deps.keys.totp, account.account_id, account.totp_secret)
    last = int(account.totp_last_step if account.totp_last_step is not None else -1)
    step = totp.matching_step(secret, code.strip(), now, last)
    if step is not None:
        condition = AccountModel.totp_last_step.does_not_exist() | (AccountModel.totp_last_step < step)
        return Use([AccountModel.totp_last_step.set(step)], condition, recovery=False)
    recovery = totp.normalize_recovery(code)
    if recovery is not None:
        hashed = totp.recovery_hash(deps.keys.totp, account.account_id, recovery)
        if hashed in (account.recovery_codes or set()):
            spent: list[Action] = [AccountModel.recovery_codes.delete({hashed})]
            return Use(spent, AccountModel.recovery_codes.contains(hashed), recovery=True)
    return None


def _label(account: AccountModel) -> str:
    return common.mask_email(account.email or "")


def enrol(deps: Deps, authorization: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """A new pending secret (replacing a pending one), after the password re-check."""
    signed = authenticate(deps, authorization)
    account = recheck_password(deps, signed, body)
    now = deps.clock()
    secret = totp.new_secret()
    shown = totp.enrolment(secret, _label(account), deps.settings.app_name)
    actions = [
        *credentials.reset_actions(),
        AccountModel.totp_pending.set(totp.seal(deps.keys.totp, account.account_id, secret)),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update("account", AccountModel(account.account_id), actions, AccountModel.status == "active")
    txn.put("audit", audit.for_account(deps, "authenticator.enrolment_started", account.account_id, now))
    credentials.commit_after_check(deps, account.account_id, txn)
    return {"secret": shown.secret, "otpauth_uri": shown.uri, "qr_svg": shown.qr_svg}


def confirm(deps: Deps, authorization: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """Turn the pending secret on with a first code; ten recovery codes, shown this once."""
    code = required(body, "code", parse_text)
    signed = authenticate(deps, authorization)
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
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("wrong_state", {"state": "enrolment_replaced"}) from exc
    return {"enabled": True, "recovery_codes": codes}


def turn_off(deps: Deps, authorization: str | None, body: dict[str, Any], lang: str) -> None:
    """The member turns it off with the password and a current or recovery code."""
    signed = authenticate(deps, authorization)
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
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same code was just used by a parallel request
    notify(deps, account.email or "", templates.changed_email("authenticator", lang, deps.settings.app_name))


def off_actions() -> list[Action]:
    """What turning the authenticator off removes."""
    return [
        AccountModel.totp_secret.remove(),
        AccountModel.totp_pending.remove(),
        AccountModel.totp_last_step.remove(),
        AccountModel.recovery_codes.remove(),
    ]
