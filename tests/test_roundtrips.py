"""DynamoDB round trips per registration step: at most two each (printed with -s)."""

from __future__ import annotations

from local.metrics import count_calls
from tests.conftest import Api, Outbox, person


def test_each_registration_step_costs_at_most_two_dynamodb_round_trips(api: Api, outbox: Outbox) -> None:
    who = person(1)
    costs: dict[str, list[str]] = {}

    def step(name: str, method: str, path: str, body: object = None, expect: int = 200) -> dict:
        with count_calls() as counter:
            answer = api.call(method, path, body)
        assert answer.status == expect, answer
        costs[name] = counter.by_service("dynamodb")
        return answer.body

    flow = step("POST /v1/registrations", "POST", "/v1/registrations", {"email": who.email}, 201)["flow_id"]
    base = f"/v1/registrations/{flow}"
    step("GET flow", "GET", base)
    step("email/verify", "POST", base + "/email/verify", {"code": outbox.email_code(who.email)})
    step("profile", "PUT", base + "/profile", who.profile())
    step("phone", "POST", base + "/phone", {"phone": who.phone})
    step("phone/verify", "POST", base + "/phone/verify", {"code": outbox.sms_code(who.phone_e164)})
    body = {"password": who.password, "password_confirmation": who.password}
    step("complete", "POST", base + "/complete", body, 201)

    print("\nDynamoDB round trips per registration step")
    for name, ops in costs.items():
        print(f"  {name:<24} {len(ops)}  {', '.join(ops)}")
    assert all(1 <= len(ops) <= 2 for ops in costs.values()), costs
    assert costs["complete"][-1] == "TransactWriteItems"  # account + 4 claims + flow + session at once
