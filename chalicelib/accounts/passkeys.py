"""Passkeys (WebAuthn) for an account: the relying party, the origins it accepts, the
options the phone is handed, and the verification of what it answers.

Options are WebAuthn Level 3 JSON built here (binary as base64url without padding);
verification is py_webauthn's (``webauthn`` 3.x), imported only by the steps that verify
(it costs about 200 ms of import: never on a cold request that has no passkey in it).

The user handle (``user.id``) is the account id sealed with AES-SIV under a key of the
stage: 32 bytes that look random, the same on every call, never the account id or an
identifier of the person in clear. At sign-in it tells which account to read together
with the flow and the credential, so the step costs one read and one write.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import secrets
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chalicelib.config import Settings
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, validation_error
from chalicelib.storage.models import AccountModel, PasskeyModel

HANDLE_CONTEXT = b"sandi/passkey-user"
ES256, RS256 = -7, -257


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


# --- the relying party ------------------------------------------------------------------


def web_origins(settings: Settings) -> list[str]:
    """The web origins of ``/.well-known/webauthn`` (no ``android:`` entries)."""
    return _split(settings.passkey_origins)


def android_origins(settings: Settings) -> list[str]:
    """``android:apk-key-hash:<base64url SHA-256>`` of each configured signing certificate."""
    found = []
    for fingerprint in _split(settings.android_cert_fingerprints):
        raw = bytes.fromhex(fingerprint.replace(":", ""))
        found.append("android:apk-key-hash:" + b64url(raw))
    return found


def expected_origins(settings: Settings) -> list[str]:
    """Every origin a ceremony's ``clientDataJSON`` may name."""
    return web_origins(settings) + android_origins(settings)


def assetlinks(settings: Settings) -> list[dict[str, Any]]:
    """Digital Asset Links: each app package may open the site's links and use its sign-in credentials."""
    fingerprints = [f.upper() for f in _split(settings.android_cert_fingerprints)]
    return [
        {
            "relation": [
                "delegate_permission/common.handle_all_urls",
                "delegate_permission/common.get_login_creds",
            ],
            "target": {"namespace": "android_app", "package_name": package, "sha256_cert_fingerprints": fingerprints},
        }
        for package in _split(settings.android_packages)
    ]


def apple_association(settings: Settings) -> dict[str, Any]:
    return {"webcredentials": {"apps": _split(settings.ios_app_ids)}}


# --- the account's passkeys -------------------------------------------------------------


def owned(deps: Deps, account: AccountModel) -> list[PasskeyModel]:
    """The account's passkeys, newest first (one batch read)."""
    ids = sorted(account.passkeys or ())
    found = deps.store.get_many(*((PasskeyModel, i) for i in ids)) if ids else []
    return sorted((p for p in found if p is not None), key=lambda p: p.created_at, reverse=True)


# --- the user handle --------------------------------------------------------------------


def user_handle(key: bytes, account_id: str) -> bytes:
    """The account's WebAuthn user handle (deterministic AES-SIV: opaque, stable)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV  # cold start: passkey steps only

    return AESSIV(key).encrypt(account_id.encode(), [HANDLE_CONTEXT])


def account_of_handle(key: bytes, handle: bytes) -> str | None:
    """The account a user handle was sealed for, or None (forged, another stage's)."""
    from cryptography.exceptions import InvalidTag  # cold start: passkey steps only
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV  # cold start: passkey steps only

    try:
        return AESSIV(key).decrypt(handle, [HANDLE_CONTEXT]).decode()
    except (InvalidTag, ValueError, UnicodeError):
        return None


# --- options ------------------------------------------------------------------------------


def new_challenge() -> str:
    return b64url(secrets.token_bytes(32))


def creation_options(
    settings: Settings, *, challenge: str, handle: bytes, user_name: str, display_name: str, exclude: list[str]
) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptionsJSON (WebAuthn Level 3)."""
    return {
        "rp": {"id": settings.passkey_rp_id, "name": settings.app_name},
        "user": {"id": b64url(handle), "name": user_name, "displayName": display_name},
        "challenge": challenge,
        "pubKeyCredParams": [{"type": "public-key", "alg": ES256}, {"type": "public-key", "alg": RS256}],
        "timeout": settings.passkey_ttl * 1000,
        "excludeCredentials": [{"type": "public-key", "id": c} for c in exclude],
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": True,
            "userVerification": "required",
        },
        "attestation": "none",
        "hints": ["client-device"],
    }


def request_options(settings: Settings, *, challenge: str) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptionsJSON (discoverable: no allowCredentials)."""
    return {
        "challenge": challenge,
        "timeout": settings.passkey_ttl * 1000,
        "rpId": settings.passkey_rp_id,
        "allowCredentials": [],
        "userVerification": "required",
    }


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str
    public_key: str
    sign_count: int
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True)
class Assertion:
    credential_id: str
    user_handle: bytes | None
    raw: dict[str, Any]


def _shape(value: Any, kind: str) -> dict[str, Any]:
    """A credential in the WebAuthn JSON shape, or ``422`` with ``fields.credential``."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), str)
        or not isinstance(value.get("response"), dict)
    ):
        raise validation_error({"credential": ["invalid_credential"]})
    response = value["response"]
    needed = (
        ("clientDataJSON", "attestationObject")
        if kind == "create"
        else ("clientDataJSON", "authenticatorData", "signature")
    )
    if value.get("type") != "public-key" or not all(isinstance(response.get(n), str) for n in needed):
        raise validation_error({"credential": ["invalid_credential"]})
    try:
        unb64url(value["id"])
        for n in needed:
            unb64url(response[n])
    except (ValueError, TypeError) as exc:
        raise validation_error({"credential": ["invalid_credential"]}) from exc
    return value


def _py_webauthn(module: str) -> ModuleType:
    """One module of py_webauthn, without running the package's ``__init__``: it imports
    both ceremonies and every attestation format's dependencies (about 38 ms in a
    container that has boto3 and cryptography loaded), where a sign-in needs only the
    assertion verifier (about 13 ms). The package object is created from its spec, so its
    submodules import exactly as the library writes them; under SnapStart the whole
    package is primed before the snapshot instead (chalicelib/warm.py)."""
    if "webauthn" not in sys.modules:
        spec = importlib.util.find_spec("webauthn")
        assert spec is not None and spec.submodule_search_locations is not None
        sys.modules["webauthn"] = importlib.util.module_from_spec(spec)
    return importlib.import_module(module)


def verify_registration(settings: Settings, credential: Any, challenge: str) -> NewPasskey:
    """A verified new credential, or ``422 validation_error`` with ``fields.credential``."""
    body = _shape(credential, "create")
    verify_registration_response = _py_webauthn(
        "webauthn.registration.verify_registration_response"
    ).verify_registration_response
    InvalidRegistrationResponse = _py_webauthn("webauthn.helpers.exceptions").InvalidRegistrationResponse  # noqa: N806
    CredentialDeviceType = _py_webauthn("webauthn.helpers.structs").CredentialDeviceType  # noqa: N806

    try:
        verified = verify_registration_response(
            credential=json.dumps(body),
            expected_challenge=unb64url(challenge),
            expected_rp_id=settings.passkey_rp_id,
            expected_origin=expected_origins(settings),
            require_user_presence=True,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise validation_error({"credential": ["verification_failed"]}) from exc
    multi = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    return NewPasskey(
        credential_id=b64url(verified.credential_id),
        public_key=b64url(verified.credential_public_key),
        sign_count=int(verified.sign_count),
        backup_eligible=multi,
        backed_up=bool(verified.credential_backed_up),
    )


def read_assertion(credential: Any) -> Assertion:
    """The credential id and user handle an assertion names (unverified), or ``422``."""
    body = _shape(credential, "get")
    handle = body["response"].get("userHandle")
    try:
        raw_handle = unb64url(handle) if isinstance(handle, str) and handle else None
    except (ValueError, TypeError):
        raw_handle = None
    return Assertion(credential_id=body["id"], user_handle=raw_handle, raw=body)


def verify_assertion(settings: Settings, assertion: Assertion, challenge: str, public_key: str) -> tuple[int, bool]:
    """The new sign count and the backed-up flag of a verified assertion, or ``401``.

    The sign count is checked by the caller (to record a clone), so the library is told
    the stored count is 0."""
    verify_authentication_response = _py_webauthn(
        "webauthn.authentication.verify_authentication_response"
    ).verify_authentication_response
    InvalidAuthenticationResponse = _py_webauthn("webauthn.helpers.exceptions").InvalidAuthenticationResponse  # noqa: N806

    try:
        verified = verify_authentication_response(
            credential=json.dumps(assertion.raw),
            expected_challenge=unb64url(challenge),
            expected_rp_id=settings.passkey_rp_id,
            expected_origin=expected_origins(settings),
            credential_public_key=unb64url(public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        raise ApiError("invalid_credentials") from exc
    return int(verified.new_sign_count), bool(verified.credential_backed_up)


def rp_id_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()
