"""Every DynamoDB item key a process writes, and every expiry-index key it moves, counted.

The load test's view of hot keys: the dev stack registers ``WriteLog.hook`` on the app's
botocore session (``SANDI_WRITE_LOG=path``) and dumps the counts there when it stops.
``shared`` tells a key that is one member's own (their account, flow, session, claim,
destination, login, message) from one that every member's requests may write (a budget,
a client address, a number range, an index key): only the latter can become the
country's bottleneck.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

HASH_KEYS = {
    "accounts": "account_id",
    "claims": "claim_key",
    "flows": "flow_id",
    "sessions": "session_id",
    "counters": "counter_key",
    "suppressions": "destination_key",
    "audit": "subject",
    "outbox": "message_id",
}
MEMBER_TABLES = {"accounts", "claims", "flows", "sessions", "suppressions", "outbox"}
MEMBER_COUNTERS = (
    "dest#",
    "receipt#",
    "login#",
    "profile#flow#",
    "profile#nik#",
    "profile#kpj#",
    "identity#nik#",
    "phone#flow#",
)
MEMBER_SUBJECTS = ("account#", "flow#", "login#")
_ASSIGN = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def _logical(table: str) -> str:
    return table.rsplit("-", 1)[-1]


def _value(attribute: dict[str, Any]) -> str:
    return str(next(iter(attribute.values())))


class WriteLog:
    """Counts of writes per ``table:key`` (and ``table/by_expiry:bucket``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """botocore's ``before-parameter-build`` for DynamoDB: note what a write touches."""
        found: list[str] = []
        if model.name == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                for kind, op in item.items():
                    if kind != "ConditionCheck":
                        found += self._keys(kind, op)
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            found += self._keys(model.name.removesuffix("Item"), params)
        if found:
            with self._lock:
                self.counts.update(found)

    @staticmethod
    def _keys(kind: str, op: dict[str, Any]) -> list[str]:
        table = _logical(op["TableName"])
        name = HASH_KEYS.get(table)
        source = op.get("Item") if kind == "Put" else op.get("Key")
        if not name or not source or name not in source:
            return []
        keys = [f"{table}:{_value(source[name])}"]
        bucket = None
        if kind == "Put" and "expiry_shard" in source:
            bucket = _value(source["expiry_shard"])
        elif kind == "Update":
            names = op.get("ExpressionAttributeNames", {})
            values = op.get("ExpressionAttributeValues", {})
            for placeholder, value in _ASSIGN.findall(op.get("UpdateExpression", "")):
                if names.get(placeholder) == "expiry_shard" and value in values:
                    bucket = _value(values[value])
        if bucket is not None:
            keys.append(f"{table}/by_expiry:{bucket}")
        return keys

    def dump(self, path: Path) -> None:
        """Write the counts as JSON."""
        with self._lock:
            path.write_text(json.dumps(dict(self.counts)))


def shared(key: str) -> bool:
    """Whether ``key`` is one that many members' requests write (not one member's own)."""
    table, _, value = key.partition(":")
    if "/by_expiry" in table:
        return True
    if table in MEMBER_TABLES:
        return False
    if table == "counters":
        return not value.startswith(MEMBER_COUNTERS)
    if table == "audit":
        return not value.startswith(MEMBER_SUBJECTS)
    return True


def unsharded(counts: dict[str, int]) -> dict[str, int]:
    """The same writes as if every budget were one item and every expiring write went to
    one index key (before issue 26 all of a quarter hour's did): what the hottest was then."""
    merged: Counter[str] = Counter()
    for key, n in counts.items():
        table, _, value = key.partition(":")
        if value.startswith("budget#"):
            kind, channel, _shard, hour = value.split("#")
            key = f"{table}:{kind}#{channel}#{hour}"
        elif "/by_expiry" in table:
            key = f"{table}:all"
        merged[key] += n
    return dict(merged)


def hottest_shared(counts: dict[str, int]) -> tuple[str, int, float]:
    """The most written shared key, its writes, and its share of all writes."""
    total = sum(counts.values())
    candidates = [(n, k) for k, n in counts.items() if shared(k)]
    if not candidates or not total:
        return "", 0, 0.0
    n, key = max(candidates)
    return key, n, n / total
