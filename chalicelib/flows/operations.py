"""Operational endpoints."""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.storage.models import FlowModel


def health(deps: Deps) -> dict[str, Any]:
    """``ok`` when DynamoDB answers a read (StorageUnavailable -> 503 otherwise)."""
    deps.store.get(FlowModel, "health-check")
    return {"status": "ok"}


_SPEC: dict[str, Any] | None = None


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description shipped with the code (read once per container)."""
    global _SPEC
    if _SPEC is None:
        import json
        from pathlib import Path

        _SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi.json").read_text())
    return _SPEC
