"""Forgot email: a phone number in, an SMS naming the account's (masked) email out.

Any well-formed number answers ``202 {}``, in the same calls and the same time: the
request reads the phone's claim and an account, counts the send limits and writes one
outbox item in the same transaction, on both paths. A member's number gets the reminder;
any other number a decoy item that the outbox sender settles without sending. Nothing
calls SNS before the answer (delivery/outbox.py), so neither its time nor its failure can
tell a stranger which numbers are members'.
"""

from __future__ import annotations

from typing import Any

from chalicelib import limits
from chalicelib.challenges.send import Outgoing, send_limits
from chalicelib.delivery import outbox, templates
from chalicelib.deps import Deps
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel
from chalicelib.storage.store import Txn
from chalicelib.validation import parse_phone, required
from chalicelib.views import mask_email

READ = ["account_id", "status", "phone", "email"]
DECOY_EMAIL = "anggota@example.com"  # a decoy's text is as long as a member's, and names nobody


def start(deps: Deps, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Queue for the owner of ``phone`` a reminder of which email their account uses, if it has one."""
    phone = required(body, "phone", parse_phone)
    now = deps.clock()
    owner = deps.store.claim_owner(claim_key("phone", phone))
    # the same read either way, and only what the answer needs: a member's whole account
    # would take longer to read and decode than a miss, and the time would tell
    account = deps.store.get(AccountModel, owner or "no-such-account", attributes=READ)
    known = account is not None and account.status == "active" and account.phone == phone
    email = account.email if known and account is not None else DECOY_EMAIL
    text = templates.email_reminder_sms(lang, deps.settings.app_name, mask_email(email))
    outgoing = Outgoing("sms", phone, "email_recovery", "code" if known else "decoy", client_ip)

    def queue(txn: Txn) -> None:
        outbox.queue(txn, channel="sms", destination=phone, body=text, now=now, kind="reminder" if known else "decoy")

    limits.commit_within(deps.store, queue, send_limits(deps, outgoing), now)
    return {}
