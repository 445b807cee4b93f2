"""Access tokens (JWT, HS256, RFC 7519) and refresh tokens (256-bit random, stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.keys import keyed_hash

ALGORITHM = "HS256"
IAT_LEEWAY = 60  # seconds: a token issued "in the future" beyond clock skew is refused


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    account_id: str
    session_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _header(kid: str | None) -> str:
    return _b64(_json({"alg": ALGORITHM, "typ": "JWT", **({"kid": kid} if kid else {})}))


def _mac(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def _sign(
    key: bytes, issuer: str, subject: str, extra: dict[str, Any], now: float, ttl: int, kid: str | None = None
) -> str:
    """A compact JWS (RFC 7515) with HMAC-SHA256: what PyJWT writes for HS256.

    Member tokens are signed here rather than with PyJWT, which imports cryptography's
    X.509 stack (about 55 ms of every cold start) for what is one HMAC; tests check that
    PyJWT reads these tokens and that tokens PyJWT writes are read the same way.
    """
    payload = {
        "iss": issuer,
        "sub": subject,
        **extra,
        "iat": int(now),
        "exp": int(now) + ttl,
        "jti": secrets.token_urlsafe(16),  # every token distinct, even two in one second
    }
    signing_input = f"{_header(kid)}.{_b64(_json(payload))}"
    return f"{signing_input}.{_b64(_mac(key, signing_input))}"


def _read_header(segment: str) -> dict[str, Any] | None:
    """A token's header, decoded (not verified), or None."""
    header = json.loads(_unb64(segment))
    return header if isinstance(header, dict) else None


def _decode(keys: bytes | Mapping[str, bytes], token: str) -> dict[str, Any] | None:
    """The payload of a token whose header says HS256 and whose MAC is right, else None.

    ``keys``: one key, or the accepted keys by version: the header's ``kid`` picks one
    (a token without a known ``kid`` is refused)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_b64, payload_b64, mac_b64 = parts
    try:
        header, mac = _read_header(header_b64), _unb64(mac_b64)
        if header is None or header.get("alg") != ALGORITHM or "crit" in header:
            return None  # alg "none", any other algorithm, or extensions we do not know
        key = keys if isinstance(keys, bytes) else keys.get(str(header.get("kid")))
        if key is None:
            return None  # a version that is not (or no longer) accepted
        if not hmac.compare_digest(mac, _mac(key, f"{header_b64}.{payload_b64}")):
            return None
        payload = json.loads(_unb64(payload_b64))
    except (ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _verify(
    key: bytes | Mapping[str, bytes], issuer: str, token: str, extra: str, now: float, audience: str | None = None
) -> dict[str, Any] | None:
    """The payload of a valid token, or None (bad signature, ``alg: none``, expired...).

    Expiry is checked against ``now`` (the injected clock), not the machine's time.
    """
    payload = _decode(key, token)
    if payload is None:
        return None
    required = ("exp", "iat", "sub", extra, "iss", "jti", *(["aud"] if audience else []))
    if any(name not in payload for name in required) or payload["iss"] != issuer:
        return None
    if audience is not None:
        aud = payload["aud"]
        if not (aud == audience or (isinstance(aud, list) and audience in aud)):
            return None
    if not all(isinstance(payload[n], int) and not isinstance(payload[n], bool) for n in ("exp", "iat")):
        return None
    return payload if payload["iat"] <= now + IAT_LEEWAY and payload["exp"] > now else None


def issue_access_token(
    key: bytes,
    issuer: str,
    audience: str,
    account_id: str,
    session_id: str,
    now: float,
    ttl: int,
    kid: str = "",
    amr: list[str] | None = None,
) -> str:
    """A signed, short-lived access token naming the account, the session, how that
    session signed in (``amr``, RFC 8176) and the signing version (``kid``)."""
    extra: dict[str, Any] = {"sid": session_id, "aud": audience, **({"amr": list(amr)} if amr else {})}
    return _sign(key, issuer, account_id, extra, now, ttl, kid or None)


def token_kid(token: str) -> str | None:
    """The signing version a token names (unverified: only to decide to reload keys)."""
    try:
        header = _read_header(token.split(".")[0])
    except (ValueError, UnicodeError):
        return None
    kid = header.get("kid") if header else None
    return kid if isinstance(kid, str) else None


def read_access_token(
    key: bytes | Mapping[str, bytes], issuer: str, audience: str, token: str, now: float
) -> AccessClaims | None:
    """The claims of a valid access token, or None."""
    payload = _verify(key, issuer, token, "sid", now, audience)
    return AccessClaims(str(payload["sub"]), str(payload["sid"])) if payload else None


def new_refresh_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(key: bytes, token: str) -> str:
    """How a refresh token is stored."""
    return keyed_hash(key, "refresh", token)
