"""Codes that do not arrive: SES bounces/complaints and SMS opt-outs are reported."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import Api, FakeClock, Journey, Member, Outbox, person

# Shapes of SES notifications as SES publishes them to SNS (AWS SES developer guide,
# "Amazon SNS notification contents"), trimmed of fields the handler does not read.
BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {"emailAddress": "jane@example.com", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550"}
        ],
        "timestamp": "2026-11-21T23:05:00.000Z",
        "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
        "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
    },
    "mail": {
        "timestamp": "2026-11-21T23:04:59.000Z",
        "source": "no-reply@sandi.local",
        "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
        "destination": ["jane@example.com"],
    },
}
COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {
        "userAgent": "AnyCompany Feedback Loop (V0.01)",
        "complainedRecipients": [{"emailAddress": "Richard Roe <richard@example.com>"}],
        "complaintFeedbackType": "abuse",
        "timestamp": "2026-11-21T23:06:00.000Z",
        "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
    },
    "mail": {"source": "no-reply@sandi.local", "destination": ["richard@example.com"]},
}
SOFT_BOUNCE = {**BOUNCE, "bounce": {**BOUNCE["bounce"], "bounceType": "Transient"}}


def deliver_notification(api: Api, note: Any) -> None:
    from app import app

    with Client(app, stage_name="local") as client:
        event = client.events.generate_sns_event(message=json.dumps(note) if not isinstance(note, str) else note)
        client.lambda_.invoke("ses_feedback", event)


@pytest.mark.parametrize(("note", "address"), [(BOUNCE, "jane@example.com"), (COMPLAINT, "richard@example.com")])
def test_bounced_or_complained_addresses_are_suppressed(
    api: Api, outbox: Outbox, member: Member, note: dict, address: str
) -> None:
    deliver_notification(api, note)
    # A stranger can start a sign-up for any address: it says "sent" (no oracle), sends nothing.
    answer = api.post("/v1/registrations", {"email": address})
    assert answer.status == 201 and answer.body["challenge"]["delivery"] == "sent"
    assert outbox.emails(address) == []
    # A signed-in member who proved the password is told, to pick another address.
    moved = api.post("/v1/me/email", {"email": address, "password": member.who.password}, headers=member.auth())
    assert moved.status == 201 and moved.body["challenge"]["delivery"] == "suppressed"
    assert outbox.emails(address) == []


def test_soft_bounces_and_junk_do_not_suppress(api: Api, outbox: Outbox) -> None:
    for note in (SOFT_BOUNCE, "not json", [1, 2], {"notificationType": "Delivery"}):
        deliver_notification(api, note)
    assert api.post("/v1/registrations", {"email": "jane@example.com"}).body["challenge"]["delivery"] == "sent"


def test_a_bounce_after_the_first_code_shows_on_the_next_send(
    api: Api, outbox: Outbox, clock: FakeClock, member: Member
) -> None:
    body = {"email": "jane@example.com", "password": member.who.password}
    first = api.post("/v1/me/email", body, headers=member.auth())
    assert first.body["challenge"]["delivery"] == "sent"
    deliver_notification(api, BOUNCE)
    clock.advance(60)
    again = api.post("/v1/me/email", body, headers=member.auth())
    assert again.status == 201 and again.body["challenge"]["delivery"] == "suppressed"
    assert len(outbox.emails("jane@example.com")) == 1


def test_opted_out_number_is_reported_suppressed(journey: Journey, api: Api, outbox: Outbox) -> None:
    who = person(5)
    flow = journey.to_phone(who)
    # moto treats numbers ending in 99 as opted out, like SNS's opt-out list
    answer = api.post(f"/v1/registrations/{flow}/phone", {"phone": "081234567899"})
    assert answer.status == 200 and answer.body["challenge"]["delivery"] == "suppressed"
    assert outbox.sms("+6281234567899") == []
