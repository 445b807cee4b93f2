"""Member rights: my devices, a copy of my data, deleting my account (issue 14)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from chalicelib.storage.models import ALL_MODELS
from tests.actions import body_of, sign_in
from tests.conftest import REGION, Api, FakeClock, Journey, LocalStack, Member, Outbox, person
from tests.stack_client import StackClient

ANDROID = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile"
IPHONE = "Sandi/2.3.1 (iPhone; iOS 17.2; Scale/3.00)"


def _sign_in(api: Api, member: Member, agent: str) -> dict[str, Any]:
    return body_of(sign_in(api, member.who.email, user_agent=agent, password=member.who.password))


# --- devices -----------------------------------------------------------------------------


def test_devices_are_listed_newest_first_with_a_short_description(api: Api, member: Member, clock: FakeClock) -> None:
    clock.advance(10)
    _sign_in(api, member, ANDROID)
    clock.advance(10)
    phone = _sign_in(api, member, IPHONE)
    answer = api.get("/v1/me/sessions", headers=member.auth(phone["access_token"]))
    assert answer.status == 200
    sessions = answer.body["sessions"]
    assert [s["device"] for s in sessions] == ["Sandi app 2.3 on iOS 17", "Chrome on Android 14", "Unknown device"]
    assert [s["current"] for s in sessions] == [True, False, False]
    assert all(set(s) == {"session_id", "created_at", "last_used_at", "device", "current", "amr"} for s in sessions)


def test_a_refresh_moves_last_used_at_without_another_round_trip(api: Api, member: Member, clock: FakeClock) -> None:
    from local.metrics import count_calls

    clock.advance(3600)
    with count_calls() as counter:
        fresh = api.post("/v1/sessions/refresh", {"refresh_token": member.refresh}).body
    assert counter.by_service("dynamodb") == ["GetItem", "TransactWriteItems"]
    sessions = api.get("/v1/me/sessions", headers=member.auth(fresh["access_token"])).body["sessions"]
    assert sessions[0]["last_used_at"] > sessions[0]["created_at"]


def test_a_revoked_device_is_signed_out_at_once(api: Api, member: Member) -> None:
    lost = _sign_in(api, member, ANDROID)
    lost_id = lost["refresh_token"].split(".")[0]
    assert api.call("DELETE", f"/v1/me/sessions/{lost_id}", headers=member.auth()).status == 204
    assert api.get("/v1/me", headers=member.auth(lost["access_token"])).code == "unauthenticated"
    assert api.post("/v1/sessions/refresh", {"refresh_token": lost["refresh_token"]}).code == "unauthenticated"
    assert api.get("/v1/me", headers=member.auth()).status == 200  # this device stays
    listed = api.get("/v1/me/sessions", headers=member.auth()).body["sessions"]
    assert lost_id not in {s["session_id"] for s in listed}


def test_another_accounts_session_is_not_found(api: Api, member_factory: Any) -> None:
    me, other = member_factory(1), member_factory(2)
    theirs = other.refresh.split(".")[0]
    answer = api.call("DELETE", f"/v1/me/sessions/{theirs}", headers=me.auth())
    assert answer.status == 404 and answer.code == "not_found"
    assert api.call("DELETE", "/v1/me/sessions/no-such-session", headers=me.auth()).status == 404
    assert api.get("/v1/me", headers=other.auth()).status == 200


# --- a copy of my data ---------------------------------------------------------------------


def test_the_export_of_a_whole_journey_lists_every_event_and_no_secret(
    api: Api, member: Member, outbox: Outbox, staff_token: str
) -> None:
    who = member.who
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": who.password}
    assert api.put("/v1/me/pin", pin, headers=member.auth()).status == 204
    flow = api.post("/v1/me/phone", {"phone": "081399990000", "password": who.password}, headers=member.auth())
    code = outbox.sms_code("+6281399990000")
    assert api.post(f"/v1/me/phone/{flow.body['flow_id']}/verify", {"code": code}, headers=member.auth()).status == 200
    reset = api.post("/v1/password-resets", {"email": who.email}).body["flow_id"]
    api.post(f"/v1/password-resets/{reset}/verify", {"code": outbox.email_code(who.email)})
    new = {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "Baru-Lebih-Kuat-7"}
    assert api.post(f"/v1/password-resets/{reset}/complete", new).status == 200
    session = api.post("/v1/sessions", {"login": who.email, "password": "Baru-Lebih-Kuat-7"}).body

    bare = api.get("/v1/me/export", headers=member.auth(session["access_token"]))
    assert bare.status in (404, 405)  # a stolen session alone cannot copy the member's data
    wrong = api.post("/v1/me/export", {"password": "Salah-Sekali-1"}, headers=member.auth(session["access_token"]))
    assert wrong.status == 401 and wrong.code == "invalid_credentials"
    answer = api.post("/v1/me/export", {"password": "Baru-Lebih-Kuat-7"}, headers=member.auth(session["access_token"]))
    assert answer.status == 200
    export = answer.body
    kinds = {e["kind"] for e in export["audit_events"]}
    assert {"account.created", "pin.changed", "phone.changed", "password.reset", "signin.success"} <= kinds
    assert export["profile"]["phone"] == "+6281399990000" and export["contact"]["email"] == who.email
    assert export["profile"]["nik_masked"].startswith(who.nik[:4]) and who.nik not in json.dumps(export)
    assert export["security"]["pin_set"] is True and export["security"]["authenticator_enabled"] is False
    text = json.dumps(export)
    for secret in ("$argon2", "Baru-Lebih-Kuat-7", session["refresh_token"].split(".")[1], "258036"):
        assert secret not in text


# --- deleting ------------------------------------------------------------------------------


def _stored() -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    return json.dumps([client.scan(TableName=m.Meta.table_name)["Items"] for m in ALL_MODELS])


def test_deleting_erases_frees_and_ends_every_session(
    api: Api, member: Member, outbox: Outbox, journey: Journey, staff_token: str
) -> None:
    who = member.who
    other_device = _sign_in(api, member, ANDROID)
    wrong = api.call("DELETE", "/v1/me", {"password": "Salah-Sekali-1"}, headers=member.auth())
    assert wrong.status == 401 and wrong.code == "invalid_credentials"
    assert api.call("DELETE", "/v1/me", {"password": who.password}, headers=member.auth()).status == 204

    for token in (member.access, other_device["access_token"]):
        assert api.get("/v1/me", headers=member.auth(token)).code == "unauthenticated"
    assert api.post("/v1/sessions/refresh", {"refresh_token": other_device["refresh_token"]}).status == 401
    signin = api.post("/v1/sessions", {"login": who.email, "password": who.password})
    assert signin.status == 401 and signin.code == "invalid_credentials"
    assert "dihapus" in outbox.emails(who.email)[-1].subject  # the old address is told

    stored = _stored()
    for personal in (who.email, who.phone_e164, who.full_name, who.kpj, who.birth_date, who.nik[:4] + "*"):
        assert personal not in stored, personal
    from chalicelib.deps import get_deps
    from chalicelib.keys import keyed_hash

    assert keyed_hash(get_deps().keys.nik, who.nik) not in stored

    staff = api.get(f"/v1/admin/accounts/{member.account_id}", headers={"Authorization": f"Bearer {staff_token}"})
    assert staff.body["status"] == "deleted" and staff.body["email"] is None and staff.body["full_name"] is None
    events = api.get(
        f"/v1/admin/accounts/{member.account_id}/audit", headers={"Authorization": f"Bearer {staff_token}"}
    ).body["events"]
    assert {"account.created", "account.deleted"} <= {e["kind"] for e in events}
    member_events = [e for e in events if e["actor"] == "user"]
    # The evidence survives the erasure: a keyed hash of the address and the device, never the address.
    assert member_events and all(len(e["client"]) == 32 and e["device"] for e in member_events)
    assert "127.0.0.1" not in str(events)

    journey.register(who)  # the same email, NIK, phone and KPJ register again at once


def test_a_staff_reset_erases_like_a_deletion(api: Api, member: Member, supervisor_token: str) -> None:
    headers = {"Authorization": f"Bearer {supervisor_token}"}
    answer = api.post(f"/v1/admin/accounts/{member.account_id}/reset", {"reason": "NIK ganda"}, headers=headers)
    assert answer.status == 200 and answer.body["status"] == "closed" and answer.body["email"] is None
    stored = _stored()
    assert member.who.email not in stored and member.who.full_name not in stored


def test_deleting_needs_a_live_session_and_counts_wrong_passwords(api: Api, member: Member) -> None:
    assert api.call("DELETE", "/v1/me", {"password": member.who.password}).code == "unauthenticated"
    answers = [api.call("DELETE", "/v1/me", {"password": "x"}, headers=member.auth()) for _ in range(5)]
    assert [a.status for a in answers] == [401, 401, 401, 401, 423]
    assert api.get("/v1/me", headers=member.auth()).status == 200  # nothing was deleted


def test_no_session_survives_a_deletion_racing_sign_ins_and_refreshes(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(420)
    session = client.register(who)["session"]
    refresh_tokens = [
        client.call("POST", "/v1/sessions", {"login": who.email, "password": who.password}).json()["refresh_token"]
        for _ in range(3)
    ]

    def act(n: int) -> Any:
        one = StackClient(local_stack)
        if n == 0:
            return one.call("DELETE", "/v1/me", {"password": who.password}, token=session["access_token"])
        if n <= 3:
            return one.call("POST", "/v1/sessions/refresh", {"refresh_token": refresh_tokens[n - 1]})
        return one.call("POST", "/v1/sessions", {"login": who.email, "password": who.password})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(act, range(8)))
    assert answers[0].status_code == 204, answers[0].text
    assert all(a.status_code < 500 for a in answers)
    tokens = [a.json()["access_token"] for a in answers[1:] if a.status_code == 201]
    for token in tokens:  # whatever won a race before the deletion is dead after it
        assert client.call("GET", "/v1/me", token=token).status_code == 401
    late = client.call("POST", "/v1/sessions", {"login": who.email, "password": who.password})
    assert late.status_code == 401


def test_the_session_of_a_new_registration_names_its_device(api: Api, journey: Journey, outbox: Outbox) -> None:
    who = person(44)
    flow = journey.to_password(who)
    body = {"password": who.password, "password_confirmation": who.password}
    done = api.post(f"/v1/registrations/{flow}/complete", body, headers={"User-Agent": ANDROID})
    token = done.body["session"]["access_token"]
    listed = api.get("/v1/me/sessions", headers={"Authorization": f"Bearer {token}"}).body["sessions"]
    assert [s["device"] for s in listed] == ["Chrome on Android 14"]


@pytest.mark.parametrize("agent", ["", "x" * 5000, "<script>alert(1)</script>", "curl/8.4.0"])
def test_odd_user_agents_give_a_short_description(api: Api, member: Member, agent: str) -> None:
    session = _sign_in(api, member, agent)
    listed = api.get("/v1/me/sessions", headers=member.auth(session["access_token"])).body["sessions"]
    assert listed[0]["device"] == "Unknown device"
