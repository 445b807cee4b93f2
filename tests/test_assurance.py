"""How a session signed in (``amr``), and the step-up that keeps the weakest way in from
buying the strongest session (issue 24, findings 1 and 3; API.md "assurance")."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.actions import enrol_authenticator
from tests.conftest import Api, FakeClock, Member

PHONE = "081377778888"


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_every_token_and_device_says_how_its_session_signed_in(api: Api, member: Member, clock: FakeClock) -> None:
    assert claims(member.access)["amr"] == ["pwd"]  # registration ends signed in with the new password
    assert (
        api.put(
            "/v1/me/pin",
            {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password},
            headers=member.auth(),
        ).status
        == 204
    )
    by_password = api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).body
    by_pin = api.post("/v1/sessions", {"login": member.who.email, "pin": "258036"}).body
    assert claims(by_password["access_token"])["amr"] == ["pwd"]
    assert claims(by_pin["access_token"])["amr"] == ["pin"]
    refreshed = api.post("/v1/sessions/refresh", {"refresh_token": by_pin["refresh_token"]}).body
    assert claims(refreshed["access_token"])["amr"] == ["pin"]  # a refresh keeps its session's

    app = enrol_authenticator(api, member, clock)
    flow = api.post("/v1/sessions", {"login": member.who.email, "pin": "258036"}).body
    two = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": app.at(clock.now)}).body
    assert claims(two["access_token"])["amr"] == ["pin", "otp", "mfa"]

    listed = api.get("/v1/me/sessions", headers=member.auth(two["access_token"])).body["sessions"]
    assert [s["amr"] for s in listed if s["current"]] == [["pin", "otp", "mfa"]]
    assert ["pin"] in [s["amr"] for s in listed] and ["pwd"] in [s["amr"] for s in listed]


def _pin_session(api: Api, member: Member) -> dict[str, str]:
    """What an attacker with leaked data and a SIM swap gets from forgot PIN: a PIN session."""
    body = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    assert api.put("/v1/me/pin", body, headers=member.auth()).status == 204
    return member.auth(api.post("/v1/sessions", {"login": member.who.email, "pin": "258036"}).body["access_token"])


STEP_UPS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/me/phone", {"phone": PHONE}),
    ("POST", "/v1/me/email", {"email": "baru.sekali@example.com"}),
    ("PUT", "/v1/me/pin", {"pin": "147036", "pin_confirmation": "147036"}),
    ("POST", "/v1/me/export", {}),
    ("POST", "/v1/me/authenticator", {}),
    ("DELETE", "/v1/me", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), STEP_UPS, ids=[f"{m} {p}" for m, p, _ in STEP_UPS])
def test_with_the_authenticator_on_a_session_and_the_password_are_not_enough(
    api: Api, member: Member, clock: FakeClock, method: str, path: str, body: dict[str, Any]
) -> None:
    app = enrol_authenticator(api, member, clock)
    # A PIN session is what forgot PIN hands out; the step-up is asked of any session.
    flow = api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).body
    session = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": app.at(clock.now)}).body
    auth = member.auth(session["access_token"])
    clock.advance(30)

    wrong_password = api.call(method, path, {**body, "password": "Bukan-Sandinya-1"}, headers=auth)
    assert wrong_password.status == 401 and wrong_password.code == "invalid_credentials"  # checked first
    missing = api.call(method, path, {**body, "password": member.who.password}, headers=auth)
    assert missing.status == 422 and missing.code == "validation_error"
    assert "code" in missing.body["error"]["details"]["fields"]
    wrong = api.call(method, path, {**body, "password": member.who.password, "code": "000000"}, headers=auth)
    assert wrong.status == 422 and wrong.code == "invalid_code"
    code = app.at(clock.now)
    right = api.call(method, path, {**body, "password": member.who.password, "code": code}, headers=auth)
    assert right.status in (200, 201, 204), right.body
    if path != "/v1/me":
        again = api.call(method, path, {**body, "password": member.who.password, "code": code}, headers=auth)
        assert again.status == 422 and again.code == "invalid_code"  # a code works once


def test_wrong_step_up_codes_lock_the_account(api: Api, member: Member, clock: FakeClock) -> None:
    enrol_authenticator(api, member, clock)
    body = {"password": member.who.password, "code": "000000"}
    answers = [api.post("/v1/me/export", body, headers=member.auth()).status for _ in range(5)]
    assert answers == [422, 422, 422, 422, 423]
    locked = api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password})
    assert locked.status == 423


def test_the_authenticator_cannot_be_swapped_with_the_password_alone(
    api: Api, member: Member, clock: FakeClock
) -> None:
    app = enrol_authenticator(api, member, clock)
    swap = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth())
    assert swap.status == 422 and "code" in swap.body["error"]["details"]["fields"]
    assert api.get("/v1/me", headers=member.auth()).body["authenticator_enabled"] is True
    body = {"password": member.who.password, "code": app.at(clock.now)}
    assert api.post("/v1/me/authenticator", body, headers=member.auth()).status == 201


def test_a_stolen_session_alone_cannot_copy_the_data(api: Api, member: Member) -> None:
    auth = _pin_session(api, member)
    assert api.get("/v1/me/export", headers=auth).status in (404, 405)
    assert api.post("/v1/me/export", {}, headers=auth).status == 422
    copy = api.post("/v1/me/export", {"password": member.who.password}, headers=auth)
    assert copy.status == 200 and copy.body["profile"]["email"] == member.who.email
    assert all("amr" in s for s in copy.body["sessions"])
