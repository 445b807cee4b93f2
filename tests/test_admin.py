"""Call center: authorization on every route, look-ups, contact change, unlock, reset, audit."""

from __future__ import annotations

import jwt
import pytest

from chalicelib.storage.models import AuditModel
from tests.conftest import Api, FakeClock, Journey, Member, Outbox, person

REASON = {"reason": "caller verified by KTP photo, ticket 4711"}


SUPERVISOR_ONLY = ("reset", "authenticator/reset", "contact-changes?status=pending")
CHECKED = {"verification": "video_call"}


def routes(account_id: str) -> list[tuple[str, str, dict | None]]:
    base = f"/v1/admin/accounts/{account_id}"
    return [
        ("GET", "/v1/admin/accounts?kpj=12345678901", None),
        ("GET", base, None),
        ("PATCH", f"{base}/contact", {"phone": "081311112222", **REASON, **CHECKED}),
        ("GET", "/v1/admin/contact-changes?status=pending", None),
        ("POST", f"{base}/unlock", REASON),
        ("GET", f"{base}/audit", None),
        ("POST", f"{base}/authenticator/reset", REASON),
        ("POST", f"{base}/reset", REASON),  # last: the account closes
    ]


def _tampered(token: str) -> str:
    head, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["cognito:groups"] = ["supervisor"]
    forged_payload = jwt.encode(claims, "k" * 32, algorithm="HS256").split(".")[1]
    return f"{head}.{forged_payload}.{signature}"


def _other_pool_token() -> str:
    """A genuine token of another pool (signed by the same emulator key, another issuer)."""
    import boto3

    from local.staff_pool import ensure_pool, ensure_user, sign_in

    cognito = boto3.client("cognito-idp", region_name="ap-southeast-3")
    pool_id, client_id = ensure_pool(cognito, "elsewhere")
    ensure_user(cognito, pool_id, "outsider", "supervisor")
    return sign_in(cognito, client_id, "outsider")


def test_authorization_matrix(
    api: Api, member: Member, staff_token: str, supervisor_token: str, clock: FakeClock
) -> None:
    other_pool = _other_pool_token()
    refused = {
        "no token": (None, 401),
        "garbage": ("Bearer not-a-token", 401),
        "not bearer": (f"Basic {staff_token}", 401),
        "tampered signature": (f"Bearer {_tampered(staff_token)}", 401),
        "another pool": (f"Bearer {other_pool}", 401),
        "HS256 with the member key": (
            "Bearer " + jwt.encode({"iss": "x", "sub": "x", "exp": 4_000_000_000, "iat": 1}, "k" * 32),
            401,
        ),
        "a member's token": (f"Bearer {member.access}", 403),
    }
    for method, path, body in routes(member.account_id):
        for name, (header, status) in refused.items():
            headers = {"Authorization": header} if header else {}
            answer = api.call(method, path, body, headers=headers)
            assert (answer.status, answer.code) == (status, "unauthenticated" if status == 401 else "forbidden"), (
                name,
                path,
            )
        supervisor_only = any(path.endswith(suffix) for suffix in SUPERVISOR_ONLY)
        ok = 202 if method == "PATCH" else 200  # a contact change is a request until approved
        as_agent = api.call(method, path, body, headers={"Authorization": f"Bearer {staff_token}"})
        assert as_agent.status == (403 if supervisor_only else ok), (path, as_agent)
        as_supervisor = api.call(method, path, body, headers={"Authorization": f"Bearer {supervisor_token}"})
        assert as_supervisor.status == ok, (path, as_supervisor)
    clock.advance(2 * 86400)  # past the pool token's expiry
    expired = api.get("/v1/admin/accounts?kpj=12345678901", headers={"Authorization": f"Bearer {staff_token}"})
    assert expired.status == 401 and expired.code == "unauthenticated"


def test_a_staff_user_in_no_group_is_forbidden(api: Api, member: Member, deps) -> None:  # type: ignore[no-untyped-def]
    import boto3

    from local.staff_pool import ensure_pool, ensure_user, sign_in

    cognito = boto3.client("cognito-idp", region_name="ap-southeast-3")
    pool_id, client_id = ensure_pool(cognito, "local")
    ensure_user(cognito, pool_id, "intern", "agent")
    cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username="intern", GroupName="agent")
    token = sign_in(cognito, client_id, "intern")
    answer = api.get(f"/v1/admin/accounts/{member.account_id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 403 and answer.code == "forbidden"


def test_the_pool_keys_are_fetched_once_per_container(api: Api, member: Member, staff_token: str, deps) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert api.get(f"/v1/admin/accounts/{member.account_id}", headers=staff(staff_token)).status == 200
    assert deps.staff_keys.fetches == 1


def test_audit_names_the_staff_user_and_group(api: Api, member: Member, supervisor_token: str) -> None:
    api.post(f"/v1/admin/accounts/{member.account_id}/unlock", REASON, headers=staff(supervisor_token))
    events = api.get(f"/v1/admin/accounts/{member.account_id}/audit", headers=staff(supervisor_token)).body["events"]
    unlocked = next(e for e in events if e["kind"] == "admin.unlocked")
    assert unlocked["actor"].startswith("staff:spv01 (supervisor, ") and len(unlocked["actor"]) > 40


def staff(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("key", ["email", "nik", "phone", "kpj"])
def test_lookup_by_each_key(api: Api, member: Member, staff_token: str, key: str) -> None:
    value = {
        "email": member.who.email.upper(),
        "nik": member.who.nik,
        "phone": "+62 812-3456-0000",
        "kpj": member.who.kpj,
    }[key]
    answer = api.get(
        f"/v1/admin/accounts?{key}={value.replace('+', '%2B').replace(' ', '%20')}", headers=staff(staff_token)
    )
    assert answer.status == 200
    [account] = answer.body["accounts"]
    assert account["account_id"] == member.account_id and account["nik_masked"] == "3174**********01"
    assert member.who.nik not in str(answer.body)


@pytest.mark.parametrize("query", ["", "?email=a@example.com&kpj=12345678901", "?nik=123"])
def test_lookup_needs_exactly_one_valid_key(api: Api, staff_token: str, query: str) -> None:
    answer = api.get(f"/v1/admin/accounts{query}", headers=staff(staff_token))
    assert answer.status == 422 and answer.code == "validation_error"


def test_lookup_of_nobody_is_empty(api: Api, staff_token: str) -> None:
    assert api.get("/v1/admin/accounts?kpj=99999999999", headers=staff(staff_token)).body == {"accounts": []}


def test_reset_frees_everything_and_the_person_registers_again(
    api: Api, member: Member, supervisor_token: str, journey: Journey
) -> None:
    staff_token = supervisor_token
    assert (
        api.post(f"/v1/admin/accounts/{member.account_id}/reset", {}, headers=staff(staff_token)).code
        == "validation_error"
    )
    answer = api.post(f"/v1/admin/accounts/{member.account_id}/reset", REASON, headers=staff(staff_token))
    assert answer.status == 200 and answer.body["status"] == "closed"
    assert api.get("/v1/me", headers=member.auth()).status == 401  # sessions ended
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 401
    again = journey.register(member.who)  # same email, NIK, phone and KPJ
    assert again.body["account"]["account_id"] != member.account_id
    view = api.get(f"/v1/admin/accounts/{member.account_id}", headers=staff(staff_token))
    assert view.body["status"] == "closed"  # the record stays for the audit trail
    assert api.post(f"/v1/admin/accounts/{member.account_id}/reset", REASON, headers=staff(staff_token)).status == 409


def test_unlock(api: Api, member: Member, staff_token: str) -> None:
    for _ in range(5):
        api.post("/v1/sessions", {"login": member.who.email, "password": "Salah-Sekali-1"})
    view = api.get(f"/v1/admin/accounts/{member.account_id}", headers=staff(staff_token)).body
    assert view["locked"] is True and view["locked_until"]
    answer = api.post(f"/v1/admin/accounts/{member.account_id}/unlock", REASON, headers=staff(staff_token))
    assert answer.status == 200 and answer.body["locked"] is False
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 201


def test_contact_change_notifies_old_and_new_and_frees_the_old(
    api: Api, member_factory, staff_token: str, supervisor_token: str, outbox: Outbox, journey: Journey
) -> None:  # type: ignore[no-untyped-def]
    member, other = member_factory(1), member_factory(2)
    path = f"/v1/admin/accounts/{member.account_id}/contact"
    taken = api.call("PATCH", path, {"phone": other.who.phone, **REASON, **CHECKED}, headers=staff(staff_token))
    assert taken.status == 409 and taken.code == "phone_registered"
    no_reason = api.call("PATCH", path, {"email": "baru@example.com", **CHECKED}, headers=staff(staff_token))
    assert no_reason.status == 422
    unchecked = api.call("PATCH", path, {"email": "baru@example.com", **REASON}, headers=staff(staff_token))
    assert unchecked.status == 422 and "verification" in unchecked.body["error"]["details"]["fields"]
    body = {"email": "baru@example.com", "phone": "081311112222", **REASON, **CHECKED}
    requested = api.call("PATCH", path, body, headers=staff(staff_token))
    assert requested.status == 202 and requested.body["status"] == "pending"
    view = api.get(f"/v1/admin/accounts/{member.account_id}", headers=staff(staff_token)).body
    assert view["email"] == member.who.email  # nothing changes on one person's word
    change = requested.body["change_id"]
    approved = api.post(f"/v1/admin/contact-changes/{change}/approve", {}, headers=staff(supervisor_token))
    assert approved.status == 200
    assert approved.body["email"] == "baru@example.com" and approved.body["phone"] == "+6281311112222"
    assert "diganti" in outbox.emails(member.who.email)[-1].subject  # old address told
    assert any("diganti" in m.subject for m in outbox.emails("baru@example.com"))  # new address told
    journey.to_phone_verification(person(70, phone=member.who.phone, phone_e164=member.who.phone_e164))


def test_audit_records_who_what_when_why_newest_first(
    api: Api, member: Member, staff_token: str, clock: FakeClock
) -> None:
    clock.advance(1)
    api.post("/v1/sessions", {"login": member.who.email, "password": "Salah-Sekali-1"})
    clock.advance(1)
    api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password})
    clock.advance(1)
    api.post(f"/v1/admin/accounts/{member.account_id}/unlock", REASON, headers=staff(staff_token))
    clock.advance(1)
    page = api.get(f"/v1/admin/accounts/{member.account_id}/audit?limit=3", headers=staff(staff_token)).body
    kinds = [e["kind"] for e in page["events"]]
    assert kinds == ["admin.unlocked", "signin.success", "credentials.failure"]
    unlocked = page["events"][0]
    assert unlocked["actor"].startswith("staff:agent01 (agent, ") and unlocked["reason"] == REASON["reason"]
    assert len(unlocked["client"]) == 32 and "127.0.0.1" not in str(page) and unlocked["at"]  # a keyed hash
    rest = api.get(
        f"/v1/admin/accounts/{member.account_id}/audit?cursor={page['next_cursor']}", headers=staff(staff_token)
    ).body["events"]
    assert [e["kind"] for e in rest][-1] == "account.created"


def test_codes_sent_and_failed_are_audited(
    api: Api, member: Member, staff_token: str, outbox: Outbox, clock: FakeClock
) -> None:
    clock.advance(1)
    flow = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]
    code = outbox.email_code(member.who.email)
    clock.advance(1)
    api.post(f"/v1/password-resets/{flow}/verify", {"code": "000000" if code != "000000" else "111111"})
    events = api.get(f"/v1/admin/accounts/{member.account_id}/audit", headers=staff(staff_token)).body["events"]
    failed, sent = events[0], events[1]
    assert failed["kind"] == "code.failed" and failed["details"]["attempts_remaining"] == 4
    assert sent["kind"] == "code.sent" and sent["details"]["destination"] == "pe***0@e***e.com"


def test_audit_holds_no_secret(api: Api, member: Member, staff_token: str, outbox: Outbox) -> None:
    api.post("/v1/password-resets", {"email": member.who.email})
    code = outbox.email_code(member.who.email)
    everything = " ".join(str(item.attribute_values) for item in AuditModel.scan())
    for secret in (member.who.password, member.who.nik, code, member.access, member.refresh):
        assert secret not in everything
