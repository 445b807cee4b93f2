"""Finishing a flow with a change to its account: one transaction, audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import audit
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage.flows import load_flow
from chalicelib.storage.models import AccountModel, FlowModel
from chalicelib.storage.store import (
    Conflict,
    Txn,
)


def finish_with_account_change(
    deps: Deps,
    flow: FlowModel,
    *,
    from_state: str,
    to_state: str,
    account_id: str,
    actions: Sequence[Action],
    event: str,
    now: float,
    in_same_txn: Callable[[Txn], None] | None = None,
    contact_condition: Condition | None = None,
) -> FlowModel:
    """Move a flow from ``from_state`` to ``to_state`` and change its account, with the
    audit event, in one transaction; ``409 wrong_state`` if either moved meanwhile, ``410
    flow_expired`` if the flow's contact binding (``contact_condition`` on the account, or
    a ``contact`` check that ``in_same_txn`` adds) failed."""
    txn = Txn()
    condition = AccountModel.status == "active"
    if contact_condition is not None:
        condition &= contact_condition  # the email/phone the flow is bound to (one item: one operation)
    txn.update("account", AccountModel(account_id), list(actions), condition)
    if in_same_txn is not None:
        in_same_txn(txn)
    txn.update(
        "flow",
        FlowModel(flow.flow_id),
        [FlowModel.state.set(to_state), FlowModel.updated_at.set(now)],
        (FlowModel.state == from_state) & (FlowModel.account_id == account_id),
    )
    txn.put("audit", audit.for_account(deps, event, account_id, now))
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        if "contact" in exc.labels:
            raise ApiError("flow_expired") from exc
        fresh = load_flow(deps, flow.flow_id, flow.flow_type, now)
        raise ApiError("wrong_state", {"state": fresh.state}) from exc
    flow.state, flow.updated_at = to_state, now
    return flow
