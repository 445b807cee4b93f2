"""One JSON line per request, and no secret in any line."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Api, Journey, Outbox, person


def test_one_json_line_per_request_without_secrets(
    api: Api, journey: Journey, outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    who = person(7)
    capsys.readouterr()
    session = journey.register(who).body["session"]
    api.post("/v1/sessions", {"login": who.email, "password": "Salah-Sekali-1"})
    api.post("/v1/password-resets", {"email": who.email})
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    metric_lines = [line for line in lines if "_aws" in line]  # EMF metrics, also scanned below
    assert len(lines) == len(metric_lines) + len([line for line in lines if "message" in line])
    assert len(requests) == 8  # six registration steps, a sign-in, a reset: one line each
    first = requests[0]
    assert first["route"] == "/v1/registrations" and first["method"] == "POST" and first["status"] == 201
    assert isinstance(first["latency_ms"], float)
    assert any(r["status"] == 401 and r["route"] == "/v1/sessions" for r in requests)
    codes = [m.body.split()[0] for m in outbox.emails()] + [t.split()[0] for _, t in outbox.sms()]
    for secret in (who.password, who.nik, session["access_token"], session["refresh_token"], *codes):
        assert secret not in out
