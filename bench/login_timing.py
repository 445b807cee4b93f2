"""Sign-in timing by path: does a wrong answer take longer for a login that has an account?

Four paths, each answered ``401 invalid_credentials``: a wrong password for a real
email, a password for an email with no account, a wrong PIN for a real KPJ, a PIN for a
KPJ with no account. Requests are interleaved (path A, B, C, D, A, B, ...) so drift in
the machine hits every path alike; between requests the lockout counters are put back
(untimed), so every timed request is a first wrong try.

The noise is run-to-run: the p50 of one path over the first half of the run against the
second half. Password and PIN paths are compared among themselves (an attacker chooses
which to send, so their difference tells nothing about an account).

``python -m bench.login_timing`` prints both tables (in-process against moto, where the
emulator's own time is included, and over HTTP against the local stack).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PATHS = (
    "wrong password (email)",
    "unknown email",
    "wrong PIN (KPJ)",
    "unknown KPJ, PIN",
    "unknown email, first try ever",
)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(samples: dict[str, list[float]]) -> dict[str, Any]:
    """p50/p95 per path; the gap between a real login and an unknown one, per secret kind;
    and the run-to-run noise of one path (its p50 in the first half of the run against
    the second half: two runs back to back, the same code and data)."""
    rows = []
    noise = []
    for name, values in samples.items():
        half = len(values) // 2
        noise.append(abs(statistics.median(values[:half]) - statistics.median(values[half:])))
        rows.append({"path": name, "p50": statistics.median(values), "p95": _p(values, 0.95), "n": len(values)})
    p50 = {r["path"]: r["p50"] for r in rows}
    gaps = {
        "password": abs(p50[PATHS[0]] - p50[PATHS[1]]),
        "PIN": abs(p50[PATHS[2]] - p50[PATHS[3]]),
        # a login nobody tried before has no guard item yet: its first try must cost the same
        "first try": abs(p50[PATHS[0]] - p50[PATHS[4]]),
    }
    return {"rows": rows, "gaps": gaps, "gap": max(gaps.values()), "noise": max(noise)}


def _interleave(n: int, calls: dict[str, Callable[[], int]], reset: Callable[[], None]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(3):  # warm-up: clients, connections, argon2's first allocation
        for call in calls.values():
            call()
            reset()
    for _ in range(n):
        for name, call in calls.items():
            started = time.perf_counter()
            status = call()
            samples[name].append((time.perf_counter() - started) * 1000)
            assert status == 401, (name, status)
            reset()
    return samples


def _reset_counters(dynamodb: Any, prefix: str) -> None:
    """Put every lockout counter back to zero (the timed requests are all first tries)."""
    for table, key in ((f"{prefix}accounts", "account_id"), (f"{prefix}counters", "counter_key")):
        for item in dynamodb.scan(TableName=table, ProjectionExpression=key)["Items"]:
            if table.endswith("counters") and not item[key]["S"].startswith("login#"):
                continue
            dynamodb.update_item(
                TableName=table,
                Key={key: item[key]},
                UpdateExpression="SET failed_logins = :z, pin_failures = :z",
                ExpressionAttributeValues={":z": {"N": "0"}},
            )


def in_process(n: int = 60) -> dict[str, Any]:
    """Through the chalice test client against moto's in-process mock, production argon2."""
    from bench.journeys import REGION, use_in_process_emulator  # import order: after the environment is set

    use_in_process_emulator()
    from email.utils import parseaddr

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import aws  # import order: after the environment is set
    from chalicelib.config import load_settings  # import order: after the environment is set
    from chalicelib.deps import build_deps, set_deps  # import order: after the environment is set
    from chalicelib.storage.models import create_tables  # import order: after the environment is set
    from tests.conftest import Api, FakeClock, Journey, Outbox, person

    settings = load_settings({"SANDI_STAGE": "local", "AWS_DEFAULT_REGION": REGION})
    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=parseaddr(settings.ses_sender)[1])
        from app import app  # import order: after the environment is set

        with Client(app, stage_name="local") as client:
            set_deps(build_deps(settings, clock=FakeClock()))
            api = Api(client)
            who = person(900)
            session = Journey(api, Outbox()).register(who).body["session"]
            pin = {"pin": "580147", "pin_confirmation": "580147", "password": who.password}
            assert api.put("/v1/me/pin", pin, headers={"Authorization": f"Bearer {session['access_token']}"}).status
            dynamodb = boto3.client("dynamodb", region_name=REGION)

            def post(body: dict[str, str]) -> Callable[[], int]:
                return lambda: api.post("/v1/sessions", body).status

            calls = _calls(who.email, who.kpj, post)
            return summarize(_interleave(n, calls, lambda: _reset_counters(dynamodb, settings.table_prefix)))


def _calls(email: str, kpj: str, post: Callable[[dict[str, str]], Callable[[], int]]) -> dict[str, Callable[[], int]]:
    fresh = iter(range(10**9))

    def first_try() -> int:  # a new address every time: its guard item does not exist yet
        return post({"login": f"belum.pernah.{next(fresh)}@example.com", "password": "Salah-Sekali-1"})()

    return dict(
        zip(
            PATHS,
            (
                post({"login": email, "password": "Salah-Sekali-1"}),
                post({"login": "belum.terdaftar@example.com", "password": "Salah-Sekali-1"}),
                post({"login": kpj, "pin": "036925"}),
                post({"login": "99999999999", "pin": "036925"}),
                first_try,
            ),
            strict=True,
        )
    )


def over_http(n: int = 60) -> dict[str, Any]:
    """Against ``python -m local.devstack`` over loopback, as an attacker would measure."""
    import requests

    from local.client import emulator_client, running  # import order: after the environment is set
    from tests.conftest import person
    from tests.stack_client import StackClient

    with running(Path(__file__).resolve().parent.parent / ".bench-devstack.log") as urls:
        client = StackClient(urls)  # type: ignore[arg-type]
        who = person(901)
        token = client.register(who)["session"]["access_token"]
        pin = {"pin": "580147", "pin_confirmation": "580147", "password": who.password}
        client.call("PUT", "/v1/me/pin", pin, token=token)
        http = requests.Session()
        dynamodb = emulator_client("dynamodb", urls.emulator)

        def post(body: dict[str, str]) -> Callable[[], int]:
            return lambda: http.post(urls.api + "/v1/sessions", json=body, timeout=30).status_code

        calls = _calls(who.email, who.kpj, post)
        return summarize(_interleave(n, calls, lambda: _reset_counters(dynamodb, "sandi-local-")))


def table(result: dict[str, Any]) -> str:
    """A markdown table of one measurement."""
    lines = ["| path (all answer 401) | p50 ms | p95 ms | n |", "|---|---|---|---|"]
    lines += [f"| {r['path']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['n']} |" for r in result["rows"]]
    lines.append("")
    verdict = "within" if result["gap"] <= result["noise"] else "OUTSIDE"
    gaps = ", ".join(f"{kind} {gap:.1f} ms" for kind, gap in result["gaps"].items())
    lines.append(
        f"p50 gap between a real login and an unknown one: {gaps}. Run-to-run noise of one path (its p50 over the "
        f"first half of the run against the second half, widest of the five): **{result['noise']:.1f} ms**. "
        f"The widest gap, **{result['gap']:.1f} ms**, is {verdict} the noise."
    )
    return "\n".join(lines)


def main() -> None:
    """Print both tables."""
    for name, measure in (("in-process (moto)", in_process), ("over HTTP (local stack)", over_http)):
        print(f"\n## Sign-in timing, {name}\n")
        print(table(measure()))


if __name__ == "__main__":
    main()
