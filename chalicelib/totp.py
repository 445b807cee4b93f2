"""Authenticator-app codes (RFC 6238 through pyotp), the secret's encryption at rest,
and recovery codes.

The secret is stored only encrypted (AES-256-GCM under a key derived from the stage
secret, the account id as associated data), so a copy of the table alone cannot mint
codes. Recovery codes are stored as keyed hashes and consumed by a conditional write.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.keys import keyed_hash

STEP = 30
DIGITS = 6
WINDOW = 1  # one step either side: clocks on phones drift
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


@dataclass(frozen=True)
class Enrolment:
    """A new secret and how the member's app takes it."""

    secret: str
    uri: str
    qr_svg: str


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    import pyotp

    return pyotp.random_base32(32)


def enrolment(secret: str, label: str, issuer: str) -> Enrolment:
    """The ``otpauth://`` URI and its QR code as an SVG, made in-process (segno)."""
    import io

    import pyotp
    import segno

    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(name=label, issuer_name=issuer)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True, title=issuer)
    return Enrolment(secret, uri, out.getvalue().decode())


def timecode(now: float, step: int = STEP) -> int:
    """The RFC 6238 time step of ``now``."""
    return int(now // step)


def matching_step(
    secret: str, code: str, now: float, after: int, digits: int = DIGITS, window: int = WINDOW
) -> int | None:
    """The time step ``code`` is right for, within ``window`` steps of ``now`` and later
    than ``after`` (the last step already used), or None. pyotp computes each code."""
    import pyotp

    if not (code.isascii() and code.isdigit() and len(code) == digits):
        return None
    totp = pyotp.TOTP(secret, digits=digits, interval=STEP)
    current = timecode(now)
    found = None
    for step in range(current - window, current + window + 1):
        # every candidate is computed and compared in constant time: no early exit
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after and found is None:
            found = step
    return found


# --- the secret at rest ---------------------------------------------------------------------


def seal(key: bytes, account_id: str, secret: str) -> str:
    """The secret encrypted for one account (nonce + ciphertext, base64)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), account_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(key: bytes, account_id: str, sealed: str) -> str:
    """The secret back (raises if the text was altered or belongs to another account)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:12], raw[12:], account_id.encode()).decode()


# --- recovery codes -------------------------------------------------------------------------


def new_recovery_codes() -> list[str]:
    """Ten single-use codes, ``xxxx-xxxx`` (about 40 bits each)."""
    return [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
        + "-"
        + "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
        for _ in range(RECOVERY_CODES)
    ]


def normalize_recovery(text: str) -> str | None:
    """A recovery code as typed (any case, with or without the hyphen or spaces), or None."""
    cleaned = "".join(text.split()).replace("-", "").lower()
    if len(cleaned) != 8 or any(c not in _RECOVERY_ALPHABET for c in cleaned):
        return None
    return cleaned[:4] + "-" + cleaned[4:]


def recovery_hash(key: bytes, account_id: str, code: str) -> str:
    """How a recovery code is stored."""
    return keyed_hash(key, "recovery", account_id, code)
