"""Access tokens (JWT, HS256) and refresh tokens (256-bit random, stored hashed)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.keys import keyed_hash

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    account_id: str
    session_id: str


def _sign(key: bytes, issuer: str, subject: str, extra: dict[str, str], now: float, ttl: int) -> str:
    import jwt

    payload = {
        "iss": issuer,
        "sub": subject,
        **extra,
        "iat": int(now),
        "exp": int(now) + ttl,
        "jti": secrets.token_urlsafe(16),  # every token distinct, even two in one second
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def _verify(
    key: bytes, issuer: str, token: str, extra: str, now: float, audience: str | None = None
) -> dict[str, Any] | None:
    """The payload of a valid token, or None (bad signature, ``alg: none``, expired...).

    Expiry is checked against ``now`` (the injected clock), not the machine's time.
    """
    import jwt

    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={
                "require": ["exp", "iat", "sub", extra, "iss", "jti", *(["aud"] if audience else [])],
                "verify_exp": False,
            },
        )
    except jwt.PyJWTError:
        return None
    if not isinstance(payload.get("exp"), int) or payload["exp"] <= now:
        return None
    return payload


def issue_access_token(
    key: bytes, issuer: str, audience: str, account_id: str, session_id: str, now: float, ttl: int
) -> str:
    """A signed, short-lived access token naming the account and the session."""
    return _sign(key, issuer, account_id, {"sid": session_id, "aud": audience}, now, ttl)


def read_access_token(key: bytes, issuer: str, audience: str, token: str, now: float) -> AccessClaims | None:
    """The claims of a valid access token, or None."""
    payload = _verify(key, issuer, token, "sid", now, audience)
    return AccessClaims(str(payload["sub"]), str(payload["sid"])) if payload else None


def new_refresh_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(key: bytes, token: str) -> str:
    """How a refresh token is stored."""
    return keyed_hash(key, "refresh", token)
