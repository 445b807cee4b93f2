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


# Steps that need three: the login must be resolved to an account before the attempt
# is reserved on it; authenticated steps read the session before touching anything, and
# those that re-check the password reserve that check on the account first.
THREE = {"sign-in", "PUT /me/pin", "PUT /me/password", "POST /me/phone", "POST /me/phone/{id}/verify"}


def test_signed_in_steps_round_trips(api: Api, outbox: Outbox, member_factory) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(2)
    costs: dict[str, list[str]] = {}

    def step(name: str, method: str, path: str, body: object = None, token: str | None = None) -> object:
        headers = {"Authorization": f"Bearer {token or member.access}"}
        with count_calls() as counter:
            answer = api.call(method, path, body, headers=headers)
        assert answer.status < 300, answer
        costs[name] = counter.by_service("dynamodb")
        return answer.body

    who = member.who
    session = step("sign-in", "POST", "/v1/sessions", {"login": who.email, "password": who.password})
    step("refresh", "POST", "/v1/sessions/refresh", {"refresh_token": session["refresh_token"]})  # type: ignore[index]
    step("GET /me", "GET", "/v1/me")
    step("PUT /me/pin", "PUT", "/v1/me/pin", {"pin": "258036", "pin_confirmation": "258036", "password": who.password})
    flow = step("POST /me/phone", "POST", "/v1/me/phone", {"phone": "081399990000", "password": who.password})
    code = outbox.sms_code("+6281399990000")
    step("POST /me/phone/{id}/verify", "POST", f"/v1/me/phone/{flow['flow_id']}/verify", {"code": code})  # type: ignore[index]
    new = "Baru-Lebih-Kuat-7"
    body = {"current_password": who.password, "password": new, "password_confirmation": new}
    step("PUT /me/password", "PUT", "/v1/me/password", body)
    step("DELETE /sessions/current", "DELETE", "/v1/sessions/current")

    print("\nDynamoDB round trips per signed-in step")
    for name, ops in costs.items():
        print(f"  {name:<28} {len(ops)}  {', '.join(ops)}")
    for name, ops in costs.items():
        assert len(ops) <= (3 if name in THREE else 2), (name, ops)


def test_recovery_steps_round_trips(api: Api, outbox: Outbox, member_factory, clock) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(3)
    who = member.who
    costs: dict[str, list[str]] = {}

    def step(name: str, method: str, path: str, body: object = None) -> dict:
        with count_calls() as counter:
            answer = api.call(method, path, body)
        assert answer.status < 300, answer
        costs[name] = counter.by_service("dynamodb")
        return answer.body  # type: ignore[no-any-return]

    flow = step("password-resets start (known)", "POST", "/v1/password-resets", {"email": who.email})["flow_id"]
    step("password-resets start (unknown)", "POST", "/v1/password-resets", {"email": "nobody@example.com"})
    clock.advance(60)
    step("password-resets resend", "POST", f"/v1/password-resets/{flow}/resend")
    step("password-resets verify", "POST", f"/v1/password-resets/{flow}/verify", {"code": outbox.email_code(who.email)})
    new = {"password": "Baru-Lebih-Kuat-7", "password_confirmation": "Baru-Lebih-Kuat-7"}
    step("password-resets complete", "POST", f"/v1/password-resets/{flow}/complete", new)

    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    flow = step("pin-resets start", "POST", "/v1/pin-resets", identity)["flow_id"]
    step("pin-resets send", "POST", f"/v1/pin-resets/{flow}/send", {"channel": "sms"})
    code = outbox.sms_code(who.phone_e164)
    step("pin-resets verify", "POST", f"/v1/pin-resets/{flow}/verify", {"code": code})
    step(
        "pin-resets complete",
        "POST",
        f"/v1/pin-resets/{flow}/complete",
        {"pin": "471036", "pin_confirmation": "471036"},
    )

    step("email-recoveries (known)", "POST", "/v1/email-recoveries", {"phone": who.phone})
    step("email-recoveries (unknown)", "POST", "/v1/email-recoveries", {"phone": "081300001111"})

    print("\nDynamoDB round trips per recovery step")
    for name, ops in costs.items():
        print(f"  {name:<32} {len(ops)}  {', '.join(ops)}")
    assert costs["password-resets start (known)"] == costs["password-resets start (unknown)"]
    assert costs["email-recoveries (known)"] == costs["email-recoveries (unknown)"]
    assert all(len(ops) <= 3 for ops in costs.values()), costs


def test_passkey_steps_round_trips(api: Api, member_factory) -> None:  # type: ignore[no-untyped-def]
    """Issue 25: each passkey step at most two; the two that step up (adding's options,
    removing) pay the password's reserved check like every step-up (three)."""
    from tests.webauthn_device import SoftwareAuthenticator

    member = member_factory(3)
    phone = SoftwareAuthenticator()
    costs: dict[str, list[str]] = {}

    def step(name: str, method: str, path: str, body: object = None, auth: bool = True) -> dict:
        headers = {"Authorization": f"Bearer {member.access}"} if auth else {}
        with count_calls() as counter:
            answer = api.call(method, path, body, headers=headers)
        assert answer.status < 300, answer
        costs[name] = counter.by_service("dynamodb")
        return answer.body if isinstance(answer.body, dict) else {}

    started = step("POST /me/passkeys/options", "POST", "/v1/me/passkeys/options", {"password": member.who.password})
    made = phone.create(started["options"])
    added = step("POST /me/passkeys", "POST", "/v1/me/passkeys", {"flow_id": started["flow_id"], "credential": made})
    step("GET /me/passkeys", "GET", "/v1/me/passkeys")
    step("PATCH /me/passkeys/{id}", "PATCH", f"/v1/me/passkeys/{added['passkey_id']}", {"name": "HP"})
    options = step("POST /sessions/passkey/options", "POST", "/v1/sessions/passkey/options", {}, auth=False)
    signin = {"flow_id": options["flow_id"], "credential": phone.get(options["options"])}
    step("POST /sessions/passkey", "POST", "/v1/sessions/passkey", signin, auth=False)
    step(
        "DELETE /me/passkeys/{id}",
        "DELETE",
        f"/v1/me/passkeys/{added['passkey_id']}",
        {"password": member.who.password},
    )

    print("\nDynamoDB round trips per passkey step")
    for name, ops in costs.items():
        print(f"  {name:<32} {len(ops)}  {', '.join(ops)}")
    step_ups = {"POST /me/passkeys/options", "DELETE /me/passkeys/{id}"}
    assert all(1 <= len(ops) <= (3 if name in step_ups else 2) for name, ops in costs.items()), costs
    assert costs["POST /sessions/passkey"] == ["TransactGetItems", "TransactWriteItems"]
