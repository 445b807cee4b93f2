"""Checking a password or PIN under the lockout rules, and new-secret policy.

Every check is counted *before* argon2 runs (a conditional increment on the account),
so parallel guesses cannot exceed the limit; a success resets the count in the same
write that records it. Five wrong secrets in a row lock the account for 15 minutes,
doubling with each repeat lock; ten wrong PINs since the last PIN success disable the
PIN until the forgot-PIN flow sets a new one.
"""

from __future__ import annotations

from typing import Any, Literal

from pynamodb.expressions.update import Action

from chalicelib import audit
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable, retry_after
from chalicelib.keys import keyed_hash, same
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import Collector, digit_runs, parse_text, password_problems

Kind = Literal["password", "pin"]


def lock_duration(deps: Deps, lock_count: int) -> int:
    """How long the next lock lasts: the base, doubled for every earlier lock."""
    s = deps.settings
    return int(min(s.lock_seconds * 2 ** min(lock_count, 20), s.max_lock_seconds))


def _refused(deps: Deps, account_id: str, kind: Kind, now: float) -> ApiError:
    """Why a check was not even attempted (read from the account as it is now)."""
    account = deps.store.get(AccountModel, account_id)
    if account is None or account.status != "active":
        deps.hasher.verify(None, "x")  # same cost as a real check
        return ApiError("invalid_credentials")
    if kind == "pin" and account.pin_disabled:
        return ApiError("account_locked", {"reason": "pin_disabled"})
    if account.locked_until and account.locked_until > now:
        return retry_after("account_locked", account.locked_until - now)
    # The limit is reached by checks still running; the lock they end in is imminent.
    return retry_after("account_locked", lock_duration(deps, int(account.lock_count or 0)))


def check_secret(deps: Deps, account_id: str | None, kind: Kind, secret: str, now: float) -> AccountModel:
    """The account if ``secret`` is its password/PIN; else 401 or 423 (and the count rises)."""
    if account_id is None:
        deps.hasher.verify(None, secret)  # no timing tell for an unknown login
        raise ApiError("invalid_credentials")
    s = deps.settings
    try:
        account = deps.store.reserve_attempt(account_id, now, s.max_failed_logins, pin=kind == "pin")
    except Conflict as exc:
        raise _refused(deps, account_id, kind, now) from exc
    stored = account.password_hash if kind == "password" else account.pin_hash
    if deps.hasher.verify(stored, secret):
        return account
    raise _record_wrong(deps, account, kind, now)


def _record_wrong(deps: Deps, account: AccountModel, kind: Kind, now: float) -> ApiError:
    error = _count_wrong(deps, account, kind, now)
    event = "account.locked" if error.key == "account_locked" else "credentials.failure"
    details = {
        "secret": kind,
        **({"retry_after": error.details["retry_after"]} if "retry_after" in error.details else {}),
    }
    if error.details.get("reason") == "pin_disabled":
        event = "pin.disabled"
    deps.store.put_audit_quietly(audit.for_account(deps, event, account.account_id, now, details=details))
    return error


def _count_wrong(deps: Deps, account: AccountModel, kind: Kind, now: float) -> ApiError:
    s = deps.settings
    actions: list[Action] = []
    pin_now_disabled = False
    if kind == "pin":
        actions.append(AccountModel.pin_failures.add(1))
        if int(account.pin_failures or 0) + 1 >= s.max_pin_failures:
            actions.append(AccountModel.pin_disabled.set(True))
            pin_now_disabled = True
    if int(account.failed_logins or 0) >= s.max_failed_logins:
        duration = lock_duration(deps, int(account.lock_count or 0))
        lock: list[Action] = [
            AccountModel.locked_until.set(now + duration),
            AccountModel.lock_count.add(1),
            AccountModel.failed_logins.set(0),
        ]
        # Only if no success reset the count meanwhile.
        if deps.store.record_failure(
            account.account_id, actions + lock, AccountModel.failed_logins >= s.max_failed_logins
        ):
            return retry_after("account_locked", duration)
    if actions:
        deps.store.record_failure(account.account_id, actions, None)
    if pin_now_disabled:
        return ApiError("account_locked", {"reason": "pin_disabled"})
    return ApiError("invalid_credentials")


def commit_after_check(deps: Deps, account_id: str, txn: Txn) -> None:
    """Commit what a right secret allows; if storage fails, un-count the check."""
    try:
        deps.store.commit(txn)
    except StorageUnavailable:
        try:
            deps.store.record_failure(account_id, [AccountModel.failed_logins.add(-1)], AccountModel.failed_logins > 0)
        except StorageUnavailable:
            pass  # still failing: the count stays one high until the next success resets it
        raise


def reset_actions() -> list[Action]:
    """A right secret ends the run of wrong ones and the doubling of locks."""
    return [AccountModel.failed_logins.set(0), AccountModel.lock_count.set(0)]


def success_actions(deps: Deps, account: AccountModel, kind: Kind, secret: str) -> list[Action]:
    """What a right secret writes: counts reset, and a rehash if the parameters changed."""
    actions = reset_actions()
    if kind == "pin":
        actions.append(AccountModel.pin_failures.set(0))
    stored = account.password_hash if kind == "password" else account.pin_hash
    if stored and deps.hasher.needs_rehash(stored):
        attr = AccountModel.password_hash if kind == "password" else AccountModel.pin_hash
        actions.append(attr.set(deps.hasher.hash(secret)))
    return actions


def new_password(
    deps: Deps, body: dict[str, Any], email: str, full_name: str, nik_hash: str, field: str = "password"
) -> str:
    """The new password in ``body`` if it meets the policy and matches its confirmation."""
    fields = Collector(body)
    password = fields.field(field, parse_text)
    confirmation = fields.field(f"{field}_confirmation", parse_text)
    if password is not None:
        problems = password_problems(password, email, full_name)
        if any(same(keyed_hash(deps.keys.nik, run), nik_hash) for run in digit_runs(password, 16)):
            problems.append("contains_personal_data")
        if problems:
            fields.add(field, *dict.fromkeys(problems))
    fields.raise_if_any()
    assert password is not None
    if confirmation != password:
        raise ApiError("password_mismatch")
    return password
