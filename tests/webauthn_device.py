"""A software authenticator: what a phone's passkey provider does, in the suite.

ES256 keys, attestation ``none``, the UP/UV/BE/BS flags, a signature counter, and the
``clientDataJSON`` a browser or an Android app (``android:apk-key-hash:`` origin) writes.
Every knob a test needs to make a refusal: another origin or RP id, no user
verification, a replayed or tampered assertion, a counter going back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def android_origin(certificate_sha256_hex: str) -> str:
    return "android:apk-key-hash:" + b64(bytes.fromhex(certificate_sha256_hex.replace(":", "")))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str = "http://localhost:8000"
    backup_eligible: bool = True
    user_verifying: bool = True
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()

    def _flags(self, attested: bool = False) -> int:
        flags = UP | (UV if self.user_verifying else 0)
        if self.backup_eligible:
            flags |= BE | BS
        return flags | (AT if attested else 0)

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create(): a new resident ES256 credential, RegistrationResponseJSON."""
        rp = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        credential_id = secrets.token_bytes(32)
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(attested=True)])
            + struct.pack(">I", 0)
            + bytes(16)  # aaguid
            + struct.pack(">H", len(credential_id))
            + credential_id
            + cose
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        self.credentials.append(Credential(credential_id, key, rp, unb64(options["user"]["id"])))
        return {
            "id": b64(credential_id),
            "rawId": b64(credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        user_handle: bool = True,
    ) -> dict[str, Any]:
        """navigator.credentials.get() with a discoverable credential: AuthenticationResponseJSON."""
        chosen = credential or self.credentials[-1]
        if counter is None:
            chosen.counter += 1
            counter = chosen.counter
        rp = rp_id or options["rpId"]
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([self._flags()]) + struct.pack(">I", counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = chosen.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": b64(client_data),
            "authenticatorData": b64(auth_data),
            "signature": b64(signature),
        }
        if user_handle:
            response["userHandle"] = b64(chosen.user_handle)
        return {
            "id": b64(chosen.credential_id),
            "rawId": b64(chosen.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": response,
        }
