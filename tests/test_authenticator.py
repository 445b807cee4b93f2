"""The authenticator app (issue 16): enrolment, the second sign-in step, one use per code,
recovery codes, forgot PIN without a carrier, and turning it off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import pytest

from chalicelib import totp
from chalicelib.storage.models import AccountModel
from tests.conftest import Api, FakeClock, LocalStack, Member, Outbox, person
from tests.stack_client import StackClient

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_appendix_b_vectors(at: int, code: str) -> None:
    assert totp.matching_step(RFC_SECRET, code, at, -1, digits=8, window=0) == at // 30
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    assert totp.matching_step(RFC_SECRET, wrong, at, -1, digits=8, window=0) is None


def test_one_step_either_side_and_never_an_old_step() -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    now = 1_795_300_005.0  # 5 s into a step
    step = int(now // 30)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, app.at((step + offset) * 30), now, -1) == step + offset
    assert totp.matching_step(secret, app.at((step - 2) * 30), now, -1) is None
    assert totp.matching_step(secret, app.at((step + 2) * 30), now, -1) is None
    assert totp.matching_step(secret, app.at(step * 30), now, step) is None  # used already
    assert totp.matching_step(secret, app.at((step - 1) * 30), now, step) is None  # older than the last


def test_the_secret_is_sealed_to_its_account() -> None:
    key = b"k" * 32
    sealed = totp.seal(key, "account-a", "JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed and totp.unseal(key, "account-a", sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(Exception):  # noqa: B017 - any failure: a sealed secret does not move between accounts
        totp.unseal(key, "account-b", sealed)


# --- through the API ---------------------------------------------------------------------


def _enrol(api: Api, member: Member, clock: FakeClock) -> tuple[pyotp.TOTP, list[str]]:
    started = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth())
    assert started.status == 201, started
    body = started.body
    assert body["qr_svg"].startswith("<svg") and body["otpauth_uri"].startswith("otpauth://totp/")
    assert member.who.email not in body["otpauth_uri"] and "issuer=Sandi" in body["otpauth_uri"]
    app = pyotp.TOTP(body["secret"])
    confirmed = api.post("/v1/me/authenticator/verify", {"code": app.at(clock.now)}, headers=member.auth())
    assert confirmed.status == 200 and confirmed.body["enabled"] is True
    return app, confirmed.body["recovery_codes"]


def _second_step(api: Api, member: Member, **secret: str) -> dict[str, Any]:
    answer = api.post("/v1/sessions", {"login": member.who.email, **secret})
    assert answer.status == 202 and answer.body["type"] == "sign_in" and answer.body["state"] == "second_factor"
    return dict(answer.body)


def test_enrolment_then_two_step_sign_in(api: Api, member: Member, clock: FakeClock) -> None:
    app, codes = _enrol(api, member, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert api.get("/v1/me", headers=member.auth()).body["authenticator_enabled"] is True
    stored = AccountModel.get(member.account_id).attribute_values
    assert app.secret not in repr(stored) and not any(c in repr(stored) for c in codes)

    clock.advance(30)
    flow = _second_step(api, member, password=member.who.password)
    wrong = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": "000000"})
    assert wrong.status == 422 and wrong.code == "invalid_code"
    right = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": app.at(clock.now)})
    assert right.status == 201 and "access_token" in right.body
    refreshed = api.post("/v1/sessions/refresh", {"refresh_token": right.body["refresh_token"]})
    assert refreshed.status == 201  # the refresh path never asks again


def test_a_code_works_once_even_in_parallel(api: Api, member: Member, clock: FakeClock) -> None:
    app, _ = _enrol(api, member, clock)
    clock.advance(30)
    code = app.at(clock.now)
    first, second = (_second_step(api, member, password=member.who.password) for _ in range(2))
    assert api.post(f"/v1/sessions/{first['flow_id']}/verify", {"code": code}).status == 201
    replay = api.post(f"/v1/sessions/{second['flow_id']}/verify", {"code": code})
    assert replay.status == 422 and replay.code == "invalid_code"
    older = api.post(f"/v1/sessions/{second['flow_id']}/verify", {"code": app.at(clock.now - 30)})
    assert older.status == 422  # a step before the last used one


def test_wrong_codes_share_the_account_lockout(api: Api, member: Member, clock: FakeClock) -> None:
    _enrol(api, member, clock)
    flow = _second_step(api, member, password=member.who.password)
    answers = [api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": "000000"}) for _ in range(4)]
    assert [a.status for a in answers] == [422, 422, 422, 423]  # the password was the first of five
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 423


def test_the_second_step_expires_in_five_minutes(api: Api, member: Member, clock: FakeClock) -> None:
    app, _ = _enrol(api, member, clock)
    flow = _second_step(api, member, password=member.who.password)
    clock.advance(301)
    answer = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": app.at(clock.now)})
    assert answer.status == 410 and answer.code == "flow_expired"


def test_recovery_codes_work_once_even_in_parallel(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(430)
    token = client.register(who)["session"]["access_token"]
    secret = client.call("POST", "/v1/me/authenticator", {"password": who.password}, token=token).json()["secret"]
    confirmed = client.call("POST", "/v1/me/authenticator/verify", {"code": pyotp.TOTP(secret).now()}, token=token)
    recovery = confirmed.json()["recovery_codes"][0]
    flows = [
        client.call("POST", "/v1/sessions", {"login": who.email, "password": who.password}).json()["flow_id"]
        for _ in range(3)
    ]

    def use(flow_id: str) -> int:
        answer = StackClient(local_stack).call("POST", f"/v1/sessions/{flow_id}/verify", {"code": recovery.upper()})
        return answer.status_code

    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = sorted(pool.map(use, flows))
    # one session; the others are refused (422, or 423 once the shared lockout count is full)
    assert statuses[0] == 201 and all(s in (422, 423) for s in statuses[1:]), statuses


def test_enrolment_replaced_before_verification(api: Api, member: Member, clock: FakeClock) -> None:
    first = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth()).body
    second = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth()).body
    assert first["secret"] != second["secret"]
    old = api.post(
        "/v1/me/authenticator/verify", {"code": pyotp.TOTP(first["secret"]).at(clock.now)}, headers=member.auth()
    )
    assert old.status == 422
    new = api.post(
        "/v1/me/authenticator/verify", {"code": pyotp.TOTP(second["secret"]).at(clock.now)}, headers=member.auth()
    )
    assert new.status == 200


def test_enrolment_needs_the_password(api: Api, member: Member) -> None:
    answer = api.post("/v1/me/authenticator", {"password": "Salah-Sekali-1"}, headers=member.auth())
    assert answer.status == 401 and answer.code == "invalid_credentials"


def test_turning_it_off_by_the_member_and_by_a_supervisor(
    api: Api, member_factory: Any, clock: FakeClock, outbox: Outbox, staff_token: str, supervisor_token: str
) -> None:
    me = member_factory(11)
    _, codes = _enrol(api, me, clock)
    clock.advance(30)
    bad = api.call("DELETE", "/v1/me/authenticator", {"password": me.who.password, "code": "000000"}, headers=me.auth())
    assert bad.status == 422
    off = api.call("DELETE", "/v1/me/authenticator", {"password": me.who.password, "code": codes[3]}, headers=me.auth())
    assert off.status == 204 and api.get("/v1/me", headers=me.auth()).body["authenticator_enabled"] is False
    assert api.post("/v1/sessions", {"login": me.who.email, "password": me.who.password}).status == 201
    assert "autentikator" in outbox.emails(me.who.email)[-1].subject

    lost = member_factory(12)
    _enrol(api, lost, clock)
    path = f"/v1/admin/accounts/{lost.account_id}/authenticator/reset"
    agent = {"Authorization": f"Bearer {staff_token}"}
    supervisor = {"Authorization": f"Bearer {supervisor_token}"}
    assert api.post(path, {"reason": "HP hilang"}, headers=agent).status == 403
    done = api.post(path, {"reason": "HP hilang"}, headers=supervisor)
    assert done.status == 200 and done.body["authenticator_enabled"] is False
    assert api.post("/v1/sessions", {"login": lost.who.email, "password": lost.who.password}).status == 201


def test_whole_journey_register_enrol_sign_in_and_reset_the_pin_by_authenticator(
    api: Api, member: Member, clock: FakeClock, outbox: Outbox
) -> None:
    app, _ = _enrol(api, member, clock)
    assert api.call("DELETE", "/v1/sessions/current", headers=member.auth()).status == 204
    clock.advance(30)
    flow = _second_step(api, member, password=member.who.password)
    session = api.post(f"/v1/sessions/{flow['flow_id']}/verify", {"code": app.at(clock.now)}).body
    assert "access_token" in session

    who = member.who
    sent_before = outbox.count()
    reset = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}).body
    assert {"channel": "authenticator"} in reset["channels"]
    chosen = api.post(f"/v1/pin-resets/{reset['flow_id']}/send", {"channel": "authenticator"})
    assert chosen.status == 200 and chosen.body["state"] == "code_verification"
    assert chosen.body["challenge"]["channel"] == "authenticator" and outbox.count() == sent_before  # nothing sent
    clock.advance(30)
    wrong = api.post(f"/v1/pin-resets/{reset['flow_id']}/verify", {"code": "000000"})
    assert wrong.status == 422 and wrong.body["error"]["details"]["attempts_remaining"] == 4
    verified = api.post(f"/v1/pin-resets/{reset['flow_id']}/verify", {"code": app.at(clock.now)})
    assert verified.status == 200 and verified.body["state"] == "new_pin"
    done = api.post(f"/v1/pin-resets/{reset['flow_id']}/complete", {"pin": "480273", "pin_confirmation": "480273"})
    assert done.status == 200
    # Every session ends at a PIN reset; the authenticator stays on: the new PIN still needs its code.
    assert api.get("/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"}).status == 401
    again = api.post("/v1/sessions", {"login": who.email, "pin": "480273"})
    assert again.status == 202 and again.body["state"] == "second_factor"
