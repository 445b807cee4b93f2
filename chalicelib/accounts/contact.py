"""Contact binding: a reset or contact change is bound to the email and phone the account
had when it started. If the call center (or the member) changes either meanwhile, the
flow is dead (410 flow_expired), so a code read from a mailbox that was moved away
cannot finish it."""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.expressions.condition import Condition

from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.keys import keyed_hash
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel, ClaimModel, FlowModel
from chalicelib.storage.store import (
    Txn,
)
from chalicelib.validation import email_key


def contact_bound(email: str, phone: str) -> Condition:
    """The account still has this email and phone (a condition for the finishing write)."""
    return (AccountModel.email == email) & (AccountModel.phone == phone)


def contact_check(account_id: str, email: str, phone: str) -> Callable[[Txn], None]:
    """A transaction check that the account is active and still has this email and phone."""

    def check(txn: Txn) -> None:
        condition = (AccountModel.status == "active") & contact_bound(email, phone)
        txn.check("contact", AccountModel, account_id, condition)

    return check


def email_claim_check(email: str) -> Callable[[Txn, FlowModel], None]:
    """A transaction check that the email's claim still belongs to the flow's account
    (the email moved away, or the account closed, and the claim is gone or another's)."""

    def check(txn: Txn, flow: FlowModel) -> None:
        key = claim_key("email", email_key(email))
        txn.check("contact", ClaimModel, key, ClaimModel.account_id == (flow.account_id or "-"))

    return check


def contact_tag(deps: Deps, email: str, phone: str) -> str:
    """A keyed fingerprint of an account's email and phone, kept in a flow to bind it."""
    return keyed_hash(deps.keys.destination, "contact", email.lower(), phone)[:32]


def require_contact(account: AccountModel | None, email: str, phone: str | None = None) -> AccountModel:
    """The account, if it is active and still has the email (and phone) the flow was
    started for; else ``410 flow_expired``."""
    if (
        account is None
        or account.status != "active"
        or account.email.lower() != email.lower()
        or (phone is not None and account.phone != phone)
    ):
        raise ApiError("flow_expired")
    return account
