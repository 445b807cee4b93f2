"""Forgot password: every state and error; known and unknown addresses look the same."""

from __future__ import annotations

import pytest

from chalicelib.storage.models import AccountModel
from tests.conftest import Api, FakeClock, Member, Outbox, shape

BASE = "/v1/password-resets"
DECOY = "success@simulator.amazonses.com"


def test_known_and_unknown_addresses_answer_alike(api: Api, member: Member, outbox: Outbox) -> None:
    known = api.post(BASE, {"email": member.who.email})
    unknown = api.post(BASE, {"email": "nobody@example.com"})
    assert known.status == unknown.status == 202
    assert known.headers == unknown.headers
    assert shape(known.body) == shape(unknown.body)
    assert known.body["state"] == unknown.body["state"] == "code_verification"
    assert known.body["challenge"]["delivery"] == unknown.body["challenge"]["delivery"] == "sent"
    assert outbox.emails(member.who.email)[-1].subject[:6].isdigit()  # the owner got a code
    assert outbox.emails("nobody@example.com") == []  # the stranger got nothing
    assert len(outbox.emails(DECOY)) == 1  # the same SES work was done, to the simulator


def test_no_code_verifies_for_an_unknown_address(api: Api, member: Member, outbox: Outbox) -> None:
    api.post(BASE, {"email": member.who.email})
    real_code = outbox.email_code(member.who.email)
    flow = api.post(BASE, {"email": "nobody@example.com"}).body["flow_id"]
    for guess in (real_code, "000000", "123456"):
        assert api.post(f"{BASE}/{flow}/verify", {"code": guess}).code in ("invalid_code", "code_locked")


def test_reset_ends_sessions_clears_the_lock_and_tells_the_owner(api: Api, member: Member, outbox: Outbox) -> None:
    for _ in range(5):
        api.post("/v1/sessions", {"login": member.who.email, "password": "Salah-Sekali-1"})
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 423
    flow = api.post(BASE, {"email": member.who.email}).body["flow_id"]  # a locked account may reset
    verified = api.post(f"{BASE}/{flow}/verify", {"code": outbox.email_code(member.who.email)})
    assert verified.status == 200 and verified.body["state"] == "new_password"
    new = "Baru-Lebih-Kuat-7"
    done = api.post(f"{BASE}/{flow}/complete", {"password": new, "password_confirmation": new})
    assert done.status == 200 and done.body["state"] == "completed"
    assert "session" not in done.body and "access_token" not in str(done.body)  # no automatic sign-in
    assert api.get("/v1/me", headers=member.auth()).status == 401
    assert api.post("/v1/sessions/refresh", {"refresh_token": member.refresh}).status == 401
    assert api.post("/v1/sessions", {"login": member.who.email, "password": new}).status == 201
    assert "Kata sandi akun Sandi Anda" in outbox.emails(member.who.email)[-1].subject


def test_new_password_rules_and_order(api: Api, member: Member, outbox: Outbox) -> None:
    flow = api.post(BASE, {"email": member.who.email}).body["flow_id"]
    early = api.post(f"{BASE}/{flow}/complete", {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "x"})
    assert early.status == 409 and early.body["error"]["details"]["state"] == "code_verification"
    api.post(f"{BASE}/{flow}/verify", {"code": outbox.email_code(member.who.email)})
    weak = api.post(f"{BASE}/{flow}/complete", {"password": "Password123", "password_confirmation": "Password123"})
    assert weak.status == 422 and weak.body["error"]["details"]["fields"]["password"] == ["breached"]
    mismatch = api.post(f"{BASE}/{flow}/complete", {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "B"})
    assert mismatch.code == "password_mismatch"
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 201


def test_resend_rules(api: Api, member: Member, outbox: Outbox, clock: FakeClock) -> None:
    flow = api.post(BASE, {"email": member.who.email}).body["flow_id"]
    assert api.post(f"{BASE}/{flow}/resend").code == "resend_too_soon"
    clock.advance(60)
    assert api.post(f"{BASE}/{flow}/resend").status == 200
    assert api.get(f"{BASE}/{flow}").body["challenge"]["resend_available_at"]


@pytest.mark.parametrize("email", ["", "not-an-email", None])
def test_malformed_email(api: Api, email: object) -> None:
    assert api.post(BASE, {"email": email}).code == "validation_error"


def test_unknown_and_expired_flows(api: Api, clock: FakeClock) -> None:
    assert api.get(f"{BASE}/nope").status == 404
    flow = api.post(BASE, {"email": "nobody@example.com"}).body["flow_id"]
    assert api.get(f"/v1/registrations/{flow}").status == 404  # another journey's id
    clock.advance(1801)
    assert api.get(f"{BASE}/{flow}").code == "flow_expired"


def test_a_closed_account_cannot_finish(api: Api, member: Member, outbox: Outbox) -> None:
    flow = api.post(BASE, {"email": member.who.email}).body["flow_id"]
    api.post(f"{BASE}/{flow}/verify", {"code": outbox.email_code(member.who.email)})
    AccountModel(member.account_id).update(actions=[AccountModel.status.set("closed")])
    answer = api.post(
        f"{BASE}/{flow}/complete", {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "Baru-Lebih-Kuat-7"}
    )
    assert answer.status == 410 and answer.code == "flow_expired"  # the flow died with the account
