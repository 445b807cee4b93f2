"""Verification codes: generation, keyed hashing and the rules that govern them.

A code is 6 digits from the OS CSPRNG and is stored only as an HMAC bound to its flow
and to its own random id, so an old code can never verify against a newer challenge.
Attempt counting and single use are enforced by conditional writes in ``storage``;
this module holds the pure parts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from chalicelib.keys import keyed_hash, same

CODE_DIGITS = 6


def generate_code(digits: int = CODE_DIGITS) -> str:
    """A uniformly random numeric code from the OS CSPRNG."""
    return str(secrets.randbelow(10**digits)).zfill(digits)


def new_code_id() -> str:
    """A random id that binds a code's hash to one challenge."""
    return secrets.token_hex(8)


def hash_code(key: bytes, flow_id: str, code_id: str, code: str) -> str:
    """The code as stored: HMAC over flow, challenge and code."""
    return keyed_hash(key, "code", flow_id, code_id, code)


def code_matches(key: bytes, flow_id: str, code_id: str, code: str, stored: str) -> bool:
    """Whether ``code`` is the one behind ``stored`` (constant time)."""
    return same(hash_code(key, flow_id, code_id, code), stored)


@dataclass(frozen=True)
class Challenge:
    """An outstanding code as kept in the flow item (never the code itself)."""

    channel: str
    destination: str
    code_id: str
    code_hash: str
    expires_at: float
    resend_at: float
    attempts: int
    sends: int
    delivery: str
    notice: bool = False
    delivery_failure: str | None = None
    settles_at: float | None = None  # a decoy's: when it reads "delivered" (no receipt comes)

    def attempts_remaining(self, max_attempts: int) -> int:
        """Wrong guesses left before the code locks."""
        return max(0, max_attempts - self.attempts)


def issue(
    key: bytes,
    flow_id: str,
    channel: str,
    destination: str,
    now: float,
    ttl: int,
    cooldown: int,
    sends: int,
    notice: bool = False,
) -> tuple[str, Challenge]:
    """A fresh code and its challenge record.

    With ``notice`` the person is told something instead of being sent a code (the
    address already has an account); the stored hash is of a code nobody ever sees,
    so nothing can verify, yet the flow looks the same from outside.
    """
    code = generate_code()
    code_id = new_code_id()
    if notice:
        # Not the hash of any 6-digit string: no guess can ever match it.
        code_hash = keyed_hash(key, "notice", flow_id, code_id, secrets.token_hex(16))
    else:
        code_hash = hash_code(key, flow_id, code_id, code)
    challenge = Challenge(
        channel=channel,
        destination=destination,
        code_id=code_id,
        code_hash=code_hash,
        expires_at=now + ttl,
        resend_at=now + cooldown,
        attempts=0,
        sends=sends,
        delivery="sent",
        notice=notice,
    )
    return code, challenge
