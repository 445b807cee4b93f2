"""SMS cost guards and identity limits: past a limit, 429 and no SMS."""

from __future__ import annotations

import pytest

from tests.actions import forgot_email as recover
from tests.conftest import Api, FakeClock, Outbox


@pytest.mark.settings(sms_per_prefix_per_hour=2)
def test_a_number_range_is_limited(api: Api, clock: FakeClock) -> None:
    assert recover(api, "081300001111").status == 202
    assert recover(api, "081300002222").status == 202
    limited = recover(api, "081300003333")  # same number minus its last four digits
    assert limited.status == 429 and limited.code == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    assert recover(api, "081311114444").status == 202  # another range
    clock.advance(3600)
    assert recover(api, "081300003333").status == 202


@pytest.mark.settings(client_limits_enabled=1, sms_per_client_per_hour=2)
def test_a_client_address_is_limited_and_forwarded_for_is_ignored(api: Api) -> None:
    assert recover(api, "081300001111").status == 202
    assert recover(api, "081311112222", {"X-Forwarded-For": "10.0.0.1"}).status == 202
    assert recover(api, "081322223333", {"X-Forwarded-For": "10.0.0.2"}).code == "rate_limited"


def test_client_limits_are_off_in_the_local_stage(api: Api) -> None:
    for n in range(6):
        assert recover(api, f"08135555{n:04d}").status == 202


@pytest.mark.settings(sms_budget_enabled=1, sms_budget_per_hour=3)
def test_the_global_sms_budget(api: Api, member_factory, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(1)  # registration sent one SMS
    sent = len(outbox.sms())
    assert recover(api, member.who.phone).status == 202
    assert recover(api, "081377770000").status == 202
    answer = recover(api, member.who.phone)
    assert answer.status == 429 and answer.code == "rate_limited"
    assert len(outbox.sms()) == sent + 1  # nothing past the budget
    assert api.post("/v1/password-resets", {"email": member.who.email}).status == 202  # email is not SMS


def test_sms_to_one_number_is_capped_per_day(api: Api, member_factory, outbox: Outbox, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(2)  # one SMS at registration: another journey's, not counted here
    for _ in range(10):
        assert recover(api, member.who.phone).status == 202
        clock.advance(1)
    capped = recover(api, member.who.phone)
    assert capped.code == "rate_limited" and capped.headers["retry-after"] == "86400"
    assert len(outbox.sms(member.who.phone_e164)) == 11
