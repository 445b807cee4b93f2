"""A national rush (issue 26): no single item stands between the country and its codes.
Budgets are sharded, the expiry index is spread, conflicts back off without counting
twice, client limits fit carrier NAT (IPv4) and IPv6 subscribers, polling is paced."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import limits
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable
from chalicelib.limits import Limit
from chalicelib.storage import store as store_module
from chalicelib.storage.models import EXPIRY_SHARDS, CounterModel, FlowModel
from chalicelib.storage.store import CONFLICT_ATTEMPTS
from tests.conftest import Api, FakeClock, Outbox


def _hits(prefix: str) -> dict[str, int]:
    return {i.counter_key: int(i.hits or 0) for i in CounterModel.scan() if i.counter_key.startswith(prefix)}


def test_a_national_budget_is_spread_over_shards_and_still_holds(deps: Deps, clock: FakeClock) -> None:
    budget = Limit("budget", "budget#sms", 64, 3600, shards=32)
    granted = refused = 0
    for _ in range(600):
        try:
            limits.commit_within(deps.store, lambda txn: None, [budget], clock())
            granted += 1
        except ApiError as exc:
            assert exc.key == "rate_limited" and 0 < exc.details.get("retry_after", 1) <= 3600
            refused += 1
    hits = _hits("budget#sms#")
    assert granted == 64 and sum(hits.values()) == 64  # the whole budget, and not one send more
    assert len(hits) == 32 and max(hits.values()) == 2  # every shard took its share, none more
    assert refused == 600 - 64


_cases = itertools.count()


@contextmanager
def conflicts(times: int) -> Iterator[list[str]]:
    """The next ``times`` TransactWriteItems are cancelled by a conflict (another
    transaction touched an item), as DynamoDB does under contention."""
    original = BaseClient._make_api_call
    seen: list[str] = []

    def cancelling(self: Any, operation: str, params: Any) -> Any:
        if operation == "TransactWriteItems" and len(seen) < times:
            seen.append(operation)
            reasons = [{"Code": "TransactionConflict"} for _ in params["TransactItems"]]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}
            raise ClientError({**error, "CancellationReasons": reasons}, operation)
        return original(self, operation, params)

    BaseClient._make_api_call = cancelling  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cancelled=st.integers(min_value=0, max_value=CONFLICT_ATTEMPTS + 1))
def test_a_cancelled_transaction_backs_off_and_never_counts_twice(
    deps: Deps, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, cancelled: int
) -> None:
    case = next(_cases)  # a fresh counter per example (the table outlives them)
    monkeypatch.setattr(store_module, "CONFLICT_BASE", 0.0001)  # the schedule, not its length
    pauses: list[float] = []
    monkeypatch.setattr(store_module, "conflict_pause", lambda attempt: pauses.append(attempt) or 0.0)
    send = [
        Limit("destination", f"dest#case{case}", 10, 86400, rolling=True),
        Limit("budget", f"budget#case{case}", 1000, 3600, shards=4),
    ]
    with conflicts(cancelled):
        try:
            limits.commit_within(deps.store, lambda txn: None, send, clock())
            went = True
        except StorageUnavailable:
            went = False
    assert went == (cancelled < CONFLICT_ATTEMPTS)  # bounded: it gives up after its attempts
    assert pauses == list(range(min(cancelled, CONFLICT_ATTEMPTS - 1)))  # a pause before each retry
    stamps = CounterModel.get(f"dest#case{case}").stamps if went else None
    assert len(stamps or ()) == (1 if went else 0)  # the send counted once, or not at all
    assert sum(_hits(f"budget#case{case}#").values()) == (1 if went else 0)


def test_the_pause_grows_exponentially_with_jitter() -> None:
    pauses = [[store_module.conflict_pause(a) for _ in range(50)] for a in range(CONFLICT_ATTEMPTS - 1)]
    for attempt, drawn in enumerate(pauses):
        base = store_module.CONFLICT_BASE * 2**attempt
        assert all(base <= p <= 2 * base for p in drawn) and len(set(drawn)) > 10
    assert sum(max(d) for d in pauses) < 0.7  # bounded: the whole schedule stays well inside a request


@pytest.mark.parametrize(
    ("address", "group", "ipv6"),
    [
        ("203.0.113.7", "203.0.113.7", False),  # a carrier NAT exit: one address, many phones
        ("2001:db8:1:2:aaaa:bbbb:cccc:1", "2001:db8:1:2::/64", True),  # one subscriber's /64
        ("2001:db8:1:2::99", "2001:db8:1:2::/64", True),  # the same phone on a rotated address
        ("::ffff:203.0.113.7", "203.0.113.7", False),  # IPv4 mapped
    ],
)
def test_client_limits_key_ipv6_by_its_64_and_ipv4_by_the_address(address: str, group: str, ipv6: bool) -> None:
    assert limits.address_group(address) == (group, ipv6)


def test_a_nat_exit_gets_the_ipv4_figure_and_a_subscriber_its_share() -> None:
    v4 = limits.per_client(b"k" * 32, "signin#client#", "203.0.113.7", max_per_address=300, window=60, ipv6_share=0.1)
    v6 = limits.per_client(b"k" * 32, "signin#client#", "2001:db8::1", max_per_address=300, window=60, ipv6_share=0.1)
    rotated = limits.per_client(
        b"k" * 32, "signin#client#", "2001:db8::2", max_per_address=300, window=60, ipv6_share=0.1
    )
    assert (v4.max, v6.max) == (300, 30)
    assert v6.key == rotated.key != v4.key  # rotating inside the /64 buys nothing
    assert "203.0.113" not in v4.key and "2001" not in v6.key  # keyed hashes, no address


def test_the_expiry_index_spreads_expiring_writes_over_its_shards(deps: Deps, clock: FakeClock, api: Api) -> None:
    for i in range(300):
        api.post("/v1/password-resets", {"email": f"tersebar{i}@example.com"})
    shards = Counter(f.expiry_shard for f in FlowModel.scan())
    assert len(shards) > EXPIRY_SHARDS * 0.9  # nearly every shard took some
    assert max(shards.values()) < 300 * 4 / EXPIRY_SHARDS  # and none much more than its share


def test_a_pending_code_tells_the_app_when_to_look_again(api: Api, clock: FakeClock, outbox: Outbox) -> None:
    flow = api.post("/v1/registrations", {"email": "menunggu@example.com"}).body
    assert flow["challenge"]["delivery"] == "sent" and flow["challenge"]["check_again_after"] == 3
    clock.advance(40)
    later = api.get(f"/v1/registrations/{flow['flow_id']}").body["challenge"]
    assert later["check_again_after"] == 20  # half the time already waited
    clock.advance(200)
    assert api.get(f"/v1/registrations/{flow['flow_id']}").body["challenge"]["check_again_after"] == 30  # capped
