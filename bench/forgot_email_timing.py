"""Forgot-email timing: does a member's phone number answer slower than a stranger's?

``POST /v1/email-recoveries`` for a member's number and for a number with no account,
interleaved (member, stranger, member, ...) over HTTP against the local stack, as a
stranger with a list of numbers would measure. The send caps are lifted for the run
(the same two numbers are asked many times) and the outbox sender runs after the
measurement (in AWS it is another function, not a thread beside the API); everything
else is the stage's own. The
noise is run-to-run: the p50 of one path over the first half of the run against the
second half. ``python -m bench.forgot_email_timing``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

PATHS = ("member's number", "stranger's number")
RESOLUTION_MS = 0.5
LIFTED = {
    "SANDI_MAX_SENDS_PER_DESTINATION": "100000",
    "SANDI_SMS_PER_PREFIX_PER_HOUR": "100000",
    # In AWS the outbox sender is another function; in the dev stack it is a thread of the
    # same process, whose work after a member's request (the SMS) would slow whichever
    # request comes next. It runs after the measurement here.
    "SANDI_OUTBOX_POLL_SECONDS": "3600",
}


def summarize(samples: dict[str, list[float]]) -> dict[str, Any]:
    """p50/p95 per path, the gap between them and one path's run-to-run noise."""
    rows, noise = [], []
    for name, values in samples.items():
        half = len(values) // 2
        noise.append(abs(statistics.median(values[:half]) - statistics.median(values[half:])))
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        rows.append({"path": name, "p50": statistics.median(values), "p95": p95, "n": len(values)})
    gap = abs(rows[0]["p50"] - rows[1]["p50"])
    return {"rows": rows, "gap": gap, "noise": max(noise)}


def over_http(n: int = 80) -> dict[str, Any]:
    """Interleaved requests for a member's number and a stranger's, against the local stack."""
    import requests

    from local.client import running  # import order: after the environment is set
    from tests.conftest import person
    from tests.stack_client import StackClient

    with running(Path(__file__).resolve().parent.parent / ".bench-devstack.log", extra_env=LIFTED) as urls:
        who = person(902, phone="081377770902", phone_e164="+6281377770902")
        StackClient(urls).register(who)  # type: ignore[arg-type]
        http = requests.Session()
        numbers = {PATHS[0]: who.phone, PATHS[1]: "081377770903"}
        samples: dict[str, list[float]] = {name: [] for name in PATHS}
        for round_ in range(n + 5):
            for name, phone in numbers.items():
                started = time.perf_counter()
                answer = http.post(urls.api + "/v1/email-recoveries", json={"phone": phone}, timeout=30)
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.status_code == 202, (name, answer.status_code, answer.text)
                if round_ >= 5:  # the first rounds warm the connections
                    samples[name].append(elapsed)
        return summarize(samples)


def table(result: dict[str, Any]) -> str:
    """A markdown table of one measurement."""
    lines = ["| path (all answer 202 {}) | p50 ms | p95 ms | n |", "|---|---|---|---|"]
    lines += [f"| {r['path']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['n']} |" for r in result["rows"]]
    lines.append("")
    # below half a millisecond the medians of two paths differ by the clock's own jitter
    verdict = "within" if result["gap"] <= max(result["noise"], RESOLUTION_MS) else "OUTSIDE"
    lines.append(
        f"p50 gap between a member's number and a stranger's: **{result['gap']:.1f} ms**; run-to-run noise of one "
        f"path (p50 of the first half of the run against the second): **{result['noise']:.1f} ms** (or "
        f"{RESOLUTION_MS} ms, the smallest difference taken as real). The gap is {verdict} the noise."
    )
    return "\n".join(lines)


def main() -> None:
    """Print the table."""
    print("\n## Forgot-email timing, over HTTP (local stack)\n")
    print(table(over_http()))


if __name__ == "__main__":
    main()
