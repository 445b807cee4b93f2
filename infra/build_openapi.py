"""Writes chalicelib/openapi.json, the OpenAPI 3.1 description served at /v1/openapi.json.

Built from tables here so the paths, bodies and answers are stated once; a test checks
that the committed file equals this output and that its operations are exactly the
app's routes. Run after changing a route: `.venv/bin/python -m infra.build_openapi`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "chalicelib" / "openapi.json"

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


def obj(required: list[str], **props: Any) -> dict[str, Any]:
    """An object schema; unknown fields are allowed and ignored by the API."""
    return {"type": "object", "required": required, "properties": props}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        ["error"],
        error=obj(
            ["code", "message"],
            code={
                "type": "string",
                "enum": [
                    "malformed_request",
                    "unauthenticated",
                    "invalid_credentials",
                    "forbidden",
                    "not_found",
                    "nik_registered",
                    "phone_registered",
                    "kpj_registered",
                    "wrong_state",
                    "flow_expired",
                    "code_expired",
                    "validation_error",
                    "invalid_code",
                    "identity_mismatch",
                    "password_mismatch",
                    "pin_mismatch",
                    "account_locked",
                    "code_locked",
                    "resend_too_soon",
                    "rate_limited",
                    "delivery_unavailable",
                    "internal_error",
                ],
            },
            message=STR,
            details={"type": "object"},
        ),
    ),
    "Challenge": obj(
        ["channel", "destination", "expires_at", "resend_available_at", "attempts_remaining", "delivery"],
        channel={"type": "string", "enum": ["email", "sms"]},
        destination=STR,
        expires_at={"type": "string", "format": "date-time"},
        resend_available_at={"type": "string", "format": "date-time"},
        attempts_remaining={"type": "integer", "minimum": 0},
        delivery={"type": "string", "enum": ["queued", "sent", "delivered", "failed", "suppressed"]},
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
            "enum": ["registration", "password_reset", "pin_reset", "phone_change", "email_change"],
        },
        state=STR,
        expires_at={"type": "string", "format": "date-time"},
        challenge=ref("Challenge"),
        channels={"type": "array", "items": obj(["channel", "destination"], channel=STR, destination=STR)},
    ),
    "Session": obj(
        ["access_token", "token_type", "expires_in", "refresh_token"],
        access_token=STR,
        token_type={"const": "Bearer"},
        expires_in={"type": "integer"},
        refresh_token=STR,
    ),
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
        birth_date=STR,
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
            "description": "PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON "
            "(WebAuthn Level 3; binary as base64url without padding)",
        },
    ),
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
    "ContactChanges": obj(["changes"], changes={"type": "array", "items": ref("ContactChange")}),
    "StaffAccount": obj(
        ["account_id", "status", "email", "phone", "nik_masked", "locked"],
        account_id=STR,
        status={"type": "string", "enum": ["active", "closed", "deleted"]},
        email=STR,
        phone=STR,
        full_name=STR,
        birth_date=STR,
        nik_masked=STR,
        kpj=STR,
        membership_type=STR,
        pin_set={"type": "boolean"},
        pin_disabled={"type": "boolean"},
        locked={"type": "boolean"},
        locked_until={"type": ["string", "null"]},
        failed_logins={"type": "integer"},
        created_at=STR,
        updated_at=STR,
    ),
}

STEP_UP_CODE = {"type": "string", "description": "required when the authenticator is on: 6 digits, or a recovery code"}

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
    "signin": {
        "oneOf": [
            obj(["login", "password"], login=STR, password=STR),
            obj(["login", "pin"], login=STR, pin=PIN),
        ]
    },
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
    "channel": obj(["channel"], channel={"type": "string", "enum": ["email", "sms"]}),
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
        credential={"type": "object", "description": "RegistrationResponseJSON (WebAuthn Level 3)"},
        name={"type": "string", "maxLength": 64},
    ),
    "passkey_assertion": obj(
        ["flow_id", "credential"],
        flow_id=STR,
        credential={"type": "object", "description": "AuthenticationResponseJSON (WebAuthn Level 3)"},
    ),
}

FLOW_ERRORS = ["404", "409", "410", "422"]

# (method, path, summary, body, success status, success schema, auth, errors)
OPERATIONS: list[tuple[str, str, str, str | None, str, str | None, str | None, list[str]]] = [
    ("get", "/v1/health", "Health: 200 when DynamoDB answers", None, "200", None, None, ["503"]),
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
        None,
        None,
        FLOW_ERRORS,
    ),
    (
        "post",
        "/v1/sessions",
        "Sign in with email or KPJ and a password or PIN",
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
        None,
        None,
        ["422", "429", "503"],
    ),
    (
        "get",
        "/v1/admin/accounts",
        "Look up by exactly one of email, nik, phone, kpj",
        None,
        "200",
        None,
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
        None,
        "staff",
        ["401", "403", "404", "422"],
    ),
]


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
    responses: dict[str, Any] = {}
    if status == "204":
        responses[status] = {"description": "Done"}
    else:
        content_schema = ref(schema) if schema else {"type": "object"}
        responses[status] = {"description": "Success", "content": {"application/json": {"schema": content_schema}}}
    for code in sorted({*errors, "400", "500"} if body else {*errors, "500"}):
        responses[code] = {"description": "Error", "content": {"application/json": {"schema": ref("Error")}}}
    op: dict[str, Any] = {"summary": summary, "operationId": f"{method}_{path}", "responses": responses}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
        for name in ("flow_id", "account_id", "session_id", "change_id", "passkey_id")
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
    params.append({"name": "Accept-Language", "in": "header", "required": False, "schema": STR})
    op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": BODIES[body]}}}
    if auth:
        op["security"] = [{"bearer": []}]
    return op


def build() -> dict[str, Any]:
    """The OpenAPI document."""
    paths: dict[str, Any] = {}
    for method, path, *rest in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest)  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sandi",
            "version": "1.0.0",
            "description": "Account and verification API of the mobile app. Errors: "
            '{"error": {"code", "message", "details"}}; messages follow Accept-Language (id, en).',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
