"""Keyed hashing: one server secret, a derived key per purpose.

Codes, NIKs, refresh tokens and rate-limit keys are stored only as HMAC-SHA256 under
keys derived from the stage's secret, so a copy of the tables alone reveals none of them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


def _derive(master: bytes, label: str) -> bytes:
    return hmac.new(master, b"sandi/v1/" + label.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Keys:
    """Purpose-bound keys derived from the stage secret."""

    code: bytes
    nik: bytes
    destination: bytes
    token: bytes
    refresh: bytes
    totp: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Keys:
        """Derive every purpose key from one secret string."""
        master = secret.encode()
        return cls(
            code=_derive(master, "code"),
            nik=_derive(master, "nik"),
            destination=_derive(master, "destination"),
            token=_derive(master, "access-token"),
            refresh=_derive(master, "refresh-token"),
            totp=_derive(master, "authenticator"),
        )


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over the parts (unambiguously joined), as hex."""
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())
