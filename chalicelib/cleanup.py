"""The scheduled purge of expired flows (with their codes), sessions and rate counters.

Expiring items carry the quarter-hour bucket they expire in, indexed (``by_expiry``,
keys only). A run reads only buckets that are over, from a cursor kept in the counters
table, so its cost follows the number of expired items, not the size of the tables.
Deletes are conditional on the item still being expired (it may have been extended
since the index was read), so two runs at once, or a run racing a user, are harmless.
DynamoDB TTL stays on as the backstop.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.clock import to_datetime
from chalicelib.storage.models import EXPIRY_BUCKET_SECONDS, CounterModel, FlowModel, SessionModel

log = logging.getLogger(__name__)

CURSOR_KEY = "cleanup#cursor"
EXPIRING = (FlowModel, SessionModel, CounterModel)
FIRST_LOOKBACK = 2 * 86400  # with no cursor yet, look this far back (TTL covers the rest)


@dataclass
class Report:
    """What one run did."""

    read: int = 0
    purged: dict[str, int] = field(default_factory=dict)
    buckets: int = 0
    complete: bool = True

    def as_log(self) -> str:
        return json.dumps({"event": "cleanup", "read": self.read, "purged": self.purged, "buckets": self.buckets})


def _cursor() -> int | None:
    try:
        item = CounterModel.get(CURSOR_KEY, consistent_read=True)
    except CounterModel.DoesNotExist:
        return None
    return int(item.hits) if item.hits is not None else None


def _advance_cursor(bucket: int) -> None:
    condition = CounterModel.hits.does_not_exist() | (CounterModel.hits < bucket)
    try:
        CounterModel(CURSOR_KEY).update(actions=[CounterModel.hits.set(bucket)], condition=condition)
    except Exception:
        log.info("cleanup cursor already past %s", bucket)


def _purge_bucket(model: Any, bucket: int, now: float, budget: int, report: Report) -> bool:
    """Delete the expired items of one bucket; False if the budget ran out first."""
    name = model.Meta.table_name
    for key_item in model.by_expiry.query(str(bucket)):
        if budget - sum(report.purged.values()) <= 0:
            return False
        report.read += 1
        hash_key = getattr(key_item, model._hash_keyname)
        try:
            model(hash_key).delete(condition=model.expires_at <= to_datetime(now))
        except DeleteError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue  # extended since, or already purged by a parallel run
        report.purged[name] = report.purged.get(name, 0) + 1
    return True


def run(now: float, batch: int) -> Report:
    """Purge what has expired, up to ``batch`` deletes; safe to run twice at once."""
    report = Report()
    current = int(now // EXPIRY_BUCKET_SECONDS) * EXPIRY_BUCKET_SECONDS  # still filling: left alone
    cursor = _cursor()
    bucket = cursor + EXPIRY_BUCKET_SECONDS if cursor is not None else current - FIRST_LOOKBACK
    while bucket < current:
        done = all(_purge_bucket(model, bucket, now, batch, report) for model in EXPIRING)
        if not done:
            report.complete = False
            break
        report.buckets += 1
        _advance_cursor(bucket)
        bucket += EXPIRY_BUCKET_SECONDS
    log.info(report.as_log())
    return report
