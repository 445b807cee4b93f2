"""A bounded load test against the local stack (loopback only; it stops by itself).

    python -m bench.load --seconds 60 --clients 8

Starts `python -m local.devstack` on free ports, then many simulated clients run a mix
of registrations (codes read from the local inbox), sign-ins (right and wrong) and
password resets for a fixed time. Reports throughput, latency percentiles and the
error count (answers that are neither the intended 2xx nor an intended 4xx), then checks
the emulator's tables: no account or claim duplicated or orphaned, no destination over
its cap. The stack records every key it writes (``local/write_log.py``), with the national
budgets on: the hottest key that is not one member's own, and its share of all writes,
must stay under 1% and not grow when the load doubles (``--double`` runs both levels).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from local.client import running
from local.write_log import hottest_shared, unsharded

ROOT = Path(__file__).resolve().parent.parent
INTENDED_4XX = {"invalid_credentials", "account_locked", "rate_limited", "resend_too_soon"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # when each request ended (time.time)
    by_kind: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, response: requests.Response, ok: tuple[int, ...]) -> None:
        code = ""
        if response.status_code >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
        with self.lock:
            self.latencies.append(seconds)
            self.finished_at.append(time.time())
            self.by_kind[kind] += 1
            if response.status_code not in ok and code not in INTENDED_4XX:
                self.errors.append(f"{kind}: {response.status_code} {code}")


class Client:
    """One simulated app user."""

    def __init__(self, api: str, inbox: str, tally: Tally, n: int) -> None:
        self.api, self.inbox, self.tally, self.n = api, inbox, tally, n
        self.http = requests.Session()
        self.accounts: list[tuple[str, str]] = []
        self.seq = 0

    def call(self, kind: str, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202)) -> Any:
        started = time.perf_counter()
        response = self.http.request(method, self.api + path, json=body, timeout=30)
        self.tally.record(kind, time.perf_counter() - started, response, ok)
        return response

    def code_for(self, to: str) -> str:
        for _ in range(50):
            query = {"to": to, "limit": "1"}
            messages = self.http.get(self.inbox + "/api/messages", params=query, timeout=10).json()["messages"]
            for m in messages:
                if m["to"] == to:
                    return str(m["body"].split()[0])
            time.sleep(0.05)
        raise RuntimeError("no message")

    def register(self) -> None:
        self.seq += 1
        k = self.n * 10_000 + self.seq
        # distinct per client and step; numbers spread over ranges (a permutation of k)
        number = (k * 7919) % 10**8
        if number % 100 == 99:
            number += 1  # the emulator treats numbers ending in 99 as opted out of SMS
        email, phone = f"load{k}@example.com", f"0813{number:08d}"
        nik, kpj = f"{10 + self.n % 90:02d}7401170590{self.seq % 10000:04d}", f"{30000000000 + k:011d}"
        flow = self.call("registration", "POST", "/v1/registrations", {"email": email}).json()["flow_id"]
        base = f"/v1/registrations/{flow}"
        self.call("registration", "POST", f"{base}/email/verify", {"code": self.code_for(email)})
        profile = {
            "membership_type": "BPU",
            "full_name": "Siti Aminah",
            "birth_date": "1990-05-17",
            "nik": nik,
            "kpj": kpj,
        }
        answer = self.call("registration", "PUT", f"{base}/profile", profile, ok=(200, 409))
        if answer.status_code == 409:
            return  # another client drew the same NIK: the intended 409
        if self.call("registration", "POST", f"{base}/phone", {"phone": phone}, ok=(200, 429)).status_code != 200:
            return
        self.call("registration", "POST", f"{base}/phone/verify", {"code": self.code_for("+62" + phone[1:])})
        password = "Kuat-Sekali-9"
        done = self.call(
            "registration",
            "POST",
            f"{base}/complete",
            {"password": password, "password_confirmation": password},
            ok=(201, 409),
        )
        if done.status_code == 201:
            self.accounts.append((email, password))

    def sign_in(self) -> None:
        if not self.accounts:
            return self.register()
        email, password = random.choice(self.accounts)
        secret = password if random.random() < 0.8 else "Salah-Sekali-1"
        self.call("sign-in", "POST", "/v1/sessions", {"login": email, "password": secret}, ok=(201, 401, 423))

    def reset(self) -> None:
        email = random.choice(self.accounts)[0] if self.accounts else f"nobody{self.n}@example.com"
        self.call("password reset", "POST", "/v1/password-resets", {"email": email}, ok=(202, 429))

    def run(self, until: float) -> None:
        while time.time() < until:
            roll = random.random()
            (self.register if roll < 0.3 else self.sign_in if roll < 0.85 else self.reset)()


def check_tables(emulator: str) -> dict[str, int]:
    """Duplicated or orphaned accounts and claims, read from the emulator."""
    import boto3

    db = boto3.client(
        "dynamodb",
        endpoint_url=emulator,
        region_name="ap-southeast-3",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def scan(table: str) -> list[dict[str, Any]]:
        items, kwargs = [], {"TableName": table}
        while True:
            page = db.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    accounts = {a["account_id"]["S"]: a for a in scan("sandi-local-accounts")}
    claims = scan("sandi-local-claims")
    owners = Counter(c["account_id"]["S"] for c in claims)
    nik_hashes = Counter(a["nik_hash"]["S"] for a in accounts.values())
    return {
        "accounts": len(accounts),
        "claims": len(claims),
        "orphaned_claims": sum(1 for c in claims if c["account_id"]["S"] not in accounts),
        "accounts_without_4_claims": sum(1 for a in accounts if owners[a] != 4),
        "duplicated_niks": sum(1 for n in nik_hashes.values() if n > 1),
    }


HOT_SHARE_LIMIT = 0.01  # the hottest shared key's share of all writes


def run(seconds: int, clients: int) -> dict[str, Any]:
    writes_path = Path(tempfile.mkdtemp()) / "writes.json"
    rush = {"SANDI_WRITE_LOG": str(writes_path), "SANDI_SMS_BUDGET_ENABLED": "1", "SANDI_EMAIL_BUDGET_ENABLED": "1"}
    with running(ROOT / ".bench-devstack.log", extra_env=rush) as urls:
        tally = Tally()
        until = time.time() + seconds
        workers = [Client(urls.api, urls.inbox, tally, n) for n in range(clients)]
        threads = [threading.Thread(target=w.run, args=(until,)) for w in workers]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.time() - started
        tables = check_tables(urls.emulator)
        inbox = requests.get(f"{urls.inbox}/api/messages", timeout=30).json()
        most_to_one = max(Counter(m["to"] for m in inbox["messages"]).values(), default=0)
    counts = json.loads(writes_path.read_text()) if writes_path.exists() else {}
    hot_key, hot_writes, hot_share = hottest_shared(counts)
    before_key, _, before_share = hottest_shared(unsharded(counts))
    latencies = sorted(tally.latencies)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    def minute_p50(first: bool) -> float:
        """p50 (ms) of the requests that ended in the run's first or last 60 seconds."""
        edge = started + 60 if first else started + elapsed - 60
        inside = [s for s, at in zip(tally.latencies, tally.finished_at, strict=True) if (at < edge) == first]
        return float(statistics.median(inside)) * 1000 if inside else 0.0

    return {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "requests": len(latencies),
        "throughput": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "first_minute_p50_ms": minute_p50(first=True),
        "last_minute_p50_ms": minute_p50(first=False),
        "by_kind": dict(tally.by_kind),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "tables": tables,
        "most_to_one": most_to_one,
        "writes": sum(counts.values()),
        "hot_key": hot_key.split(":")[0] + ":" + _kind_of(hot_key),
        "hot_writes": hot_writes,
        "hot_share": hot_share,
        "unsharded_key": before_key.split(":")[0] + ":" + _kind_of(before_key),
        "unsharded_share": before_share,
        "writes_by_table": _by_table(counts),
    }


def _by_table(counts: dict[str, int]) -> dict[str, int]:
    """Writes per table (and per index)."""
    totals: Counter[str] = Counter()
    for key, n in counts.items():
        totals[key.split(":")[0]] += n
    return dict(totals.most_common())


def _kind_of(key: str) -> str:
    """A key's kind without its hash (``budget#sms#7#<hour>`` -> ``budget#sms#<shard>#<hour>``)."""
    value = key.partition(":")[2]
    parts = value.split("#")
    if value.startswith("budget#"):
        return "#".join(parts[:2]) + ("#<shard>#<hour>" if len(parts) == 4 else "#<hour>")
    if "by_expiry" in key:
        return "<one of 64 shards>" if value != "all" else "<one key for all>"
    return parts[0] + "#..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--double", action="store_true", help="run again with twice the clients; compare hot keys")
    args = parser.parse_args(argv)
    r = run(args.seconds, args.clients)
    bad = _print(r)
    if args.double:
        doubled = run(args.seconds, args.clients * 2)
        bad = _print(doubled) or bad
        grew = doubled["hot_share"] > max(r["hot_share"] * 1.25, r["hot_share"] + 0.002)
        print(
            f"hottest shared key share: {r['hot_share']:.2%} -> {doubled['hot_share']:.2%} with twice the load"
            f" ({'grew' if grew else 'did not grow'})"
        )
        bad = bad or grew
    return 1 if bad else 0


def _print(r: dict[str, Any]) -> bool:
    """Print one run; whether it failed a check."""
    print(f"load: {r['clients']} clients for {r['seconds']} s: {r['requests']} requests, {r['throughput']:.1f} req/s")
    print(
        f"  latency p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms;"
        f" by kind {r['by_kind']}"
    )
    print(
        f"  p50 of the first minute {r['first_minute_p50_ms']:.0f} ms, of the last minute"
        f" {r['last_minute_p50_ms']:.0f} ms (a flat stack: about the same)"
    )
    print(f"  unintended errors: {r['errors']} {r['error_samples']}")
    print(f"  tables: {r['tables']}; most messages to one destination: {r['most_to_one']}")
    print(
        f"  writes: {r['writes']}; hottest key that is not one member's own: {r['hot_key']} with {r['hot_writes']}"
        f" writes, {r['hot_share']:.2%} of all (limit {HOT_SHARE_LIMIT:.0%}); with one budget item and one index"
        f" key per quarter hour (before issue 26) it would be {r['unsharded_key']} at {r['unsharded_share']:.2%}"
    )
    print(f"  writes by table and index: {r['writes_by_table']}")
    return bool(
        r["most_to_one"] > 10
        or r["errors"]
        or r["tables"]["orphaned_claims"]
        or r["tables"]["accounts_without_4_claims"]
        or r["tables"]["duplicated_niks"]
        or r["hot_share"] >= HOT_SHARE_LIMIT
    )


if __name__ == "__main__":
    raise SystemExit(main())
