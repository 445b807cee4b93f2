"""Sessions: issuing tokens, signing in, and reading the signed-in account.

Issue #3 extends this with lockout, PIN sign-in, refresh rotation and sign-out.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.clock import rfc3339, to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel, SessionModel
from chalicelib.storage.store import Txn
from chalicelib.tokens import hash_refresh_token, issue_access_token, new_refresh_token, read_access_token
from chalicelib.validation import Collector, email_key


def new_session(deps: Deps, account_id: str, now: float) -> tuple[SessionModel, dict[str, Any]]:
    """A session item to store and the tokens to give the client."""
    s = deps.settings
    session_id = secrets.token_urlsafe(16)
    secret = new_refresh_token()
    item = SessionModel(
        session_id,
        account_id=account_id,
        family_id=session_id,
        refresh_hash=hash_refresh_token(deps.keys.refresh, secret),
        created_at=now,
        expires_at=to_datetime(now + s.refresh_token_ttl),
    )
    tokens = {
        "access_token": issue_access_token(
            deps.keys.token, s.token_issuer, account_id, session_id, now, s.access_token_ttl
        ),
        "token_type": "Bearer",
        "expires_in": s.access_token_ttl,
        "refresh_token": f"{session_id}.{secret}",
    }
    return item, tokens


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
        "pin_set": bool(account.pin_hash),
        "created_at": rfc3339(account.created_at),
    }


def _login_claim(login: str, kpj_length: int) -> str:
    text = login.strip()
    if text.isdigit() and len(text) == kpj_length:
        return claim_key("kpj", text)
    return claim_key("email", email_key(text))


def sign_in(deps: Deps, body: dict[str, Any]) -> dict[str, Any]:
    """Password sign-in by email or KPJ; one answer for every kind of failure."""
    fields = Collector(body)
    login = fields.field("login", lambda v: v if isinstance(v, str) else "")
    password = fields.field("password", lambda v: v if isinstance(v, str) else "")
    fields.raise_if_any()
    assert login is not None and password is not None
    now = deps.clock()
    owner = deps.store.claim_owner(_login_claim(login, deps.settings.kpj_length))
    account = deps.store.get(AccountModel, owner) if owner else None
    stored = account.password_hash if account and account.status == "active" else None
    if not deps.hasher.verify(stored, password):
        raise ApiError("invalid_credentials")
    assert account is not None
    session, tokens = new_session(deps, account.account_id, now)
    txn = Txn()
    txn.put("session", session)
    deps.store.commit(txn)
    return tokens


def authenticate(deps: Deps, authorization: str | None) -> AccountModel:
    """The account behind a bearer token of a live session, or 401."""
    now = deps.clock()
    scheme, _, token = (authorization or "").partition(" ")
    claims = read_access_token(deps.keys.token, deps.settings.token_issuer, token.strip(), now)
    if scheme.lower() != "bearer" or claims is None:
        raise ApiError("unauthenticated")
    session, account = deps.store.get_many((SessionModel, claims.session_id), (AccountModel, claims.account_id))
    if (
        session is None
        or session.revoked
        or session.account_id != claims.account_id
        or session.expires_at <= to_datetime(now)
        or account is None
        or account.status != "active"
    ):
        raise ApiError("unauthenticated")
    return account
