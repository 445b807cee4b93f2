"""After every journey, no code, password, PIN, token or full NIK is in any table or log line."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from chalicelib.storage.models import ALL_MODELS
from tests.conftest import REGION, Api, FakeClock, Journey, Outbox, person


def _strings(value: Any) -> list[str]:
    """Every string inside a raw DynamoDB attribute value (numbers are not strings)."""
    if isinstance(value, dict):
        out: list[str] = []
        for kind, inner in value.items():
            if kind == "S":
                out.append(inner)
            elif kind == "SS":
                out.extend(inner)
            elif kind in ("M", "L"):
                items = inner.values() if kind == "M" else inner
                for item in items:
                    out.extend(_strings(item))
            elif kind not in ("N", "NS", "BOOL", "NULL", "B", "BS"):
                out.extend(_strings(inner))
        return out
    return []


def _stored_text() -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    texts = []
    for model in ALL_MODELS:
        for item in client.scan(TableName=model.Meta.table_name)["Items"]:
            for attribute in item.values():
                texts.extend(_strings(attribute))
    return "\n".join(texts)


def _contains(haystack: str, secret: str) -> bool:
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", haystack) is not None


def test_no_secret_is_stored_or_logged(
    api: Api, journey: Journey, outbox: Outbox, clock: FakeClock, staff_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    who = person(9)
    secrets: list[str] = [who.password, who.nik]
    registered = journey.register(who).body["session"]
    secrets += [registered["access_token"], registered["refresh_token"]]
    auth = {"Authorization": f"Bearer {registered['access_token']}"}

    api.put("/v1/me/pin", {"pin": "258036", "pin_confirmation": "258036", "password": who.password}, headers=auth)
    by_pin = api.post("/v1/sessions", {"login": who.kpj, "pin": "258036"}).body
    refreshed = api.post("/v1/sessions/refresh", {"refresh_token": by_pin["refresh_token"]}).body
    secrets += ["258036", by_pin["access_token"], by_pin["refresh_token"], refreshed["refresh_token"]]

    flow = api.post("/v1/me/phone", {"phone": "081399990000", "password": who.password}, headers=auth).body["flow_id"]
    api.post(f"/v1/me/phone/{flow}/verify", {"code": outbox.sms_code("+6281399990000")}, headers=auth)
    flow = api.post("/v1/me/email", {"email": "baru9@example.com", "password": who.password}, headers=auth).body[
        "flow_id"
    ]
    api.post(f"/v1/me/email/{flow}/verify", {"code": outbox.email_code("baru9@example.com")}, headers=auth)
    new_password = "Ganti-Lagi-77"
    body = {"current_password": who.password, "password": new_password, "password_confirmation": new_password}
    api.put("/v1/me/password", body, headers=auth)
    secrets.append(new_password)

    flow = api.post("/v1/password-resets", {"email": "baru9@example.com"}).body["flow_id"]
    api.post(f"/v1/password-resets/{flow}/verify", {"code": outbox.email_code("baru9@example.com")})
    reset_password = "Reset-Sekali-88"
    api.post(
        f"/v1/password-resets/{flow}/complete", {"password": reset_password, "password_confirmation": reset_password}
    )
    secrets.append(reset_password)

    identity = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    flow = api.post("/v1/pin-resets", identity).body["flow_id"]
    api.post(f"/v1/pin-resets/{flow}/send", {"channel": "sms"})
    api.post(f"/v1/pin-resets/{flow}/verify", {"code": outbox.sms_code("+6281399990000")})
    api.post(f"/v1/pin-resets/{flow}/complete", {"pin": "471036", "pin_confirmation": "471036"})
    secrets.append("471036")
    api.post("/v1/email-recoveries", {"phone": "081399990000"})
    api.post("/v1/sessions", {"login": who.kpj, "password": "Salah-Sekali-1"})

    staff = {"Authorization": f"Bearer {staff_token}"}
    account_id = api.get(f"/v1/admin/accounts?nik={who.nik}", headers=staff).body["accounts"][0]["account_id"]
    api.get(f"/v1/admin/accounts/{account_id}/audit", headers=staff)
    secrets.append(staff_token)

    codes = [m.body.split()[0] for m in outbox.emails() if m.body.split()[0].isdigit()]
    codes += [text.split()[0] for _, text in outbox.sms() if text.split()[0].isdigit()]
    assert len(codes) >= 6
    stored = _stored_text()
    logged = capsys.readouterr().out
    assert len(stored) > 1000 and "request" in logged  # there is something to look through
    for secret in secrets + codes:
        assert not _contains(stored, secret), "stored"
        assert not _contains(logged, secret), "logged"
