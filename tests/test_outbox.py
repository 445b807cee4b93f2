"""The outbox (issue 28): a send the member is not waiting for is written with the change
and sent after the answer, once, by the outbox sender; forgot email answers a member's
number and a stranger's with the same calls, whatever the provider does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from chalicelib.delivery import outbox as sender
from chalicelib.deps import Deps, set_deps
from chalicelib.storage.models import OutboxModel
from local.metrics import count_calls
from tests.conftest import Api, LocalStack, Member, Outbox

FORGOT_EMAIL = "/v1/email-recoveries"


@contextmanager
def sns_down() -> Iterator[list[str]]:
    """SNS refuses every Publish (as during a provider outage), for whichever function calls it."""
    original = BaseClient._make_api_call
    refused: list[str] = []

    def failing(self: Any, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "sns" and operation == "Publish":
            refused.append(operation)
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, operation)
        return original(self, operation, params)

    BaseClient._make_api_call = failing  # type: ignore[method-assign]
    try:
        yield refused
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _items() -> list[OutboxModel]:
    return sorted(OutboxModel.scan(), key=lambda i: i.created_at)


def _redeliver(deps: Deps, item: OutboxModel) -> dict[str, Any]:
    """The stream record of ``item`` handed to the sender again (Lambda's retry of a failed record)."""
    record = {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"message_id": {"S": item.message_id}}, "SequenceNumber": "1"},
    }
    return sender.handle_stream(deps, {"Records": [record]}, sleep=lambda s: None)


def test_forgot_email_makes_the_same_calls_for_a_member_and_a_stranger_and_none_to_sns(
    api: Api, member: Member, outbox: Outbox
) -> None:
    calls = {}
    for who, phone in (("member", member.who.phone), ("stranger", "081300001111")):
        with count_calls() as counter:
            answer = api.post(FORGOT_EMAIL, {"phone": phone})
        assert (answer.status, answer.body) == (202, {})
        calls[who] = counter.summary()
    assert calls["member"] == calls["stranger"]  # the same reads, the same one transaction
    assert not any(call.startswith(("sns.", "ses.")) for call in calls["member"])  # no provider before the answer
    # afterwards the sender texts the member, and settles the stranger's decoy without a send
    assert "pe***0@e***e.com" in outbox.sms(member.who.phone_e164)[-1][1]
    assert outbox.sms("+6281300001111") == []
    assert sorted((i.kind, i.status) for i in _items()) == [("decoy", "skipped"), ("reminder", "sent")]
    assert all(i.destination is None and i.body is None for i in _items())  # nothing kept once done


def test_a_failing_provider_changes_no_answer_and_the_message_goes_once_it_recovers(
    api: Api, deps: Deps, member: Member, outbox: Outbox
) -> None:
    before = len(outbox.sms(member.who.phone_e164))
    with sns_down() as refused:
        known = api.post(FORGOT_EMAIL, {"phone": member.who.phone})
        unknown = api.post(FORGOT_EMAIL, {"phone": "081300002222"})
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, {})  # no 503 that only a member gets
    assert len(refused) == 1 + len(sender.BACKOFF)  # the sender tried, with backoff, then gave up for now
    [item] = [i for i in _items() if i.kind == "reminder"]
    assert (item.status, item.attempts, item.failure) == ("failed", 1, "provider_unavailable")
    assert len(outbox.sms(member.who.phone_e164)) == before
    assert _redeliver(deps, item) == {"batchItemFailures": []}  # SNS is back: Lambda's retry sends it
    assert len(outbox.sms(member.who.phone_e164)) == before + 1
    _redeliver(deps, item)  # a duplicate delivery of the record sends nothing more
    assert len(outbox.sms(member.who.phone_e164)) == before + 1
    assert OutboxModel.get(item.message_id).status == "sent"


def test_a_message_that_keeps_failing_is_reported_for_retry_and_bounded(api: Api, deps: Deps, member: Member) -> None:
    with sns_down():
        api.post(FORGOT_EMAIL, {"phone": member.who.phone})
        [item] = [i for i in _items() if i.kind == "reminder"]
        answers = [_redeliver(deps, item) for _ in range(sender.MAX_ATTEMPTS + 2)]
    reported = [bool(a["batchItemFailures"]) for a in answers]
    assert reported[: sender.MAX_ATTEMPTS - 1] == [True] * (sender.MAX_ATTEMPTS - 1)  # Lambda retries it
    assert OutboxModel.get(item.message_id).attempts == sender.MAX_ATTEMPTS  # and no more claims after that


def test_backoff_grows_with_jitter(deps: Deps, api: Api, member: Member) -> None:
    waits: list[float] = []
    with sns_down():
        api.post(FORGOT_EMAIL, {"phone": member.who.phone})
        [item] = [i for i in _items() if i.kind == "reminder"]
        OutboxModel(item.message_id).update(actions=[OutboxModel.status.set("queued")])
        sender.send_one(deps, item.message_id, sleep=waits.append)
    assert len(waits) == len(sender.BACKOFF)
    for wait, base in zip(waits, sender.BACKOFF, strict=True):
        assert base <= wait <= 2 * base
    assert waits == sorted(waits)


def test_two_senders_racing_send_once(deps: Deps, api: Api, member: Member, outbox: Outbox) -> None:
    from chalicelib.storage.store import Txn

    txn = Txn()
    message_id = sender.sms_notice(txn, member.who.phone_e164, "Pemberitahuan keamanan", deps.clock())
    deps.store.commit(txn)
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(sender.send_one(deps, message_id))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["sent"] + ["taken"] * 5
    assert [t for _, t in outbox.sms(member.who.phone_e164)].count("Pemberitahuan keamanan") == 1


def test_a_security_notice_is_written_with_the_change_and_sent_after_the_answer(
    deps: Deps, member: Member, outbox: Outbox
) -> None:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:  # no sender runs between these lines
        new = "Baru-Lebih-Kuat-7"
        body = json.dumps({"current_password": member.who.password, "password": new, "password_confirmation": new})
        headers = {"Authorization": f"Bearer {member.access}", "Content-Type": "application/json"}
        set_deps(deps)
        seen_before = len(outbox._backends()[0].sent_messages)  # drains what was queued before
        answer = client.http.put("/v1/me/password", headers=headers, body=body)
    assert answer.status_code == 204
    queued = [i for i in _items() if i.status == "queued"]
    assert {(i.channel, i.destination) for i in queued} == {
        ("email", member.who.email),
        ("sms", member.who.phone_e164),
    }  # the notice goes by email and SMS, both with the change, both after the answer
    assert outbox.run_sender() == 2
    notices = outbox.emails(member.who.email)
    assert len(outbox.emails()) == seen_before + 1 and "kata sandi" in notices[-1].subject.lower()
    assert any("Kata sandi" in t for _, t in outbox.sms(member.who.phone_e164))
    assert all(OutboxModel.get(i.message_id).status == "sent" for i in queued)


def test_the_local_stack_sends_from_the_outbox_within_seconds(local_stack: LocalStack) -> None:
    """As in AWS: the answer first, the text from the outbox a moment later; a stranger's
    number answers alike and gets nothing."""
    from tests.conftest import person
    from tests.stack_client import StackClient

    client = StackClient(local_stack)
    who = person(880, phone="081377770880", phone_e164="+6281377770880")
    client.register(who)
    for phone in (who.phone, "081377770881"):
        answer = requests.post(local_stack.api + FORGOT_EMAIL, json={"phone": phone}, timeout=30)
        assert (answer.status_code, answer.json()) == (202, {})
    deadline, texts = time.monotonic() + 5, []
    while time.monotonic() < deadline and not texts:
        inbox = requests.get(local_stack.inbox + "/api/messages", params={"to": who.phone_e164}, timeout=10).json()
        texts = [m for m in inbox["messages"] if "email" in m["body"].lower()]
        time.sleep(0.2)
    assert texts and "pe***0@e***e.com" in texts[0]["body"]  # the member's text arrived within seconds
    stranger = requests.get(local_stack.inbox + "/api/messages", params={"to": "+6281377770881"}, timeout=10).json()
    assert stranger["messages"] == []
