"""The authenticator as a second factor: whether it is on, how a right authenticator or
recovery code is consumed (single use by a conditional write), and what turning it off
removes. Enrolment is a journey (flows/authenticator.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import totp
from chalicelib.deps import Deps
from chalicelib.storage.models import AccountModel


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


def off_actions() -> list[Action]:
    """What turning the authenticator off removes."""
    return [
        AccountModel.totp_secret.remove(),
        AccountModel.totp_pending.remove(),
        AccountModel.totp_last_step.remove(),
        AccountModel.recovery_codes.remove(),
    ]
