"""The scheduled purge of expired flows (with their codes), sessions and rate counters.

Expiring items are indexed by when they expire (``by_expiry``: a random shard of
``EXPIRY_SHARDS``, then ``expires_at``, keys only). A run asks each shard for what
expired before now, oldest first, so its cost follows the number of expired items, not
the size of the tables, and it needs no cursor: what one run did not reach (its batch
ran out) the next one finds. Deletes are conditional on the item still being expired (it
may have been extended since the index was read), so two runs at once, or a run racing
a user, are harmless. DynamoDB TTL stays on as the backstop.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.clock import to_datetime
from chalicelib.storage.models import EXPIRY_SHARDS, CounterModel, FlowModel, SessionModel

log = logging.getLogger(__name__)

EXPIRING = (FlowModel, SessionModel, CounterModel)


@dataclass
class Report:
    """What one run did."""

    read: int = 0
    purged: dict[str, int] = field(default_factory=dict)
    shards: int = 0
    complete: bool = True

    def as_log(self) -> str:
        return json.dumps({"event": "cleanup", "read": self.read, "purged": self.purged, "shards": self.shards})


def _purge_shard(model: Any, shard: int, now: float, budget: int, report: Report) -> bool:
    """Delete the expired items of one index shard; False if the budget ran out first."""
    name = model.Meta.table_name
    expired = model.by_expiry.query(str(shard), model.expires_at <= to_datetime(now))
    for key_item in expired:
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
    for model in EXPIRING:
        for shard in range(EXPIRY_SHARDS):
            if not _purge_shard(model, shard, now, batch, report):
                report.complete = False
                log.info(report.as_log())
                return report
            report.shards += 1
    log.info(report.as_log())
    return report
