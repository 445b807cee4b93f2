"""Forgot email: one answer for every number; an SMS only to an account's phone."""

from __future__ import annotations

import pytest

from tests.conftest import Api, Member, Outbox, shape

PATH = "/v1/email-recoveries"


def test_known_and_unknown_numbers_answer_alike(api: Api, member: Member, outbox: Outbox) -> None:
    known = api.post(PATH, {"phone": member.who.phone})
    unknown = api.post(PATH, {"phone": "081300001111"})
    assert known.status == unknown.status == 202
    assert known.body == unknown.body == {}
    assert known.headers == unknown.headers and shape(known.body) == shape(unknown.body)
    texts = outbox.sms(member.who.phone_e164)
    assert "pe***0@e***e.com" in texts[-1][1] and member.who.email not in texts[-1][1]
    assert outbox.sms("+6281300001111") == []


@pytest.mark.parametrize("phone", ["0211234567", "+6591234567", "abc", ""])
def test_only_indonesian_mobile_numbers(api: Api, phone: str, outbox: Outbox) -> None:
    answer = api.post(PATH, {"phone": phone})
    assert answer.status == 422 and answer.code == "validation_error"
    assert outbox.sms() == []


def test_english_text(api: Api, member: Member, outbox: Outbox) -> None:
    api.post(PATH, {"phone": member.who.phone}, lang="en")
    assert "your account email is" in outbox.sms(member.who.phone_e164)[-1][1]
