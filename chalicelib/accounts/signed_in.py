"""The signed-in member: a verified access token (the route's ``member=True``), then the
account and session behind it, read in one round trip and checked live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage.models import AccountModel, SessionModel
from chalicelib.tokens import AccessClaims, read_access_token, token_kid


@dataclass(frozen=True)
class Caller:
    """Who a member's valid access token names (checked at the edge; nothing read yet)."""

    account_id: str
    session_id: str


@dataclass(frozen=True)
class Signed:
    """The caller of an authenticated request, as read: account, session, and any
    ``extra`` items the same read fetched."""

    account: AccountModel
    session: SessionModel
    extra: list[Any]


def caller_from(deps: Deps, authorization: str | None) -> Caller:
    """The member a bearer token names, or ``401 unauthenticated`` (the route's ``member=True``)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    claims = read_member_token(deps, token.strip(), deps.clock())
    if scheme.lower() != "bearer" or claims is None:
        raise ApiError("unauthenticated")
    return Caller(account_id=claims.account_id, session_id=claims.session_id)


def load(deps: Deps, caller: Caller, *extra: tuple[type[Any], str]) -> Signed:
    """The caller's account and session, plus ``extra`` items, in one read; ``401`` unless
    the session is still live (not signed out, revoked, expired or voided by an epoch)."""
    now = deps.clock()
    session, account, *rest = deps.store.get_many(
        (SessionModel, caller.session_id), (AccountModel, caller.account_id), *extra
    )
    if not _live(session, account, caller.account_id, now):
        raise ApiError("unauthenticated")
    return Signed(account=account, session=session, extra=rest)


def read_member_token(deps: Deps, token: str, now: float) -> AccessClaims | None:
    """A member's access token under any accepted signing version. A version this
    container does not know yet (a rotation elsewhere) makes it re-read the secret once."""
    s = deps.settings
    claims = read_access_token(deps.keys.token_keys, s.token_issuer, s.token_audience, token, now)
    kid = token_kid(token) if claims is None else None
    if kid is not None and kid not in deps.keys.token_keys:
        deps.reload_keys(unless_younger_than=10.0)
        claims = read_access_token(deps.keys.token_keys, s.token_issuer, s.token_audience, token, now)
    return claims


def _live(session: SessionModel | None, account: AccountModel | None, account_id: str, now: float) -> bool:
    return (
        session is not None
        and account is not None
        and not session.revoked
        and session.account_id == account_id
        and session.expires_at > to_datetime(now)
        and account.status == "active"
        and int(session.epoch or 0) == int(account.session_epoch or 0)
    )
