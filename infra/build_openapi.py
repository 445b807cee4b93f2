"""Writes chalicelib/openapi.json, the OpenAPI 3.1 description served at /v1/openapi.json.

Built from tables here so the paths, bodies and answers are stated once; a test checks
that the committed file equals this output and that its operations are exactly the
app's routes. Run after changing a route: `.venv/bin/python -m infra.build_openapi`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from chalicelib.errors import _WIRE_CODE, ERRORS

OUT = Path(__file__).resolve().parent.parent / "chalicelib" / "openapi.json"
VERSION = "1.1.0"  # 1.1: passkeys, step-up, four-eyes contact changes, typed errors (README: "Generating a client")

STR: dict[str, Any] = {"type": "string"}
CODE = {"type": "string", "pattern": "^[0-9]{6}$", "examples": ["123456"]}
PIN = {"type": "string", "pattern": "^[0-9]{6}$", "examples": ["258036"]}
EMAIL = {"type": "string", "format": "email", "maxLength": 254, "examples": ["budi@example.com"]}
PHONE = {"type": "string", "maxLength": 24, "examples": ["081234567890", "+62 812-3456-7890"]}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 128, "examples": ["Kuat-Sekali-9"]}
DATE = {"type": "string", "format": "date", "examples": ["1990-05-17"]}
NIK = {"type": "string", "pattern": "^[0-9]{16}$", "examples": ["3174011705900001"]}
AMR = {"type": "array", "items": {"type": "string", "enum": ["pwd", "pin", "otp", "mfa", "user", "hwk", "swk"]}}
REASON = {"type": "string", "minLength": 3, "maxLength": 500}


def _error_codes() -> list[str]:
    return sorted({_WIRE_CODE.get(key, key) for key in ERRORS})


ERROR_CODES = _error_codes()
FIELD_REASONS = [
    "required",
    "invalid_type",
    "invalid_format",
    "invalid_code",
    "invalid_email",
    "invalid_phone",
    "invalid_date",
    "invalid_nik",
    "invalid_kpj",
    "invalid_name",
    "invalid_membership_type",
    "invalid_reason",
    "invalid_channel",
    "invalid_verification",
    "invalid_status",
    "invalid_number",
    "invalid_credential",
    "verification_failed",
    "exactly_one_key",
    "already_registered",
    "unchanged",
    "birth_date_mismatch",
    "too_short",
    "too_long",
    "contains_personal_data",
    "breached",
    "repeated_digits",
    "sequential_digits",
    "birth_date",
    "too_common",
    "same_as_previous",
]
FLOW_STATES = [
    "email_verification",
    "profile",
    "phone",
    "phone_verification",
    "password",
    "code_verification",
    "new_password",
    "choose_channel",
    "new_pin",
    "second_factor",
    "completed",
]

# operationId (a good method name for generated clients) and tag, per operation
NAMES: dict[tuple[str, str], str] = {
    ("get", "/v1/openapi.json"): "getOpenApiDescription",
    ("post", "/v1/registrations/{flow_id}/phone"): "setRegistrationPhone",
    ("post", "/v1/sessions"): "signIn",
    ("post", "/v1/sessions/refresh"): "refreshSession",
    ("post", "/v1/sessions/{flow_id}/verify"): "verifySecondFactor",
    ("delete", "/v1/sessions/current"): "signOut",
    ("post", "/v1/me/authenticator"): "enrolAuthenticator",
    ("post", "/v1/me/authenticator/verify"): "confirmAuthenticator",
    ("delete", "/v1/me/authenticator"): "turnOffAuthenticator",
    ("get", "/v1/me"): "getProfile",
    ("delete", "/v1/me"): "deleteAccount",
    ("get", "/v1/me/sessions"): "listDevices",
    ("delete", "/v1/me/sessions/{session_id}"): "signOutDevice",
    ("post", "/v1/me/export"): "exportMyData",
    ("put", "/v1/me/pin"): "setPin",
    ("put", "/v1/me/password"): "changePassword",
    ("post", "/v1/me/phone"): "startPhoneChange",
    ("post", "/v1/me/phone/{flow_id}/verify"): "verifyPhoneChange",
    ("post", "/v1/me/email"): "startEmailChange",
    ("post", "/v1/me/email/{flow_id}/verify"): "verifyEmailChange",
    ("post", "/v1/me/passkeys/options"): "passkeyCreationOptions",
    ("post", "/v1/me/passkeys"): "addPasskey",
    ("get", "/v1/me/passkeys"): "listPasskeys",
    ("patch", "/v1/me/passkeys/{passkey_id}"): "renamePasskey",
    ("delete", "/v1/me/passkeys/{passkey_id}"): "removePasskey",
    ("post", "/v1/sessions/passkey/options"): "passkeySignInOptions",
    ("post", "/v1/sessions/passkey"): "signInWithPasskey",
    ("get", "/.well-known/webauthn"): "getWebauthnOrigins",
    ("get", "/.well-known/assetlinks.json"): "getAssetLinks",
    ("get", "/.well-known/apple-app-site-association"): "getAppleAppSiteAssociation",
    ("post", "/v1/email-recoveries"): "recoverEmail",
    ("get", "/v1/admin/accounts"): "lookupAccounts",
    ("get", "/v1/admin/accounts/{account_id}"): "getAccount",
    ("patch", "/v1/admin/accounts/{account_id}/contact"): "requestContactChange",
    ("get", "/v1/admin/contact-changes"): "listContactChanges",
    ("post", "/v1/admin/contact-changes/{change_id}/approve"): "approveContactChange",
    ("post", "/v1/admin/contact-changes/{change_id}/reject"): "rejectContactChange",
    ("post", "/v1/admin/accounts/{account_id}/authenticator/reset"): "resetAuthenticator",
    ("post", "/v1/admin/accounts/{account_id}/unlock"): "unlockAccount",
    ("post", "/v1/admin/accounts/{account_id}/reset"): "resetAccount",
    ("get", "/v1/admin/accounts/{account_id}/audit"): "getAuditTrail",
}
TAGS = [
    ("/v1/registrations", "Registration", "Sign up: email code, profile, phone code, password"),
    ("/v1/sessions/passkey", "Passkeys", "Passkeys (WebAuthn): add, list, name, remove, sign in"),
    ("/v1/sessions", "Sessions", "Sign in, the second step, refresh, sign out"),
    ("/v1/me/passkeys", "Passkeys", ""),
    ("/v1/me/authenticator", "Authenticator", "The authenticator app (TOTP)"),
    ("/v1/me", "Me", "The signed-in member: profile, PIN, password, contacts, devices, export, deletion"),
    ("/v1/password-resets", "Forgot password", "A code by email, then a new password"),
    ("/v1/pin-resets", "Forgot PIN", "Name, NIK and birth date, a code by email, SMS or the authenticator, a new PIN"),
    ("/v1/email-recoveries", "Forgot email", "An SMS naming the account's email"),
    ("/v1/admin", "Call center", "Staff routes (the staff pool's token)"),
    ("/.well-known", "Passkeys", ""),
    ("/v1", "Operations", "Health and this description"),
]


def _tag(path: str) -> str:
    return next(tag for prefix, tag, _ in TAGS if path.startswith(prefix))


def _camel(words: list[str]) -> str:
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


VERBS = {"get": "get", "post": "create", "put": "set", "patch": "update", "delete": "delete"}
ACTIONS = {"verify", "resend", "complete", "send", "approve", "reject", "unlock", "reset", "refresh", "options"}


def operation_id(method: str, path: str) -> str:
    """``verifyRegistrationEmail``, ``createSession``, ``getPinReset``...: stable, unique method names."""
    if (method, path) in NAMES:
        return NAMES[(method, path)]
    parts = [p for p in path.split("/") if p and p not in ("v1", ".well-known") and not p.startswith("{")]
    words = [w for p in parts for w in p.replace(".json", "").replace("-", "_").split("_")]
    action = next((w for w in reversed(words) if w in ACTIONS), None)
    nouns = [w for w in words if w != action]
    singular = [n[:-3] + "y" if n.endswith("ies") else n[:-1] if n.endswith("s") else n for n in nouns]
    if action:
        return _camel([action, *singular])
    if method == "get" and path.endswith(("s", "/passkeys", "/sessions")) and "{" not in path.split("/")[-1]:
        return _camel(["list", *nouns])
    return _camel([VERBS[method], *singular])


def _docstrings() -> dict[tuple[str, str], str]:
    """Each route's docstring in app.py (the operation's description), read without importing the app."""
    found: dict[tuple[str, str], str] = {}
    tree = ast.parse((OUT.parent.parent / "app.py").read_text())
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "route":
                args = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
                if len(args) >= 2:
                    found[(str(args[1]).lower(), str(args[0]))] = ast.get_docstring(node) or ""
    return found


def obj(required: list[str], **props: Any) -> dict[str, Any]:
    """An object schema; unknown fields are allowed and ignored by the API."""
    return {"type": "object", "required": required, "properties": props}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": {
        **obj(
            ["error"],
            error=obj(
                ["code", "message"],
                code={"type": "string", "enum": ERROR_CODES, "description": "What the app branches on"},
                message={"type": "string", "description": "For people, in the Accept-Language (id default, en)"},
                details=ref("ErrorDetails"),
            ),
        ),
        "examples": [
            {
                "error": {
                    "code": "invalid_code",
                    "message": "Kode verifikasi salah.",
                    "details": {"attempts_remaining": 3},
                }
            },
            {
                "error": {
                    "code": "validation_error",
                    "message": "Beberapa isian tidak valid.",
                    "details": {"fields": {"password": ["breached"]}},
                }
            },
        ],
    },
    "ErrorDetails": {
        "type": "object",
        "description": "Typed facts of an error, by code: attempts_remaining (invalid_code, code_locked), "
        "retry_after (account_locked, rate_limited, resend_too_soon, delivery_unavailable), fields "
        "(validation_error), state (wrong_state), reason (account_locked: pin_disabled).",
        "properties": {
            "attempts_remaining": {"type": "integer", "minimum": 0},
            "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": ref("FieldReason")},
                "description": "Field name -> reason codes",
            },
            "state": {"type": "string", "description": "Where the flow (or the account or request) is"},
            "reason": {"type": "string", "enum": ["pin_disabled"]},
        },
    },
    "FieldReason": {"type": "string", "enum": FIELD_REASONS},
    "Challenge": obj(
        ["channel", "expires_at", "resend_available_at", "attempts_remaining", "delivery"],
        channel={"type": "string", "enum": ["email", "sms", "authenticator"]},
        destination={"type": "string", "description": "Masked; absent for the authenticator (nothing is sent)"},
        expires_at={"type": "string", "format": "date-time"},
        resend_available_at={"type": "string", "format": "date-time"},
        attempts_remaining={"type": "integer", "minimum": 0},
        delivery={"type": "string", "enum": ["queued", "sent", "delivered", "failed", "suppressed"]},
        delivery_failure={
            "type": "string",
            "enum": ["unreachable", "rejected", "bounced", "expired", "unknown"],
            "description": "Why a failed challenge failed (the provider's receipt)",
        },
        check_again_after={
            "type": "integer",
            "minimum": 3,
            "maximum": 30,
            "description": "While delivery is queued or sent: seconds before the app should GET the flow again",
        },
    ),
    "Flow": obj(
        ["flow_id", "type", "state", "expires_at"],
        flow_id=STR,
        type={
            "type": "string",
            "enum": ["registration", "password_reset", "pin_reset", "phone_change", "email_change", "sign_in"],
        },
        state={"type": "string", "enum": FLOW_STATES},
        expires_at={"type": "string", "format": "date-time"},
        challenge=ref("Challenge"),
        channels={
            "type": "array",
            "description": "Forgot PIN: where a code can go (the authenticator has no destination)",
            "items": obj(
                ["channel"], channel={"type": "string", "enum": ["email", "sms", "authenticator"]}, destination=STR
            ),
        },
    ),
    "Session": obj(
        ["access_token", "token_type", "expires_in", "refresh_token"],
        access_token=STR,
        token_type={"const": "Bearer"},
        expires_in={"type": "integer"},
        refresh_token=STR,
    ),
    "PasswordSignIn": obj(["login", "password"], login={**STR, "description": "The email or the KPJ"}, password=STR),
    "PinSignIn": obj(["login", "pin"], login={**STR, "description": "The email or the KPJ"}, pin=PIN),
    "Profile": obj(
        [
            "account_id",
            "email",
            "phone",
            "full_name",
            "birth_date",
            "nik_masked",
            "kpj",
            "membership_type",
            "pin_set",
            "created_at",
        ],
        account_id=STR,
        email=STR,
        phone=STR,
        full_name=STR,
        birth_date={"type": ["string", "null"], "format": "date"},
        nik_masked=STR,
        kpj=STR,
        membership_type={"type": "string", "enum": ["PU", "BPU", "JAKON", "PMI"]},
        pin_set={"type": "boolean"},
        authenticator_enabled={"type": "boolean"},
        created_at=STR,
    ),
    "AuthenticatorEnrolment": obj(
        ["secret", "otpauth_uri", "qr_svg"],
        secret={"type": "string", "description": "base32, 160 bits; show it for manual entry"},
        otpauth_uri=STR,
        qr_svg={"type": "string", "description": "an SVG image of the otpauth URI"},
    ),
    "AuthenticatorEnabled": obj(
        ["enabled", "recovery_codes"],
        enabled={"type": "boolean"},
        recovery_codes={"type": "array", "items": STR, "minItems": 10, "maxItems": 10},
    ),
    "Device": obj(
        ["session_id", "created_at", "last_used_at", "device", "current", "amr"],
        session_id=STR,
        created_at=STR,
        last_used_at=STR,
        device={"type": "string", "description": "A short description from the User-Agent at sign-in"},
        current={"type": "boolean", "description": "The session this request was made with"},
        amr={**AMR, "description": "How the session signed in (RFC 8176)"},
    ),
    "Devices": obj(["sessions"], sessions={"type": "array", "items": ref("Device")}),
    "Passkey": obj(
        ["passkey_id", "name", "created_at", "last_used_at", "backed_up", "device_type"],
        passkey_id={"type": "string", "description": "The credential id (base64url)"},
        name={"type": "string", "maxLength": 64},
        created_at={"type": "string", "format": "date-time"},
        last_used_at={"type": ["string", "null"], "format": "date-time"},
        backed_up={"type": "boolean"},
        device_type={"type": "string", "enum": ["single_device", "multi_device"]},
    ),
    "Passkeys": obj(["passkeys"], passkeys={"type": "array", "items": ref("Passkey")}),
    "PasskeyOptions": obj(
        ["flow_id", "expires_at", "options"],
        flow_id=STR,
        expires_at={"type": "string", "format": "date-time"},
        options={
            "type": "object",
            "additionalProperties": True,
            "description": "PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON "
            "(WebAuthn Level 3; binary as base64url without padding): hand it to the platform as it is",
        },
    ),
    "RegistrationResponseJSON": {
        **obj(
            ["id", "rawId", "type", "response"],
            id={"type": "string", "description": "base64url"},
            rawId={"type": "string", "description": "base64url"},
            type={"type": "string", "const": "public-key"},
            response={
                **obj(
                    ["clientDataJSON", "attestationObject"],
                    clientDataJSON=STR,
                    attestationObject=STR,
                    authenticatorData=STR,
                    transports={"type": "array", "items": STR},
                    publicKey=STR,
                    publicKeyAlgorithm={"type": "integer"},
                ),
                "additionalProperties": True,
            },
            authenticatorAttachment={"type": ["string", "null"]},
            clientExtensionResults={"type": "object", "additionalProperties": True},
        ),
        "additionalProperties": True,
        "description": "What navigator.credentials.create() (toJSON()), Android's registrationResponseJson or the "
        "iOS registration gives, as it is",
    },
    "AuthenticationResponseJSON": {
        **obj(
            ["id", "rawId", "type", "response"],
            id={"type": "string", "description": "base64url"},
            rawId={"type": "string", "description": "base64url"},
            type={"type": "string", "const": "public-key"},
            response={
                **obj(
                    ["clientDataJSON", "authenticatorData", "signature"],
                    clientDataJSON=STR,
                    authenticatorData=STR,
                    signature=STR,
                    userHandle={"type": "string", "description": "required by this API: a discoverable sign-in"},
                ),
                "additionalProperties": True,
            },
            authenticatorAttachment={"type": ["string", "null"]},
            clientExtensionResults={"type": "object", "additionalProperties": True},
        ),
        "additionalProperties": True,
        "description": "What navigator.credentials.get() (toJSON()), Android's authenticationResponseJson or the "
        "iOS assertion gives, as it is",
    },
    "WebAuthnOrigins": obj(["origins"], origins={"type": "array", "items": STR}),
    "AppleAppSiteAssociation": obj(
        ["webcredentials"], webcredentials=obj(["apps"], apps={"type": "array", "items": STR})
    ),
    "AssetLinks": {"type": "array", "items": {"type": "object"}},
    "MemberExport": {
        **obj(
            ["schema", "exported_at", "profile", "contact", "membership", "security", "sessions", "audit_events"],
            schema={"type": "string", "const": "sandi.member-export.v1"},
            exported_at=STR,
            profile=ref("Profile"),
            contact=obj(["email", "phone"], email=STR, phone=STR),
            membership=obj(["membership_type", "kpj"], membership_type=STR, kpj=STR),
            security=obj(
                ["pin_set", "pin_disabled", "authenticator_enabled", "locked_until"],
                pin_set={"type": "boolean"},
                pin_disabled={"type": "boolean"},
                authenticator_enabled={"type": "boolean"},
                locked_until={"type": ["string", "null"]},
            ),
            sessions={"type": "array", "items": ref("Device")},
            passkeys={
                "type": "array",
                "items": obj(
                    ["name", "created_at"], name=STR, created_at=STR, last_used_at={"type": ["string", "null"]}
                ),
            },
            audit_events={
                "type": "array",
                "description": "The member's own security events, newest first",
                "items": obj(
                    ["at", "kind", "actor"],
                    at=STR,
                    kind={"type": "string", "examples": ["account.created", "signin.success", "pin.changed"]},
                    actor={"type": "string", "enum": ["user", "call_center", "system"]},
                    reason={"type": ["string", "null"]},
                    device={"type": ["string", "null"], "description": "The device the request came from"},
                    details={"type": "object"},
                ),
            },
            notes=obj([], nik=STR, secrets=STR),
        ),
        "description": "Everything Sandi stores about a member (UU PDP). No hash, code, token or key is ever "
        "included; the full NIK is not stored at all, only a keyed hash and the masked form.",
    },
    "ContactChange": obj(
        ["change_id", "status", "account_id", "requested_by", "requested_at", "expires_at"],
        change_id=STR,
        status={"type": "string", "enum": ["pending", "approved", "rejected", "replaced"]},
        account_id=STR,
        email=EMAIL,
        phone=STR,
        reason=STR,
        verification={"type": "string", "enum": ["questions", "video_call", "branch_visit"]},
        requested_by=STR,
        requested_at={"type": "string", "format": "date-time"},
        expires_at={"type": "string", "format": "date-time"},
        decided_by=STR,
    ),
    "RegistrationComplete": obj(["account", "session"], account=ref("Profile"), session=ref("Session")),
    "Accounts": obj(["accounts"], accounts={"type": "array", "items": ref("StaffAccount")}),
    "AuditPage": obj(
        ["events", "next_cursor"],
        events={
            "type": "array",
            "items": obj(
                ["at", "kind", "actor"],
                at={"type": "string", "format": "date-time"},
                kind=STR,
                actor=STR,
                reason={"type": ["string", "null"]},
                client={"type": ["string", "null"], "description": "Keyed hash of the client address"},
                device={"type": ["string", "null"]},
                details={"type": "object"},
            ),
        },
        next_cursor={"type": ["string", "null"]},
    ),
    "Health": obj(["status"], status={"type": "string", "const": "ok"}),
    "Empty": {"type": "object", "maxProperties": 0},
    "ContactChanges": obj(["changes"], changes={"type": "array", "items": ref("ContactChange")}),
    "StaffAccount": obj(
        ["account_id", "status", "email", "phone", "nik_masked", "locked"],
        account_id=STR,
        status={"type": "string", "enum": ["active", "closed", "deleted"]},
        email={"type": ["string", "null"]},
        phone={"type": ["string", "null"]},
        full_name={"type": ["string", "null"]},
        birth_date={"type": ["string", "null"]},
        nik_masked={"type": ["string", "null"]},
        kpj={"type": ["string", "null"]},
        membership_type={"type": ["string", "null"]},
        pin_set={"type": "boolean"},
        pin_disabled={"type": "boolean"},
        authenticator_enabled={"type": "boolean"},
        passkeys={"type": "integer", "minimum": 0, "description": "How many (never the keys)"},
        locked={"type": "boolean"},
        locked_until={"type": ["string", "null"]},
        failed_logins={"type": "integer"},
        created_at=STR,
        updated_at=STR,
    ),
}

STEP_UP_CODE = {"type": "string", "description": "required when the authenticator is on: 6 digits, or a recovery code"}

SCHEMAS["Flow"]["examples"] = [
    {
        "flow_id": "Xk3q9Vd2lQmR7sT1uW4yZA",
        "type": "registration",
        "state": "email_verification",
        "expires_at": "2026-11-21T23:35:00Z",
        "challenge": {
            "channel": "email",
            "destination": "bu***i@g***l.com",
            "expires_at": "2026-11-21T23:10:00Z",
            "resend_available_at": "2026-11-21T23:06:00Z",
            "attempts_remaining": 5,
            "delivery": "sent",
            "check_again_after": 5,
        },
    }
]
SCHEMAS["Session"]["examples"] = [
    {
        "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6InYxIiwidHlwIjoiSldUIn0.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": "q1w2e3r4t5y6u7i8o9p0aa.bmV3LXJlZnJlc2gtdG9rZW4tc2VjcmV0LWV4YW1wbGU",
    }
]
SCHEMAS["Passkey"]["examples"] = [
    {
        "passkey_id": "b3BhcXVlLWNyZWRlbnRpYWwtaWQ",
        "name": "Sandi app 2.3 on Android 14",
        "created_at": "2026-11-21T23:05:00Z",
        "last_used_at": None,
        "backed_up": True,
        "device_type": "multi_device",
    }
]

BODIES = {
    "email": obj(["email"], email=EMAIL),
    "code": obj(["code"], code=CODE),
    "phone": obj(["phone"], phone=PHONE),
    "change_email": obj(["email", "password"], email=EMAIL, password=STR, code=STEP_UP_CODE),
    "change_phone": obj(["phone", "password"], phone=PHONE, password=STR, code=STEP_UP_CODE),
    "delete_account": obj(["password"], password=STR, code=STEP_UP_CODE),
    "password_only": obj(["password"], password=STR, code=STEP_UP_CODE),
    "step_up": obj(["password"], password=STR, code=STEP_UP_CODE),
    "authenticator_code": obj(["code"], code={"type": "string", "description": "6 digits, or a recovery code"}),
    "authenticator_off": obj(
        ["password", "code"], password=STR, code={"type": "string", "description": "6 digits, or a recovery code"}
    ),
    "profile": obj(
        ["membership_type", "full_name", "birth_date", "nik", "kpj"],
        membership_type={"type": "string", "enum": ["PU", "BPU", "JAKON", "PMI"]},
        full_name={"type": "string", "minLength": 2, "maxLength": 100, "examples": ["Budi Santoso"]},
        birth_date=DATE,
        nik=NIK,
        kpj={"type": "string", "pattern": "^[0-9]{11}$", "examples": ["12345678901"]},
    ),
    "password": obj(["password", "password_confirmation"], password=PASSWORD, password_confirmation=PASSWORD),
    "signin": {"oneOf": [ref("PasswordSignIn"), ref("PinSignIn")]},
    "refresh": obj(["refresh_token"], refresh_token=STR),
    "set_pin": obj(
        ["pin", "pin_confirmation", "password"], pin=PIN, pin_confirmation=PIN, password=STR, code=STEP_UP_CODE
    ),
    "change_password": obj(
        ["current_password", "password", "password_confirmation"],
        current_password=STR,
        password=PASSWORD,
        password_confirmation=PASSWORD,
        code=STEP_UP_CODE,
    ),
    "identity": obj(["full_name", "nik", "birth_date"], full_name=STR, nik=NIK, birth_date=DATE),
    "channel": obj(
        ["channel"],
        channel={
            "type": "string",
            "enum": ["email", "sms", "authenticator"],
            "description": "authenticator (when offered): nothing is sent, verify takes the app's code",
        },
    ),
    "new_pin": obj(["pin", "pin_confirmation"], pin=PIN, pin_confirmation=PIN),
    "reason": obj(["reason"], reason=REASON),
    "contact": obj(
        ["reason", "verification"],
        email=EMAIL,
        phone=PHONE,
        reason=REASON,
        verification={
            "type": "string",
            "enum": ["questions", "video_call", "branch_visit"],
            "description": "How the member's identity was checked",
        },
    ),
    "optional_reason": obj([], reason=REASON),
    "empty": obj([]),
    "passkey_name": obj(["name"], name={"type": "string", "minLength": 1, "maxLength": 64}),
    "passkey_registration": obj(
        ["flow_id", "credential"],
        flow_id=STR,
        credential=ref("RegistrationResponseJSON"),
        name={"type": "string", "maxLength": 64},
    ),
    "passkey_assertion": obj(
        ["flow_id", "credential"],
        flow_id=STR,
        credential=ref("AuthenticationResponseJSON"),
    ),
}

FLOW_ERRORS = ["404", "409", "410", "422"]

# (method, path, summary, body, success status, success schema, auth, errors)
OPERATIONS: list[tuple[str, str, str, str | None, str, str | None, str | None, list[str]]] = [
    ("get", "/v1/health", "Health: 200 when DynamoDB answers", None, "200", "Health", None, ["503"]),
    ("get", "/v1/openapi.json", "This description", None, "200", None, None, []),
    ("post", "/v1/registrations", "Start a registration", "email", "201", "Flow", None, ["422", "429", "503"]),
    ("get", "/v1/registrations/{flow_id}", "A registration flow", None, "200", "Flow", None, ["404", "410"]),
    (
        "post",
        "/v1/registrations/{flow_id}/email/verify",
        "Verify the emailed code",
        "code",
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "423"],
    ),
    (
        "post",
        "/v1/registrations/{flow_id}/email/resend",
        "A new email code",
        None,
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "429", "503"],
    ),
    ("put", "/v1/registrations/{flow_id}/profile", "Who the person is", "profile", "200", "Flow", None, FLOW_ERRORS),
    (
        "post",
        "/v1/registrations/{flow_id}/phone",
        "The phone; an SMS code",
        "phone",
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "429", "503"],
    ),
    (
        "post",
        "/v1/registrations/{flow_id}/phone/verify",
        "Verify the SMS code",
        "code",
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "423"],
    ),
    (
        "post",
        "/v1/registrations/{flow_id}/phone/resend",
        "A new SMS code",
        None,
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "429", "503"],
    ),
    (
        "post",
        "/v1/registrations/{flow_id}/complete",
        "Password; the account and a session",
        "password",
        "201",
        "RegistrationComplete",
        None,
        FLOW_ERRORS,
    ),
    (
        "post",
        "/v1/sessions",
        "Sign in with email or KPJ and a password or PIN (202: the authenticator's code is next)",
        "signin",
        "201",
        "Session",
        None,
        ["401", "422", "423"],
    ),
    ("post", "/v1/sessions/refresh", "Rotate the refresh token", "refresh", "201", "Session", None, ["401", "422"]),
    (
        "post",
        "/v1/sessions/{flow_id}/verify",
        "The second step of a sign-in: an authenticator or recovery code",
        "authenticator_code",
        "201",
        "Session",
        None,
        ["404", "409", "410", "422", "423"],
    ),
    (
        "post",
        "/v1/me/authenticator",
        "Add an authenticator app: a new secret, pending until verified",
        "password_only",
        "201",
        "AuthenticatorEnrolment",
        "user",
        ["401", "423"],
    ),
    (
        "post",
        "/v1/me/authenticator/verify",
        "Turn the authenticator on with its first code; ten recovery codes, shown once",
        "authenticator_code",
        "200",
        "AuthenticatorEnabled",
        "user",
        ["401", "409", "422", "423"],
    ),
    (
        "delete",
        "/v1/me/authenticator",
        "Turn the authenticator off",
        "authenticator_off",
        "204",
        None,
        "user",
        ["401", "409", "422", "423"],
    ),
    ("delete", "/v1/sessions/current", "Sign out", None, "204", None, "user", ["401"]),
    ("get", "/v1/me", "The signed-in profile", None, "200", "Profile", "user", ["401"]),
    ("delete", "/v1/me", "Delete my account (password first)", "delete_account", "204", None, "user", ["401", "423"]),
    ("get", "/v1/me/sessions", "Where I am signed in, newest first", None, "200", "Devices", "user", ["401"]),
    ("delete", "/v1/me/sessions/{session_id}", "Sign one device out", None, "204", None, "user", ["401", "404"]),
    (
        "post",
        "/v1/me/passkeys/options",
        "Creation options for a new passkey (password, and the authenticator's code when on)",
        "step_up",
        "200",
        "PasskeyOptions",
        "user",
        ["401", "409", "422", "423"],
    ),
    (
        "post",
        "/v1/me/passkeys",
        "Keep the passkey the phone made for the options' flow",
        "passkey_registration",
        "201",
        "Passkey",
        "user",
        ["401", "404", "409", "410", "422"],
    ),
    ("get", "/v1/me/passkeys", "My passkeys, newest first", None, "200", "Passkeys", "user", ["401"]),
    (
        "patch",
        "/v1/me/passkeys/{passkey_id}",
        "Name a passkey",
        "passkey_name",
        "200",
        "Passkey",
        "user",
        ["401", "404", "422"],
    ),
    (
        "delete",
        "/v1/me/passkeys/{passkey_id}",
        "Remove a passkey (password, and the authenticator's code when on)",
        "step_up",
        "204",
        None,
        "user",
        ["401", "404", "422", "423"],
    ),
    (
        "post",
        "/v1/sessions/passkey/options",
        "Request options for a passkey sign-in (no login typed)",
        "empty",
        "200",
        "PasskeyOptions",
        None,
        [],
    ),
    (
        "post",
        "/v1/sessions/passkey",
        "Sign in with a passkey",
        "passkey_assertion",
        "201",
        "Session",
        None,
        ["401", "404", "410", "422", "429"],
    ),
    (
        "get",
        "/.well-known/webauthn",
        "The web origins this relying party accepts",
        None,
        "200",
        "WebAuthnOrigins",
        None,
        [],
    ),
    ("get", "/.well-known/assetlinks.json", "Android Digital Asset Links", None, "200", "AssetLinks", None, []),
    (
        "get",
        "/.well-known/apple-app-site-association",
        "The iOS apps that may use this site's passkeys",
        None,
        "200",
        "AppleAppSiteAssociation",
        None,
        [],
    ),
    (
        "post",
        "/v1/me/export",
        "A copy of everything stored about me (password, and the authenticator's code when it is on)",
        "step_up",
        "200",
        "MemberExport",
        "user",
        ["401", "422", "423"],
    ),
    ("put", "/v1/me/pin", "Set or change the PIN", "set_pin", "204", None, "user", ["401", "422", "423"]),
    ("put", "/v1/me/password", "Change the password", "change_password", "204", None, "user", ["401", "422", "423"]),
    (
        "post",
        "/v1/me/phone",
        "Change the phone (password re-checked first): an SMS code to the new number",
        "change_phone",
        "201",
        "Flow",
        "user",
        ["401", "409", "422", "429", "503"],
    ),
    (
        "post",
        "/v1/me/phone/{flow_id}/verify",
        "Finish a phone change",
        "code",
        "200",
        "Flow",
        "user",
        ["401", *FLOW_ERRORS, "423"],
    ),
    (
        "post",
        "/v1/me/email",
        "Change the email (password re-checked first): a code to the new address",
        "change_email",
        "201",
        "Flow",
        "user",
        ["401", "422", "429", "503"],
    ),
    (
        "post",
        "/v1/me/email/{flow_id}/verify",
        "Finish an email change",
        "code",
        "200",
        "Flow",
        "user",
        ["401", *FLOW_ERRORS, "423"],
    ),
    ("post", "/v1/password-resets", "Forgot password: start", "email", "202", "Flow", None, ["422", "429", "503"]),
    ("get", "/v1/password-resets/{flow_id}", "A password-reset flow", None, "200", "Flow", None, ["404", "410"]),
    (
        "post",
        "/v1/password-resets/{flow_id}/verify",
        "Verify the code",
        "code",
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "423"],
    ),
    (
        "post",
        "/v1/password-resets/{flow_id}/resend",
        "A new code",
        None,
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "429", "503"],
    ),
    (
        "post",
        "/v1/password-resets/{flow_id}/complete",
        "Set the new password",
        "password",
        "200",
        "Flow",
        None,
        FLOW_ERRORS,
    ),
    (
        "post",
        "/v1/pin-resets",
        "Forgot PIN: check name, NIK and birth date",
        "identity",
        "201",
        "Flow",
        None,
        ["422", "429"],
    ),
    ("get", "/v1/pin-resets/{flow_id}", "A PIN-reset flow", None, "200", "Flow", None, ["404", "410"]),
    (
        "post",
        "/v1/pin-resets/{flow_id}/send",
        "Send or resend a code by email or SMS",
        "channel",
        "200",
        "Flow",
        None,
        [*FLOW_ERRORS, "429", "503"],
    ),
    ("post", "/v1/pin-resets/{flow_id}/verify", "Verify the code", "code", "200", "Flow", None, [*FLOW_ERRORS, "423"]),
    ("post", "/v1/pin-resets/{flow_id}/complete", "Set the new PIN", "new_pin", "200", "Flow", None, FLOW_ERRORS),
    (
        "post",
        "/v1/email-recoveries",
        "Forgot email: an SMS to the account's phone",
        "phone",
        "202",
        "Empty",
        None,
        ["422", "429", "503"],
    ),
    (
        "get",
        "/v1/admin/accounts",
        "Look up by exactly one of email, nik, phone, kpj",
        None,
        "200",
        "Accounts",
        "staff",
        ["401", "403", "422"],
    ),
    (
        "get",
        "/v1/admin/accounts/{account_id}",
        "One account",
        None,
        "200",
        "StaffAccount",
        "staff",
        ["401", "403", "404"],
    ),
    (
        "patch",
        "/v1/admin/accounts/{account_id}/contact",
        "Request a change of email and/or phone: applied when a different supervisor approves it",
        "contact",
        "202",
        "ContactChange",
        "staff",
        ["401", "403", "404", "409", "422"],
    ),
    (
        "get",
        "/v1/admin/contact-changes",
        "Contact changes awaiting approval, oldest first (supervisors)",
        None,
        "200",
        "ContactChanges",
        "staff",
        ["401", "403", "422"],
    ),
    (
        "post",
        "/v1/admin/contact-changes/{change_id}/approve",
        "Approve a contact change (a supervisor other than the requester): applied, sessions end, everyone told",
        "optional_reason",
        "200",
        "StaffAccount",
        "staff",
        ["401", "403", "404", "409", "410", "422"],
    ),
    (
        "post",
        "/v1/admin/contact-changes/{change_id}/reject",
        "Reject a contact change, with a reason",
        "reason",
        "200",
        "ContactChange",
        "staff",
        ["401", "403", "404", "409", "410", "422"],
    ),
    (
        "post",
        "/v1/admin/accounts/{account_id}/authenticator/reset",
        "Turn a member's authenticator off (lost phone): supervisors",
        "reason",
        "200",
        "StaffAccount",
        "staff",
        ["401", "403", "404", "409", "422"],
    ),
    (
        "post",
        "/v1/admin/accounts/{account_id}/unlock",
        "End a sign-in lock",
        "reason",
        "200",
        "StaffAccount",
        "staff",
        ["401", "403", "404", "422"],
    ),
    (
        "post",
        "/v1/admin/accounts/{account_id}/reset",
        "Close the account and free its identifiers",
        "reason",
        "200",
        "StaffAccount",
        "staff",
        ["401", "403", "404", "409", "422"],
    ),
    (
        "get",
        "/v1/admin/accounts/{account_id}/audit",
        "The audit trail, newest first",
        None,
        "200",
        "AuditPage",
        "staff",
        ["401", "403", "404", "422"],
    ),
]


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
ALWAYS = {
    "429": "Too many requests (a limit of this API or of API Gateway); wait Retry-After seconds",
    "500": "Something failed on our side; never a stack trace",
    "503": "SES, SNS or DynamoDB failed; nothing was consumed; wait Retry-After seconds",
}
STATUS_TEXT = {
    "400": "Malformed request: the body is not a JSON object or is too large",
    "401": "Missing, invalid or expired token; or a wrong login (one answer for every kind)",
    "403": "Authenticated but not allowed",
    "404": "Unknown or foreign id",
    "409": "Out of order (details.state says where the flow is), or a uniqueness conflict",
    "410": "The flow or code has expired, or its one use is spent",
    "422": "Field errors (details.fields), a wrong code (details.attempts_remaining) or a mismatch",
    "423": "Locked: too many wrong secrets (details.retry_after) or codes",
}
SUCCESS_TEXT = {"200": "OK", "201": "Created", "202": "Accepted", "204": "Done"}


def _error(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ALWAYS.get(status) or STATUS_TEXT.get(status, "Error"),
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if status in ("429", "503"):
        response["headers"] = RETRY_AFTER
    if status == "401":
        response["headers"] = {
            "WWW-Authenticate": {"description": "Bearer (RFC 6750) when a token was missing or refused", "schema": STR}
        }
    return response


def _responses(
    method: str, path: str, body: str | None, status: str, schema: str | None, auth: str | None, errors: list[str]
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if status == "204":
        responses[status] = {"description": SUCCESS_TEXT[status]}
    else:
        content = {"application/json": {"schema": ref(schema) if schema else {"type": "object"}}}
        responses[status] = {"description": SUCCESS_TEXT[status], "content": content}
    if (method, path) == ("post", "/v1/sessions"):
        responses["202"] = {
            "description": "The authenticator is on: a sign_in flow in second_factor (then POST .../verify)",
            "content": {"application/json": {"schema": ref("Flow")}},
        }
    codes = {*errors, *ALWAYS} | ({"400", "422"} if body else set()) | ({"401"} if auth else set())
    codes |= {"403"} if auth == "staff" else set()
    for code in sorted(codes):
        responses[code] = _error(code)
    responses["default"] = {
        **_error("default"),
        "description": "Any other error, in the same shape (API Gateway's own 403, 404, 413, 429)",
    }
    return responses


def _parameters(path: str) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": PATH_LENGTHS[name]}}
        for name in PATH_LENGTHS
        if "{" + name + "}" in path
    ]
    if path == "/v1/admin/contact-changes":
        params.append(
            {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": ["pending"]}}
        )
    if path == "/v1/admin/accounts":
        params += [
            {"name": k, "in": "query", "required": False, "schema": STR} for k in ("email", "nik", "phone", "kpj")
        ]
    if path.endswith("/audit"):
        params += [
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
            {"name": "cursor", "in": "query", "required": False, "schema": STR},
        ]
    params.append(
        {
            "name": "Accept-Language",
            "in": "header",
            "required": False,
            "description": "id (default) or en: the language of messages",
            "schema": {"type": "string", "examples": ["id", "en"]},
        }
    )
    return params


PATH_LENGTHS = {"flow_id": 64, "account_id": 64, "session_id": 64, "change_id": 64, "passkey_id": 1400}


def _operation(
    method: str,
    path: str,
    summary: str,
    body: str | None,
    status: str,
    schema: str | None,
    auth: str | None,
    errors: list[str],
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": [_tag(path)],
        "summary": summary,
        "description": DOCSTRINGS.get((method, path)) or summary,
        "operationId": operation_id(method, path),
        "parameters": _parameters(path),
        "responses": _responses(method, path, body, status, schema, auth, errors),
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": BODIES[body]}}}
    op["security"] = [{"memberBearer": []}] if auth == "user" else [{"staffPool": []}] if auth == "staff" else []
    return op


def closed(schema: Any) -> Any:
    """The same schema with every object that lists its properties closed
    (``additionalProperties: false``): an answer says exactly what is described."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


DOCSTRINGS: dict[tuple[str, str], str] = {}


def build() -> dict[str, Any]:
    """The OpenAPI document."""
    DOCSTRINGS.update(_docstrings())
    paths: dict[str, Any] = {}
    for method, path, *rest in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest)  # type: ignore[arg-type]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    tags = [{"name": t, "description": d} for _, t, d in TAGS if d]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sandi",
            "version": VERSION,
            "summary": "Account and verification API of the social-security mobile app",
            "description": "Registration, sign-in (password, PIN, passkeys, the authenticator app), recovery and the "
            'call center. Every error is `{"error": {"code", "message", "details"}}`: clients branch on `code` '
            "and the typed `details`, never on `message` (localized by Accept-Language: id, en). Multi-step journeys "
            "are flows: every step answers the whole flow.",
            "contact": {"name": "Sandi team", "url": "https://github.com/sandi"},
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": "/", "description": "The stage's root (its custom domain when it has one)"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": {name: closed(schema) for name, schema in SCHEMAS.items()},
            "securitySchemes": {
                "memberBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A member's access token (POST /v1/sessions), 15 minutes",
                },
                "staffPool": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token of the stage's Cognito staff pool (agent or supervisor group)",
                },
            },
        },
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
