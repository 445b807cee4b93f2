"""What the API shows: a flow and its challenge, a member's profile, devices, audit
events, and the call center's account card. Destinations are always masked here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.clock import rfc3339
from chalicelib.deps import Deps
from chalicelib.storage.models import AccountModel, AuditModel, FlowModel, SessionModel
from chalicelib.storage.store import (
    challenge_of,
)


@dataclass(frozen=True)
class WithStatus:
    """A result whose success status differs from the route's usual one (``202`` for a
    sign-in that needs its second step)."""

    status: int
    body: Any


POLL_MIN, POLL_MAX = 3, 30  # seconds


def check_again_after(waited: float) -> int:
    """When the app should look at a pending delivery again: soon at first, then half the
    time already waited (a member waiting a minute polls about nine times, not twenty)."""
    return int(min(POLL_MAX, max(POLL_MIN, waited / 2)))


def mask_email(email: str) -> str:
    """``budi@gmail.com`` -> ``bu***i@g***l.com``."""
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""

    def part(text: str, keep: int) -> str:
        if len(text) <= keep + 1:
            return text[:1] + "***"
        return text[:keep] + "***" + text[-1:]

    return f"{part(local, 2)}@{part(host, 1)}{dot}{tld}"


def mask_phone(phone: str) -> str:
    """``+6281234567890`` -> ``+62812*****890``."""
    return phone[:6] + "*" * max(0, len(phone) - 9) + phone[-3:]


def mask_destination(channel: str, destination: str) -> str:
    """A destination as the API may show it."""
    if channel == "authenticator":
        return "authenticator"
    return mask_email(destination) if channel == "email" else mask_phone(destination)


def flow_view(deps: Deps, flow: FlowModel, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flow as every step answers it."""
    view: dict[str, Any] = {
        "flow_id": flow.flow_id,
        "type": flow.flow_type,
        "state": flow.state,
        "expires_at": rfc3339(flow.expires_at.timestamp()),
    }
    if extra:
        view.update(extra)
    challenge = challenge_of(flow)
    if challenge is not None:
        view["challenge"] = {
            "channel": challenge.channel,
            "destination": mask_destination(challenge.channel, challenge.destination),
            "expires_at": rfc3339(challenge.expires_at),
            "resend_available_at": rfc3339(challenge.resend_at),
            "attempts_remaining": challenge.attempts_remaining(deps.settings.code_max_attempts),
            "delivery": challenge.delivery,
        }
        now = deps.clock()
        if challenge.delivery == "sent" and challenge.settles_at and now >= challenge.settles_at:
            view["challenge"]["delivery"] = "delivered"
        if challenge.delivery == "failed":
            view["challenge"]["delivery_failure"] = challenge.delivery_failure or "unknown"
        if view["challenge"]["delivery"] in ("queued", "sent"):
            sent_at = challenge.expires_at - deps.settings.code_ttl
            view["challenge"]["check_again_after"] = check_again_after(now - sent_at)
    return view


def profile_view(account: AccountModel) -> dict[str, Any]:
    """The account as its owner sees it (NIK masked)."""
    return {
        "account_id": account.account_id,
        "email": account.email,
        "phone": account.phone,
        "full_name": account.full_name,
        "birth_date": account.birth_date,
        "nik_masked": account.nik_masked,
        "kpj": account.kpj,
        "membership_type": account.membership_type,
        "pin_set": bool(account.pin_hash) and not account.pin_disabled,
        "authenticator_enabled": bool(account.totp_secret),
        "created_at": rfc3339(account.created_at),
    }


def session_view(session: SessionModel, current_id: str) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "created_at": rfc3339(session.created_at),
        "last_used_at": rfc3339(session.last_used_at or session.created_at),
        "device": session.device or "Unknown device",
        "current": session.session_id == current_id,
        "amr": list(session.amr or []),
    }


def event_view(item: AuditModel) -> dict[str, Any]:
    details = item.details.as_dict() if hasattr(item.details, "as_dict") else dict(item.details or {})
    return {
        "at": rfc3339(item.at),
        "kind": item.kind,
        "actor": "call_center" if item.actor.startswith("staff:") else item.actor,
        "reason": item.reason,
        "device": item.device,
        "details": details,
    }


def account_view(account: AccountModel, now: float) -> dict[str, Any]:
    """An account as the call center sees it: contact data and status, NIK masked."""
    locked = bool(account.locked_until and account.locked_until > now)
    return {
        **profile_view(account),
        "status": account.status,
        "pin_set": bool(account.pin_hash),
        "pin_disabled": bool(account.pin_disabled),
        "locked": locked,
        "locked_until": rfc3339(account.locked_until) if locked else None,
        "failed_logins": int(account.failed_logins or 0),
        "passkeys": len(account.passkeys or ()),  # how many, never the keys
        "updated_at": rfc3339(account.updated_at),
    }
