"""The description linted by tools nobody here wrote (issue 27): redocly's recommended
ruleset and spectral's oas ruleset, with no rule turned off (clients/redocly.yaml,
clients/.spectral.yaml)."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ROOT

CLIENTS = ROOT / "clients"
DESCRIPTION = str(ROOT / "chalicelib" / "openapi.json")


def test_redocly_recommended_finds_nothing() -> None:
    result = subprocess.run(
        [str(CLIENTS / "node_modules" / ".bin" / "redocly"), "lint", DESCRIPTION, "--format=json"],
        capture_output=True,
        text=True,
        cwd=CLIENTS,
        timeout=300,
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    problems = [(p["ruleId"], p["severity"], p["message"]) for p in report.get("problems", [])]
    assert result.returncode == 0 and problems == [], problems


def test_spectral_oas_finds_nothing() -> None:
    result = subprocess.run(
        [
            str(CLIENTS / "node_modules" / ".bin" / "spectral"),
            "lint",
            DESCRIPTION,
            "--ruleset",
            str(CLIENTS / ".spectral.yaml"),
            "--format",
            "json",
            "--fail-severity",
            "hint",
        ],
        capture_output=True,
        text=True,
        cwd=CLIENTS,
        timeout=300,
    )
    found, _ = json.JSONDecoder().raw_decode(result.stdout.strip() or "[]")  # spectral adds a sentence after it
    problems = [(p["code"], p["severity"], ".".join(map(str, p["path"]))) for p in found]
    assert result.returncode == 0 and problems == [], problems
