"""Registration through the routes: every step, every error a step can give."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import aws
from tests.conftest import REGION, Api, FakeClock, Journey, Outbox, person

BASE = "/v1/registrations"


def flow_path(flow_id: str, step: str = "") -> str:
    return f"{BASE}/{flow_id}/{step}".rstrip("/")


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


# --- start ----------------------------------------------------------------------------


def test_start_sends_a_code_and_answers_the_flow(api: Api, outbox: Outbox) -> None:
    answer = api.post(BASE, {"email": "Siti.Aminah@Example.com"})
    assert answer.status == 201
    flow = answer.body
    assert flow["type"] == "registration" and flow["state"] == "email_verification"
    assert len(flow["flow_id"]) >= 22  # at least 128 random bits, URL-safe
    challenge = flow["challenge"]
    assert challenge["channel"] == "email"
    assert challenge["destination"] == "Si***h@e***e.com"
    assert challenge["attempts_remaining"] == 5 and challenge["delivery"] == "sent"
    assert challenge["expires_at"] and challenge["resend_available_at"]
    email = outbox.emails("Siti.Aminah@example.com")[-1]
    assert email.subject.startswith(email.body[:6])  # the code comes first
    assert "5 menit" in email.body and "JANGAN" in email.body


def test_start_in_english_sends_english(api: Api, outbox: Outbox) -> None:
    api.post(BASE, {"email": "a@example.com"}, lang="en-US,en;q=0.9")
    assert "verification code" in outbox.emails("a@example.com")[-1].subject


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "required"),
        ({"email": ""}, "required"),
        ({"email": "not-an-email"}, "invalid_email"),
        ({"email": "a@b"}, "invalid_email"),
        ({"email": 42}, "invalid_type"),
    ],
)
def test_start_refuses_a_bad_email_and_sends_nothing(api: Api, outbox: Outbox, body: dict, reason: str) -> None:
    answer = api.post(BASE, body)
    assert answer.status == 422 and answer.code == "validation_error"
    assert answer.body["error"]["details"]["fields"]["email"] == [reason]
    assert outbox.count() == 0


def test_registered_email_gets_the_same_answer_and_a_notice(journey: Journey, api: Api, outbox: Outbox) -> None:
    who = person(1)
    journey.register(who)
    fresh = api.post(BASE, {"email": "new.person@example.com"})
    known = api.post(BASE, {"email": who.email.upper()})
    assert known.status == fresh.status == 201
    assert set(known.body) == set(fresh.body)
    assert set(known.body["challenge"]) == set(fresh.body["challenge"])
    assert known.body["challenge"]["attempts_remaining"] == fresh.body["challenge"]["attempts_remaining"]
    notice = outbox.emails(who.email.upper().replace("EXAMPLE.COM", "example.com"))[-1]
    assert "sudah memiliki akun" in notice.subject
    assert not any(ch.isdigit() for ch in notice.subject)  # no code in it


def test_no_code_ever_verifies_for_a_registered_email(journey: Journey, api: Api, outbox: Outbox) -> None:
    who = person(2)
    journey.register(who)
    flow_id = api.post(BASE, {"email": who.email}).body["flow_id"]
    # the code sent to the account's own flow earlier is of no use either
    for guess in ["123456", "000000", "999999", "654321"]:
        answer = api.post(flow_path(flow_id, "email/verify"), {"code": guess})
        assert answer.code == "invalid_code"
    assert api.get(flow_path(flow_id)).body["state"] == "email_verification"


# --- get -------------------------------------------------------------------------------


def test_get_returns_the_same_flow(api: Api) -> None:
    started = api.post(BASE, {"email": "a@example.com"}).body
    assert api.get(flow_path(started["flow_id"])).body == started


@pytest.mark.parametrize("flow_id", ["nope", "A" * 32])
def test_unknown_flow_is_not_found(api: Api, flow_id: str) -> None:
    answer = api.get(flow_path(flow_id))
    assert answer.status == 404 and answer.code == "not_found"


def test_flow_expires_an_hour_after_its_last_step(api: Api, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    clock.advance(3599)
    assert api.get(flow_path(flow_id)).status == 200
    clock.advance(2)
    answer = api.get(flow_path(flow_id))
    assert answer.status == 410 and answer.code == "flow_expired"
    assert api.post(flow_path(flow_id, "email/verify"), {"code": "123456"}).code == "flow_expired"


# --- email verification ---------------------------------------------------------------


def test_right_code_moves_to_profile_and_cannot_be_used_again(api: Api, outbox: Outbox) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    code = outbox.email_code("a@example.com")
    answer = api.post(flow_path(flow_id, "email/verify"), {"code": code})
    assert answer.status == 200 and answer.body["state"] == "profile"
    assert "challenge" not in answer.body
    again = api.post(flow_path(flow_id, "email/verify"), {"code": code})
    assert again.status == 409 and again.code == "wrong_state"
    assert again.body["error"]["details"]["state"] == "profile"


def test_wrong_codes_count_down_then_lock(api: Api, outbox: Outbox) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    code = outbox.email_code("a@example.com")
    remaining = []
    for _ in range(4):
        answer = api.post(flow_path(flow_id, "email/verify"), {"code": wrong(code)})
        assert answer.status == 422 and answer.code == "invalid_code"
        remaining.append(answer.body["error"]["details"]["attempts_remaining"])
    assert remaining == [4, 3, 2, 1]
    fifth = api.post(flow_path(flow_id, "email/verify"), {"code": wrong(code)})
    assert fifth.status == 423 and fifth.code == "code_locked"
    right_too_late = api.post(flow_path(flow_id, "email/verify"), {"code": code})
    assert right_too_late.status == 423 and right_too_late.code == "code_locked"
    assert api.get(flow_path(flow_id)).body["challenge"]["attempts_remaining"] == 0


def test_expired_code_is_refused_and_a_resend_works(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    code = outbox.email_code("a@example.com")
    clock.advance(301)
    answer = api.post(flow_path(flow_id, "email/verify"), {"code": code})
    assert answer.status == 410 and answer.code == "code_expired"
    assert api.post(flow_path(flow_id, "email/resend")).status == 200
    fresh = outbox.email_code("a@example.com")
    assert api.post(flow_path(flow_id, "email/verify"), {"code": fresh}).body["state"] == "profile"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", None, 123456])
def test_malformed_code_is_a_field_error_and_costs_no_attempt(api: Api, code: object) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    answer = api.post(flow_path(flow_id, "email/verify"), {"code": code})
    assert answer.status == 422 and answer.code == "validation_error"
    assert "code" in answer.body["error"]["details"]["fields"]
    assert api.get(flow_path(flow_id)).body["challenge"]["attempts_remaining"] == 5


# --- resend -----------------------------------------------------------------------------


def test_resend_waits_for_the_cooldown(api: Api, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    clock.advance(20)
    answer = api.post(flow_path(flow_id, "email/resend"))
    assert answer.status == 429 and answer.code == "resend_too_soon"
    assert answer.headers["retry-after"] == "40"
    assert answer.body["error"]["details"]["retry_after"] == 40


def test_resend_replaces_the_code_and_the_old_one_stops_working(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    old = outbox.email_code("a@example.com")
    api.post(flow_path(flow_id, "email/verify"), {"code": wrong(old)})
    clock.advance(60)
    answer = api.post(flow_path(flow_id, "email/resend"))
    assert answer.status == 200 and answer.body["challenge"]["attempts_remaining"] == 5
    new = outbox.email_code("a@example.com")
    if new != old:
        assert api.post(flow_path(flow_id, "email/verify"), {"code": old}).code == "invalid_code"
    assert api.post(flow_path(flow_id, "email/verify"), {"code": new}).body["state"] == "profile"


def test_at_most_five_sends_per_flow(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    for _ in range(4):
        clock.advance(60)
        assert api.post(flow_path(flow_id, "email/resend")).status == 200
    clock.advance(60)
    answer = api.post(flow_path(flow_id, "email/resend"))
    assert answer.status == 429 and answer.code == "rate_limited" and int(answer.headers["retry-after"]) > 0
    assert len(outbox.emails("a@example.com")) == 5


def test_at_most_ten_sends_per_destination_per_day(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    for _ in range(10):
        assert api.post(BASE, {"email": "a@example.com"}).status == 201
        clock.advance(60)
    answer = api.post(BASE, {"email": "a@example.com"})
    assert answer.status == 429 and answer.code == "rate_limited"
    # the answer names the whole window (not when another send leaves it); the window rolls
    assert answer.headers["retry-after"] == "86400"
    assert len(outbox.emails("a@example.com")) == 10
    assert api.post(BASE, {"email": "other@example.com"}).status == 201
    clock.advance(86400 - 599)
    assert api.post(BASE, {"email": "a@example.com"}).status == 201


def test_resend_in_the_wrong_state_is_refused(journey: Journey, api: Api) -> None:
    flow_id = journey.to_profile(person(3))
    answer = api.post(flow_path(flow_id, "email/resend"))
    assert answer.status == 409 and answer.body["error"]["details"]["state"] == "profile"


# --- profile ----------------------------------------------------------------------------


def test_profile_moves_to_phone(journey: Journey, api: Api) -> None:
    who = person(4)
    flow_id = journey.to_profile(who)
    answer = api.put(flow_path(flow_id, "profile"), {**who.profile(), "is_admin": True})
    assert answer.status == 200 and answer.body["state"] == "phone"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"membership_type": "VIP"}, "membership_type", "invalid_membership_type"),
        ({"full_name": "B"}, "full_name", "invalid_name"),
        ({"full_name": "Budi 2"}, "full_name", "invalid_name"),
        ({"birth_date": "17-05-1990"}, "birth_date", "invalid_date"),
        ({"birth_date": "1990-02-30"}, "birth_date", "invalid_date"),
        ({"nik": "317401170590000"}, "nik", "invalid_nik"),
        ({"nik": "3174013205900001"}, "nik", "invalid_nik"),
        ({"nik": "3174011805900001"}, "nik", "birth_date_mismatch"),
        ({"kpj": "1234567890"}, "kpj", "invalid_kpj"),
        ({"kpj": "1234567890a"}, "kpj", "invalid_kpj"),
        ({"kpj": None}, "kpj", "required"),
    ],
)
def test_profile_field_errors_change_nothing(journey: Journey, api: Api, change: dict, field: str, reason: str) -> None:
    who = person(5)
    flow_id = journey.to_profile(who)
    answer = api.put(flow_path(flow_id, "profile"), {**who.profile(), **change})
    assert answer.status == 422 and answer.code == "validation_error"
    assert reason in answer.body["error"]["details"]["fields"][field]
    assert api.get(flow_path(flow_id)).body["state"] == "profile"


def test_profile_of_a_woman_has_day_plus_40(journey: Journey, api: Api) -> None:
    who = person(6, full_name="Siti Aminah", birth_date="1992-03-09", nik="3275014903920002")
    flow_id = journey.to_profile(who)
    assert api.put(flow_path(flow_id, "profile"), who.profile()).body["state"] == "phone"


def test_registered_nik_and_kpj_are_refused(journey: Journey, api: Api) -> None:
    first = person(7)
    journey.register(first)
    second = person(8)
    flow_id = journey.to_profile(second)
    nik_taken = api.put(flow_path(flow_id, "profile"), {**second.profile(), "nik": first.nik})
    assert nik_taken.status == 409 and nik_taken.code == "nik_registered"
    assert "call center" in nik_taken.body["error"]["message"]
    kpj_taken = api.put(flow_path(flow_id, "profile"), {**second.profile(), "kpj": first.kpj})
    assert kpj_taken.status == 409 and kpj_taken.code == "kpj_registered"
    assert api.get(flow_path(flow_id)).body["state"] == "profile"


def test_profile_before_email_is_verified_is_out_of_order(api: Api) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    answer = api.put(flow_path(flow_id, "profile"), person().profile())
    assert answer.status == 409 and answer.code == "wrong_state"
    assert answer.body["error"]["details"]["state"] == "email_verification"


# --- phone ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["081234567890", "6281234567890", "+62 812-3456-7890", "81234567890"])
def test_phone_in_any_common_form_gets_an_sms(journey: Journey, api: Api, outbox: Outbox, form: str) -> None:
    flow_id = journey.to_phone(person(9))
    answer = api.post(flow_path(flow_id, "phone"), {"phone": form})
    assert answer.status == 200 and answer.body["state"] == "phone_verification"
    assert answer.body["challenge"]["channel"] == "sms"
    assert answer.body["challenge"]["destination"] == "+62812*****890"
    text = outbox.sms("+6281234567890")[-1][1]
    assert "5 menit" in text and "JANGAN" in text


@pytest.mark.parametrize("phone", ["0211234567", "+6591234567", "12345", "08123", "phone"])
def test_non_mobile_or_foreign_numbers_are_refused(journey: Journey, api: Api, outbox: Outbox, phone: str) -> None:
    flow_id = journey.to_phone(person(10))
    before = outbox.count()
    answer = api.post(flow_path(flow_id, "phone"), {"phone": phone})
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["phone"] == ["invalid_phone"]
    assert outbox.count() == before


def test_registered_phone_is_refused(journey: Journey, api: Api, outbox: Outbox) -> None:
    first = person(11)
    journey.register(first)
    flow_id = journey.to_phone(person(12))
    before = outbox.count()
    answer = api.post(flow_path(flow_id, "phone"), {"phone": first.phone})
    assert answer.status == 409 and answer.code == "phone_registered"
    assert outbox.count() == before


def test_phone_code_verifies_and_resend_works(journey: Journey, api: Api, outbox: Outbox, clock: FakeClock) -> None:
    who = person(13)
    flow_id = journey.to_phone_verification(who)
    wrong_answer = api.post(flow_path(flow_id, "phone/verify"), {"code": wrong(outbox.sms_code(who.phone_e164))})
    assert wrong_answer.code == "invalid_code"
    assert api.post(flow_path(flow_id, "phone/resend")).code == "resend_too_soon"
    clock.advance(61)
    assert api.post(flow_path(flow_id, "phone/resend")).status == 200
    answer = api.post(flow_path(flow_id, "phone/verify"), {"code": outbox.sms_code(who.phone_e164)})
    assert answer.status == 200 and answer.body["state"] == "password"


def test_a_mistyped_number_can_be_replaced_under_the_resend_rules(
    journey: Journey, api: Api, outbox: Outbox, clock: FakeClock
) -> None:
    who = person(14)
    flow_id = journey.to_phone_verification(who)
    assert api.post(flow_path(flow_id, "phone"), {"phone": "081399998888"}).code == "resend_too_soon"
    clock.advance(60)
    answer = api.post(flow_path(flow_id, "phone"), {"phone": "081399998888"})
    assert answer.status == 200 and answer.body["challenge"]["destination"] == "+62813*****888"
    code = outbox.sms_code("+6281399998888")
    assert api.post(flow_path(flow_id, "phone/verify"), {"code": code}).body["state"] == "password"


# --- complete ---------------------------------------------------------------------------


def test_complete_creates_the_account_and_signs_in(journey: Journey, api: Api) -> None:
    who = person(15)
    flow_id = journey.to_password(who)
    answer = api.post(flow_path(flow_id, "complete"), {"password": who.password, "password_confirmation": who.password})
    assert answer.status == 201
    account = answer.body["account"]
    assert account["email"] == who.email and account["phone"] == who.phone_e164
    assert account["nik_masked"] == "3174**********16" and who.nik not in str(answer.body)
    assert account["pin_set"] is False and account["membership_type"] == "PU"
    session = answer.body["session"]
    assert session["token_type"] == "Bearer" and session["expires_in"] == 900 and session["refresh_token"]
    me = api.get("/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.status == 200 and me.body["account_id"] == account["account_id"]
    assert api.get(flow_path(flow_id)).body["state"] == "completed"
    again = api.post(flow_path(flow_id, "complete"), {"password": who.password, "password_confirmation": who.password})
    assert again.status == 409 and again.code == "wrong_state"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Kort1", "too_short"),
        ("x" * 120 + "Abcdefg1x", "too_long"),
        ("Password123", "breached"),
        ("iloveyou2", "breached"),
        ("PASSWORD123", "breached"),
        ("BudiSantoso1", "contains_personal_data"),
        ("Pekerja16x", "contains_personal_data"),
        ("Nik3174011705900017a", "contains_personal_data"),
    ],
)
def test_weak_passwords_are_refused(journey: Journey, api: Api, password: str, reason: str) -> None:
    who = person(16)
    flow_id = journey.to_password(who)
    answer = api.post(flow_path(flow_id, "complete"), {"password": password, "password_confirmation": password})
    assert answer.status == 422 and answer.code == "validation_error"
    assert reason in answer.body["error"]["details"]["fields"]["password"]
    assert api.get(flow_path(flow_id)).body["state"] == "password"


@pytest.mark.parametrize(
    "password",
    ["semua huruf kecil", "SEMUABESAR", "tanpaangkasamasekali", "kopi susu gula aren di pagi hari", "Budi2024!x"],
)
def test_any_long_enough_password_that_is_not_breached_is_taken(journey: Journey, api: Api, password: str) -> None:
    """No composition rules (ASVS 5.0 6.2.5): a phrase in Bahasa without capitals or digits is a fine password."""
    who = person(18)
    flow_id = journey.to_password(who)
    answer = api.post(flow_path(flow_id, "complete"), {"password": password, "password_confirmation": password})
    assert answer.status == 201, answer.body
    assert api.post("/v1/sessions", {"login": who.email, "password": password}).status == 201


def test_confirmation_must_match(journey: Journey, api: Api) -> None:
    who = person(17)
    flow_id = journey.to_password(who)
    answer = api.post(flow_path(flow_id, "complete"), {"password": who.password, "password_confirmation": "Lain-9xx"})
    assert answer.status == 422 and answer.code == "password_mismatch"


def test_complete_before_phone_is_verified_is_out_of_order(journey: Journey, api: Api) -> None:
    who = person(18)
    flow_id = journey.to_phone_verification(who)
    answer = api.post(flow_path(flow_id, "complete"), {"password": who.password, "password_confirmation": who.password})
    assert answer.status == 409 and answer.body["error"]["details"]["state"] == "phone_verification"


def test_two_flows_for_one_nik_give_one_account(journey: Journey, api: Api) -> None:
    first, second = person(19), person(20, nik=person(19).nik)
    a = journey.to_password(first)
    b = journey.to_password(second)
    body = {"password": first.password, "password_confirmation": first.password}
    assert api.post(flow_path(a, "complete"), body).status == 201
    answer = api.post(flow_path(b, "complete"), body)
    assert answer.status == 409 and answer.code == "nik_registered"


def test_email_registered_by_a_parallel_flow_is_explained(journey: Journey, api: Api) -> None:
    who = person(21)
    a = journey.to_password(who)
    b = journey.to_password(person(22, email=who.email, nik="3174011705900003"))
    body = {"password": who.password, "password_confirmation": who.password}
    assert api.post(flow_path(a, "complete"), body).status == 201
    answer = api.post(flow_path(b, "complete"), body)
    assert answer.status == 409 and answer.code == "wrong_state"
    assert "sudah memiliki akun" in answer.body["error"]["message"]


# --- delivery failures: a clean 503, nothing consumed -------------------------------------


def _failing(service: str, operation: str, code: str) -> Stubber:
    client = boto3.client(service, region_name=REGION)
    stubber = Stubber(client)
    for _ in range(5):
        stubber.add_client_error(operation, service_error_code=code, http_status_code=500)
    stubber.activate()
    aws._clients[f"{service}@{REGION}"] = client
    return stubber


def test_ses_failure_on_start_creates_no_flow_and_counts_no_send(api: Api, outbox: Outbox) -> None:
    _failing("ses", "send_email", "ServiceUnavailable")
    answer = api.post(BASE, {"email": "a@example.com"})
    assert answer.status == 503 and answer.code == "delivery_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    aws.reset_clients()
    # ten more sends to the address are still allowed: the failed one was not counted
    for _ in range(10):
        assert api.post(BASE, {"email": "a@example.com"}).status == 201


def test_sns_failure_keeps_the_flow_where_it_was(journey: Journey, api: Api, outbox: Outbox) -> None:
    who = person(23)
    flow_id = journey.to_phone(who)
    _failing("sns", "publish", "InternalError")
    answer = api.post(flow_path(flow_id, "phone"), {"phone": who.phone})
    assert answer.status == 503 and answer.code == "delivery_unavailable"
    flow = api.get(flow_path(flow_id)).body
    assert flow["state"] == "phone" and "challenge" not in flow
    aws.reset_clients()
    assert api.post(flow_path(flow_id, "phone"), {"phone": who.phone}).status == 200  # no cooldown consumed


def test_failed_resend_keeps_the_old_code_working(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    flow_id = api.post(BASE, {"email": "a@example.com"}).body["flow_id"]
    code = outbox.email_code("a@example.com")
    clock.advance(60)
    _failing("ses", "send_email", "Throttling")
    assert api.post(flow_path(flow_id, "email/resend")).code == "delivery_unavailable"
    aws.reset_clients()
    flow = api.get(flow_path(flow_id)).body
    assert flow["challenge"]["attempts_remaining"] == 5
    assert api.post(flow_path(flow_id, "email/verify"), {"code": code}).body["state"] == "profile"
