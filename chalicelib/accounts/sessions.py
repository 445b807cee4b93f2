"""A session item (one refresh-token family) and the tokens it gives the client."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib import audit
from chalicelib.deps import Deps
from chalicelib.devices import describe
from chalicelib.storage.models import AccountModel, SessionModel
from chalicelib.storage.store import (
    Txn,
)
from chalicelib.tokens import hash_refresh_token, issue_access_token, new_refresh_token


def issue_tokens(
    deps: Deps, account_id: str, session_id: str, secret: str, now: float, amr: list[str]
) -> dict[str, Any]:
    s, keys = deps.settings, deps.keys
    return {
        "access_token": issue_access_token(
            keys.token, s.token_issuer, s.token_audience, account_id, session_id, now, s.access_token_ttl, keys.kid, amr
        ),
        "token_type": "Bearer",
        "expires_in": s.access_token_ttl,
        "refresh_token": f"{session_id}.{secret}",
    }


def amr_for(method: str, second: str | None = None) -> list[str]:
    """RFC 8176 methods of a sign-in: ``pwd`` or ``pin``, then ``otp`` and ``mfa`` when an
    authenticator or recovery code was the second step; a passkey's are its own."""
    first = {"password": ["pwd"], "pin": ["pin"]}.get(method, [method])
    return [*first, "otp", "mfa"] if second else first


def new_session(
    deps: Deps, account: AccountModel, now: float, device: str = "", *, amr: list[str]
) -> tuple[SessionModel, dict[str, Any]]:
    """A session item to store and the tokens to give the client (``amr``: how it signed in)."""
    session_id = secrets.token_urlsafe(16)
    secret = new_refresh_token()
    item = SessionModel(
        session_id,
        account_id=account.account_id,
        epoch=int(account.session_epoch or 0),
        refresh_hash=hash_refresh_token(deps.keys.refresh, secret),
        spent=[],
        created_at=now,
        last_used_at=now,
        device=describe(device),
        revoked=False,
        amr=list(amr),
    )
    item.expire_at(now + min(deps.settings.refresh_token_ttl, deps.settings.session_max_age))
    return item, issue_tokens(deps, account.account_id, session_id, secret, now, amr)


def revoke(deps: Deps, session_id: str, *, reused_by: str | None = None) -> None:
    """End a session; ``reused_by``: the account whose spent refresh token came back
    (a copy is in someone's hands), recorded as ``session.token_reuse``."""
    txn = Txn()
    txn.update("session", SessionModel(session_id), [SessionModel.revoked.set(True)])
    if reused_by:
        details = {"session": session_id[:8]}
        txn.put("audit", audit.for_account(deps, "session.token_reuse", reused_by, deps.clock(), details=details))
    deps.store.commit(txn)
