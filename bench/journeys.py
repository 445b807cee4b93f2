"""Every journey, step by step, in-process against moto: round trips, capacity, overhead.

For each step: DynamoDB round trips (counted at botocore's ``_make_api_call``), capacity
units (DynamoDB's pricing rules for items under 1 KB: 1 per write or consistent read,
2 per item of a transaction; moto's own ``ConsumedCapacity`` is a constant), and the
handler's own time: wall time minus the time spent inside AWS calls (the emulator),
p50 and p99 over repeated runs. Password/PIN steps are reported apart with their
argon2 cost. Floor: one write per state change.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REGION = "ap-southeast-3"
SECRET_STEPS = {
    "registration complete",
    "sign-in (password)",
    "sign-in (PIN)",
    "set PIN",
    "password reset complete",
    "PIN reset complete",
}


@dataclass
class StepCost:
    name: str
    round_trips: list[int] = field(default_factory=list)
    capacity: list[float] = field(default_factory=list)
    rru: list[float] = field(default_factory=list)
    wru: list[float] = field(default_factory=list)
    messages: list[float] = field(default_factory=list)
    reported: list[float] = field(default_factory=list)
    handler_ms: list[float] = field(default_factory=list)
    aws_ms: list[float] = field(default_factory=list)
    writes: int = 1  # state changes the step makes (the floor)

    def p(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _units(operation: str, params: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one call by DynamoDB's on-demand rules, items < 1 KB."""
    if operation == "TransactWriteItems":
        items = params.get("TransactItems", [])
        checks = sum(1 for i in items if "ConditionCheck" in i)
        return 2.0 * checks, 2.0 * (len(items) - checks)
    if operation == "TransactGetItems":
        return 2.0 * len(params.get("TransactItems", [])), 0.0
    if operation == "GetItem":
        return (1.0 if params.get("ConsistentRead") else 0.5), 0.0
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if operation == "Query":
        return 0.5, 0.0
    return 0.0, 0.0


_REPORTS_CAPACITY = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "TransactWriteItems",
    "TransactGetItems",
}


def _reported(response: Any) -> float:
    """The ``ConsumedCapacity`` DynamoDB (here: the emulator) reports for one call."""
    consumed = response.get("ConsumedCapacity") if isinstance(response, dict) else None
    if isinstance(consumed, dict):
        return float(consumed.get("CapacityUnits", 0.0))
    if isinstance(consumed, list):
        return float(sum(c.get("CapacityUnits", 0.0) for c in consumed))
    return 0.0


@contextmanager
def meter() -> Iterator[dict[str, float]]:
    """Round trips, capacity units and time spent inside AWS calls, during the block."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    totals = {
        "round_trips": 0.0,
        "capacity": 0.0,
        "rru": 0.0,
        "wru": 0.0,
        "aws_s": 0.0,
        "messages": 0.0,
        "reported": 0.0,
    }

    def metered(self: Any, operation: str, params: Any) -> Any:
        started = time.perf_counter()
        dynamodb = self.meta.service_model.service_name == "dynamodb"
        if dynamodb and operation in _REPORTS_CAPACITY:
            params = {**params, "ReturnConsumedCapacity": "TOTAL"}
        try:
            response = original(self, operation, params)
            if dynamodb:
                totals["reported"] += _reported(response)
            return response
        finally:
            totals["aws_s"] += time.perf_counter() - started
            service = self.meta.service_model.service_name
            if service == "dynamodb":
                rru, wru = _units(operation, params)
                totals["round_trips"] += 1
                totals["rru"] += rru
                totals["wru"] += wru
                totals["capacity"] += rru + wru
            elif operation in ("SendEmail", "Publish"):
                totals["messages"] += 1

    BaseClient._make_api_call = metered  # type: ignore[method-assign]
    try:
        yield totals
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


class Runner:
    """Drives the app through chalice's test client and records each step."""

    def __init__(self, client: Any, outbox: Any, clock: Any) -> None:
        self.client = client
        self.outbox = outbox
        self.clock = clock
        self.steps: dict[str, StepCost] = {}

    def call(
        self, name: str, method: str, path: str, body: Any = None, token: str | None = None, writes: int = 1
    ) -> Any:
        import json

        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        raw = json.dumps(body).encode() if body is not None else b""
        with meter() as m:
            started = time.perf_counter()
            response = getattr(self.client.http, method.lower())(path, headers=headers, body=raw)
            wall = time.perf_counter() - started
        self.outbox.run_sender()  # the outbox function, after the answer (not this step's cost)
        assert response.status_code < 300, (name, response.status_code, response.body)
        step = self.steps.setdefault(name, StepCost(name, writes=writes))
        step.round_trips.append(int(m["round_trips"]))
        step.capacity.append(m["capacity"])
        step.rru.append(m["rru"])
        step.wru.append(m["wru"])
        step.messages.append(m["messages"])
        step.reported.append(m["reported"])
        step.handler_ms.append((wall - m["aws_s"]) * 1000)
        step.aws_ms.append(m["aws_s"] * 1000)
        return json.loads(response.body) if response.body else None

    def journeys(self, n: int) -> None:
        """One pass over every journey, as person ``n``."""
        email, phone = f"bench{n}@example.com", f"0812{50000000 + n:08d}"
        e164 = "+62" + phone[1:]
        nik = f"317401170590{n + 1:04d}"
        kpj = f"{20000000000 + n:011d}"
        password = "Kuat-Sekali-9"
        flow = self.call("registration start", "POST", "/v1/registrations", {"email": email})["flow_id"]
        base = f"/v1/registrations/{flow}"
        self.call("registration get", "GET", base, writes=0)
        self.call("email verify", "POST", f"{base}/email/verify", {"code": self.outbox.email_code(email)})
        profile = {
            "membership_type": "PU",
            "full_name": "Budi Santoso",
            "birth_date": "1990-05-17",
            "nik": nik,
            "kpj": kpj,
        }
        self.call("profile", "PUT", f"{base}/profile", profile)
        self.call("phone", "POST", f"{base}/phone", {"phone": phone})
        self.call("phone verify", "POST", f"{base}/phone/verify", {"code": self.outbox.sms_code(e164)})
        done = self.call(
            "registration complete",
            "POST",
            f"{base}/complete",
            {"password": password, "password_confirmation": password},
        )
        token = done["session"]["access_token"]
        session = self.call("sign-in (password)", "POST", "/v1/sessions", {"login": email, "password": password})
        self.call("refresh", "POST", "/v1/sessions/refresh", {"refresh_token": session["refresh_token"]})
        self.call("GET /me", "GET", "/v1/me", token=token, writes=0)
        self.call(
            "set PIN",
            "PUT",
            "/v1/me/pin",
            {"pin": "258036", "pin_confirmation": "258036", "password": password},
            token=token,
        )
        self.call("sign-in (PIN)", "POST", "/v1/sessions", {"login": kpj, "pin": "258036"})
        from tests.webauthn_device import SoftwareAuthenticator

        phone_key = SoftwareAuthenticator()
        started = self.call("passkey options", "POST", "/v1/me/passkeys/options", {"password": password}, token=token)
        made = phone_key.create(started["options"])
        body = {"flow_id": started["flow_id"], "credential": made}
        self.call("passkey add", "POST", "/v1/me/passkeys", body, token=token, writes=3)
        self.call("passkeys list", "GET", "/v1/me/passkeys", token=token, writes=0)
        options = self.call("passkey sign-in options", "POST", "/v1/sessions/passkey/options", {})
        body = {"flow_id": options["flow_id"], "credential": phone_key.get(options["options"])}
        self.call("sign-in (passkey)", "POST", "/v1/sessions/passkey", body, writes=3)
        flow = self.call("password reset start", "POST", "/v1/password-resets", {"email": email})["flow_id"]
        self.call(
            "password reset verify",
            "POST",
            f"/v1/password-resets/{flow}/verify",
            {"code": self.outbox.email_code(email)},
        )
        new = "Baru-Lebih-Kuat-7"
        self.call(
            "password reset complete",
            "POST",
            f"/v1/password-resets/{flow}/complete",
            {"password": new, "password_confirmation": new},
        )
        identity = {"full_name": "Budi Santoso", "nik": nik, "birth_date": "1990-05-17"}
        flow = self.call("PIN reset start", "POST", "/v1/pin-resets", identity)["flow_id"]
        self.call("PIN reset send", "POST", f"/v1/pin-resets/{flow}/send", {"channel": "email"})
        self.call("PIN reset verify", "POST", f"/v1/pin-resets/{flow}/verify", {"code": self.outbox.email_code(email)})
        self.call(
            "PIN reset complete",
            "POST",
            f"/v1/pin-resets/{flow}/complete",
            {"pin": "471036", "pin_confirmation": "471036"},
        )
        self.call("forgot email", "POST", "/v1/email-recoveries", {"phone": phone}, writes=1)
        self.clock.advance(120)


def use_in_process_emulator() -> None:
    """Fake credentials and no endpoint: moto's in-process mock intercepts AWS hostnames."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SANDI_STAGE": "local",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)


def measure(runs: int = 20) -> list[StepCost]:
    """Run every journey ``runs`` times against moto; the cost of each step."""
    use_in_process_emulator()
    from email.utils import parseaddr

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import aws  # import order: after the environment is set
    from chalicelib.config import load_settings  # import order: after the environment is set
    from chalicelib.deps import build_deps, set_deps  # import order: after the environment is set
    from chalicelib.storage.models import create_tables  # import order: after the environment is set
    from tests.conftest import FakeClock, Outbox

    settings = load_settings({"SANDI_STAGE": "local", "AWS_DEFAULT_REGION": REGION})
    clock = FakeClock()
    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=parseaddr(settings.ses_sender)[1])
        from app import app  # import order: after the environment is set

        with Client(app, stage_name="local") as client:
            set_deps(build_deps(settings, clock=clock))
            runner = Runner(client, Outbox(), clock)
            runner.journeys(runs)  # warm-up: clients created, modules imported (a warm container)
            runner.steps.clear()
            for n in range(runs):
                runner.journeys(n)
        set_deps(None)
    return list(runner.steps.values())


def summarize(steps: list[StepCost]) -> list[dict[str, Any]]:
    """One row per step."""
    rows = []
    for s in steps:
        rows.append(
            {
                "step": s.name,
                "round_trips": max(s.round_trips),
                "floor": s.writes,
                "capacity": statistics.mean(s.capacity),
                "rru": statistics.mean(s.rru),
                "wru": statistics.mean(s.wru),
                "messages": statistics.mean(s.messages),
                "reported": statistics.mean(s.reported),
                "p50_ms": s.p(s.handler_ms, 0.5),
                "p99_ms": s.p(s.handler_ms, 0.99),
                "aws_ms": statistics.median(s.aws_ms),
                "argon2": s.name in SECRET_STEPS,
            }
        )
    return rows


def main() -> None:
    rows = summarize(measure(10))
    print(f"{'step':<26}{'trips':>6}{'floor':>6}{'units':>7}{'p50 ms':>8}{'p99 ms':>8}")
    for r in rows:
        print(
            f"{r['step']:<26}{r['round_trips']:>6}{r['floor']:>6}{r['capacity']:>7.1f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
