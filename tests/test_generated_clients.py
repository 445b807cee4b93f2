"""Clients generated from the description, by generators nobody here wrote, walk every
journey against the local stack (issue 27): openapi-python-client 0.29 here, and
openapi-typescript + openapi-fetch (type-checked by tsc) in clients/journeys.ts.

They branch on typed answers: a 202 ``Flow`` at sign-in with the authenticator on, a
typed ``Error`` with its code and details (``attempts_remaining``), forgot PIN's
channels with and without a destination. A code comes from the local inbox, as the
member reads it from their phone.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyotp
import pytest

from tests.conftest import ROOT, LocalStack, person
from tests.stack_client import StackClient
from tests.webauthn_device import SoftwareAuthenticator

CLIENTS = ROOT / "clients"
CONFIG = "post_hooks: []\npackage_name_override: sandi_client\nproject_name_override: sandi_client\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("generated")
    (out / "config.yaml").write_text(CONFIG)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "chalicelib" / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(out / "sandi_client"),
            "--config",
            str(out / "config.yaml"),
        ],
        check=True,
        capture_output=True,
        cwd=out,
        timeout=300,
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("sandi_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "sandi_client" or m.startswith("sandi_client.")]:
            del sys.modules[name]


class Generated:
    """The generated package, called as an app developer would: api.<tag>.<operation>.sync_detailed."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.client = package.Client(base_url=base_url, raise_on_unexpected_status=True)
        self.models = importlib.import_module("sandi_client.models")

    def authed(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=str(self.client._base_url), token=token, raise_on_unexpected_status=True
        )

    def call(self, tag: str, operation: str, client: Any = None, **kwargs: Any) -> Any:
        module = importlib.import_module(f"sandi_client.api.{tag}.{operation}")
        return module.sync_detailed(client=client or self.client, **kwargs)

    def body(self, model: str, values: dict[str, Any]) -> Any:
        return getattr(self.models, model).from_dict(values)


def test_registration_sign_in_and_the_second_factor(generated: ModuleType, local_stack: LocalStack) -> None:
    api, inbox, who = Generated(generated, local_stack.api), StackClient(local_stack), person(7401)
    m = api.models
    started = api.call(
        "registration", "create_registration", body=api.body("CreateRegistrationBody", {"email": who.email})
    )
    assert started.status_code == 201 and isinstance(started.parsed, m.Flow)
    flow = started.parsed
    assert flow.state == m.FlowState.EMAIL_VERIFICATION and flow.challenge.channel == m.ChallengeChannel.EMAIL
    wrong = api.call(
        "registration",
        "verify_registration_email",
        flow_id=flow.flow_id,
        body=api.body("VerifyRegistrationEmailBody", {"code": "000000"}),
    )
    assert isinstance(wrong.parsed, m.Error) and wrong.parsed.error.code == m.ErrorErrorCode.INVALID_CODE
    assert wrong.parsed.error.details.attempts_remaining == 4
    code = inbox.code_for(who.email, "email")
    verified = api.call(
        "registration",
        "verify_registration_email",
        flow_id=flow.flow_id,
        body=api.body("VerifyRegistrationEmailBody", {"code": code}),
    )
    assert verified.parsed.state == m.FlowState.PROFILE
    profile = api.call(
        "registration",
        "set_registration_profile",
        flow_id=flow.flow_id,
        body=api.body("SetRegistrationProfileBody", who.profile()),
    )
    assert profile.parsed.state == m.FlowState.PHONE
    phone = api.call(
        "registration",
        "set_registration_phone",
        flow_id=flow.flow_id,
        body=api.body("SetRegistrationPhoneBody", {"phone": who.phone}),
    )
    assert phone.parsed.challenge.channel == m.ChallengeChannel.SMS
    code = inbox.code_for(who.phone_e164, "sms")
    api.call(
        "registration",
        "verify_registration_phone",
        flow_id=flow.flow_id,
        body=api.body("VerifyRegistrationPhoneBody", {"code": code}),
    )
    breached = api.call(
        "registration",
        "complete_registration",
        flow_id=flow.flow_id,
        body=api.body("CompleteRegistrationBody", {"password": "password123", "password_confirmation": "password123"}),
    )
    assert isinstance(breached.parsed, m.Error) and breached.parsed.error.code == m.ErrorErrorCode.VALIDATION_ERROR
    assert breached.parsed.error.details.fields["password"] == [m.FieldReason.BREACHED]
    done = api.call(
        "registration",
        "complete_registration",
        flow_id=flow.flow_id,
        body=api.body("CompleteRegistrationBody", {"password": who.password, "password_confirmation": who.password}),
    )
    assert done.status_code == 201 and isinstance(done.parsed, m.RegistrationComplete)
    token = done.parsed.session.access_token

    signed = api.call(
        "sessions", "sign_in", body=api.body("PasswordSignIn", {"login": who.email, "password": who.password})
    )
    assert signed.status_code == 201 and isinstance(signed.parsed, m.Session)

    # the authenticator on: sign-in answers a typed 202 Flow, then the second step
    me = api.authed(token)
    enrol = api.call(
        "authenticator",
        "enrol_authenticator",
        client=me,
        body=api.body("EnrolAuthenticatorBody", {"password": who.password}),
    )
    app = pyotp.TOTP(enrol.parsed.secret)
    api.call(
        "authenticator",
        "confirm_authenticator",
        client=me,
        body=api.body("ConfirmAuthenticatorBody", {"code": app.now()}),
    )
    second = api.call(
        "sessions", "sign_in", body=api.body("PasswordSignIn", {"login": who.email, "password": who.password})
    )
    assert second.status_code == 202 and isinstance(second.parsed, m.Flow)
    assert second.parsed.type_ == m.FlowType.SIGN_IN and second.parsed.state == m.FlowState.SECOND_FACTOR
    session = api.call(
        "sessions",
        "verify_second_factor",
        flow_id=second.parsed.flow_id,
        body=api.body("VerifySecondFactorBody", {"code": _next_code(app)}),
    )
    assert session.status_code == 201 and isinstance(session.parsed, m.Session)

    # forgot PIN offers the authenticator without a destination
    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    reset = api.call("forgot_pin", "create_pin_reset", body=api.body("CreatePinResetBody", identity))
    channels = {c.channel: c.destination for c in reset.parsed.channels}
    assert set(channels) == {
        m.FlowChannelsItemChannel.EMAIL,
        m.FlowChannelsItemChannel.SMS,
        m.FlowChannelsItemChannel.AUTHENTICATOR,
    }
    assert isinstance(channels[m.FlowChannelsItemChannel.AUTHENTICATOR], type(generated.types.UNSET))
    chosen = api.call(
        "forgot_pin",
        "send_pin_reset",
        flow_id=reset.parsed.flow_id,
        body=api.body("SendPinResetBody", {"channel": "authenticator"}),
    )
    assert chosen.parsed.challenge.channel == m.ChallengeChannel.AUTHENTICATOR


def _next_code(app: pyotp.TOTP) -> str:
    """A code of the next step: the one just used to confirm is spent."""
    import time

    return str(app.at(time.time() + 30))


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_forgot_password_and_forgot_pin_by_each_channel(
    generated: ModuleType, local_stack: LocalStack, channel: str
) -> None:
    api, inbox = Generated(generated, local_stack.api), StackClient(local_stack)
    who = person(7410 if channel == "email" else 7411)
    inbox.register(who)
    m = api.models
    reset = api.call(
        "forgot_password", "create_password_reset", body=api.body("CreatePasswordResetBody", {"email": who.email})
    )
    assert reset.status_code == 202 and reset.parsed.state == m.FlowState.CODE_VERIFICATION
    code = inbox.code_for(who.email, "email")
    api.call(
        "forgot_password",
        "verify_password_reset",
        flow_id=reset.parsed.flow_id,
        body=api.body("VerifyPasswordResetBody", {"code": code}),
    )
    new = "kopi susu gula aren pagi"
    done = api.call(
        "forgot_password",
        "complete_password_reset",
        flow_id=reset.parsed.flow_id,
        body=api.body("CompletePasswordResetBody", {"password": new, "password_confirmation": new}),
    )
    assert done.parsed.state == m.FlowState.COMPLETED

    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    mismatch = api.call(
        "forgot_pin", "create_pin_reset", body=api.body("CreatePinResetBody", {**identity, "birth_date": "1991-01-01"})
    )
    assert isinstance(mismatch.parsed, m.Error) and mismatch.parsed.error.code == m.ErrorErrorCode.IDENTITY_MISMATCH
    flow = api.call("forgot_pin", "create_pin_reset", body=api.body("CreatePinResetBody", identity)).parsed
    sent = api.call(
        "forgot_pin", "send_pin_reset", flow_id=flow.flow_id, body=api.body("SendPinResetBody", {"channel": channel})
    )
    assert sent.parsed.challenge.delivery in (
        m.ChallengeDelivery.SENT,
        m.ChallengeDelivery.DELIVERED,
        m.ChallengeDelivery.QUEUED,
    )
    again = api.call(
        "forgot_pin", "send_pin_reset", flow_id=flow.flow_id, body=api.body("SendPinResetBody", {"channel": channel})
    )
    assert again.status_code == 429 and again.parsed.error.code == m.ErrorErrorCode.RESEND_TOO_SOON
    assert int(again.headers["retry-after"]) > 0
    to = who.email if channel == "email" else who.phone_e164
    code = inbox.code_for(to, channel)
    verified = api.call(
        "forgot_pin", "verify_pin_reset", flow_id=flow.flow_id, body=api.body("VerifyPinResetBody", {"code": code})
    )
    assert verified.parsed.state == m.FlowState.NEW_PIN
    done = api.call(
        "forgot_pin",
        "complete_pin_reset",
        flow_id=flow.flow_id,
        body=api.body("CompletePinResetBody", {"pin": "480273", "pin_confirmation": "480273"}),
    )
    assert done.parsed.state == m.FlowState.COMPLETED
    signed = api.call("sessions", "sign_in", body=api.body("PinSignIn", {"login": who.kpj, "pin": "480273"}))
    assert signed.status_code == 201


def test_a_passkey_sign_in(generated: ModuleType, local_stack: LocalStack) -> None:
    api, inbox, who = Generated(generated, local_stack.api), StackClient(local_stack), person(7420)
    token = inbox.register(who)["session"]["access_token"]
    me = api.authed(token)
    phone = SoftwareAuthenticator(origin=local_stack.api.replace("127.0.0.1", "localhost"))
    options = api.call(
        "passkeys",
        "passkey_creation_options",
        client=me,
        body=api.body("PasskeyCreationOptionsBody", {"password": who.password}),
    )
    made = phone.create(options.parsed.options.to_dict())
    added = api.call(
        "passkeys",
        "add_passkey",
        client=me,
        body=api.body("AddPasskeyBody", {"flow_id": options.parsed.flow_id, "credential": made}),
    )
    assert added.status_code == 201 and added.parsed.device_type == api.models.PasskeyDeviceType.MULTI_DEVICE
    start = api.call("passkeys", "passkey_sign_in_options", body=api.body("PasskeySignInOptionsBody", {}))
    credential = phone.get(start.parsed.options.to_dict())
    session = api.call(
        "passkeys",
        "sign_in_with_passkey",
        body=api.body("SignInWithPasskeyBody", {"flow_id": start.parsed.flow_id, "credential": credential}),
    )
    assert session.status_code == 201 and isinstance(session.parsed, api.models.Session)
    replay = api.call(
        "passkeys",
        "sign_in_with_passkey",
        body=api.body("SignInWithPasskeyBody", {"flow_id": start.parsed.flow_id, "credential": credential}),
    )
    assert replay.status_code == 410 and replay.parsed.error.code == api.models.ErrorErrorCode.FLOW_EXPIRED


def test_the_typescript_client_walks_the_journeys(local_stack: LocalStack, tmp_path: Path) -> None:
    """openapi-typescript types, openapi-fetch calls, tsc --strict, then node runs them."""
    node = CLIENTS / "node_modules" / ".bin"
    assert node.exists(), "make test installs clients/ (npm ci)"
    schema = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(node / "openapi-typescript"), str(ROOT / "chalicelib" / "openapi.json"), "-o", str(schema)],
        check=True,
        capture_output=True,
        cwd=CLIENTS,
        timeout=300,
    )
    build = CLIENTS / "build"  # beside node_modules, where node resolves openapi-fetch
    _tsc(node, schema, build)
    who = person(7430)  # the TypeScript side registers them
    env = {
        **os.environ,
        "SANDI_API": local_stack.api,
        "SANDI_INBOX": local_stack.inbox,
        "SANDI_WHO": json.dumps(who.__dict__),
    }
    run = subprocess.run(
        ["node", str(build / "journeys.js")], capture_output=True, text=True, cwd=CLIENTS, env=env, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "all journeys walked" in run.stdout


def _tsc(node: Path, schema: Path, build: Path) -> None:
    """Type-check and compile clients/journeys.ts against the freshly generated types."""
    (CLIENTS / "generated").mkdir(exist_ok=True)
    target = CLIENTS / "generated" / "schema.d.ts"
    target.write_text(schema.read_text())
    result = subprocess.run(
        [str(node / "tsc"), "-p", str(CLIENTS / "tsconfig.json"), "--outDir", str(build)],
        capture_output=True,
        text=True,
        cwd=CLIENTS,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
