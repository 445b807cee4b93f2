"""Operational endpoints."""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.storage.models import FlowModel


def health(deps: Deps) -> dict[str, Any]:
    """``ok`` when DynamoDB answers a read (StorageUnavailable -> 503 otherwise)."""
    deps.store.get(FlowModel, "health-check")
    return {"status": "ok"}
