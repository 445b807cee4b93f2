"""Checking a password or PIN under the lockout rules, the signed-in owner's re-check,
and new-secret policy (passwords and PINs).

Every check is counted *before* argon2 runs (a conditional increment on the account),
so parallel guesses cannot exceed the limit; a success resets the count in the same
write that records it. Five wrong secrets in a row lock the account for 15 minutes,
doubling with each repeat lock; ten wrong PINs since the last PIN success disable the
PIN until the forgot-PIN flow sets a new one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import audit, metrics
from chalicelib.accounts import authenticator
from chalicelib.accounts.signed_in import Signed
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable, retry_after
from chalicelib.keys import keyed_hash, same
from chalicelib.storage.models import AccountModel, CounterModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import (
    Collector,
    digit_runs,
    parse_date,
    parse_text,
    password_problems,
    pin_problems,
    required,
)

SecretKind = Literal["password", "pin", "code"]  # code: an authenticator or recovery code


def lock_duration(deps: Deps, lock_count: int) -> int:
    """How long the next lock lasts: the base, doubled for every earlier lock."""
    s = deps.settings
    return int(min(s.lock_seconds * 2 ** min(lock_count, 20), s.max_lock_seconds))


@dataclass(frozen=True)
class Guard:
    """Where a login's lockout state lives: its account, or, for a login with no account,
    a guard item keyed by the login's keyed hash (same attributes, same writes)."""

    model: Any
    key: str
    subject: str
    known: bool


def account_guard(account_id: str) -> Guard:
    """The lockout of an account (sign-in with a known login, signed-in re-checks)."""
    return Guard(AccountModel, account_id, audit.account_subject(account_id), True)


def login_guard(deps: Deps, login_key: str) -> Guard:
    """The lockout of a login that has no account: a counters item, never the login itself."""
    digest = keyed_hash(deps.keys.destination, "login", login_key)
    return Guard(CounterModel, f"login#{digest}", f"login#{digest[:32]}", False)


def _refused(deps: Deps, guard: Guard, kind: SecretKind, now: float) -> ApiError:
    """Why a check was not even attempted (read from the guard item as it is now)."""
    item = deps.store.get(guard.model, guard.key)
    if guard.known and (item is None or item.status != "active"):
        deps.hasher.verify(None, "x")  # same cost as a real check
        return ApiError("invalid_credentials")
    locked_until = float(getattr(item, "locked_until", 0) or 0)
    if kind == "pin" and getattr(item, "pin_disabled", False):
        return ApiError("account_locked", {"reason": "pin_disabled"})
    if locked_until > now:
        return retry_after("account_locked", locked_until - now)
    # The limit is reached by checks still running; the lock they end in is imminent.
    return retry_after("account_locked", lock_duration(deps, int(getattr(item, "lock_count", 0) or 0)))


def reserve(deps: Deps, guard: Guard, kind: SecretKind, now: float) -> Any:
    """Count one check on the guard *before* it is made; the item as it now stands, or
    the 401/423 that says why no check may be made."""
    s = deps.settings
    if guard.known:
        base = AccountModel.account_id.exists() & (AccountModel.status == "active")
        extra: list[Action] = []
    else:
        # The first try of a login nobody tried before creates its guard item: kept as
        # small as an account's strike (TTL only, no expiry-index entry, no stored hash:
        # argon2 runs against the in-memory dummy), so it costs what a real account's
        # wrong try costs (issue 24, finding 8; bench/login_timing.py "first try").
        base = CounterModel.status.does_not_exist() | (CounterModel.status == "guard")
        extra = [
            CounterModel.expires_at.set(to_datetime(now + s.login_guard_ttl)),
            CounterModel.status.set("guard"),
        ]
    try:
        return deps.store.reserve_attempt(guard.model, guard.key, now, s.max_failed_logins, kind == "pin", base, extra)
    except Conflict as exc:
        raise _refused(deps, guard, kind, now) from exc


def check_secret(deps: Deps, guard: Guard, kind: SecretKind, secret: str, now: float) -> AccountModel:
    """The account if ``secret`` is its password/PIN; else 401 or 423 (and the count rises).

    A login with no account goes through the same steps on its guard item (reserve,
    argon2 against a hash of nothing anyone knows, the same failure writes), so it
    answers the same statuses after the same number of tries, in the same time.
    """
    item = reserve(deps, guard, kind, now)
    stored = item.password_hash if kind == "password" else item.pin_hash
    if deps.hasher.verify(stored, normalize_secret(secret)) and guard.known:
        return item  # type: ignore[no-any-return]
    raise wrong(deps, guard, item, kind, now)


def wrong_code(deps: Deps, guard: Guard, item: Any, now: float) -> ApiError:
    """Record a wrong authenticator or recovery code: ``422 invalid_code``, or the lock it ended in."""
    error = wrong(deps, guard, item, "code", now)
    return ApiError("invalid_code") if error.key == "invalid_credentials" else error


def wrong(deps: Deps, guard: Guard, item: Any, kind: SecretKind, now: float) -> ApiError:
    """Record a wrong secret or code (strikes, a lock) and the error that answers it."""
    error = _count_wrong(deps, guard, item, kind, now)
    event = "account.locked" if error.key == "account_locked" else "credentials.failure"
    metrics.count("Lockouts" if error.key == "account_locked" else "SignInFailures", secret=kind)
    details = {
        "secret": kind,
        **({"retry_after": error.details["retry_after"]} if "retry_after" in error.details else {}),
    }
    if error.details.get("reason") == "pin_disabled":
        event = "pin.disabled"
    retention = deps.settings.audit_retention_days
    deps.store.put_audit_quietly(audit.event(event, guard.subject, now, retention, details=details))
    return error


def _count_wrong(deps: Deps, guard: Guard, item: Any, kind: SecretKind, now: float) -> ApiError:
    s = deps.settings
    m = guard.model
    actions: list[Action] = []
    pin_now_disabled = False
    if kind == "pin":
        actions.append(m.pin_failures.add(1))
        if int(item.pin_failures or 0) + 1 >= s.max_pin_failures:
            actions.append(m.pin_disabled.set(True))
            pin_now_disabled = True
    if int(item.failed_logins or 0) >= s.max_failed_logins:
        duration = lock_duration(deps, int(item.lock_count or 0))
        lock: list[Action] = [m.locked_until.set(now + duration), m.lock_count.add(1), m.failed_logins.set(0)]
        # Only if no success reset the count meanwhile.
        if deps.store.record_failure(m, guard.key, actions + lock, m.failed_logins >= s.max_failed_logins):
            return retry_after("account_locked", duration)
    if actions:
        deps.store.record_failure(m, guard.key, actions, None)
    if pin_now_disabled:
        return ApiError("account_locked", {"reason": "pin_disabled"})
    return ApiError("invalid_credentials")


def commit_after_check(deps: Deps, account_id: str, txn: Txn) -> None:
    """Commit what a right secret allows; if storage fails, un-count the check."""
    try:
        deps.store.commit(txn)
    except StorageUnavailable:
        uncount(deps, account_id)
        raise


def uncount(deps: Deps, account_id: str) -> None:
    """Best effort: take back a reserved check whose request storage could not finish."""
    try:
        deps.store.record_failure(
            AccountModel, account_id, [AccountModel.failed_logins.add(-1)], AccountModel.failed_logins > 0
        )
    except StorageUnavailable:
        pass  # still failing: the count stays one high until the next success resets it


def normalize_secret(secret: str) -> str:
    """A password as hashed and checked: NFC, so the same text typed on another keyboard matches."""
    return unicodedata.normalize("NFC", secret)


def settle_success(deps: Deps, account: AccountModel) -> None:
    """A right password whose request was refused for another reason still ends the run
    of wrong ones (the check was reserved before it was made)."""
    deps.store.record_failure(AccountModel, account.account_id, reset_actions(), None)


def reset_actions() -> list[Action]:
    """A right secret ends the run of wrong ones and the doubling of locks."""
    return [AccountModel.failed_logins.set(0), AccountModel.lock_count.set(0)]


def success_actions(deps: Deps, account: AccountModel, kind: SecretKind, secret: str) -> list[Action]:
    """What a right secret writes: counts reset, and a rehash if the parameters changed."""
    actions = reset_actions()
    if kind == "pin":
        actions.append(AccountModel.pin_failures.set(0))
    stored = account.password_hash if kind == "password" else account.pin_hash
    if stored and deps.hasher.needs_rehash(stored):
        attr = AccountModel.password_hash if kind == "password" else AccountModel.pin_hash
        actions.append(attr.set(deps.hasher.hash(normalize_secret(secret))))
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
    return normalize_secret(password)


def recheck_password(deps: Deps, signed: Signed, body: dict[str, Any], field: str = "password") -> AccountModel:
    """The signed-in owner's password, checked before anything else in the request.

    A wrong one is ``401 invalid_credentials`` and counts toward the lockout; a stolen
    access token alone learns nothing about the PIN, the NIK or the new value.
    """
    password = required(body, field, parse_text)
    guard = account_guard(signed.account.account_id)
    return check_secret(deps, guard, "password", password, deps.clock())


@dataclass(frozen=True)
class SteppedUp:
    """The signed-in owner after the step-up: the account as reserved, and what the
    request's own write must add to consume the authenticator code (single use), if one
    was asked."""

    account: AccountModel
    actions: list[Action]
    condition: Condition | None
    second_factor: bool

    def write(self) -> list[Action]:
        """A right step-up ends the run of wrong secrets, and spends the code."""
        return [*reset_actions(), *self.actions]

    def guarded(self, condition: Condition) -> Condition:
        """``condition`` and the code's single use."""
        return condition & self.condition if self.condition is not None else condition


def step_up(deps: Deps, signed: Signed, body: dict[str, Any], field: str = "password") -> SteppedUp:
    """API.md "assurance": the password, re-checked in the same request from any session,
    and, with the authenticator on, its code (or a recovery code) too.

    The password is checked first (``401 invalid_credentials``, counted); then the code:
    missing is ``422 validation_error`` with ``fields.code`` (the right password still
    ends the run of wrong ones), wrong is ``422 invalid_code`` and counts toward the same
    lockout. Nothing about the request itself is evaluated before both.
    """
    account = recheck_password(deps, signed, body, field)
    if not authenticator.enabled(account):
        return SteppedUp(account, [], None, second_factor=False)
    code = after_recheck(deps, account, lambda: required(body, "code", parse_text))
    now = deps.clock()
    use = authenticator.use_of(deps, account, code, now)
    if use is None:
        raise wrong_code(deps, account_guard(account.account_id), account, now)
    return SteppedUp(account, use.actions, use.condition, second_factor=True)


def after_recheck[T](deps: Deps, account: AccountModel, rules: Callable[[], T]) -> T:
    """Run the request's own rules once the password was right; if they refuse, the
    right password still ends the run of wrong ones (the reserved check is settled)."""
    try:
        return rules()
    except ApiError:
        settle_success(deps, account)
        raise
    except StorageUnavailable:
        uncount(deps, account.account_id)  # nothing happened: the check does not count
        raise


def new_pin(deps: Deps, account: AccountModel, body: dict[str, Any]) -> str:
    """The new PIN in ``body`` if it meets the rules, differs from the old one and is confirmed."""
    fields = Collector(body)
    pin = fields.field("pin", parse_text)
    confirmation = fields.field("pin_confirmation", parse_text)
    if pin is not None:
        problems = pin_problems(pin, parse_date(account.birth_date))
        if not problems and account.pin_hash and deps.hasher.verify(account.pin_hash, pin):
            problems.append("same_as_previous")
        if problems:
            fields.add("pin", *problems)
    fields.raise_if_any()
    assert pin is not None
    if confirmation != pin:
        raise ApiError("pin_mismatch")
    return pin
