"""`make smoke URL=https://...`: after a deploy, walk what a first day needs and print a table.

Health; an unknown route answers the contract's 404; the `/Stage/` path SAM could add
does not serve; a registration start to SES's mailbox simulator reaches `delivered`
(success) and `failed`/`bounced` (bounce) through the real receipts; an admin route
refuses a garbage token with the contract's 401; `/console/` and `/docs/` load. Talks
only to the URL it is given (the local stack's in `make test`). Exit status 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Row:
    check: str
    ok: bool
    saw: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_code(self) -> str | None:
        decoded = self.json()
        error = decoded.get("error") if isinstance(decoded, dict) else None
        return error.get("code") if isinstance(error, dict) else None


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
    """One request; any HTTP status is an answer, not an exception."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "sandi-smoke/1")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.read(), response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), error.headers.get("Content-Type", ""))


def _delivery(base: str, email: str, want: str, timeout: float) -> Row:
    """A registration start to a simulator address, polled until the receipt arrives."""
    started = call("POST", base + "v1/registrations", {"email": email})
    flow = started.json()
    if started.status != 201 or not isinstance(flow, dict) or "flow_id" not in flow:
        return Row(f"email code reaches {want}", False, f"start answered {started.status}")
    flow_id = flow["flow_id"]
    deadline, delivery = time.monotonic() + timeout, "?"
    while time.monotonic() < deadline:
        polled = call("GET", base + f"v1/registrations/{flow_id}").json()
        challenge = (polled.get("challenge") if isinstance(polled, dict) else None) or {}
        delivery = str(challenge.get("delivery"))
        if delivery == want:
            failure = challenge.get("delivery_failure")
            return Row(f"email code reaches {want}", True, delivery + (f" ({failure})" if failure else ""))
        time.sleep(0.5)
    return Row(f"email code reaches {want}", False, f"still {delivery} after {timeout:.0f} s")


def walk(url: str, *, receipt_timeout: float = 90) -> list[Row]:
    """Every check, in order."""
    base = url if url.endswith("/") else url + "/"
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    label = uuid.uuid4().hex[:10]  # SES allows +labels on simulator addresses: no cap shared across runs
    rows = []

    health = call("GET", base + "v1/health")
    rows.append(Row("health", health.status == 200 and health.json() == {"status": "ok"}, f"{health.status}"))
    unknown = call("GET", base + "v1/no-such-route/" + label)
    rows.append(
        Row(
            "unknown route is the contract's 404",
            (unknown.status, unknown.error_code()) == (404, "not_found"),
            f"{unknown.status} {unknown.error_code()}",
        )
    )
    stage = call("GET", origin + "/Stage/v1/health")
    rows.append(Row("/Stage/ does not serve", stage.status != 200, f"{stage.status}"))
    rows.append(_delivery(base, f"success+smoke{label}@simulator.amazonses.com", "delivered", receipt_timeout))
    rows.append(_delivery(base, f"bounce+smoke{label}@simulator.amazonses.com", "failed", receipt_timeout))
    admin = call("GET", base + "v1/admin/accounts?email=x%40example.com", headers={"Authorization": "Bearer garbage"})
    rows.append(
        Row(
            "admin refuses a garbage token",
            (admin.status, admin.error_code()) == (401, "unauthenticated"),
            f"{admin.status} {admin.error_code()}",
        )
    )
    for page in ("console/", "docs/"):
        answer = call("GET", base + page)
        ok = answer.status == 200 and answer.content_type.startswith("text/html")
        rows.append(Row(f"/{page} loads", ok, f"{answer.status} {answer.content_type}"))
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a plain table."""
    width = max(len(r.check) for r in rows)
    lines = [f"{'check':<{width}}  result  saw", f"{'-' * width}  ------  ---"]
    lines += [f"{r.check:<{width}}  {'ok' if r.ok else 'FAIL':<6}  {r.saw}" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the stage's ApiUrl (stack output), e.g. https://abc.execute-api.../api/")
    parser.add_argument("--receipt-timeout", type=float, default=90)
    args = parser.parse_args(argv)
    rows = walk(args.url, receipt_timeout=args.receipt_timeout)
    print(table(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
