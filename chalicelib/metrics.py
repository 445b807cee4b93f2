"""Operator metrics as CloudWatch embedded metric format (EMF) log lines.

One JSON line per event on stdout: Lambda ships it to CloudWatch Logs, which turns it
into a metric in the ``Sandi`` namespace with no API call and no extra round trip.
Dimensions are few and bounded (stage, channel, reason, limit): never an address, a
number, an id or anything a member typed. Every value carries the ``stage``, so two
stages in one account never mix in an alarm (the template's alarms name theirs).

Metric names (all counts): CodesSent, CodesVerified, CodesWrong, CodesExpired,
CodesLocked, Delivered, DeliveryFailed, Suppressed, RateLimited, SignIns,
SignInFailures, Lockouts, OutboxSent, OutboxFailed (the outbox sender), PasskeysAdded,
PasskeyCloneSuspected.
"""

from __future__ import annotations

import json
import sys
import time

NAMESPACE = "Sandi"
NAMES = (
    "CodesSent",
    "CodesVerified",
    "CodesWrong",
    "CodesExpired",
    "CodesLocked",
    "Delivered",
    "DeliveryFailed",
    "Suppressed",
    "RateLimited",
    "SignIns",
    "SignInFailures",
    "Lockouts",
    "OutboxSent",
    "OutboxFailed",
    "PasskeysAdded",
    "PasskeyCloneSuspected",
)


_stage = "local"


def set_stage(stage: str) -> None:
    """The stage every metric is emitted for (set when the container's collaborators are built)."""
    global _stage
    _stage = stage


def _dimension_sets(dimensions: dict[str, str]) -> list[list[str]]:
    """Each full set, each single dimension, and the stage's total: always with the stage."""
    names = sorted(dimensions)
    sets = [sorted([*names, "stage"])] if names else []
    if len(names) > 1:
        sets += [sorted([name, "stage"]) for name in names]
    return [*sets, ["stage"]]


def emf_line(name: str, dimensions: dict[str, str], value: float, now: float) -> str:
    """The EMF document of one metric value, with its dimensions as properties."""
    if name not in NAMES:
        raise ValueError(f"unknown metric {name}")
    document = {
        "_aws": {
            "Timestamp": int(now * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    # the metric per full dimension set, per single dimension (e.g. failures
                    # by channel whatever the reason), and its total
                    "Dimensions": _dimension_sets(dimensions),
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }
            ],
        },
        name: value,
        **dimensions,
        "stage": _stage,
    }
    return json.dumps(document, separators=(",", ":"))


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Emit one metric value (stdout; Lambda's log stream)."""
    sys.stdout.write(emf_line(name, dimensions, value, time.time()) + "\n")
