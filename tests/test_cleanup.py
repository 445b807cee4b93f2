"""The scheduled cleanup reads only expired items and deletes exactly those."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from chalice.test import Client

from chalicelib import cleanup
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.storage.flows import new_flow
from chalicelib.storage.models import CounterModel, FlowModel, SessionModel
from local.metrics import count_calls
from tests.conftest import Api, FakeClock, Member


def _flows(n: int, now: float, lifetime: int) -> list[str]:
    ids = []
    with FlowModel.batch_write() as batch:
        for _ in range(n):
            flow = new_flow("registration", state="profile", now=now, lifetime=lifetime, lang="id", data={})
            batch.save(flow)
            ids.append(flow.flow_id)
    return ids


def test_only_expired_items_are_read_and_deleted(deps: Deps, clock: FakeClock) -> None:
    now = clock()
    live = _flows(300, now, 3600)
    expired = _flows(40, now - 7200, 1800)  # expired 1.5 h ago
    with count_calls() as counter:
        report = cleanup.run(now, batch=1000)
    assert report.read == 40 and sum(report.purged.values()) == 40  # one read per purged item
    assert all(FlowModel.count(hash_key=i) == 0 for i in expired)
    assert sum(1 for _ in FlowModel.scan()) == 300
    assert FlowModel.get(live[0]).flow_id == live[0]
    assert "Scan" not in counter.by_service("dynamodb")
    again = cleanup.run(now, batch=1000)  # idempotent: nothing left to find
    assert again.read == 0 and again.purged == {}


def test_an_item_extended_after_indexing_is_kept(deps: Deps, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    now = clock()
    [flow_id] = _flows(1, now - 7200, 1800)
    shard = FlowModel.get(flow_id).expiry_shard
    stale = list(FlowModel.by_expiry.query(shard, FlowModel.expires_at <= to_datetime(now)))
    # extended after the index was read (a GSI is eventually consistent: a run may still see it)
    FlowModel(flow_id).update(actions=[FlowModel.expires_at.set(to_datetime(now + 600))])
    monkeypatch.setattr(FlowModel.by_expiry, "query", lambda key, *a, **k: stale if key == shard else [])
    report = cleanup.run(now, batch=100)
    assert report.read == 1 and report.purged == {}  # the conditional delete kept it
    assert FlowModel.get(flow_id)


def test_batches_and_parallel_runs(deps: Deps, clock: FakeClock) -> None:
    now = clock()
    _flows(30, now - 7200, 1800)
    first = cleanup.run(now, batch=10)
    assert sum(first.purged.values()) == 10 and not first.complete
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: cleanup.run(now, batch=100), range(2)))
    assert sum(sum(r.purged.values()) for r in reports) == 20  # each item deleted once
    assert sum(1 for _ in FlowModel.scan()) == 0


@pytest.mark.settings(refresh_token_ttl=3600)
def test_sessions_and_counters_and_the_scheduled_function(api: Api, member: Member, clock: FakeClock) -> None:
    api.post("/v1/email-recoveries", {"phone": "081300001111"})  # counters
    clock.advance(86400 + 3600)  # past the refresh token, the flows and the counters
    from app import app

    with Client(app, stage_name="local") as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        result = client.lambda_.invoke("cleanup", event).payload
    assert result["purged"]["sandi-local-sessions"] == 1
    assert result["purged"]["sandi-local-counters"] >= 1 and result["purged"]["sandi-local-flows"] >= 1
    assert sum(1 for _ in SessionModel.scan()) == 0
    assert list(CounterModel.scan()) == []  # no cursor is kept: each run asks the index
