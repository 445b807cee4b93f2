"""Faults at every step: DynamoDB throttling, cancelled transactions, SES/SNS errors and
timeouts. Each gives a clean 503, leaves nothing half-written, uses up no attempt and
no send, and the same request then succeeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib.storage.models import ALL_MODELS, AuditModel
from local.metrics import in_another_function
from tests.conftest import REGION, Answer, Api, FakeClock, Outbox, person


@contextmanager
def fault(
    service: str, nth: int, error: Callable[[str], Exception], operation: str | None = None
) -> Iterator[list[int]]:
    """Fail the ``nth`` call to ``service`` (optionally only ``operation``) made inside the block."""
    original = BaseClient._make_api_call
    seen = [0]

    def failing(self: Any, operation_name: str, params: Any) -> Any:
        if (
            self.meta.service_model.service_name == service
            and operation in (None, operation_name)
            and not in_another_function()  # the outbox sender is another function
        ):
            seen[0] += 1
            if seen[0] == nth:
                raise error(operation_name)
        return original(self, operation_name, params)

    BaseClient._make_api_call = failing  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, operation)


def ses_down(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "x"}}, operation)


def timeout(operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url="https://email.ap-southeast-3.amazonaws.com")


def snapshot() -> dict[str, Any]:
    """Every table but the audit trail; rate counters as counts (an emptied counter is none)."""
    client = boto3.client("dynamodb", region_name=REGION)
    state: dict[str, Any] = {}
    for model in ALL_MODELS:
        if model is AuditModel:
            continue
        items = client.scan(TableName=model.Meta.table_name, ConsistentRead=True)["Items"]
        if model.Meta.table_name.endswith("counters"):
            counts = {
                i["counter_key"]["S"]: len(i.get("stamps", {}).get("NS", [])) + int(i.get("hits", {}).get("N", 0))
                for i in items
            }
            state["counters"] = {k: v for k, v in counts.items() if v}
        else:
            state[model.Meta.table_name] = sorted(str(sorted(i.items())) for i in items)
    return state


def check_step(
    request: Callable[[], Answer],
    service: str,
    error: Callable[[str], Exception],
    expect: str,
    operation: str | None = None,
) -> Answer:
    """Fail each call of ``service`` the step makes in turn; then let it through."""
    nth = 1
    while True:
        before = snapshot()
        with fault(service, nth, error, operation) as seen:
            answer = request()
        if seen[0] < nth:  # the step makes fewer calls: every one has been failed once
            assert answer.status < 400, answer
            return answer
        assert answer.status == 503 and answer.code == expect, (nth, answer)
        assert int(answer.headers["retry-after"]) > 0
        assert snapshot() == before, f"call {nth} left something behind"
        nth += 1


STEPS = ["start", "email_verify", "profile", "phone", "phone_verify", "complete", "sign_in"]


@pytest.mark.parametrize("failing", ["dynamodb", "ses", "sns"])
def test_registration_and_sign_in_survive_every_fault(api: Api, outbox: Outbox, failing: str) -> None:
    who = person(11)
    error = {"dynamodb": throttled, "ses": ses_down, "sns": timeout}[failing]
    expect = "internal_error" if failing == "dynamodb" else "delivery_unavailable"
    op = {"ses": "SendEmail", "sns": "Publish", "dynamodb": None}[failing]
    flow = check_step(lambda: api.post("/v1/registrations", {"email": who.email}), failing, error, expect, op).body[
        "flow_id"
    ]
    base = f"/v1/registrations/{flow}"
    code = outbox.email_code(who.email)
    check_step(lambda: api.post(f"{base}/email/verify", {"code": code}), failing, error, expect, op)
    check_step(lambda: api.put(f"{base}/profile", who.profile()), failing, error, expect, op)
    check_step(lambda: api.post(f"{base}/phone", {"phone": who.phone}), failing, error, expect, op)
    sms = outbox.sms_code(who.phone_e164)
    check_step(lambda: api.post(f"{base}/phone/verify", {"code": sms}), failing, error, expect, op)
    body = {"password": who.password, "password_confirmation": who.password}
    check_step(lambda: api.post(f"{base}/complete", body), failing, error, expect, op)
    signed = check_step(
        lambda: api.post("/v1/sessions", {"login": who.email, "password": who.password}), failing, error, expect, op
    )
    assert signed.status == 201
    assert len(outbox.emails(who.email)) == 1 and len(outbox.sms(who.phone_e164)) == 1  # one send each


@pytest.mark.parametrize("failing", ["dynamodb", "ses"])
def test_password_reset_survives_every_fault(
    api: Api, outbox: Outbox, member_factory, clock: FakeClock, failing: str
) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(12)
    error = throttled if failing == "dynamodb" else timeout
    expect = "internal_error" if failing == "dynamodb" else "delivery_unavailable"
    op = None if failing == "dynamodb" else "SendEmail"
    flow = check_step(
        lambda: api.post("/v1/password-resets", {"email": member.who.email}), failing, error, expect, op
    ).body["flow_id"]
    clock.advance(60)
    check_step(lambda: api.post(f"/v1/password-resets/{flow}/resend"), failing, error, expect, op)
    code = outbox.email_code(member.who.email)
    check_step(lambda: api.post(f"/v1/password-resets/{flow}/verify", {"code": code}), failing, error, expect, op)
    new = {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "Baru-Lebih-Kuat-7"}
    if failing == "dynamodb":
        check_step(lambda: api.post(f"/v1/password-resets/{flow}/complete", new), failing, error, expect, op)
    else:
        # The "password changed" notice goes out after the change is stored: its failure is
        # logged, not answered with a 503 that would invite repeating a finished change.
        with fault("ses", 1, error, op):
            assert api.post(f"/v1/password-resets/{flow}/complete", new).status == 200


def test_pin_reset_and_email_recovery_survive_storage_faults(api: Api, outbox: Outbox, member_factory) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(13)
    who = member.who
    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    flow = check_step(lambda: api.post("/v1/pin-resets", identity), "dynamodb", throttled, "internal_error").body[
        "flow_id"
    ]
    check_step(
        lambda: api.post(f"/v1/pin-resets/{flow}/send", {"channel": "sms"}), "dynamodb", throttled, "internal_error"
    )
    code = outbox.sms_code(who.phone_e164)
    check_step(
        lambda: api.post(f"/v1/pin-resets/{flow}/verify", {"code": code}), "dynamodb", throttled, "internal_error"
    )
    pin = {"pin": "471036", "pin_confirmation": "471036"}
    check_step(lambda: api.post(f"/v1/pin-resets/{flow}/complete", pin), "dynamodb", throttled, "internal_error")
    check_step(lambda: api.post("/v1/email-recoveries", {"phone": who.phone}), "dynamodb", throttled, "internal_error")
    check_step(
        lambda: api.post("/v1/email-recoveries", {"phone": who.phone}),
        "sns",
        timeout,
        "delivery_unavailable",
        "Publish",
    )


def test_a_cancelled_transaction_from_a_conflict_is_retried(api: Api, outbox: Outbox) -> None:
    def conflict(operation: str) -> Exception:
        return ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
            },
            operation,
        )

    with fault("dynamodb", 1, conflict, "TransactWriteItems"):
        answer = api.post("/v1/registrations", {"email": "a@example.com"})
    assert answer.status == 201
    assert len(outbox.emails("a@example.com")) == 1


def test_signed_in_changes_and_staff_actions_survive_storage_faults(
    api: Api, outbox: Outbox, member_factory, supervisor_token: str
) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(14)
    auth = member.auth()
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    check_step(lambda: api.put("/v1/me/pin", pin, headers=auth), "dynamodb", throttled, "internal_error")
    flow = check_step(
        lambda: api.post("/v1/me/phone", {"phone": "081399990000", "password": member.who.password}, headers=auth),
        "dynamodb",
        throttled,
        "internal_error",
    ).body["flow_id"]
    code = outbox.sms_code("+6281399990000")
    check_step(
        lambda: api.post(f"/v1/me/phone/{flow}/verify", {"code": code}, headers=auth),
        "dynamodb",
        throttled,
        "internal_error",
    )
    staff = {"Authorization": f"Bearer {supervisor_token}"}
    reason = {"reason": "caller verified, ticket 4711"}
    path = f"/v1/admin/accounts/{member.account_id}"
    check_step(lambda: api.post(f"{path}/unlock", reason, headers=staff), "dynamodb", throttled, "internal_error")
    check_step(lambda: api.post(f"{path}/reset", reason, headers=staff), "dynamodb", throttled, "internal_error")
