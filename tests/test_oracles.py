"""No account oracle: a stranger's answers, limits and work are the same whether or not
an email, KPJ or NIK has an account (issue 9)."""

from __future__ import annotations

from typing import Any

import pytest

from local.metrics import count_calls
from tests.conftest import Api, FakeClock, Journey, Member, Outbox, person
from tests.test_feedback import BOUNCE, deliver_notification

WRONG_PASSWORD = {"password": "Salah-Sekali-1"}
WRONG_PIN = {"pin": "580147"}


def _seen(answer: Any) -> tuple[int, str | None, Any, str | None]:
    """What a stranger sees of a sign-in answer: status, code, details, Retry-After."""
    details = answer.body["error"].get("details") if answer.code else None
    return answer.status, answer.code, details, answer.headers.get("retry-after")


def _lifecycle(api: Api, clock: FakeClock, login: str, secret: dict[str, str], tries: int) -> list[Any]:
    """``tries`` wrong secrets, waiting out every lock, twice over (so locks double)."""
    seen = []
    for _ in range(2):
        for _ in range(tries):
            answer = api.post("/v1/sessions", {"login": login, **secret})
            seen.append(_seen(answer))
        retry = seen[-1][2].get("retry_after") if seen[-1][2] else None
        clock.advance(retry or 0)
    return seen


@pytest.mark.parametrize("secret", [WRONG_PASSWORD, WRONG_PIN], ids=["password", "pin"])
@pytest.mark.parametrize("by", ["email", "kpj"])
def test_unknown_login_goes_through_the_same_lockout_as_a_real_one(
    api: Api, member: Member, clock: FakeClock, by: str, secret: dict[str, str]
) -> None:
    known = member.who.email if by == "email" else member.who.kpj
    unknown = "orang.asing@example.com" if by == "email" else "99999999999"
    real = _lifecycle(api, clock, known, secret, 6)
    stranger = _lifecycle(api, clock, unknown, secret, 6)
    assert real == stranger
    statuses = [s[0] for s in real]
    assert statuses[:5] == [401, 401, 401, 401, 423] and real[4][2]["retry_after"] == 900
    assert real[10][2]["retry_after"] == 1800  # the second lock doubles, for both


def test_ten_wrong_pins_disable_an_unknown_login_too(api: Api, member: Member, clock: FakeClock) -> None:
    def run(login: str) -> list[Any]:
        seen = []
        for _ in range(12):
            answer = api.post("/v1/sessions", {"login": login, **WRONG_PIN})
            seen.append(_seen(answer))
            if answer.status == 423 and "retry_after" in answer.body["error"]["details"]:
                clock.advance(answer.body["error"]["details"]["retry_after"])
        return seen

    real, stranger = run(member.who.kpj), run("98765432109")
    assert real == stranger
    assert real[-1][2] == {"reason": "pin_disabled"}


@pytest.mark.parametrize("secret", [WRONG_PASSWORD, WRONG_PIN], ids=["password", "pin"])
def test_unknown_and_known_logins_cost_the_same_calls(api: Api, member: Member, deps: Any, secret: dict) -> None:
    hashed: list[object] = []
    real_verify = deps.hasher.verify
    deps.hasher.verify = lambda stored, text: hashed.append(1) or real_verify(stored, text)
    calls = {}
    for name, login in (("known", member.who.email), ("unknown", "nobody@example.com"), ("kpj", "99999999999")):
        with count_calls() as counter:
            api.post("/v1/sessions", {"login": login, **secret})
        calls[name] = counter.calls
    assert calls["known"] == calls["unknown"] == calls["kpj"]
    assert hashed == [1, 1, 1]  # one argon2 check each


def test_the_guard_of_an_unknown_login_holds_no_login(api: Api, deps: Any) -> None:
    from chalicelib.storage.models import CounterModel

    api.post("/v1/sessions", {"login": "rahasia.sekali@example.com", **WRONG_PASSWORD})
    items = [item.attribute_values for item in CounterModel.scan()]
    guards = [i for i in items if i["counter_key"].startswith("login#")]
    assert len(guards) == 1 and guards[0]["failed_logins"] == 1
    assert "rahasia" not in repr(items)


# --- delivery state -----------------------------------------------------------------------


def test_a_suppressed_members_reset_looks_like_an_unknown_address(
    api: Api, outbox: Outbox, member_factory: Any
) -> None:
    jane = member_factory(7, email="jane@example.com")
    deliver_notification(api, BOUNCE)  # jane@example.com bounced
    before, to_jane = len(outbox.emails()), len(outbox.emails(jane.who.email))
    member_reset = api.post("/v1/password-resets", {"email": jane.who.email})
    stranger_reset = api.post("/v1/password-resets", {"email": "nobody@example.com"})
    assert member_reset.status == stranger_reset.status == 202
    assert member_reset.body["challenge"]["delivery"] == stranger_reset.body["challenge"]["delivery"] == "sent"
    assert len(outbox.emails(jane.who.email)) == to_jane  # nothing more to the bouncing mailbox
    new = outbox.emails()[before:]
    assert [m.destinations["ToAddresses"] for m in new] == [["success@simulator.amazonses.com"]] * 2


def test_signing_up_with_a_suppressed_address_tells_nothing(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    deliver_notification(api, BOUNCE)
    answer = api.post("/v1/registrations", {"email": "jane@example.com"})
    fresh = api.post("/v1/registrations", {"email": "fresh@example.com"})
    assert answer.body["challenge"]["delivery"] == fresh.body["challenge"]["delivery"] == "sent"
    clock.advance(60)
    resent = api.post(f"/v1/registrations/{answer.body['flow_id']}/email/resend")
    assert resent.body["challenge"]["delivery"] == "sent"
    assert outbox.emails("jane@example.com") == []


def test_a_proven_member_is_still_offered_the_other_channel(api: Api, member: Member, outbox: Outbox) -> None:
    """Forgot PIN (the person proved name, NIK and birth date) still reports suppression."""
    from chalicelib.challenges.destinations import destination_key
    from chalicelib.storage.models import SuppressionModel

    deps = __import__("chalicelib.deps", fromlist=["get_deps"]).get_deps()
    SuppressionModel(destination_key(deps, "email", member.who.email), reason="bounce", created_at=0).save()
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date})
    sent = api.post(f"/v1/pin-resets/{flow.body['flow_id']}/send", {"channel": "email"})
    assert sent.status == 200 and sent.body["challenge"]["delivery"] == "suppressed"


# --- the profile step ---------------------------------------------------------------------


def test_profile_submissions_per_flow_are_bounded(api: Api, journey: Journey) -> None:
    who = person(40)
    flow = journey.to_profile(who)
    answers = []
    for n in range(6):
        probe = {**who.profile(), "nik": f"31740117059{n + 10:05d}", "kpj": f"{55500000000 + n:011d}"}
        answers.append(api.put(f"/v1/registrations/{flow}/profile", probe))
    assert [a.status for a in answers] == [200] * 5 + [429]
    assert answers[-1].code == "rate_limited" and "retry-after" in answers[-1].headers


def test_a_nik_probed_across_flows_is_limited_the_same_whether_registered_or_not(
    api: Api, journey: Journey, member: Member, clock: FakeClock
) -> None:
    clock.advance(3601)  # the member's own sign-up an hour ago no longer counts

    def probe(nik: str, base: int) -> list[tuple[int, str | None]]:
        seen = []
        for n in range(6):
            who = person(base + n)
            flow = journey.to_profile(who)
            answer = api.put(f"/v1/registrations/{flow}/profile", {**who.profile(), "nik": nik})
            seen.append((answer.status, answer.code))
        return seen

    registered = probe(member.who.nik, 50)
    unregistered = probe("3174011705907777", 60)
    assert [s for s, _ in registered] == [409] * 5 + [429]
    assert [s for s, _ in unregistered] == [200] * 5 + [429]
    assert registered[-1] == unregistered[-1] == (429, "rate_limited")


# --- send caps ----------------------------------------------------------------------------


@pytest.mark.settings(max_sends_per_destination=2, resend_cooldown=0)
def test_another_journeys_sends_do_not_show_in_a_strangers_limit(api: Api, member: Member, clock: FakeClock) -> None:
    """The member's own registration emails do not make a stranger's reset hit the cap sooner."""
    for _ in range(2):
        assert api.post("/v1/password-resets", {"email": member.who.email}).status == 202
        assert api.post("/v1/password-resets", {"email": "nobody@example.com"}).status == 202
    capped = api.post("/v1/password-resets", {"email": member.who.email})
    unknown = api.post("/v1/password-resets", {"email": "nobody@example.com"})
    assert capped.status == unknown.status == 429
    assert capped.headers["retry-after"] == unknown.headers["retry-after"] == "86400"
