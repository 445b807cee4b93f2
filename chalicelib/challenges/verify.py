"""Verifying a code: count, compare, consume.

One conditional update raises the attempt counter *before* the comparison (refused once
the limit is reached, the code expired or the state moved on); a second conditional
update, bound to the code's id, consumes it and advances the state, so two correct
submissions cannot both pass.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import audit, metrics
from chalicelib.challenges import codes
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError, StorageUnavailable
from chalicelib.storage.flows import load_flow
from chalicelib.storage.models import FlowModel
from chalicelib.storage.store import (
    CHALLENGE_ATTRIBUTES,
    Conflict,
    Txn,
    challenge_of,
    clear_challenge,
    live_flow,
)


def _explain_refusal(deps: Deps, flow_id: str, flow_type: str, state: str, now: float, owner: str | None) -> ApiError:
    """Why a conditional step on a flow was refused, read from the flow as it is now."""
    flow = load_flow(deps, flow_id, flow_type, now, owner)
    challenge = challenge_of(flow)
    if flow.state != state or challenge is None:
        return ApiError("wrong_state", {"state": flow.state})
    if challenge.attempts >= deps.settings.code_max_attempts:
        return ApiError("code_locked", {"attempts_remaining": 0})
    if challenge.expires_at <= now:
        metrics.count("CodesExpired", channel=challenge.channel)
        return ApiError("code_expired")
    return ApiError("wrong_state", {"state": flow.state})


def sent_code_check(deps: Deps) -> Callable[[FlowModel, str], bool]:
    """Whether a typed code is the one this flow's challenge sent (its keyed hash)."""

    def matches(flow: FlowModel, code: str) -> bool:
        return codes.code_matches(deps.keys.code, flow.flow_id, flow.ch_code_id or "", code, flow.ch_code_hash or "")

    return matches


def _consume_refused(
    deps: Deps, exc: Conflict, flow_id: str, flow_type: str, state: str, now: float, owner: str | None
) -> Exception:
    """Why consuming a right code was refused: the flow's binding, its state, or ``on_consume``'s own."""
    if "contact" in exc.labels:
        return ApiError("flow_expired")
    if "flow" in exc.labels or exc.labels == {"item"}:
        return _explain_refusal(deps, flow_id, flow_type, state, now, owner)
    return exc


def verify_code(
    deps: Deps,
    flow_id: str,
    *,
    flow_type: str,
    state: str,
    code: str,
    now: float,
    to_state: str,
    lifetime: int,
    owner: str | None = None,
    on_consume: Callable[[Txn, FlowModel], None] | None = None,
    check: Callable[[FlowModel, str], bool] | None = None,
) -> FlowModel:
    """Check a code and, if right, consume it and move the flow to ``to_state``.

    ``owner`` restricts the flow to one account. ``on_consume`` adds writes that must happen
    with the consumption, in one transaction, given the flow as read (a refused
    condition of theirs raises ``Conflict`` with their labels, and the code is not
    consumed; a refused ``contact`` check is ``410 flow_expired``).
    """
    max_attempts = deps.settings.code_max_attempts
    base = live_flow(flow_id, flow_type, now) & (FlowModel.state == state)
    if owner is not None:
        base &= FlowModel.account_id == owner
    counted = (
        base & FlowModel.ch_code_id.exists() & (FlowModel.ch_attempts < max_attempts) & (FlowModel.ch_expires_at > now)
    )
    try:
        flow = deps.store.update_flow(flow_id, [FlowModel.ch_attempts.add(1)], counted)
    except Conflict as exc:
        raise _explain_refusal(deps, flow_id, flow_type, state, now, owner) from exc
    challenge = challenge_of(flow)
    assert challenge is not None
    # ``check``: a code the member's authenticator shows, not one we sent
    right = (check or sent_code_check(deps))(flow, code)
    if challenge.notice or not right:
        remaining = challenge.attempts_remaining(max_attempts)
        subject = audit.subject_for(flow.account_id, flow_id)
        details = {"flow_type": flow_type, "attempts_remaining": remaining}
        deps.store.put_audit_quietly(
            audit.event("code.failed", subject, now, deps.settings.audit_retention_days, details=details)
        )
        if remaining == 0:
            metrics.count("CodesLocked", channel=challenge.channel)
            raise ApiError("code_locked", {"attempts_remaining": 0})
        metrics.count("CodesWrong", channel=challenge.channel)
        raise ApiError("invalid_code", {"attempts_remaining": remaining})
    metrics.count("CodesVerified", channel=challenge.channel)
    actions = [
        *clear_challenge(),
        FlowModel.state.set(to_state),
        FlowModel.updated_at.set(now),
        *FlowModel.expiry_actions(now + lifetime),
    ]
    single_use = base & (FlowModel.ch_code_id == challenge.code_id)
    try:
        if on_consume is None:
            return deps.store.update_flow(flow_id, actions, single_use)
        txn = Txn()
        txn.update("flow", FlowModel(flow_id), actions, single_use)
        on_consume(txn, flow)
        deps.store.commit(txn)
    except Conflict as exc:
        refusal = _consume_refused(deps, exc, flow_id, flow_type, state, now, owner)
        if refusal is exc:
            raise
        raise refusal from exc
    except StorageUnavailable:
        _give_back_attempt(deps, flow_id, challenge.code_id)  # the right code was not used
        raise
    for attr in CHALLENGE_ATTRIBUTES:
        setattr(flow, attr.attr_name, None)
    flow.state, flow.updated_at, flow.expires_at = to_state, now, to_datetime(now + lifetime)
    return flow


def _give_back_attempt(deps: Deps, flow_id: str, code_id: str) -> None:
    """Best effort: un-count an attempt whose right code could not be consumed."""
    try:
        deps.store.update_flow(flow_id, [FlowModel.ch_attempts.add(-1)], FlowModel.ch_code_id == code_id)
    except (Conflict, StorageUnavailable):
        pass  # the code changed meanwhile, or storage is still failing: the attempt stays counted
