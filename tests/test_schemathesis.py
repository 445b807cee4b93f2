"""Schemathesis against the running local stack: no input makes the API answer 5xx, and
every answer conforms to the description (status, content type, headers, body)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, LocalStack


def test_no_generated_request_gets_a_server_error(local_stack: LocalStack, tmp_path: Path) -> None:
    from local.client import emulator_client
    from local.staff_pool import staff_token

    staff = staff_token(emulator_client("cognito-idp", local_stack.emulator), "local", "fuzzer", "supervisor")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{local_stack.api}/v1/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "10",
            "--seed",
            "20261122",
            "--header",
            f"Authorization: Bearer {staff}",
            "--request-timeout",
            "20",
        ],
        cwd=ROOT,
        env=_real_clock_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    generated = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert generated and generated.group(1) == generated.group(2), summary
    print(f"\nschemathesis: {generated.group(1)} test cases, no 5xx, every answer as described")


def _real_clock_env() -> dict[str, str]:
    """The fuzzer (a client) on the real clock: under `make test-year-ahead` libfaketime
    shifts CLOCK_MONOTONIC too, and its threads' timed lock waits (sem_clockwait, which
    libfaketime does not intercept) would then wait for the shifted year. The stack it
    tests keeps the shifted clock."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME", "DYLD_INSERT_LIBRARIES")}
