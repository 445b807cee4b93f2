"""No silent takeover (issue 24): what an attacker with a member's leaked data, a SIM
swap or one call-center agent now meets, and what the member hears of it."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from chalicelib.clock import to_datetime
from chalicelib.storage.models import AuditModel, CounterModel, FlowModel
from chalicelib.storage.store import Conflict, Txn
from tests.actions import enrol_authenticator
from tests.conftest import Api, FakeClock, Member, Outbox

REASON = {"reason": "penelepon menjawab pertanyaan keamanan, tiket 5120"}
UA = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"}


def staff(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def told(outbox: Outbox, member: Member, words: str) -> tuple[list[str], list[str]]:
    """The email subjects and SMS texts a member's email and phone got that say ``words``."""
    mails = [m.subject for m in outbox.emails(member.who.email) if words in m.subject]
    texts = [t for _, t in outbox.sms(member.who.phone_e164) if words in t]
    return mails, texts


def no_secret_in(text: str, member: Member) -> None:
    assert member.who.nik not in text and member.who.password not in text
    assert not re.search(r"\b\d{6}\b", text), text  # no code, no PIN


# --- finding 1: forgot PIN hands out a full account silently -----------------------------


def _forgot_pin(api: Api, outbox: Outbox, member: Member, channel: str = "sms") -> str:
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}).body
    api.post(f"/v1/pin-resets/{flow['flow_id']}/send", {"channel": channel})
    code = outbox.sms_code(who.phone_e164) if channel == "sms" else outbox.email_code(who.email)
    assert api.post(f"/v1/pin-resets/{flow['flow_id']}/verify", {"code": code}).status == 200
    return str(flow["flow_id"])


def test_forgot_pin_ends_every_session_and_tells_email_and_phone(api: Api, member: Member, outbox: Outbox) -> None:
    other = api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).body
    flow = _forgot_pin(api, outbox, member)
    done = api.post(f"/v1/pin-resets/{flow}/complete", {"pin": "480273", "pin_confirmation": "480273"}, headers=UA)
    assert done.status == 200 and done.body["state"] == "completed"
    for token in (member.access, other["access_token"]):
        assert api.get("/v1/me", headers=member.auth(token)).status == 401  # the member's devices and the thief's
    assert api.post("/v1/sessions/refresh", {"refresh_token": other["refresh_token"]}).status == 401
    mails, texts = told(outbox, member, "Lupa PIN")
    assert len(mails) == 1 and len(texts) == 1
    assert "Chrome on Android 14" in texts[0] and "care center" in texts[0]
    no_secret_in(texts[0], member)
    body = outbox.emails(member.who.email)[-1].body
    assert "Chrome on Android 14" in body and "WIB" in body
    no_secret_in(body, member)


# --- finding 4: forgot PIN's authenticator channel was a free guessing loop ---------------


def test_the_authenticator_channel_counts_toward_the_lockout(api: Api, member: Member, clock: FakeClock) -> None:
    enrol_authenticator(api, member, clock)
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}).body
    path = f"/v1/pin-resets/{flow['flow_id']}"
    assert api.post(f"{path}/send", {"channel": "authenticator"}).status == 200
    statuses = [api.post(f"{path}/verify", {"code": "000000"}).status for _ in range(4)]
    clock.advance(61)
    assert api.post(f"{path}/send", {"channel": "authenticator"}).status == 200  # a new round: same account count
    statuses.append(api.post(f"{path}/verify", {"code": "000000"}).status)
    assert statuses == [422, 422, 422, 422, 423]  # five wrong codes in all lock the account
    assert api.post("/v1/sessions", {"login": who.email, "password": who.password}).status == 423


def test_choosing_the_authenticator_again_follows_the_resend_rules(api: Api, member: Member, clock: FakeClock) -> None:
    enrol_authenticator(api, member, clock)
    who = member.who
    flow = api.post("/v1/pin-resets", {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}).body
    path = f"/v1/pin-resets/{flow['flow_id']}"
    assert api.post(f"{path}/send", {"channel": "authenticator"}).status == 200
    again = api.post(f"{path}/send", {"channel": "authenticator"})
    assert again.status == 429 and again.code == "resend_too_soon" and int(again.headers["retry-after"]) > 0
    for _ in range(4):
        clock.advance(61)
        assert api.post(f"{path}/send", {"channel": "authenticator"}).status == 200
    clock.advance(61)
    sixth = api.post(f"{path}/send", {"channel": "authenticator"})
    assert sixth.status == 429 and sixth.code == "rate_limited"  # 5 per flow, like any resend


# --- finding 2: one agent could take any account -------------------------------------------


def _request(api: Api, member: Member, token: str, **change: str) -> dict[str, Any]:
    body = {**change, **REASON, "verification": "questions"}
    answer = api.call("PATCH", f"/v1/admin/accounts/{member.account_id}/contact", body, headers=staff(token))
    assert answer.status == 202, answer.body
    return dict(answer.body)


def test_a_contact_change_needs_a_second_person(
    api: Api, member: Member, staff_token: str, supervisor_token: str, outbox: Outbox
) -> None:
    change = _request(api, member, supervisor_token, email="pencuri@example.com", phone="081355550000")
    assert change["status"] == "pending" and change["requested_by"].startswith("staff:spv01")
    assert api.get("/v1/me", headers=member.auth()).body["email"] == member.who.email  # nothing changed
    approve = f"/v1/admin/contact-changes/{change['change_id']}/approve"
    own = api.post(approve, {}, headers=staff(supervisor_token))
    assert own.status == 403 and own.code == "forbidden"  # never one's own
    agent = api.post(approve, {}, headers=staff(staff_token))
    assert agent.status == 403  # approving is a supervisor's
    assert api.get("/v1/admin/contact-changes?status=pending", headers=staff(staff_token)).status == 403


def test_approval_ends_sessions_kills_old_flows_and_tells_old_and_new(
    api: Api, member: Member, staff_token: str, supervisor_token: str, outbox: Outbox
) -> None:
    reset = api.post("/v1/password-resets", {"email": member.who.email}).body["flow_id"]  # bound to the old email
    code = outbox.email_code(member.who.email)
    change = _request(api, member, staff_token, email="baru.lagi@example.com", phone="081355551111")
    waiting = api.get("/v1/admin/contact-changes?status=pending", headers=staff(supervisor_token)).body["changes"]
    assert [c["change_id"] for c in waiting if c["account_id"] == member.account_id] == [change["change_id"]]
    approved = api.post(f"/v1/admin/contact-changes/{change['change_id']}/approve", {}, headers=staff(supervisor_token))
    assert approved.status == 200 and approved.body["email"] == "baru.lagi@example.com"

    assert api.get("/v1/me", headers=member.auth()).status == 401  # every session ended
    assert api.post(f"/v1/password-resets/{reset}/verify", {"code": code}).status == 410  # the old flow died
    for address in (member.who.email, "baru.lagi@example.com"):
        subjects = [m.subject for m in outbox.emails(address)]
        assert any("Email akun" in s for s in subjects) and any("Nomor ponsel" in s for s in subjects), address
    for number in (member.who.phone_e164, "+6281355551111"):
        texts = [t for _, t in outbox.sms(number) if "oleh call center" in t]
        assert len(texts) == 2, number  # the email change and the phone change
    audit = api.get(f"/v1/admin/accounts/{member.account_id}/audit", headers=staff(staff_token)).body["events"]
    approval = next(e for e in audit if e["kind"] == "admin.contact_change_approved")
    assert approval["details"]["requested_by"].startswith("staff:agent01")
    assert approval["details"]["decided_by"].startswith("staff:spv01")
    assert approval["details"]["verification"] == "questions"
    again = api.post(f"/v1/admin/contact-changes/{change['change_id']}/approve", {}, headers=staff(supervisor_token))
    assert again.status == 409 and again.body["error"]["details"]["state"] == "approved"


def test_a_second_request_replaces_the_first_and_requests_expire(
    api: Api, member: Member, staff_token: str, supervisor_token: str, clock: FakeClock
) -> None:
    first = _request(api, member, staff_token, phone="081355552222")
    second = _request(api, member, staff_token, phone="081355553333")
    stale = api.post(f"/v1/admin/contact-changes/{first['change_id']}/approve", {}, headers=staff(supervisor_token))
    assert stale.status == 409 and stale.body["error"]["details"]["state"] == "replaced"
    # 24 hours later (the staff pool's tokens live one hour, so the request is aged instead)
    FlowModel(second["change_id"]).update(actions=[FlowModel.expires_at.set(to_datetime(clock.now - 1))])
    late = api.post(f"/v1/admin/contact-changes/{second['change_id']}/approve", {}, headers=staff(supervisor_token))
    assert late.status == 410 and late.code == "flow_expired"
    waiting = api.get("/v1/admin/contact-changes", headers=staff(supervisor_token)).body["changes"]
    assert all(c["account_id"] != member.account_id for c in waiting)


def test_a_rejection_changes_nothing(
    api: Api, member: Member, staff_token: str, supervisor_token: str, outbox: Outbox
) -> None:
    change = _request(api, member, staff_token, phone="081355554444")
    path = f"/v1/admin/contact-changes/{change['change_id']}/reject"
    assert api.post(path, {}, headers=staff(supervisor_token)).status == 422  # a reason is needed
    rejected = api.post(path, {"reason": "suara penelepon berbeda"}, headers=staff(supervisor_token))
    assert rejected.status == 200 and rejected.body["status"] == "rejected"
    assert api.get("/v1/me", headers=member.auth()).body["phone"] == member.who.phone_e164
    assert not [t for _, t in outbox.sms("+6281355554444")]


# --- the security notices table ----------------------------------------------------------------


def test_every_change_of_a_way_in_is_told_by_email_and_sms(
    api: Api, member: Member, outbox: Outbox, clock: FakeClock, staff_token: str, supervisor_token: str
) -> None:
    who = member.who
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": who.password}
    assert api.put("/v1/me/pin", pin, headers={**member.auth(), **UA}).status == 204
    assert told(outbox, member, "PIN akun") != ([], [])
    app = enrol_authenticator(api, member, clock)
    assert all(told(outbox, member, "autentikator Sandi Anda diaktifkan"))
    body = {"password": who.password, "code": app.at(clock.now)}
    secret = api.post("/v1/me/authenticator", body, headers=member.auth()).body["secret"]
    clock.advance(30)
    confirm = {"code": pyotp.TOTP(secret).at(clock.now)}
    assert api.post("/v1/me/authenticator/verify", confirm, headers=member.auth()).status == 200
    assert all(told(outbox, member, "diganti"))
    for _ in range(5):
        api.post("/v1/sessions", {"login": who.email, "password": "Salah-Sekali-1"})
    unlock = api.post(f"/v1/admin/accounts/{member.account_id}/unlock", REASON, headers=staff(staff_token))
    assert unlock.status == 200
    mails, texts = told(outbox, member, "dibuka")
    assert mails and texts and "oleh call center" in texts[-1]
    off = f"/v1/admin/accounts/{member.account_id}/authenticator/reset"
    assert api.post(off, REASON, headers=staff(supervisor_token)).status == 200
    assert all(told(outbox, member, "dimatikan"))
    change = {
        "current_password": who.password,
        "password": "Kopi susu gula aren",
        "password_confirmation": "Kopi susu gula aren",
    }
    assert api.put("/v1/me/password", change, headers=member.auth()).status == 204
    assert all(told(outbox, member, "Kata sandi akun"))
    for text in [t for _, t in outbox.sms(who.phone_e164)]:
        assert who.nik not in text


def test_an_english_member_hears_in_english(api: Api, member_factory, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    member = member_factory(31)
    signin = {"login": member.who.email, "password": member.who.password}
    session = api.post("/v1/sessions", signin, headers={"Accept-Language": "en"}).body
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    api.put("/v1/me/pin", pin, headers={**member.auth(session["access_token"]), "Accept-Language": "en"})
    assert any("PIN was set or changed" in t for _, t in outbox.sms(member.who.phone_e164))


# --- finding 6: the evidence survives erasure, and cannot be rewritten -----------------------


def test_a_reused_refresh_token_is_written_down(api: Api, member: Member, staff_token: str) -> None:
    first = api.post("/v1/sessions/refresh", {"refresh_token": member.refresh}).body
    assert api.post("/v1/sessions/refresh", {"refresh_token": member.refresh}).status == 401
    assert api.post("/v1/sessions/refresh", {"refresh_token": first["refresh_token"]}).status == 401  # family revoked
    events = api.get(f"/v1/admin/accounts/{member.account_id}/audit", headers=staff(staff_token)).body["events"]
    assert "session.token_reuse" in [e["kind"] for e in events]


def test_an_audit_event_is_appended_never_rewritten(api: Api, member: Member, deps) -> None:  # type: ignore[no-untyped-def]
    event = next(AuditModel.query(f"account#{member.account_id}"))
    forged = AuditModel(event.subject, event.event_key, kind="nothing.happened", actor="user", at=event.at)
    forged.expires_at = event.expires_at
    txn = Txn()
    txn.put("audit", forged)
    with pytest.raises(Conflict):
        deps.store.commit(txn)
    assert AuditModel.get(event.subject, event.event_key).kind == event.kind


def test_the_roles_may_only_append_and_scrub_audit_events() -> None:
    import json
    from pathlib import Path

    template = json.loads((Path(__file__).resolve().parent.parent / "infra" / "resources.json").read_text())
    for name, resource in template["Resources"].items():
        for policy in (
            resource.get("Properties", {}).get("Policies", []) if resource.get("Type") == "AWS::IAM::Role" else []
        ):
            for statement in policy["PolicyDocument"]["Statement"]:
                resource_ref = json.dumps(statement.get("Resource"))
                if "AuditTable" not in resource_ref:
                    continue
                actions = set(statement["Action"])
                assert not actions & {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, name
                if "dynamodb:UpdateItem" in actions:
                    allowed = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
                    assert set(allowed) == {"subject", "event_key", "details"}, name


@pytest.mark.settings(sms_budget_enabled=1, sms_budget_per_hour=1)
def test_a_notice_spends_the_sms_budget_and_is_never_refused_by_it(api: Api, member: Member, outbox: Outbox) -> None:
    """Registration's SMS code took the hour's whole budget (1); the PIN notice is still
    sent, and counted: the budget's alarm sees what notices cost."""

    def spent() -> int:
        return sum(int(c.hits or 0) for c in CounterModel.scan() if c.counter_key.startswith("budget#sms#"))

    assert spent() == 1
    pin = {"pin": "258036", "pin_confirmation": "258036", "password": member.who.password}
    assert api.put("/v1/me/pin", pin, headers=member.auth()).status == 204
    assert any("PIN akun" in t for _, t in outbox.sms(member.who.phone_e164))
    assert spent() == 2
