"""One helper per thing a member does, for every test module (the journeys are walked
one way only). Each returns the API's answer as the app would see it; registration's
steps are ``tests.conftest.Journey``."""

from __future__ import annotations

from typing import Any

import pyotp

from tests.conftest import Answer, Api, FakeClock, Member, Outbox

SESSIONS = "/v1/sessions"
PIN_RESETS = "/v1/pin-resets"


def sign_in(api: Api, login: str, user_agent: str | None = None, **secret: str) -> Answer:
    """``POST /v1/sessions`` with a login and ``password=`` or ``pin=``."""
    headers = {"User-Agent": user_agent} if user_agent else None
    return api.post(SESSIONS, {"login": login, **secret}, headers=headers)


def set_pin(api: Api, member: Member, pin: str, confirmation: str | None = None, password: str | None = None) -> Answer:
    """``PUT /v1/me/pin`` (the password re-checked first)."""
    body = {"pin": pin, "pin_confirmation": confirmation or pin, "password": password or member.who.password}
    return api.put("/v1/me/pin", body, headers=member.auth())


def change_password(api: Api, member: Member, current: str, new: str, confirmation: str | None = None) -> Answer:
    """``PUT /v1/me/password``."""
    body = {"current_password": current, "password": new, "password_confirmation": confirmation or new}
    return api.put("/v1/me/password", body, headers=member.auth())


def identity(member: Member, **changes: str) -> dict[str, str]:
    """What forgot PIN asks: name, NIK and birth date (``changes`` replace some)."""
    who = member.who
    return {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date, **changes}


def forgot_pin_to_new_pin(api: Api, member: Member, outbox: Outbox, channel: str = "email") -> str:
    """A forgot-PIN flow driven to its new-PIN step; its id."""
    flow_id = str(api.post(PIN_RESETS, identity(member)).body["flow_id"])
    api.post(f"{PIN_RESETS}/{flow_id}/send", {"channel": channel})
    code = outbox.email_code(member.who.email) if channel == "email" else outbox.sms_code(member.who.phone_e164)
    answer = api.post(f"{PIN_RESETS}/{flow_id}/verify", {"code": code})
    assert answer.status == 200, answer
    return flow_id


def forgot_email(api: Api, phone: str, headers: dict[str, str] | None = None) -> Answer:
    """``POST /v1/email-recoveries``."""
    return api.post("/v1/email-recoveries", {"phone": phone}, headers=headers)


def start_contact_change(api: Api, member: Member, kind: str, value: str) -> Answer:
    """``POST /v1/me/phone`` or ``/v1/me/email`` with the password."""
    return api.post(f"/v1/me/{kind}", {kind: value, "password": member.who.password}, headers=member.auth())


def verify_contact_change(api: Api, member: Member, kind: str, flow_id: str, code: str) -> Answer:
    """``POST /v1/me/{kind}/{id}/verify``."""
    return api.post(f"/v1/me/{kind}/{flow_id}/verify", {"code": code}, headers=member.auth())


def body_of(answer: Answer) -> dict[str, Any]:
    """A successful answer's body."""
    assert answer.status < 300, answer
    return dict(answer.body)


def enrol_authenticator(api: Api, member: Member, clock: FakeClock) -> pyotp.TOTP:
    """Turn the authenticator on (the password, then a first code); the app, a step later
    (the code just used is spent)."""
    secret = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth()).body["secret"]
    app = pyotp.TOTP(secret)
    assert api.post("/v1/me/authenticator/verify", {"code": app.at(clock.now)}, headers=member.auth()).status == 200
    clock.advance(30)
    return app
