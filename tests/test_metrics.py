"""Operator metrics: CloudWatch embedded metric format lines, nothing personal in them."""

from __future__ import annotations

import json

import pytest

from chalicelib import metrics
from tests.conftest import Api, Journey, Outbox, person


def _emf(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_journey_emits_its_counts_as_emf(
    api: Api, journey: Journey, outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    who = person(900)
    capsys.readouterr()
    flow = journey.start(who)
    assert api.post(f"/v1/registrations/{flow}/email/verify", {"code": "000000"}).status in (400, 422)
    api.post(f"/v1/registrations/{flow}/email/verify", {"code": outbox.email_code(who.email)})
    api.post("/v1/sessions", {"login": "nobody@example.com", "password": "Salah-Sekali-1"})
    out = capsys.readouterr().out
    lines = _emf(out)
    names = [name for line in lines for name in line if name in metrics.NAMES]
    assert names == ["CodesSent", "CodesWrong", "CodesVerified", "SignInFailures"]
    for line in lines:
        spec = line["_aws"]["CloudWatchMetrics"][0]
        assert spec["Namespace"] == "Sandi" and isinstance(line["_aws"]["Timestamp"], int)
        for dimension_set in spec["Dimensions"]:
            assert all(d in line for d in dimension_set)
    assert all(who.email not in json.dumps(line) for line in lines)
    assert lines[0]["channel"] == "email"
    # every value is the stage's: the template's alarms read it by stage (two stages in an
    # account never mix)
    assert {line["stage"] for line in lines} == {"local"}
    assert all("stage" in s for line in lines for s in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"])


def test_unknown_metric_names_are_refused() -> None:
    with pytest.raises(ValueError):
        metrics.emf_line("Typo", {}, 1, 0.0)
