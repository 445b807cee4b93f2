"""The whole local stack over HTTP, as a newcomer uses it after `make run`."""

from __future__ import annotations

import time

import requests

from tests.conftest import LocalStack, person
from tests.stack_client import StackClient


def test_register_with_codes_from_the_inbox_then_sign_in(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(300)
    flow = client.to_password(who)
    done = client.call(
        "POST",
        f"/v1/registrations/{flow}/complete",
        {"password": who.password, "password_confirmation": who.password},
    )
    assert done.status_code == 201, done.text
    assert done.json()["account"]["kpj"] == who.kpj

    signed_in = client.call("POST", "/v1/sessions", {"login": who.kpj, "password": who.password})
    assert signed_in.status_code == 201
    me = client.call("GET", "/v1/me", token=signed_in.json()["access_token"])
    assert me.status_code == 200 and me.json()["email"] == who.email
    assert client.call("POST", "/v1/sessions", {"login": who.email, "password": "Salah-999"}).status_code == 401


def test_a_member_day_pin_phone_change_and_sign_out(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(301)
    client.register(who)
    session = client.call("POST", "/v1/sessions", {"login": who.email, "password": who.password}).json()
    token = session["access_token"]
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": who.password}
    assert client.call("PUT", "/v1/me/pin", pin, token=token).status_code == 204
    by_pin = client.call("POST", "/v1/sessions", {"login": who.kpj, "pin": "258036"})
    assert by_pin.status_code == 201
    token = by_pin.json()["access_token"]

    started = client.call("POST", "/v1/me/phone", {"phone": "+62 813 9999 0000", "password": who.password}, token=token)
    assert started.status_code == 201, started.text
    flow = started.json()["flow_id"]
    code = client.code_for("+6281399990000", "sms")
    done = client.call("POST", f"/v1/me/phone/{flow}/verify", {"code": code}, token=token)
    assert done.status_code == 200 and done.json()["state"] == "completed"
    assert client.call("GET", "/v1/me", token=token).json()["phone"] == "+6281399990000"

    assert client.call("DELETE", "/v1/sessions/current", token=token).status_code == 204
    refused = client.call("GET", "/v1/me", token=token)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"


def test_forgot_password_with_the_code_from_the_inbox(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(302)
    client.register(who)
    flow = client.call("POST", "/v1/password-resets", {"email": who.email}).json()["flow_id"]
    code = client.code_for(who.email, "email")
    assert client.call("POST", f"/v1/password-resets/{flow}/verify", {"code": code}).json()["state"] == "new_password"
    new = "Baru-Lebih-Kuat-7"
    done = client.call("POST", f"/v1/password-resets/{flow}/complete", {"password": new, "password_confirmation": new})
    assert done.status_code == 200 and done.json()["state"] == "completed"
    assert client.call("POST", "/v1/sessions", {"login": who.email, "password": new}).status_code == 201


def test_forgot_pin_by_sms(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(303)
    client.register(who)
    identity = {"full_name": who.full_name.upper(), "nik": who.nik, "birth_date": who.birth_date}
    started = client.call("POST", "/v1/pin-resets", identity)
    assert started.status_code == 201, started.text
    flow = started.json()["flow_id"]
    assert client.call("POST", f"/v1/pin-resets/{flow}/send", {"channel": "sms"}).status_code == 200
    code = client.code_for(who.phone_e164, "sms")
    assert client.call("POST", f"/v1/pin-resets/{flow}/verify", {"code": code}).json()["state"] == "new_pin"
    pin = {"pin": "471036", "pin_confirmation": "471036"}
    assert client.call("POST", f"/v1/pin-resets/{flow}/complete", pin).json()["state"] == "completed"
    assert client.call("POST", "/v1/sessions", {"login": who.kpj, "pin": "471036"}).status_code == 201


def test_forgot_email_by_sms(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(304)
    client.register(who)
    answer = client.call("POST", "/v1/email-recoveries", {"phone": who.phone})
    assert answer.status_code == 202 and answer.json() == {}
    # sent from the outbox a moment after the answer, as a person sees it arrive
    deadline, texts = time.monotonic() + 5, []
    while not texts and time.monotonic() < deadline:
        texts = [m["body"] for m in client.messages() if m["to"] == who.phone_e164 and "email" in m["body"]]
        time.sleep(0.1)
    assert texts and "pe***4@e***e.com" in texts[0]


def test_inbox_lists_newest_first_and_empties(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    client.call("POST", "/v1/registrations", {"email": "first@example.com"})
    client.call("POST", "/v1/registrations", {"email": "second@example.com"})
    messages = client.messages()
    assert [m["to"] for m in messages[:2]] == ["second@example.com", "first@example.com"]
    assert set(messages[0]) == {"id", "channel", "to", "subject", "body", "sent_at"}
    assert messages[0]["channel"] == "email" and messages[0]["subject"]
    page = requests.get(local_stack.inbox + "/", timeout=10)
    assert page.status_code == 200 and "second@example.com" in page.text
    assert requests.delete(local_stack.inbox + "/api/messages", timeout=10).status_code == 200
    assert client.messages() == []


def test_unknown_routes_answer_in_the_contract_shape(local_stack: LocalStack) -> None:
    for method, path in [("GET", "/nope"), ("GET", "/v1/x/y/z"), ("DELETE", "/v1/registrations"), ("GET", "/")]:
        answer = requests.request(method, local_stack.api + path, headers={"Accept-Language": "en"}, timeout=10)
        assert answer.status_code == 404, (method, path)
        assert answer.json() == {"error": {"code": "not_found", "message": "The requested resource was not found."}}
