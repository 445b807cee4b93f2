"""The roles' table (chalicelib/permissions.py) against the calls the functions really make.

Every AWS call made while the functions work is recorded at botocore, attributed to the
Lambda function whose code made it, and must be in that function's list: a new call
without its permission fails here, not in production with AccessDenied.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import aws
from chalicelib.permissions import CALLS, granted
from local import provider_events as events
from tests.conftest import Api, FakeClock, Journey, Outbox, person

# Granted for paths this scenario does not take, each with its reason. (Every function
# reads the stage secret, ssm:GetParameter, when its container starts: tests use a key.)
NOT_EXERCISED = {
    "APIHandler": {"dynamodb:DeleteItem:flows"},  # a new flow is removed again when SES/SNS refuse its send
}
ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
TABLE = re.compile(r"^sandi-[a-z0-9]+-")


def _reading_the_stream() -> bool:
    """The test harness reading the outbox stream, as Lambda's event source mapping does."""
    for frame in inspect.stack()[2:60]:  # innermost first: the sender's own calls are the function's
        if frame.filename.endswith("delivery/outbox.py"):
            return False
        if frame.filename.endswith("local/streams.py"):
            return True
    return False


def _function() -> str:
    """The Lambda function whose code is on the stack (the API unless a handler is)."""
    for frame in inspect.stack()[3:80]:
        if frame.filename.endswith("chalicelib/cleanup.py"):
            return "Cleanup"
        if frame.filename.endswith("delivery/outbox.py"):
            return "OutboxSender"
        if frame.filename.endswith("challenges/feedback.py"):
            return "SmsReceipts" if frame.function == "sms_logs" else "SesFeedback"
    return "APIHandler"


def _iam(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM permissions one API call needs, as ``service:Action:resource``."""
    if service != "dynamodb":
        return [f"{service}:{operation}:*"]

    def name(table: str, index: str | None = None) -> str:
        return TABLE.sub("", table) + (f"/{index}" if index else "")

    if operation == "TransactWriteItems":
        return [
            f"dynamodb:{ITEM_ACTIONS[kind]}:{name(op['TableName'])}"
            for item in params["TransactItems"]
            for kind, op in item.items()
        ]
    if operation == "TransactGetItems":
        return [f"dynamodb:GetItem:{name(item['Get']['TableName'])}" for item in params["TransactItems"]]
    return [f"dynamodb:{operation}:{name(params['TableName'], params.get('IndexName'))}"]


@pytest.fixture
def recorded(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[str]]]:
    import botocore.client

    calls: dict[str, set[str]] = defaultdict(set)
    original = botocore.client.BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        if not _reading_the_stream():  # Lambda's event source mapping (granted apart: OutboxStream)
            calls[_function()].update(_iam(service, operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    yield calls


def _invoke(name: str, event: dict[str, Any]) -> Any:
    from app import app

    with Client(app, stage_name="local") as client:
        return client.lambda_.invoke(name, event).payload


@pytest.mark.settings(refresh_token_ttl=3600)
def test_every_call_the_functions_make_is_in_their_role(
    api: Api,
    journey: Journey,
    outbox: Outbox,
    clock: FakeClock,
    staff_token: str,
    supervisor_token: str,
    recorded: dict[str, set[str]],
) -> None:
    # the API: a member's life (registration, sign-in, devices, PIN, recovery, export, deletion)
    who = person(950)
    session = journey.register(who).body["session"]
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert api.post("/v1/sessions", {"login": who.email, "password": who.password}).status == 201
    assert api.post("/v1/sessions", {"login": who.kpj, "password": "Salah-Sekali-1"}).status == 401
    assert api.get("/v1/me", headers=bearer).status == 200
    assert api.get("/v1/me/sessions", headers=bearer).status == 200
    # a passkey: added, named, signed in with, removed (a second one stays for the deletion)
    from tests.webauthn_device import SoftwareAuthenticator

    phone = SoftwareAuthenticator()
    for _ in range(2):
        started = api.post("/v1/me/passkeys/options", {"password": who.password}, headers=bearer).body
        made = phone.create(started["options"])
        added = api.post("/v1/me/passkeys", {"flow_id": started["flow_id"], "credential": made}, headers=bearer).body
    assert api.call("PATCH", f"/v1/me/passkeys/{added['passkey_id']}", {"name": "HP"}, headers=bearer).status == 200
    assert api.get("/v1/me/passkeys", headers=bearer).status == 200
    options = api.post("/v1/sessions/passkey/options", {}).body
    signin = {"flow_id": options["flow_id"], "credential": phone.get(options["options"])}
    assert api.post("/v1/sessions/passkey", signin).status == 201
    removed = api.call("DELETE", f"/v1/me/passkeys/{added['passkey_id']}", {"password": who.password}, headers=bearer)
    assert removed.status == 204
    pin = {"pin": "580147", "pin_confirmation": "580147", "password": who.password}
    assert api.put("/v1/me/pin", pin, headers=bearer).status == 204
    assert api.post("/v1/sessions/refresh", {"refresh_token": session["refresh_token"]}).status == 201
    reset = api.post("/v1/password-resets", {"email": who.email}).body["flow_id"]
    assert api.post(f"/v1/password-resets/{reset}/verify", {"code": outbox.email_code(who.email)}).status == 200
    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    pin_flow = api.post("/v1/pin-resets", identity).body["flow_id"]
    assert api.post(f"/v1/pin-resets/{pin_flow}/send", {"channel": "email"}).status == 200
    bounce = events.ses_bounce("m", who.email, clock(), clock() + 1)  # the pin code's email bounces
    _invoke("ses_feedback", events.sns_lambda_event(bounce))
    sms_flow = api.post("/v1/pin-resets", identity).body["flow_id"]
    assert api.post(f"/v1/pin-resets/{sms_flow}/send", {"channel": "sms"}).status == 200
    failed = events.sms_status("s", who.phone_e164, clock(), events.SMS_UNREACHABLE)  # and the SMS fails
    _invoke("sms_receipts", events.awslogs_event([failed], True))
    stranger = {"login": "belum.ada@example.com", "password": "Salah-Sekali-1"}
    answers = [api.post("/v1/sessions", stranger).status for _ in range(6)]  # locked: the lock is read
    assert answers == [401, 401, 401, 401, 423, 423]
    assert api.post("/v1/email-recoveries", {"phone": who.phone}).status == 202
    # the call center
    staff = {"Authorization": f"Bearer {staff_token}"}
    found = api.get(f"/v1/admin/accounts?nik={who.nik}", headers=staff).body["accounts"][0]
    assert (
        api.post(f"/v1/admin/accounts/{found['account_id']}/unlock", {"reason": "telepon"}, headers=staff).status == 200
    )
    assert api.get(f"/v1/admin/accounts/{found['account_id']}/audit", headers=staff).status == 200
    supervisor = {"Authorization": f"Bearer {supervisor_token}"}
    request = {"phone": "081366660000", "reason": "nomor hilang", "verification": "video_call"}
    change = api.call("PATCH", f"/v1/admin/accounts/{found['account_id']}/contact", request, headers=staff).body
    assert api.get("/v1/admin/contact-changes?status=pending", headers=supervisor).status == 200
    assert api.post(f"/v1/admin/contact-changes/{change['change_id']}/approve", {}, headers=supervisor).status == 200
    fresh = api.post("/v1/sessions", {"login": who.email, "password": who.password}).body
    export = api.post(
        "/v1/me/export", {"password": who.password}, headers={"Authorization": f"Bearer {fresh['access_token']}"}
    )
    assert export.status == 200
    gone = api.call(
        "DELETE", "/v1/me", {"password": who.password}, headers={"Authorization": f"Bearer {fresh['access_token']}"}
    )
    assert gone.status == 204
    # the cleanup
    from app import app

    with Client(app, stage_name="local") as client:
        schedule = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        clock.advance(86400)  # flows and (an hour's) sessions have expired
        client.lambda_.invoke("cleanup", schedule)

    for function, calls in recorded.items():
        missing = calls - granted(function)
        assert not missing, f"{function} calls what its role does not grant: {sorted(missing)}"
    assert set(recorded) == set(CALLS)  # every function ran
    for function in CALLS:  # and nothing is granted that no call needs
        unused = granted(function) - recorded[function] - NOT_EXERCISED.get(function, set()) - {"ssm:GetParameter:*"}
        assert not unused, f"{function} is granted what it never calls: {sorted(unused)}"
    assert json.dumps(sorted(recorded["Cleanup"]))  # and said what it did
    aws.reset_clients()
