"""Changing phone and email with a code sent to the new destination."""

from __future__ import annotations

import pytest

from tests.actions import start_contact_change as start
from tests.actions import verify_contact_change as verify
from tests.conftest import Api, Journey, Member, Outbox, person


def test_phone_change_frees_the_old_number_at_once(api: Api, member: Member, outbox: Outbox, journey: Journey) -> None:
    started = start(api, member, "phone", "0813-1111-2222")
    assert started.status == 201
    flow = started.body
    assert flow["type"] == "phone_change" and flow["state"] == "code_verification"
    assert flow["challenge"]["channel"] == "sms" and flow["challenge"]["destination"] == "+62813*****222"
    done = verify(api, member, "phone", flow["flow_id"], outbox.sms_code("+6281311112222"))
    assert done.status == 200 and done.body["state"] == "completed" and "challenge" not in done.body
    assert api.get("/v1/me", headers=member.auth()).body["phone"] == "+6281311112222"
    assert "diganti" in outbox.emails(member.who.email)[-1].subject  # the owner is told
    newcomer = person(50, phone=member.who.phone, phone_e164=member.who.phone_e164)
    journey.to_phone_verification(newcomer)  # the old number registers again


def test_a_taken_or_unchanged_phone_is_refused(api: Api, member_factory, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    me, other = member_factory(1), member_factory(2)
    before = outbox.count()
    taken = start(api, me, "phone", other.who.phone)
    assert taken.status == 409 and taken.code == "phone_registered"
    same = start(api, me, "phone", me.who.phone)
    assert same.status == 422 and same.body["error"]["details"]["fields"]["phone"] == ["unchanged"]
    assert outbox.count() == before


def test_email_change_notifies_the_old_address_and_frees_it(api: Api, member: Member, outbox: Outbox) -> None:
    flow = start(api, member, "email", "baru@example.com").body
    assert flow["type"] == "email_change" and flow["challenge"]["destination"] == "ba***u@e***e.com"
    done = verify(api, member, "email", flow["flow_id"], outbox.email_code("baru@example.com"))
    assert done.status == 200 and done.body["state"] == "completed"
    assert api.get("/v1/me", headers=member.auth()).body["email"] == "baru@example.com"
    notice = outbox.emails(member.who.email)[-1]
    assert "diganti" in notice.subject and "ba***u@e***e.com" in notice.body
    assert api.post("/v1/sessions", {"login": "baru@example.com", "password": member.who.password}).status == 201
    api.post("/v1/registrations", {"email": member.who.email})
    outbox.email_code(member.who.email)  # the old address now gets a code, not a notice


def test_a_taken_email_gets_the_same_answer_and_never_verifies(api: Api, member_factory, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    me, other = member_factory(3), member_factory(4)
    free = start(api, me, "email", "bebas@example.com")
    taken = start(api, me, "email", other.who.email)
    assert taken.status == free.status == 201
    assert set(taken.body) == set(free.body) and set(taken.body["challenge"]) == set(free.body["challenge"])
    assert "sudah memiliki akun" in outbox.emails(other.who.email)[-1].subject
    for guess in ("123456", "000000"):
        assert verify(api, me, "email", taken.body["flow_id"], guess).code == "invalid_code"
    assert api.get("/v1/me", headers=me.auth()).body["email"] == me.who.email


def test_someone_elses_flow_is_not_found(api: Api, member_factory, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    me, other = member_factory(5), member_factory(6)
    flow = start(api, me, "phone", "081377776666").body
    answer = verify(api, other, "phone", flow["flow_id"], outbox.sms_code("+6281377776666"))
    assert answer.status == 404 and answer.code == "not_found"
    assert verify(api, me, "phone", flow["flow_id"], outbox.sms_code("+6281377776666")).status == 200


def test_wrong_code_and_flow_type(api: Api, member: Member, outbox: Outbox) -> None:
    flow = start(api, member, "phone", "081377776666").body
    code = outbox.sms_code("+6281377776666")
    wrong = verify(api, member, "phone", flow["flow_id"], "000000" if code != "000000" else "111111")
    assert wrong.status == 422 and wrong.body["error"]["details"]["attempts_remaining"] == 4
    assert verify(api, member, "email", flow["flow_id"], code).status == 404  # a phone flow on the email route


def test_number_taken_between_start_and_verify(api: Api, member: Member, outbox: Outbox, journey: Journey) -> None:
    flow = start(api, member, "phone", "081355554444").body
    code = outbox.sms_code("+6281355554444")
    journey.register(person(60, phone="081355554444", phone_e164="+6281355554444"))
    answer = verify(api, member, "phone", flow["flow_id"], code)
    assert answer.status == 409 and answer.code == "phone_registered"
    assert api.get("/v1/me", headers=member.auth()).body["phone"] == member.who.phone_e164


@pytest.mark.parametrize("kind", ["phone", "email"])
def test_change_needs_a_session(api: Api, kind: str) -> None:
    answer = api.post(f"/v1/me/{kind}", {kind: "081311112222" if kind == "phone" else "a@example.com"})
    assert answer.status == 401 and answer.code == "unauthenticated"
