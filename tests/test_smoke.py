"""`make smoke URL=...` walks a first day against the local stack, as it would a deployed one."""

from __future__ import annotations

import subprocess
import sys

from local import smoke
from tests.conftest import ROOT, LocalStack


def test_the_smoke_walk_passes_against_the_local_stack(local_stack: LocalStack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local.smoke", local_stack.api, "--receipt-timeout", "30"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert len(rows) == 8 and all("ok" in row for row in rows), done.stdout
    assert "failed (bounced)" in done.stdout and "404 not_found" in done.stdout and "401 unauthenticated" in done.stdout


def test_a_failing_check_fails_the_walk(local_stack: LocalStack) -> None:
    """Pointed at the inbox instead of the API, every API check fails: exit status 1, FAIL rows."""
    rows = smoke.walk(local_stack.inbox, receipt_timeout=1)
    assert not any(r.ok for r in rows[:2])
    assert "FAIL" in smoke.table(rows)
    assert smoke.main([local_stack.inbox, "--receipt-timeout", "1"]) == 1
