"""Forgot email: a phone number in, an SMS naming the account's (masked) email out.

Any well-formed number answers ``202 {}``. Only a number that belongs to an account
(phones are verified by code before they are stored) receives an SMS; for any other the
same reads and the same send limits are counted, and nothing is sent.
"""

from __future__ import annotations

from typing import Any

from chalicelib import limits
from chalicelib.challenges.send import Outgoing, send_limits
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.errors import DeliveryFailed, retry_after
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel
from chalicelib.validation import parse_phone, required
from chalicelib.views import mask_email


def start(deps: Deps, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Text the owner of ``phone`` which email their account uses, if it has one."""
    phone = required(body, "phone", parse_phone)
    now = deps.clock()
    owner = deps.store.claim_owner(claim_key("phone", phone))
    account = deps.store.get(AccountModel, owner or "no-such-account")  # same reads either way
    known = account is not None and account.status == "active" and account.phone == phone
    outgoing = Outgoing("sms", phone, "email_recovery", "code" if known else "decoy", client_ip)
    taken = limits.commit_within(deps.store, lambda txn: None, send_limits(deps, outgoing), now)
    opted_out = deps.sender.sms_opted_out(phone)  # asked on both paths: the same provider call either way
    if not known or opted_out:
        return {}
    assert account is not None
    text = templates.email_reminder_sms(lang, deps.settings.app_name, mask_email(account.email))
    try:
        deps.sender.send_sms(phone, text)
    except DeliveryFailed as exc:
        limits.give_back(deps.store, taken)
        raise retry_after("delivery_unavailable", deps.settings.delivery_retry_after) from exc
    return {}
