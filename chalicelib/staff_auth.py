"""Call-center staff identity: tokens of the stage's Cognito user pool, verified here.

API Gateway's Cognito authorizer checks the token in deployed stages; the view checks it
again with this module (signature against the pool's JWKS, issuer, app client,
``token_use``, expiry, group), so the same rules hold locally, in tests and behind the
gateway. The JWKS is fetched once per container and kept (a key rotation by Cognito
adds a key id: an unknown ``kid`` fetches again, at most once a minute).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GROUPS = ("agent", "supervisor")
_REFETCH_AFTER = 60.0


@dataclass(frozen=True)
class StaffClaims:
    """Who a valid staff token names."""

    sub: str
    username: str
    groups: tuple[str, ...]


def issuer(region: str, pool_id: str) -> str:
    """The ``iss`` of a pool's tokens."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url(region: str, pool_id: str, override: str = "") -> str:
    """Where the pool publishes its signing keys (the emulator's address locally)."""
    return override or issuer(region, pool_id) + "/.well-known/jwks.json"


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=3) as response:
        return bytes(response.read())


class KeySet:
    """A pool's JWKS, fetched once and kept for the container's life."""

    def __init__(self, url: str, fetch: Callable[[str], bytes] | None = None) -> None:
        self.url = url
        self._fetch = fetch or _fetch
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any | None:
        """The public key with this id, or None."""
        keys = self._keys
        if keys is None or (kid not in keys and time.monotonic() - self._fetched_at > _REFETCH_AFTER):
            keys = self._load()
        return keys.get(kid)

    def _load(self) -> dict[str, Any]:
        import jwt

        with self._lock:
            document = json.loads(self._fetch(self.url))
            self.fetches += 1
            self._fetched_at = time.monotonic()
            self._keys = {k["kid"]: jwt.PyJWK(k).key for k in document.get("keys", []) if "kid" in k}
            return self._keys


_key_sets: dict[str, KeySet] = {}


def key_set(url: str) -> KeySet:
    """The container's key set for ``url`` (one per container)."""
    if url not in _key_sets:
        _key_sets[url] = KeySet(url)
    return _key_sets[url]


def verify(token: str, keys: KeySet, expected_issuer: str, client_id: str, now: float) -> StaffClaims | None:
    """The staff member a pool token names, or None for anything not a valid token of
    this pool and app client (malformed, forged, expired, another pool or client, an ID
    token where an access token is expected...)."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        key = keys.key(str(header.get("kid") or ""))
        if key is None or header.get("alg") != "RS256":
            return None
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=expected_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "token_use"], "verify_exp": False, "verify_aud": False},
        )
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
    # Access tokens name the app client in ``client_id``, ID tokens in ``aud``.
    token_use = claims.get("token_use")
    client = claims.get("client_id") if token_use == "access" else claims.get("aud")
    if token_use not in ("access", "id") or client != client_id:
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        return None
    username = claims.get("username") or claims.get("cognito:username") or ""
    groups = tuple(g for g in claims.get("cognito:groups") or () if isinstance(g, str))
    return StaffClaims(str(claims["sub"]), str(username), groups)
