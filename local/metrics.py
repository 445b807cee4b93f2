"""Counting AWS round trips, for tests and benchmarks (never deployed)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_elsewhere = threading.local()


@contextmanager
def another_function() -> Iterator[None]:
    """Calls made inside belong to another Lambda function (the outbox sender run after a
    request): a request's round-trip count and fault injection leave them out."""
    _elsewhere.active = True
    try:
        yield
    finally:
        _elsewhere.active = False


def in_another_function() -> bool:
    """Whether the calls being made now belong to another function (see ``another_function``)."""
    return bool(getattr(_elsewhere, "active", False))


class CallCounter:
    """Every botocore API call made while active, by service and operation."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def by_service(self, service: str) -> list[str]:
        """The operations of one service, in order."""
        return [op for svc, op in self.calls if svc == service]

    def summary(self) -> Counter[str]:
        """How many calls of each ``service.operation``."""
        return Counter(f"{svc}.{op}" for svc, op in self.calls)

    def reset(self) -> None:
        """Forget what was counted."""
        self.calls.clear()


@contextmanager
def count_calls() -> Iterator[CallCounter]:
    """Count every botocore API call (boto3 and PynamoDB alike) inside the block."""
    from botocore.client import BaseClient

    counter = CallCounter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        if not in_another_function():
            counter.calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
