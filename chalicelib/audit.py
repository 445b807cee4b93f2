"""The audit trail: who did what, when, why and from where, with no secret in it.

Events are written in the same transaction as the change they describe wherever there
is one, so a change is never without its record. The request's origin is set once per
request by the HTTP edge and read here: a keyed hash of the client address (never the
address: the evidence links events from one address without holding personal data, so
it survives erasure), the request id, and the user agent's short description.
Events are appended, never rewritten (``Txn.put`` of an event asserts it is new); the
only later write is the erasure's removal of personal details (docs/decisions.md).
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.clock import to_datetime
from chalicelib.keys import keyed_hash
from chalicelib.storage.models import AuditModel

if TYPE_CHECKING:
    from chalicelib.deps import Deps


@dataclass(frozen=True)
class Origin:
    """Where the current request came from."""

    client_hash: str = ""
    request_id: str = ""
    user_agent: str = ""

    @cached_property
    def device(self) -> str:
        """The user agent's short description ("Chrome on Android 14"), made when an event
        or a notice first needs it: most requests write neither."""
        from chalicelib.devices import describe  # cold start: only a request that records its device describes it

        return describe(self.user_agent)


_origin: ContextVar[Origin] = ContextVar("sandi_origin", default=Origin())  # noqa: B039 - frozen


def set_origin(origin: Origin) -> None:
    """Record the current request's origin (each request runs in its own context)."""
    _origin.set(origin)


def origin() -> Origin:
    """The current request's origin."""
    return _origin.get()


def client_hash(key: bytes, client_ip: str) -> str:
    """How an audit event names the client address: a keyed hash, 128 bits."""
    return keyed_hash(key, "audit-client", client_ip)[:32] if client_ip else ""


def account_subject(account_id: str) -> str:
    """The audit subject of an account."""
    return f"account#{account_id}"


def staff_subject(staff_id: str) -> str:
    """The audit subject of a staff member's own actions that concern no account."""
    return f"staff#{staff_id}"


def subject_for(account_id: str | None, flow_id: str) -> str:
    """An account's subject when the flow has one, else the flow's own."""
    return account_subject(account_id) if account_id else f"flow#{flow_id}"


def event(
    kind: str,
    subject: str,
    now: float,
    retention_days: int,
    actor: str = "user",
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditModel:
    """An audit item, ready to put (alone or in a transaction)."""
    where = origin()
    return AuditModel(
        subject,
        f"{int(now * 1_000_000):020d}#{secrets.token_hex(4)}",
        kind=kind,
        actor=actor,
        reason=reason,
        client_hash=where.client_hash or None,
        device=where.device or None,
        request_id=where.request_id or None,
        details=details or {},
        at=now,
        expires_at=to_datetime(now + retention_days * 86400),
    )


def for_account(
    deps: Deps,
    kind: str,
    account_id: str,
    now: float,
    actor: str = "user",
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditModel:
    """An event about an account, with the stage's retention."""
    return event(kind, account_subject(account_id), now, deps.settings.audit_retention_days, actor, reason, details)
