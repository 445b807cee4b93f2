"""Delivery receipts: ``sent`` becomes ``delivered`` or ``failed`` (and why), forward only.

Events are the providers' own shapes (local/provider_events.py, after AWS's docs),
handed to the Lambda handlers AWS would invoke: ``ses_feedback`` (SES events through
SNS) and ``sms_receipts`` (SNS SMS delivery status logs through CloudWatch Logs).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib.challenges import feedback
from local import provider_events as events
from tests.conftest import Api, FakeClock, Journey, LocalStack, Member, Outbox, person, shape
from tests.stack_client import StackClient


def _ses(note: dict[str, Any]) -> None:
    from app import app

    with Client(app, stage_name="local") as client:
        client.lambda_.invoke("ses_feedback", events.sns_lambda_event(note))


def _sms(entry: dict[str, Any], failure: bool = False) -> Any:
    from app import app

    with Client(app, stage_name="local") as client:
        return client.lambda_.invoke("sms_receipts", events.awslogs_event([entry], failure)).payload


def _challenge(api: Api, path: str) -> dict[str, Any]:
    return dict(api.get(path).body["challenge"])


def _start(api: Api, email: str) -> str:
    answer = api.post("/v1/registrations", {"email": email})
    assert answer.status == 201 and answer.body["challenge"]["delivery"] == "sent"
    return f"/v1/registrations/{answer.body['flow_id']}"


def test_an_email_code_goes_from_sent_to_delivered(api: Api, clock: FakeClock) -> None:
    path = _start(api, "siti@example.com")
    _ses(events.ses_delay("m-1", "siti@example.com", clock(), clock() + 1))  # SES keeps trying
    assert _challenge(api, path)["delivery"] == "sent"
    _ses(events.ses_delivery("m-1", "siti@example.com", clock(), clock() + 2))
    challenge = _challenge(api, path)
    assert challenge["delivery"] == "delivered" and "delivery_failure" not in challenge


@pytest.mark.parametrize(
    ("note", "failure"),
    [
        (lambda to, t: events.ses_bounce("m-2", to, t, t + 1), "bounced"),
        (lambda to, t: events.ses_bounce("m-2", to, t, t + 1, "Transient", "MailboxFull"), "bounced"),
        (lambda to, t: events.ses_bounce("m-2", to, t, t + 1, "Transient", "General"), "expired"),
        (lambda to, t: events.ses_bounce("m-2", to, t, t + 1, "Undetermined", "Undetermined"), "unknown"),
        (lambda to, t: events.ses_reject("m-2", to, t), "rejected"),
    ],
)
def test_an_email_that_fails_says_why(api: Api, clock: FakeClock, note: Any, failure: str) -> None:
    path = _start(api, "gagal@example.com")
    _ses(note("gagal@example.com", clock()))
    assert _challenge(api, path).items() >= {"delivery": "failed", "delivery_failure": failure}.items()


def test_a_complaint_keeps_delivered_and_suppresses_the_address(
    api: Api, member: Member, clock: FakeClock, outbox: Outbox
) -> None:
    flow = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]
    path = f"/v1/password-resets/{flow}"
    _ses(events.ses_delivery("m-3", member.who.email, clock(), clock() + 1))
    _ses(events.ses_complaint("m-3", member.who.email, clock(), clock() + 5))
    assert _challenge(api, path)["delivery"] == "delivered"
    # The member proves who they are in forgot-PIN, which then says the address is suppressed.
    who = member.who
    started = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date})
    sent = api.post(f"/v1/pin-resets/{started.body['flow_id']}/send", {"channel": "email"})
    assert sent.body["challenge"]["delivery"] == "suppressed"


def test_receipts_only_move_forward_and_duplicates_change_nothing(api: Api, clock: FakeClock) -> None:
    path = _start(api, "urut@example.com")
    _ses(events.ses_bounce("m-4", "urut@example.com", clock(), clock() + 1))
    _ses(events.ses_delivery("m-4", "urut@example.com", clock(), clock() + 2))  # late and contradicting
    _ses(events.ses_bounce("m-4", "urut@example.com", clock(), clock() + 1))  # duplicate
    assert _challenge(api, path).items() >= {"delivery": "failed", "delivery_failure": "bounced"}.items()


def test_a_receipt_for_a_replaced_code_is_ignored(api: Api, clock: FakeClock) -> None:
    path = _start(api, "ganti@example.com")
    first_sent = clock()
    clock.advance(61)
    assert api.post(f"{path}/email/resend", {}).status == 200
    _ses(events.ses_bounce("m-old", "ganti@example.com", first_sent, first_sent + 1))  # the first code's receipt
    assert _challenge(api, path)["delivery"] == "sent"
    _ses(events.ses_delivery("m-new", "ganti@example.com", clock(), clock() + 1))
    assert _challenge(api, path)["delivery"] == "delivered"


def test_a_receipt_for_an_unknown_destination_changes_nothing(api: Api, clock: FakeClock) -> None:
    path = _start(api, "ada@example.com")
    _ses(events.ses_bounce("m-5", "orang.lain@example.com", clock(), clock() + 1))
    _ses({"eventType": "Delivery", "mail": {}})  # malformed: nothing to find
    _ses({"unexpected": True})
    assert _challenge(api, path)["delivery"] == "sent"


def _to_phone_step(journey: Journey, api: Api, who: Any) -> str:
    return f"/v1/registrations/{journey.to_phone_verification(who)}"


def test_an_sms_to_an_inactive_number_fails_as_unreachable(api: Api, journey: Journey, clock: FakeClock) -> None:
    who = person(801)
    path = _to_phone_step(journey, api, who)
    entry = events.sms_status("s-1", who.phone_e164, clock(), events.SMS_UNREACHABLE)
    assert _sms(entry, failure=True) == {"receipts": 1}
    assert (
        _challenge(api, path).items()
        >= {"channel": "sms", "delivery": "failed", "delivery_failure": "unreachable"}.items()
    )


def test_an_sms_that_arrives_is_delivered(api: Api, journey: Journey, clock: FakeClock) -> None:
    who = person(802)
    path = _to_phone_step(journey, api, who)
    _sms(events.sms_status("s-2", who.phone_e164, clock(), events.SMS_DELIVERED))
    assert _challenge(api, path)["delivery"] == "delivered"


def test_garbage_log_events_are_ignored(api: Api) -> None:
    from app import app

    with Client(app, stage_name="local") as client:
        assert client.lambda_.invoke("sms_receipts", {"awslogs": {"data": "bm90IGd6aXA="}}).payload == {"receipts": 0}
        assert client.lambda_.invoke("sms_receipts", {"nothing": 1}).payload == {"receipts": 0}


@pytest.mark.parametrize(
    ("response", "failure"),
    [
        ("Phone is currently unreachable/unavailable", "unreachable"),
        ("Invalid phone number", "unreachable"),
        ("Unknown error attempting to reach phone", "unreachable"),
        ("Phone carrier has blocked this message", "rejected"),
        ("Blocked as spam by phone carrier", "rejected"),
        ("Phone number is opted out", "rejected"),
        ("Price exceeds max price", "rejected"),
        ("Phone carrier is currently unreachable/unavailable", "expired"),
        ("Message has expired", "expired"),
        ("Something nobody documented", "unknown"),
    ],
)
def test_carrier_answers_map_to_the_contracts_failures(response: str, failure: str) -> None:
    assert feedback.sms_failure(response) == failure


def test_after_a_failed_sms_the_member_switches_to_email_at_once(
    api: Api, member: Member, outbox: Outbox, clock: FakeClock
) -> None:
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date})
    path = f"/v1/pin-resets/{flow.body['flow_id']}"
    sms = api.post(f"{path}/send", {"channel": "sms"})
    assert sms.status == 200
    _sms(events.sms_status("s-3", who.phone_e164, clock(), events.SMS_UNREACHABLE), failure=True)
    assert _challenge(api, path)["delivery_failure"] == "unreachable"
    switched = api.post(f"{path}/send", {"channel": "email"})  # no cooldown wait after a failure
    assert switched.status == 200 and switched.body["challenge"]["channel"] == "email"
    assert outbox.email_code(who.email)
    again = api.post(f"{path}/send", {"channel": "sms"})  # a working channel keeps its cooldown
    assert again.status == 429 and again.code == "resend_too_soon"


# --- on the local stack: the dev stack's simulated receipts, through the same handlers ---


def _poll(client: StackClient, path: str, until: Any, seconds: float = 15) -> dict[str, Any]:
    deadline = time.time() + seconds
    while True:
        challenge = dict(client.call("GET", path).json()["challenge"])
        if until(challenge) or time.time() > deadline:
            return challenge
        time.sleep(0.3)


def test_local_stack_simulates_delivered_unreachable_and_bounced(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    settled = lambda c: c["delivery"] != "sent"  # noqa: E731

    bounced = client.call("POST", "/v1/registrations", {"email": "bounce@simulator.amazonses.com"}).json()
    challenge = _poll(client, f"/v1/registrations/{bounced['flow_id']}", settled)
    assert challenge["delivery"] == "failed" and challenge["delivery_failure"] == "bounced"

    cases = [(person(811), ("delivered", None)), (person(812, phone="081234810000"), ("failed", "unreachable"))]
    for who, expected in cases:
        phone_e164 = "+62" + who.phone[1:]
        started = client.call("POST", "/v1/registrations", {"email": who.email}).json()
        base = f"/v1/registrations/{started['flow_id']}"
        assert _poll(client, base, settled)["delivery"] == "delivered"  # an ordinary address
        assert client.call("POST", base + "/email/verify", {"code": client.code_for(who.email, "email")}).ok
        assert client.call("PUT", base + "/profile", who.profile()).ok
        assert client.call("POST", base + "/phone", {"phone": who.phone}).ok
        challenge = _poll(client, base, settled)
        assert (challenge["delivery"], challenge.get("delivery_failure")) == expected, phone_e164

    def page(to: str) -> str:  # the inbox page shows each message's state
        return requests.get(local_stack.inbox + "/", params={"to": to}, timeout=10).text

    assert "failed (unreachable)" in page("+6281234810000")
    assert "failed (bounced)" in page("bounce@simulator.amazonses.com")
    assert "delivered" in page(person(811).email)


def test_parallel_receipts_apply_exactly_once(local_stack: LocalStack) -> None:
    """Receipts for one challenge racing each other through the stack's emulator."""
    import os

    from chalicelib import aws
    from chalicelib.challenges import receipts
    from chalicelib.config import load_settings
    from chalicelib.deps import build_deps
    from chalicelib.storage.models import bind
    from tests.conftest import LOCAL_STACK_SECRET

    client = StackClient(local_stack)
    started = client.call("POST", "/v1/registrations", {"email": "balapan@example.com"}).json()
    env = {
        "SANDI_STAGE": "local",
        "SANDI_SECRET_KEY": LOCAL_STACK_SECRET,
        "AWS_DEFAULT_REGION": "ap-southeast-3",
    }
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ENDPOINT_URL=local_stack.emulator, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    aws.reset_clients()
    try:
        deps = build_deps(load_settings(env))
        now = time.time() + 5
        race = [
            receipts.Receipt("email", "balapan@example.com", now, "delivered"),
            receipts.Receipt("email", "balapan@example.com", now, "failed", "bounced"),
        ] * 4
        outcomes: list[str] = []
        threads = [threading.Thread(target=lambda r=r: outcomes.append(receipts.record(deps, r))) for r in race]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        aws.reset_clients()
        bind(load_settings({"SANDI_STAGE": "local"}))
    assert outcomes.count("applied") == 1 and outcomes.count("ignored") == 7
    final = client.call("GET", f"/v1/registrations/{started['flow_id']}").json()["challenge"]
    assert final["delivery"] in ("delivered", "failed")
    assert json.dumps(final)  # one consistent answer


def test_a_decoy_reads_delivered_like_a_real_code_whatever_other_decoys_do(
    api: Api, member: Member, clock: FakeClock
) -> None:
    """Unknown addresses get a decoy send; their challenges must settle as real ones do,
    even when many decoys are in flight (their receipts all name one simulator address)."""
    known = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]
    strangers = [api.post("/v1/password-resets", {"email": f"tidak.ada{i}@example.com"}).body for i in range(3)]
    assert all(s["challenge"]["delivery"] == "sent" for s in strangers)
    _ses(events.ses_delivery("m-real", member.who.email, clock(), clock() + 1))
    for i in range(3):  # the simulator's receipts for the decoys change nothing
        _ses(events.ses_delivery(f"m-{i}", "success@simulator.amazonses.com", clock(), clock() + 1))
    clock.advance(4.1)
    views = [api.get(f"/v1/password-resets/{known}").body] + [
        api.get(f"/v1/password-resets/{s['flow_id']}").body for s in strangers
    ]
    assert {v["challenge"]["delivery"] for v in views} == {"delivered"}
    assert len({json.dumps(shape(v)) for v in views}) == 1  # one shape for known and unknown
