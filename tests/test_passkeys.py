"""Passkeys (issue 25): adding, listing, naming, removing, signing in, as a phone does it
(a software authenticator: ES256, attestation none, UP/UV/BE/BS, counters, the Android
app origin), and every refusal."""

from __future__ import annotations

import base64
import json
from typing import Any

import pyotp
import pytest

from chalicelib.storage.models import PasskeyModel
from tests.conftest import Api, FakeClock, Member, Outbox, staff_token_for
from tests.webauthn_device import SoftwareAuthenticator, android_origin, b64, unb64

RELEASE_CERT = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
ANDROID = {
    "android_packages": "id.go.bpjs.sandi",
    "android_cert_fingerprints": RELEASE_CERT,
    "ios_app_ids": "ABCDE12345.id.go.bpjs.sandi",
}
UA = {"User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"}


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def add_passkey(api: Api, member: Member, phone: SoftwareAuthenticator, **body: Any) -> dict[str, Any]:
    started = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers={**member.auth(), **UA})
    assert started.status == 200, started.body
    made = phone.create(started.body["options"])
    added = api.post(
        "/v1/me/passkeys", {"flow_id": started.body["flow_id"], "credential": made, **body}, headers=member.auth()
    )
    assert added.status == 201, added.body
    return dict(added.body)


def passkey_sign_in(api: Api, phone: SoftwareAuthenticator, **kwargs: Any) -> Any:
    options = api.post("/v1/sessions/passkey/options", {}).body
    credential = phone.get(options["options"], **kwargs)
    return api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": credential})


def test_the_creation_options_are_what_a_phone_needs(api: Api, member: Member) -> None:
    answer = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth())
    assert answer.status == 200
    options = answer.body["options"]
    assert options["rp"] == {"id": "localhost", "name": "Sandi"}
    handle = unb64(options["user"]["id"])
    assert 16 <= len(handle) <= 64 and member.account_id.encode() not in handle
    assert options["user"]["name"] != member.who.email and "***" in options["user"]["name"]
    assert options["user"]["displayName"] == member.who.full_name
    assert {p["alg"] for p in options["pubKeyCredParams"]} >= {-7, -257}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none" and options["excludeCredentials"] == []
    assert len(unb64(options["challenge"])) >= 16
    again = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth()).body
    assert again["options"]["user"]["id"] == options["user"]["id"]  # the same handle on every call
    assert again["options"]["challenge"] != options["challenge"]
    wrong = api.post("/v1/me/passkeys/options", {"password": "Salah-Sekali-1"}, headers=member.auth())
    assert wrong.status == 401 and wrong.code == "invalid_credentials"


def test_add_list_name_sign_in_and_remove(api: Api, member: Member, outbox: Outbox) -> None:
    phone = SoftwareAuthenticator()
    added = add_passkey(api, member, phone)
    assert added["name"] == "Chrome on Android 14" and added["device_type"] == "multi_device"
    assert added["backed_up"] is True and added["last_used_at"] is None
    assert set(added) == {"passkey_id", "name", "created_at", "last_used_at", "backed_up", "device_type"}
    assert any("Passkey baru" in m.subject for m in outbox.emails(member.who.email))
    assert any("Passkey baru" in t for _, t in outbox.sms(member.who.phone_e164))

    signed_in = passkey_sign_in(api, phone)
    assert signed_in.status == 201
    assert claims(signed_in.body["access_token"])["amr"] == ["swk", "user"]  # synced: backup eligible
    auth = member.auth(signed_in.body["access_token"])
    listed = api.get("/v1/me/passkeys", headers=auth).body["passkeys"]
    assert [p["passkey_id"] for p in listed] == [added["passkey_id"]] and listed[0]["last_used_at"]
    text = json.dumps(listed)
    stored = PasskeyModel.get(added["passkey_id"])
    assert stored.public_key not in text and "sign_count" not in text
    renamed = api.call("PATCH", f"/v1/me/passkeys/{added['passkey_id']}", {"name": "HP kerja"}, headers=auth)
    assert renamed.status == 200 and renamed.body["name"] == "HP kerja"
    devices = api.get("/v1/me/sessions", headers=auth).body["sessions"]
    assert [s["amr"] for s in devices if s["current"]] == [["swk", "user"]]

    gone = api.call("DELETE", f"/v1/me/passkeys/{added['passkey_id']}", {"password": "Salah-Sekali-1"}, headers=auth)
    assert gone.status == 401  # the step-up, from a passkey session too
    gone = api.call("DELETE", f"/v1/me/passkeys/{added['passkey_id']}", {"password": member.who.password}, headers=auth)
    assert gone.status == 204
    assert any("Passkey dihapus" in t for _, t in outbox.sms(member.who.phone_e164))
    assert passkey_sign_in(api, phone).status == 401  # removed: unknown
    assert api.get("/v1/me/passkeys", headers=auth).body["passkeys"] == []


def test_a_device_bound_passkey_signs_in_as_hwk(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator(backup_eligible=False)
    assert add_passkey(api, member, phone)["device_type"] == "single_device"
    assert claims(passkey_sign_in(api, phone).body["access_token"])["amr"] == ["hwk", "user"]


@pytest.mark.settings(**ANDROID)
def test_the_android_app_origin_and_the_well_known_documents(api: Api, member: Member) -> None:
    app = SoftwareAuthenticator(origin=android_origin(RELEASE_CERT))
    add_passkey(api, member, app)
    assert passkey_sign_in(api, app).status == 201
    webauthn = api.get("/.well-known/webauthn")
    assert webauthn.status == 200 and webauthn.body == {"origins": ["http://localhost:8000"]}  # no android: entries
    links = api.get("/.well-known/assetlinks.json").body
    assert links[0]["target"]["package_name"] == "id.go.bpjs.sandi"
    assert links[0]["target"]["sha256_cert_fingerprints"] == [RELEASE_CERT]
    assert "delegate_permission/common.get_login_creds" in links[0]["relation"]
    apple = api.get("/.well-known/apple-app-site-association")
    assert apple.status == 200 and apple.body == {"webcredentials": {"apps": ["ABCDE12345.id.go.bpjs.sandi"]}}
    assert apple.headers["content-type"].startswith("application/json")


def test_every_refused_sign_in_is_one_401_and_spends_its_flow(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator()
    add_passkey(api, member, phone)
    stranger = SoftwareAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": b64(b"x" * 32)}, "challenge": b64(b"c" * 32)})
    refusals = {
        "wrong origin": dict(origin="https://evil.example"),
        "wrong RP": dict(rp_id="evil.example"),
        "unknown credential": dict(credential=stranger.credentials[0]),
        "no user handle": dict(user_handle=False),
    }
    for name, kwargs in refusals.items():
        answer = passkey_sign_in(api, phone, **kwargs)
        assert (answer.status, answer.code) == (401, "invalid_credentials"), name
    no_uv = SoftwareAuthenticator(credentials=phone.credentials, user_verifying=False)
    assert passkey_sign_in(api, no_uv).code == "invalid_credentials"

    options = api.post("/v1/sessions/passkey/options", {}).body
    tampered = phone.get(options["options"])
    signature = bytearray(unb64(tampered["response"]["signature"]))
    signature[-1] ^= 1
    tampered["response"]["signature"] = b64(bytes(signature))
    assert api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": tampered}).status == 401
    right = phone.get(options["options"])
    replay = api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": right})
    assert replay.status == 410 and replay.code == "flow_expired"  # a flow works once, right or wrong

    options = api.post("/v1/sessions/passkey/options", {}).body
    first = phone.get(options["options"])
    assert api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": first}).status == 201
    again = api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": first})
    assert again.status == 410  # the same assertion replayed
    malformed = api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": {"id": 1}})
    assert malformed.status == 422 and "credential" in malformed.body["error"]["details"]["fields"]


def test_a_counter_going_back_refuses_and_is_written_down(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator()
    added = add_passkey(api, member, phone)
    assert passkey_sign_in(api, phone, counter=7).status == 201
    cloned = passkey_sign_in(api, phone, counter=5)
    assert cloned.status == 401
    supervisor = {"Authorization": f"Bearer {staff_token_for('spv01', 'supervisor')}"}
    events = api.get(f"/v1/admin/accounts/{member.account_id}/audit", headers=supervisor).body["events"]
    assert "passkey.clone_suspected" in [e["kind"] for e in events]
    assert PasskeyModel.get(added["passkey_id"]).sign_count == 7
    assert passkey_sign_in(api, phone, counter=8).status == 201


def test_a_locked_account_still_signs_in_with_its_passkey_and_failures_lock_nothing(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator()
    add_passkey(api, member, phone)
    for _ in range(5):
        api.post("/v1/sessions", {"login": member.who.email, "password": "Salah-Sekali-1"})
    assert api.post("/v1/sessions", {"login": member.who.email, "password": member.who.password}).status == 423
    assert passkey_sign_in(api, phone).status == 201  # nobody guesses a passkey
    for _ in range(10):
        assert passkey_sign_in(api, phone, origin="https://evil.example").status == 401
    assert passkey_sign_in(api, phone).status == 201


def test_a_failed_registration_spends_its_flow_and_refusals(api: Api, member: Member, member_factory) -> None:  # type: ignore[no-untyped-def]
    phone = SoftwareAuthenticator(user_verifying=False)
    started = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth()).body
    made = phone.create(started["options"])
    refused = api.post("/v1/me/passkeys", {"flow_id": started["flow_id"], "credential": made}, headers=member.auth())
    assert refused.status == 422 and "credential" in refused.body["error"]["details"]["fields"]
    good = SoftwareAuthenticator().create(started["options"])
    spent = api.post("/v1/me/passkeys", {"flow_id": started["flow_id"], "credential": good}, headers=member.auth())
    assert spent.status == 410

    other = member_factory(2)
    theirs = api.post("/v1/me/passkeys/options", {"password": other.who.password}, headers=other.auth()).body
    foreign = api.post("/v1/me/passkeys", {"flow_id": theirs["flow_id"], "credential": good}, headers=member.auth())
    assert foreign.status == 404  # another account's flow


def test_ten_passkeys_at_most_and_a_credential_belongs_to_one_account(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator()
    for _ in range(10):
        add_passkey(api, member, phone)
    full = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth())
    assert full.status == 409 and full.code == "passkey_limit"
    listed = api.get("/v1/me/passkeys", headers=member.auth()).body["passkeys"]
    assert len(listed) == 10 and listed == sorted(listed, key=lambda p: p["created_at"], reverse=True)
    removed = listed[0]["passkey_id"]
    api.call("DELETE", f"/v1/me/passkeys/{removed}", {"password": member.who.password}, headers=member.auth())
    again = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth()).body
    assert len(again["options"]["excludeCredentials"]) == 9


def test_adding_with_the_authenticator_on_needs_its_code(api: Api, member: Member, clock: FakeClock) -> None:
    secret = api.post("/v1/me/authenticator", {"password": member.who.password}, headers=member.auth()).body["secret"]
    app = pyotp.TOTP(secret)
    api.post("/v1/me/authenticator/verify", {"code": app.at(clock.now)}, headers=member.auth())
    clock.advance(30)
    missing = api.post("/v1/me/passkeys/options", {"password": member.who.password}, headers=member.auth())
    assert missing.status == 422 and "code" in missing.body["error"]["details"]["fields"]
    body = {"password": member.who.password, "code": app.at(clock.now)}
    assert api.post("/v1/me/passkeys/options", body, headers=member.auth()).status == 200
    # and a passkey sign-in is two factors in one: no code is asked after it
    phone = SoftwareAuthenticator()
    clock.advance(30)
    started = api.post(
        "/v1/me/passkeys/options", {"password": member.who.password, "code": app.at(clock.now)}, headers=member.auth()
    ).body
    api.post(
        "/v1/me/passkeys",
        {"flow_id": started["flow_id"], "credential": phone.create(started["options"])},
        headers=member.auth(),
    )
    assert passkey_sign_in(api, phone).status == 201


def test_deleting_the_account_deletes_its_passkeys(api: Api, member: Member) -> None:
    phone = SoftwareAuthenticator()
    added = add_passkey(api, member, phone)
    assert api.call("DELETE", "/v1/me", {"password": member.who.password}, headers=member.auth()).status == 204
    with pytest.raises(PasskeyModel.DoesNotExist):
        PasskeyModel.get(added["passkey_id"])
    assert passkey_sign_in(api, phone).status == 401


def test_the_export_and_the_console_card_name_passkeys_never_keys(api: Api, member: Member, staff_token: str) -> None:
    phone = SoftwareAuthenticator()
    add_passkey(api, member, phone, name="HP pribadi")
    export = api.post("/v1/me/export", {"password": member.who.password}, headers=member.auth()).body
    assert [p["name"] for p in export["passkeys"]] == ["HP pribadi"]
    card = api.get(f"/v1/admin/accounts/{member.account_id}", headers={"Authorization": f"Bearer {staff_token}"})
    assert card.body["passkeys"] == 1
    stored = PasskeyModel.get(phone.credentials[0].credential_id and b64(phone.credentials[0].credential_id))
    assert stored.public_key not in json.dumps(export) + json.dumps(card.body)


def test_ids_longer_than_any_key_are_not_found_without_asking_dynamodb(
    api: Api, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB refuses a key over 2,048 bytes (ValidationException, which would answer
    503); an id anyone can send that long names nothing: the answer of an unknown one."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call

    def as_dynamodb_does(self: Any, operation: str, params: dict[str, Any]) -> Any:  # moto does not check it
        if "Key" in json.dumps(params) and any(len(v) > 2048 for v in _strings(params)):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "key too long"}}, operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", as_dynamodb_does)
    long = "A" * 3000
    phone = SoftwareAuthenticator()
    add_passkey(api, member, phone)
    assert api.call("PATCH", f"/v1/me/passkeys/{long}", {"name": "HP"}, headers=member.auth()).status == 404
    options = api.post("/v1/sessions/passkey/options", {}).body
    credential = phone.get(options["options"])
    credential["id"] = credential["rawId"] = b64(b"x" * 2100)
    assert api.post("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": credential}).status == 401
    assert api.get(f"/v1/registrations/{long}").status == 404


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
