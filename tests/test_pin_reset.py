"""Forgot PIN: identity check, channel choice, resend across channels, new PIN."""

from __future__ import annotations

import pytest

from tests.actions import PIN_RESETS as BASE
from tests.actions import identity
from tests.conftest import Api, FakeClock, Member, Outbox


def test_identity_match_offers_masked_channels(api: Api, member: Member) -> None:
    answer = api.post(BASE, identity(member, full_name="  budi   SANTOSO "))
    assert answer.status == 201 and answer.body["state"] == "choose_channel"
    assert answer.body["channels"] == [
        {"channel": "email", "destination": "pe***0@e***e.com"},
        {"channel": "sms", "destination": "+62812*****000"},
    ]
    assert "challenge" not in answer.body


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": "Budi Santosa"},
        {"nik": "3174011705909998"},
        {"birth_date": "1990-05-18", "nik": "3174011805900001"},
    ],
)
def test_any_wrong_field_gives_one_uniform_answer(api: Api, member: Member, change: dict) -> None:
    answer = api.post(BASE, identity(member, **change))
    assert answer.status == 422 and answer.code == "identity_mismatch"
    assert answer.body == api.post(BASE, identity(member, nik="3174011705909997")).body


def test_attempts_per_nik_are_limited(api: Api, member: Member, clock: FakeClock) -> None:
    for _ in range(5):
        assert api.post(BASE, identity(member, full_name="Orang Lain")).code == "identity_mismatch"
    limited = api.post(BASE, identity(member))  # even the right data: the limit answers first
    assert limited.status == 429 and limited.code == "rate_limited" and int(limited.headers["retry-after"]) > 0
    clock.advance(3601)
    assert api.post(BASE, identity(member)).status == 201


@pytest.mark.settings(client_limits_enabled=1, identity_attempts_per_client=3)
def test_attempts_per_client_address_are_limited(api: Api, member: Member) -> None:
    for n in range(3):
        api.post(BASE, identity(member, nik=f"317401170590{9000 + n}"))
    assert api.post(BASE, identity(member)).code == "rate_limited"


def test_choose_channel_verify_and_new_pin(api: Api, member: Member, outbox: Outbox, clock: FakeClock) -> None:
    flow = api.post(BASE, identity(member)).body["flow_id"]
    sent = api.post(f"{BASE}/{flow}/send", {"channel": "sms"})
    assert sent.status == 200 and sent.body["state"] == "code_verification"
    assert sent.body["challenge"]["channel"] == "sms" and sent.body["channels"]
    assert api.post(f"{BASE}/{flow}/send", {"channel": "email"}).code == "resend_too_soon"
    clock.advance(60)
    other = api.post(f"{BASE}/{flow}/send", {"channel": "email"})  # resend to the other channel
    assert other.status == 200 and other.body["challenge"]["channel"] == "email"
    sms_code = outbox.sms_code(member.who.phone_e164)
    email_code = outbox.email_code(member.who.email)
    if sms_code != email_code:
        assert api.post(f"{BASE}/{flow}/verify", {"code": sms_code}).code == "invalid_code"  # replaced
    assert api.post(f"{BASE}/{flow}/verify", {"code": email_code}).body["state"] == "new_pin"
    weak = api.post(f"{BASE}/{flow}/complete", {"pin": "170590", "pin_confirmation": "170590"})
    assert weak.status == 422 and weak.body["error"]["details"]["fields"]["pin"] == ["birth_date"]
    assert api.post(f"{BASE}/{flow}/complete", {"pin": "369147", "pin_confirmation": "369148"}).code == "pin_mismatch"
    done = api.post(f"{BASE}/{flow}/complete", {"pin": "369147", "pin_confirmation": "369147"})
    assert done.status == 200 and done.body["state"] == "completed"
    assert api.post("/v1/sessions", {"login": member.who.kpj, "pin": "369147"}).status == 201


def test_new_pin_is_not_the_previous_one_and_reenables_a_disabled_pin(api: Api, member: Member, outbox: Outbox) -> None:
    body = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    api.put("/v1/me/pin", body, headers=member.auth())
    for batch in (4, 4, 2):
        for _ in range(batch):
            api.post("/v1/sessions", {"login": member.who.kpj, "pin": "999888"})
        api.post("/v1/sessions", {"login": member.who.kpj, "password": member.who.password})
    assert api.post("/v1/sessions", {"login": member.who.kpj, "pin": "258036"}).code == "account_locked"
    flow = api.post(BASE, identity(member)).body["flow_id"]
    api.post(f"{BASE}/{flow}/send", {"channel": "email"})
    api.post(f"{BASE}/{flow}/verify", {"code": outbox.email_code(member.who.email)})
    same = api.post(f"{BASE}/{flow}/complete", {"pin": "258036", "pin_confirmation": "258036"})
    assert same.body["error"]["details"]["fields"]["pin"] == ["same_as_previous"]
    assert api.post(f"{BASE}/{flow}/complete", {"pin": "471036", "pin_confirmation": "471036"}).status == 200
    assert api.post("/v1/sessions", {"login": member.who.kpj, "pin": "471036"}).status == 201


def test_bad_channel_and_order(api: Api, member: Member) -> None:
    flow = api.post(BASE, identity(member)).body["flow_id"]
    bad = api.post(f"{BASE}/{flow}/send", {"channel": "pigeon"})
    assert bad.status == 422 and bad.body["error"]["details"]["fields"]["channel"] == ["invalid_channel"]
    early = api.post(f"{BASE}/{flow}/verify", {"code": "123456"})
    assert early.status == 409 and early.body["error"]["details"]["state"] == "choose_channel"
    assert api.post(f"{BASE}/{flow}/complete", {"pin": "471036", "pin_confirmation": "471036"}).status == 409
