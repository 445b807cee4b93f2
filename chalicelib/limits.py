"""Rate limits held in DynamoDB, so they hold across every Lambda container.

A limit is added to the same transaction as the write it guards; if any limit is
full the whole transaction is refused and nothing is counted. Two kinds:
- rolling: a number set of event times (the contract's "10 per destination per 24 h");
  a full set is pruned of old events once and the write retried;
- fixed: a counter per clock window (hourly budgets), one cheap ``ADD`` each.
Keys are keyed hashes: no address, number or NIK appears in the counters table.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from chalicelib import metrics
from chalicelib.config import Settings
from chalicelib.errors import retry_after
from chalicelib.keys import keyed_hash
from chalicelib.storage.store import Conflict, Store, Txn


@dataclass(frozen=True)
class Limit:
    """At most ``max`` events per ``window`` seconds for ``key``."""

    name: str
    key: str
    max: int
    window: int
    rolling: bool = False
    # A national budget is split over this many items (fixed windows only), one drawn at
    # random per event, each holding its share: no single item takes every send.
    shards: int = 1


@dataclass(frozen=True)
class Taken:
    """What one limit recorded, so it can be given back."""

    limit: Limit
    counter_key: str
    stamp: int | None


_SCALE = 10**12  # stamps are integers in picoseconds: the time in µs plus 6 random digits


def _stamp(now: float) -> int:
    """A unique member of a number set for an event at ``now``.

    Two events in the same microsecond must not collapse into one set member, and a
    float cannot carry sub-microsecond digits at today's epoch, hence an integer.
    """
    return int(now * 1_000_000) * 1_000_000 + secrets.randbelow(1_000_000)


def _window_start(limit: Limit, now: float) -> int:
    return int(now // limit.window * limit.window)


def _add(txn: Txn, limit: Limit, now: float) -> Taken:
    label = f"limit:{limit.name}"
    if limit.rolling:
        stamp = _stamp(now)
        Store.add_stamp(txn, label, limit.key, stamp, limit.max, now + limit.window)
        return Taken(limit, limit.key, stamp)
    counter_key, start = _window_item(limit, now)
    cap = math.ceil(limit.max / limit.shards) if limit.shards > 1 else limit.max
    Store.add_hit(txn, label, counter_key, cap, start + limit.window)
    return Taken(limit, counter_key, None)


def _window_item(limit: Limit, now: float) -> tuple[str, int]:
    """The counter item an event of a fixed-window limit is filed under (a shard drawn
    per event for a split budget), and the window's start."""
    start = _window_start(limit, now)
    shard = f"#{secrets.randbelow(limit.shards)}" if limit.shards > 1 else ""
    return f"{limit.key}{shard}#{start}", start


def signin(settings: Settings, key: bytes, client_ip: str) -> list[Limit]:
    """The sign-in throttle of one client address (every attempt counts, before the check),
    for a password, a PIN or a passkey alike."""
    per_minute, per_hour = settings.signin_per_client_per_minute, settings.signin_per_client_per_hour
    return [
        *for_client(
            settings,
            key,
            "signin#client#",
            client_ip,
            max_per_address=per_minute,
            window=60,
            name="client_minute",
            suffix="#m",
        ),
        *for_client(
            settings,
            key,
            "signin#client#",
            client_ip,
            max_per_address=per_hour,
            window=3600,
            name="client_hour",
            suffix="#h",
        ),
    ]


def count_only(txn: Txn, limit: Limit, now: float, n: int = 1) -> None:
    """Count ``n`` events in a fixed-window limit without a cap (what must happen anyway,
    such as a security notice, still spends the budget others are held to)."""
    counter_key, start = _window_item(limit, now)
    Store.add_hit(txn, f"count:{limit.name}", counter_key, None, start + limit.window, n)


def channel_budget(settings: Settings, channel: str) -> Limit | None:
    """The hourly budget of a channel (``None`` when off), split over one item per
    thousand an hour up to ``budget_shards`` (a smaller budget is exact and never hot)."""
    enabled = settings.sms_budget_enabled if channel == "sms" else settings.email_budget_enabled
    if not enabled:
        return None
    budget = settings.sms_budget_per_hour if channel == "sms" else settings.email_budget_per_hour
    shards = int(max(1, min(settings.budget_shards, budget // 1000)))
    return Limit("budget", f"budget#{channel}", budget, 3600, shards=shards)


def address_group(client_ip: str) -> tuple[str, bool]:
    """What one client is, by address: an IPv4 address (a carrier NAT exit shares it), or
    an IPv6 /64 (one subscriber's prefix: a phone rotates addresses inside it); whether IPv6."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip, False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped), False
        return str(ipaddress.ip_network(f"{address}/64", strict=False)), True
    return str(address), False


def for_client(
    settings: Settings,
    key: bytes,
    prefix: str,
    client_ip: str,
    *,
    max_per_address: int,
    window: int,
    name: str = "client",
    suffix: str = "",
) -> list[Limit]:
    """The limit on the asking client (``per_client``), or none where client limits are
    off (the local stage: every client is 127.0.0.1) or the address is unknown."""
    if not (settings.client_limits_enabled and client_ip):
        return []
    limit = per_client(
        key,
        prefix,
        client_ip,
        max_per_address=max_per_address,
        window=window,
        ipv6_share=settings.ipv6_share,
        name=name,
    )
    return [replace(limit, key=limit.key + suffix)]


def per_client(
    key: bytes,
    prefix: str,
    client_ip: str,
    *,
    max_per_address: int,
    window: int,
    ipv6_share: float,
    name: str = "client",
) -> Limit:
    """A limit on one client: ``max_per_address`` for an IPv4 address, its ``ipv6_share``
    for an IPv6 /64. The key is a keyed hash of the address (or prefix), never the address."""
    group, ipv6 = address_group(client_ip)
    cap = max(1, int(max_per_address * ipv6_share)) if ipv6 else max_per_address
    return Limit(name, prefix + keyed_hash(key, "client", group), cap, window)


def commit_within(
    store: Store,
    build: Callable[[Txn], None],
    limits: list[Limit],
    now: float,
    after: Callable[[Txn, list[Taken]], None] | None = None,
) -> list[Taken]:
    """Commit ``build(txn)`` plus one event in each limit; ``429 rate_limited`` if one is full.

    ``after(txn, taken)`` adds writes that need to know the events just drawn."""
    for attempt in range(2):
        txn = Txn()
        build(txn)
        taken = [_add(txn, limit, now) for limit in limits]
        if after is not None:
            after(txn, taken)
        try:
            store.commit(txn)
            return taken
        except Conflict as exc:
            full = [limit for limit in limits if f"limit:{limit.name}" in exc.labels]
            if not full:
                raise
            waits = [_wait_or_prune(store, limit, now) for limit in full]
            if attempt == 1 or any(w is not None for w in waits):
                # a budget whose drawn shards were full twice waits for its window to turn
                window_ends = (_window_start(limit, now) + limit.window - now for limit in full if not limit.rolling)
                longest = max((w for w in waits if w is not None), default=max(window_ends, default=1.0))
                for limit in full:
                    metrics.count("RateLimited", limit=limit.name.split(":")[0])
                raise retry_after("rate_limited", longest) from exc
    raise AssertionError("unreachable")


def _wait_or_prune(store: Store, limit: Limit, now: float) -> float | None:
    """Seconds until ``limit`` has room again, or None if pruning made room now."""
    if not limit.rolling:
        if limit.shards > 1:
            return None  # one shard is full: the retry draws another
        return _window_start(limit, now) + limit.window - now
    left, _oldest = store.prune_stamps(limit.key, (now - limit.window) * _SCALE)
    if left < limit.max:
        return None
    # The whole window, not "until the oldest event leaves it": the oldest may be a send
    # someone else asked for, and its time is not the caller's to learn.
    return float(limit.window)


def give_back(store: Store, taken: list[Taken]) -> None:
    """Undo what ``commit_within`` counted (the guarded action did not happen)."""
    for item in taken:
        if item.stamp is not None:
            store.remove_stamp(item.counter_key, item.stamp)
        else:
            store.remove_hit(item.counter_key)
