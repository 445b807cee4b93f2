"""Attack paths that needed no correct secret (issue 10): each test failed before the fix."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.storage.models import AccountModel
from tests.actions import forgot_pin_to_new_pin
from tests.conftest import Api, FakeClock, Journey, Member, Outbox, code_in, person

WRONG = "Salah-Sekali-1"


def _failed(account_id: str) -> int:
    return int(AccountModel.get(account_id, consistent_read=True).failed_logins or 0)


# --- 1. a stolen access token learns nothing and counts toward the lock ------------------------


def test_pin_change_checks_the_password_before_comparing_the_pin(api: Api, member: Member) -> None:
    body = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    assert api.put("/v1/me/pin", body, headers=member.auth()).status == 204
    guesses = [
        {"pin": "258036", "pin_confirmation": "258036", "password": WRONG},  # the current PIN
        {"pin": "111111", "pin_confirmation": "111111", "password": WRONG},  # a rule breaker
        {"pin": "369147", "pin_confirmation": "000000", "password": WRONG},  # a mismatch
    ]
    answers = [api.put("/v1/me/pin", g, headers=member.auth()) for g in guesses]
    assert {(a.status, a.code) for a in answers} == {(401, "invalid_credentials")}
    assert _failed(member.account_id) == 3


def test_password_change_checks_the_current_password_before_the_nik_rule(api: Api, member: Member) -> None:
    with_nik = f"Kuat{member.who.nik}x"
    answers = [
        api.put("/v1/me/password", body, headers=member.auth())
        for body in (
            {"current_password": WRONG, "password": with_nik, "password_confirmation": with_nik},
            {"current_password": WRONG, "password": "Baru-Kuat-77", "password_confirmation": "Lain-77"},
        )
    ]
    assert {(a.status, a.code) for a in answers} == {(401, "invalid_credentials")}
    more = [
        api.put("/v1/me/password", {"current_password": WRONG, "password": "x"}, headers=member.auth())
        for _ in range(3)
    ]
    assert [a.status for a in more] == [401, 401, 423]  # the fifth wrong password locks the account
    right_but_locked = api.put(
        "/v1/me/password",
        {"current_password": member.who.password, "password": with_nik, "password_confirmation": with_nik},
        headers=member.auth(),
    )
    assert right_but_locked.status == 423


def test_a_right_password_with_a_bad_new_value_settles_the_check(api: Api, member: Member) -> None:
    body = {"pin": "111111", "pin_confirmation": "111111", "password": member.who.password}
    answer = api.put("/v1/me/pin", body, headers=member.auth())
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["pin"] == ["repeated_digits"]
    assert _failed(member.account_id) == 0


# --- 2. contact changes need the password -------------------------------------------------


@pytest.mark.parametrize(("path", "value"), [("/v1/me/email", "baru@example.com"), ("/v1/me/phone", "081399990000")])
def test_contact_change_needs_the_password(api: Api, member: Member, outbox: Outbox, path: str, value: str) -> None:
    field = path.rsplit("/", 1)[1]
    missing = api.post(path, {field: value}, headers=member.auth())
    assert missing.status == 422 and "password" in missing.body["error"]["details"]["fields"]
    wrong = api.post(path, {field: value, "password": WRONG}, headers=member.auth())
    assert wrong.status == 401 and wrong.code == "invalid_credentials"
    sent_before = outbox.count()
    taken = api.post(path, {field: "not valid", "password": WRONG}, headers=member.auth())
    assert taken.status == 401  # the value is not judged before the password
    assert outbox.count() == sent_before
    right = api.post(path, {field: value, "password": member.who.password}, headers=member.auth())
    assert right.status == 201 and _failed(member.account_id) == 0


def test_phone_ownership_is_not_told_to_a_token_without_the_password(
    api: Api, member_factory: Any, outbox: Outbox
) -> None:
    owner, thief = member_factory(20), member_factory(21)
    answer = api.post("/v1/me/phone", {"phone": owner.who.phone, "password": WRONG}, headers=thief.auth())
    assert answer.status == 401 and answer.code == "invalid_credentials"


# --- 3. a pending reset dies with a contact change ----------------------------------------


def _admin_contact(api: Api, token: str, account_id: str, body: dict[str, Any]) -> Any:
    """An agent's request, approved by a supervisor (four eyes): the approval's answer."""
    from tests.conftest import staff_token_for

    headers = {"Authorization": f"Bearer {token}"}
    request = {**body, "reason": "mailbox dibobol", "verification": "branch_visit"}
    asked = api.call("PATCH", f"/v1/admin/accounts/{account_id}/contact", request, headers=headers)
    assert asked.status == 202, asked
    supervisor = {"Authorization": f"Bearer {staff_token_for('spv01', 'supervisor')}"}
    return api.post(f"/v1/admin/contact-changes/{asked.body['change_id']}/approve", {}, headers=supervisor)


def test_a_reset_verified_through_the_old_mailbox_cannot_finish(
    api: Api, member: Member, outbox: Outbox, staff_token: str
) -> None:
    flow = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]
    code = outbox.email_code(member.who.email)
    assert api.post(f"/v1/password-resets/{flow}/verify", {"code": code}).status == 200
    assert _admin_contact(api, staff_token, member.account_id, {"email": "aman@example.com"}).status == 200
    new = {"password": "Punya-Penyerang-1", "password_confirmation": "Punya-Penyerang-1"}
    answer = api.post(f"/v1/password-resets/{flow}/complete", new)
    assert answer.status == 410 and answer.code == "flow_expired"
    assert api.post("/v1/sessions", {"login": "aman@example.com", "password": "Punya-Penyerang-1"}).status == 401


def test_a_reset_code_read_before_the_move_does_not_verify_after_it(
    api: Api, member: Member, outbox: Outbox, staff_token: str
) -> None:
    flow = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]
    code = outbox.email_code(member.who.email)
    assert _admin_contact(api, staff_token, member.account_id, {"email": "aman@example.com"}).status == 200
    answer = api.post(f"/v1/password-resets/{flow}/verify", {"code": code})
    assert answer.status == 410 and answer.code == "flow_expired"


def test_a_forgot_pin_flow_dies_when_the_phone_changes(
    api: Api, member: Member, outbox: Outbox, staff_token: str, clock: FakeClock
) -> None:
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date})
    flow_id = flow.body["flow_id"]
    assert api.post(f"/v1/pin-resets/{flow_id}/send", {"channel": "sms"}).status == 200
    code = outbox.sms_code(who.phone_e164)
    assert _admin_contact(api, staff_token, member.account_id, {"phone": "081377770000"}).status == 200
    assert api.post(f"/v1/pin-resets/{flow_id}/verify", {"code": code}).code == "flow_expired"
    sms_before = len(outbox.sms(who.phone_e164))
    clock.advance(60)
    resend = api.post(f"/v1/pin-resets/{flow_id}/send", {"channel": "sms"})
    assert resend.status == 410 and len(outbox.sms(who.phone_e164)) == sms_before  # nothing to the old phone


def test_an_email_change_dies_when_the_phone_changed_meanwhile(
    api: Api, member: Member, outbox: Outbox, staff_token: str
) -> None:
    flow = api.post(
        "/v1/me/email", {"email": "baru@example.com", "password": member.who.password}, headers=member.auth()
    )
    code = outbox.email_code("baru@example.com")
    assert _admin_contact(api, staff_token, member.account_id, {"phone": "081377770000"}).status == 200
    ended = api.post(f"/v1/me/email/{flow.body['flow_id']}/verify", {"code": code}, headers=member.auth())
    assert ended.status == 401  # the approval ended every session
    fresh = api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).body
    answer = api.post(
        f"/v1/me/email/{flow.body['flow_id']}/verify", {"code": code}, headers=member.auth(fresh["access_token"])
    )
    assert answer.status == 410 and answer.code == "flow_expired"


# --- 4. sign-in throttle and the PIN blocklist --------------------------------------------


@pytest.mark.parametrize("pin", ["121212", "123123", "112233", "147258", "159753", "520520"])
def test_common_pins_are_refused(api: Api, member: Member, pin: str) -> None:
    body = {"pin": pin, "pin_confirmation": pin, "password": member.who.password}
    answer = api.put("/v1/me/pin", body, headers=member.auth())
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["pin"] == ["too_common"]


_to_new_pin = forgot_pin_to_new_pin


def test_forgot_pin_refuses_common_pins_too(api: Api, member: Member, outbox: Outbox) -> None:
    flow_id = _to_new_pin(api, member, outbox)
    answer = api.post(f"/v1/pin-resets/{flow_id}/complete", {"pin": "147258", "pin_confirmation": "147258"})
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["pin"] == ["too_common"]


@pytest.mark.settings(client_limits_enabled=1, signin_per_client_per_minute=3)
def test_sign_in_is_throttled_per_client_address(api: Api, member: Member, clock: FakeClock) -> None:
    logins = [member.who.email, "a@example.com", "b@example.com", "c@example.com"]
    answers = [api.post("/v1/sessions", {"login": login, "password": WRONG}) for login in logins]
    assert [a.status for a in answers] == [401, 401, 401, 429]
    assert answers[-1].code == "rate_limited" and int(answers[-1].headers["retry-after"]) <= 60
    clock.advance(60)
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 201


def test_a_stranger_cannot_keep_an_account_locked_for_a_day(api: Api, member: Member, clock: FakeClock) -> None:
    waits = []
    for _ in range(6):
        for _ in range(5):
            last = api.post("/v1/sessions", {"login": member.who.email, "password": WRONG})
        waits.append(last.body["error"]["details"]["retry_after"])
        clock.advance(waits[-1])
    assert waits == [900, 1800, 3600, 3600, 3600, 3600]


# --- 5. every send path is counted per client ------------------------------------------------


@pytest.mark.settings(client_limits_enabled=1, sms_per_client_per_hour=1)
def test_registration_sms_counts_per_client(api: Api, journey: Journey) -> None:
    first = journey.to_phone(person(30))
    second = journey.to_phone(person(31))
    assert api.post(f"/v1/registrations/{first}/phone", {"phone": person(30).phone}).status == 200
    answer = api.post(f"/v1/registrations/{second}/phone", {"phone": person(31).phone})
    assert answer.status == 429 and answer.code == "rate_limited"


@pytest.mark.settings(client_limits_enabled=1, email_per_client_per_hour=2)
def test_email_sends_count_per_client(api: Api) -> None:
    answers = [api.post("/v1/registrations", {"email": f"orang{n}@example.com"}) for n in range(3)]
    assert [a.status for a in answers] == [201, 201, 429]


@pytest.mark.settings(email_budget_enabled=1, email_budget_per_hour=2)
def test_email_has_a_global_hourly_budget(api: Api) -> None:
    answers = [api.post("/v1/password-resets", {"email": f"orang{n}@example.com"}) for n in range(3)]
    assert [a.status for a in answers] == [202, 202, 429]


# --- 6. sessions end -------------------------------------------------------------------------


def test_a_session_ends_ninety_days_after_sign_in_however_often_refreshed(
    api: Api, member: Member, clock: FakeClock
) -> None:
    token = member.refresh
    for _ in range(3):
        clock.advance(29 * 86400)
        answer = api.post("/v1/sessions/refresh", {"refresh_token": token})
        assert answer.status == 201
        token = answer.body["refresh_token"]
    clock.advance(3 * 86400)  # day 90
    assert api.post("/v1/sessions/refresh", {"refresh_token": token}).code == "unauthenticated"


# --- 7. answers that broke the contract --------------------------------------------------------


@pytest.mark.parametrize("raw", [b"[" * 6000, b'{"a":' * 2500 + b"1" + b"}" * 2500, b'{"a": NaN}'])
def test_hostile_bodies_are_malformed_requests(api: Api, raw: bytes) -> None:
    answer = api.call("POST", "/v1/sessions", raw)
    assert answer.status == 400 and answer.code == "malformed_request"


def test_a_pin_with_a_trailing_newline_is_a_field_error(api: Api, member: Member, outbox: Outbox) -> None:
    body = {"pin": "13579\n", "pin_confirmation": "13579\n", "password": member.who.password}
    answer = api.put("/v1/me/pin", body, headers=member.auth())
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["pin"] == ["invalid_format"]
    flow_id = _to_new_pin(api, member, outbox)
    answer = api.post(f"/v1/pin-resets/{flow_id}/complete", {"pin": "13579\n", "pin_confirmation": "13579\n"})
    assert answer.status == 422


@pytest.mark.parametrize("name", ["Budi\nSantoso", "Budi\u202eSantoso", "Bu\u200bdi Santoso", "Budi\x00"])
def test_names_with_control_characters_are_refused(api: Api, journey: Journey, name: str) -> None:
    who = person(33)
    flow = journey.to_profile(who)
    answer = api.put(f"/v1/registrations/{flow}/profile", {**who.profile(), "full_name": name})
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["full_name"] == ["invalid_name"]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_two_refreshes_in_one_second_give_distinct_tokens(api: Api, member: Member) -> None:
    first = api.post("/v1/sessions/refresh", {"refresh_token": member.refresh}).body
    second = api.post("/v1/sessions/refresh", {"refresh_token": first["refresh_token"]}).body
    assert first["access_token"] != second["access_token"]
    claims = _claims(second["access_token"])
    assert claims["aud"] == "sandi-app" and len(claims["jti"]) >= 16


def test_an_internationalized_address_signs_in_as_it_was_registered(api: Api, journey: Journey, outbox: Outbox) -> None:
    who = person(34, email="budi@xn--bcher-kva.de")
    flow = api.post("/v1/registrations", {"email": who.email}).body["flow_id"]
    code = code_in(outbox.emails()[-1].body)  # sent to the address as the library normalized it
    assert api.post(f"/v1/registrations/{flow}/email/verify", {"code": code}).status == 200
    assert api.put(f"/v1/registrations/{flow}/profile", who.profile()).status == 200
    assert api.post(f"/v1/registrations/{flow}/phone", {"phone": who.phone}).status == 200
    code = outbox.sms_code(who.phone_e164)
    assert api.post(f"/v1/registrations/{flow}/phone/verify", {"code": code}).status == 200
    body = {"password": who.password, "password_confirmation": who.password}
    assert api.post(f"/v1/registrations/{flow}/complete", body).status == 201
    for login in ("budi@xn--bcher-kva.de", "budi@bücher.de", "BUDI@XN--BCHER-KVA.DE"):
        answer = api.post("/v1/sessions", {"login": login, "password": who.password})
        assert answer.status == 201, login


# --- the phone step is not a directory of members' numbers (API.md, registration) ------------


def test_the_phone_step_counts_registered_and_free_numbers_alike(api: Api, journey: Journey, member_factory) -> None:  # type: ignore[no-untyped-def]
    taken = [member_factory(40 + n).who.phone for n in range(4)]
    flow = journey.to_phone(person(50))
    answers = [api.post(f"/v1/registrations/{flow}/phone", {"phone": phone}) for phone in taken]
    assert [a.status for a in answers] == [409] * 4  # a member's number: 409, and counted
    fifth = api.post(f"/v1/registrations/{flow}/phone", {"phone": person(50).phone})
    assert fifth.status == 200  # the fifth number of the flow, a free one: a code goes out
    sixth = api.post(f"/v1/registrations/{flow}/phone", {"phone": member_factory(45).who.phone})
    assert sixth.status == 429 and sixth.code == "rate_limited"  # no more numbers from this flow


@pytest.mark.settings(client_limits_enabled=1, phone_numbers_per_client=4)
def test_the_phone_step_counts_per_client_address(api: Api, journey: Journey, member: Member) -> None:
    # the member's own registration used the step once from this address: three are left
    flows = [journey.to_phone(person(60 + n)) for n in range(2)]
    statuses = [api.post(f"/v1/registrations/{flows[0]}/phone", {"phone": member.who.phone}).status for _ in range(2)]
    statuses.append(api.post(f"/v1/registrations/{flows[1]}/phone", {"phone": member.who.phone}).status)
    statuses.append(api.post(f"/v1/registrations/{flows[1]}/phone", {"phone": person(61).phone}).status)
    assert statuses == [409, 409, 409, 429]  # across flows, both answers, then refused
