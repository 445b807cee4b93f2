"""Keyed hashing and signing: a long-lived lookup secret and rotatable signing secrets.

The stage secret (SSM SecureString) is a JSON document::

    {"lookup": "<random>",
     "signing": {"current": "<version id>", "versions": {"<version id>": "<random>", ...}}}

- **lookup** derives the keys of everything *stored* under a keyed hash or sealed: codes,
  NIKs, destinations and rate-limit keys, refresh tokens, the authenticator secret and
  recovery codes. It is never rotated by `make rotate-secret`, so NIK claims, pending
  flows, limits and sessions keep working across a rotation (re-keying it is a separate,
  offline job: docs/decisions.md).
- **signing** versions derive the access-token key of each version. Tokens carry the
  version as ``kid``; every listed version is accepted (the current one and, during a
  rotation, the previous), and only the current one signs. Removing a version ends its
  tokens at once.

A plain string (the first wave's format, tests, and the local stage's default) is read
as ``lookup`` and signing version ``v1`` both, which derives exactly the keys that string
derived before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field


def _derive(master: bytes, label: str) -> bytes:
    return hmac.new(master, b"sandi/v1/" + label.encode(), hashlib.sha256).digest()


LEGACY_VERSION = "v1"


class SecretFormatError(ValueError):
    """The secret document is not valid (no lookup secret, or no current signing version)."""


def parse_secret(secret: str) -> tuple[str, str, dict[str, str]]:
    """(lookup secret, current signing version, every signing version's secret)."""
    text = secret.strip()
    if not text.startswith("{"):
        return text, LEGACY_VERSION, {LEGACY_VERSION: text}
    try:
        document = json.loads(text)
        lookup = str(document["lookup"])
        signing = document["signing"]
        versions = {str(k): str(v) for k, v in signing["versions"].items()}
        current = str(signing["current"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SecretFormatError("the stage secret is not a valid secret document") from exc
    if not lookup or current not in versions or not all(versions.values()):
        raise SecretFormatError("the stage secret has no lookup secret or no current signing version")
    return lookup, current, versions


@dataclass(frozen=True)
class Keys:
    """Purpose-bound keys: lookup keys, and the access-token key of each signing version."""

    code: bytes
    nik: bytes
    destination: bytes
    refresh: bytes
    totp: bytes
    token: bytes  # the current version's: signs new access tokens
    kid: str  # the current version's id, in every new token's header
    token_keys: dict[str, bytes] = field(default_factory=dict)  # every accepted version's
    passkey: bytes = b""  # seals an account id into its passkey user handle (AES-SIV)

    @classmethod
    def from_secret(cls, secret: str) -> Keys:
        """Derive every purpose key from the stage secret (a document or a plain string)."""
        lookup, current, versions = parse_secret(secret)
        master = lookup.encode()
        token_keys = {kid: _derive(value.encode(), "access-token") for kid, value in versions.items()}
        return cls(
            code=_derive(master, "code"),
            nik=_derive(master, "nik"),
            destination=_derive(master, "destination"),
            refresh=_derive(master, "refresh-token"),
            totp=_derive(master, "authenticator"),
            token=token_keys[current],
            kid=current,
            token_keys=token_keys,
            passkey=_derive(master, "passkey-user"),
        )


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over the parts (unambiguously joined), as hex."""
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())
