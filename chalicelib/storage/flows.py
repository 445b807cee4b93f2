"""The flow item: a new one, reading and checking it, its data and its state."""

from __future__ import annotations

import secrets
from typing import Any

from pynamodb.attributes import MapAttribute

from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage.models import FlowModel


def new_flow_id() -> str:
    """An unguessable flow id (192 random bits)."""
    return secrets.token_urlsafe(24)


def new_flow(
    flow_type: str,
    *,
    state: str,
    now: float,
    lifetime: int,
    lang: str,
    data: dict[str, Any],
    account_id: str | None = None,
) -> FlowModel:
    """A new flow item (not yet written) with an unguessable id."""
    flow = FlowModel(
        new_flow_id(),
        flow_type=flow_type,
        state=state,
        created_at=now,
        updated_at=now,
        lang=lang,
        account_id=account_id,
        data=data,
    )
    flow.expire_at(now + lifetime)
    return flow


def check_flow(flow: FlowModel | None, flow_type: str, now: float, owner: str | None = None) -> FlowModel:
    """The flow if it exists, is of this type (and this account's) and is alive; else 404 or 410."""
    if flow is None or flow.flow_type != flow_type or (owner is not None and flow.account_id != owner):
        raise ApiError("not_found")
    if flow.expires_at <= to_datetime(now):
        raise ApiError("flow_expired")
    return flow


def load_flow(deps: Deps, flow_id: str, flow_type: str, now: float, owner: str | None = None) -> FlowModel:
    """Read a flow (one round trip) and check it."""
    return check_flow(deps.store.get(FlowModel, flow_id), flow_type, now, owner)


def flow_data(flow: FlowModel) -> dict[str, Any]:
    """The flow's journey-specific data as a plain dict."""
    data = flow.data
    if isinstance(data, MapAttribute):
        return dict(data.as_dict())
    return dict(data or {})


def require_state(flow: FlowModel, *states: str) -> None:
    """409 wrong_state unless the flow is in one of ``states``."""
    if flow.state not in states:
        raise ApiError("wrong_state", {"state": flow.state})
