"""The storage interface the flows use: reads and the conditional writes.

Every write that guards a rule (single use, attempt limits, uniqueness, send caps) is
a DynamoDB condition here, so the rule holds across any number of Lambda containers.
A failed condition raises ``Conflict`` naming what failed; any other DynamoDB failure
raises ``StorageUnavailable`` (the API answers 503 and nothing is half-written,
because every multi-item change is one transaction).
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.challenges.codes import Challenge
from chalicelib.clock import to_datetime
from chalicelib.errors import StorageUnavailable
from chalicelib.storage.models import (
    AccountModel,
    AuditModel,
    ClaimModel,
    CounterModel,
    FlowModel,
    OutboxModel,
    PasskeyModel,
    SessionModel,
    SuppressionModel,
)

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Model)

_CONDITION_FAILED = ("ConditionalCheckFailedException", "ConditionalCheckFailed")
CONFLICT_ATTEMPTS = 6
CONFLICT_BASE = 0.01  # seconds: 10, 20, 40, 80, 160 ms (each up to twice that, at random)


def conflict_pause(attempt: int) -> float:
    """How long to wait before retrying a transaction cancelled by a conflict (full jitter
    on an exponential base, so racing requests spread out instead of colliding again)."""
    base = CONFLICT_BASE * 2**attempt
    return base + base * secrets.randbelow(1000) / 1000


class Conflict(Exception):
    """A conditional write was refused; ``labels`` names the items whose condition failed."""

    def __init__(self, labels: Iterable[str]) -> None:
        self.labels = frozenset(labels)
        super().__init__(",".join(sorted(self.labels)))


MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key value


def _storable(key: str) -> bool:
    """Whether an item could exist under ``key``: a longer id (a path or body value
    anyone can send) names nothing, and DynamoDB would refuse the read with a
    ValidationException (a 503 where the answer is "not found")."""
    return len(key.encode()) <= MAX_KEY_BYTES


def _guard[F: Callable[..., Any]](fn: F) -> F:
    """Turn DynamoDB failures other than a refused condition into StorageUnavailable."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Conflict:
            raise
        except PynamoDBException as exc:
            if exc.cause_response_code in _CONDITION_FAILED:
                raise Conflict({"item"}) from exc
            log.warning("dynamodb %s failed: %s", fn.__name__, exc.cause_response_code or type(exc).__name__)
            raise StorageUnavailable(fn.__name__) from exc

    return wrapper  # type: ignore[return-value]


class Txn:
    """A write transaction whose items carry labels, so a refusal says which failed.

    PynamoDB sends condition checks, deletes, puts and updates in that order; the
    labels are kept in the same order to line up with the cancellation reasons.
    """

    _KINDS = ("check", "delete", "put", "update")

    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {k: [] for k in self._KINDS}

    def put(self, label: str, item: Model, condition: Condition | None = None) -> None:
        """Write a whole item (an audit event only as a new one: events are appended, never rewritten)."""
        if isinstance(item, AuditModel) and condition is None:
            condition = AuditModel.event_key.does_not_exist()
        self._ops["put"].append((label, lambda tw: tw.save(item, condition=condition)))

    def update(self, label: str, item: Model, actions: list[Action], condition: Condition | None = None) -> None:
        """Update attributes of an item."""
        self._ops["update"].append((label, lambda tw: tw.update(item, actions=actions, condition=condition)))

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> None:
        """Delete an item."""
        self._ops["delete"].append((label, lambda tw: tw.delete(item, condition=condition)))

    def check(self, label: str, model: type[Model], key: str, condition: Condition) -> None:
        """Require a condition on an item that is not written."""
        self._ops["check"].append((label, lambda tw: tw.condition_check(model, key, condition=condition)))

    def labels(self) -> list[str]:
        """Labels in the order DynamoDB reports cancellation reasons."""
        return [label for kind in self._KINDS for label, _ in self._ops[kind]]

    def commit(
        self, connection: Any, attempts: int = CONFLICT_ATTEMPTS, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Run the transaction; raise Conflict with the labels of failed conditions.

        A transaction DynamoDB cancelled because another one touched an item at the same
        moment (``TransactionConflict``) wrote nothing, so it is run again after a jittered,
        exponentially growing pause (bounded: at most ``CONFLICT_ATTEMPTS`` tries, well
        under half a second in all); nothing it counts can be counted twice."""
        for attempt in range(attempts):
            try:
                with TransactWrite(connection=connection) as tw:
                    for kind in self._KINDS:
                        for _, op in self._ops[kind]:
                            op(tw)
                return
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons or []
                failed = {
                    label
                    for label, reason in zip(self.labels(), reasons, strict=False)
                    if reason is not None and reason.code in _CONDITION_FAILED
                }
                if failed:
                    raise Conflict(failed) from exc
                conflicted = any(r is not None and r.code == "TransactionConflict" for r in reasons)
                if conflicted and attempt + 1 < attempts:
                    sleep(conflict_pause(attempt))  # another transaction touched an item; the next try sees it
                    continue
                log.warning("dynamodb transaction failed: %s", exc.cause_response_code)
                raise StorageUnavailable("transaction") from exc
            except PynamoDBException as exc:
                log.warning("dynamodb transaction failed: %s", exc.cause_response_code or type(exc).__name__)
                raise StorageUnavailable("transaction") from exc


def challenge_of(flow: FlowModel) -> Challenge | None:
    """The outstanding challenge stored in a flow item, if any."""
    if not flow.ch_code_id:
        return None
    return Challenge(
        channel=flow.ch_channel or "",
        destination=flow.ch_destination or "",
        code_id=flow.ch_code_id,
        code_hash=flow.ch_code_hash or "",
        expires_at=float(flow.ch_expires_at or 0),
        resend_at=float(flow.ch_resend_at or 0),
        attempts=int(flow.ch_attempts or 0),
        sends=int(flow.ch_sends or 0),
        delivery=flow.ch_delivery or "sent",
        notice=bool(flow.ch_notice),
        delivery_failure=flow.ch_delivery_failure or None,
        settles_at=float(flow.ch_settles_at) if flow.ch_settles_at else None,
    )


def set_challenge(challenge: Challenge) -> list[Action]:
    """Update actions that store a challenge in its flow item."""
    return [
        FlowModel.ch_channel.set(challenge.channel),
        FlowModel.ch_destination.set(challenge.destination),
        FlowModel.ch_code_id.set(challenge.code_id),
        FlowModel.ch_code_hash.set(challenge.code_hash),
        FlowModel.ch_expires_at.set(challenge.expires_at),
        FlowModel.ch_resend_at.set(challenge.resend_at),
        FlowModel.ch_attempts.set(challenge.attempts),
        FlowModel.ch_sends.set(challenge.sends),
        FlowModel.ch_delivery.set(challenge.delivery),
        FlowModel.ch_notice.set(challenge.notice),
        FlowModel.ch_delivery_failure.set(challenge.delivery_failure)
        if challenge.delivery_failure
        else FlowModel.ch_delivery_failure.remove(),
        FlowModel.ch_settles_at.set(challenge.settles_at) if challenge.settles_at else FlowModel.ch_settles_at.remove(),
    ]


CHALLENGE_ATTRIBUTES = (
    FlowModel.ch_channel,
    FlowModel.ch_destination,
    FlowModel.ch_code_id,
    FlowModel.ch_code_hash,
    FlowModel.ch_expires_at,
    FlowModel.ch_resend_at,
    FlowModel.ch_attempts,
    FlowModel.ch_sends,
    FlowModel.ch_delivery,
    FlowModel.ch_delivery_failure,
    FlowModel.ch_settles_at,
    FlowModel.ch_notice,
)


def clear_challenge() -> list[Action]:
    """Update actions that remove the challenge from its flow item."""
    return [attr.remove() for attr in CHALLENGE_ATTRIBUTES]


def fill_challenge(flow: FlowModel, challenge: Challenge) -> None:
    """Set challenge attributes on an unsaved flow item."""
    for attr in CHALLENGE_ATTRIBUTES:
        setattr(flow, attr.attr_name, getattr(challenge, attr.attr_name[3:]))


def live_flow(flow_id: str, flow_type: str, now: float) -> Condition:
    """The flow exists, is of this type and has not expired."""
    return FlowModel.flow_id.exists() & (FlowModel.flow_type == flow_type) & (FlowModel.expires_at > to_datetime(now))


def in_states(states: Iterable[str]) -> Condition:
    """The flow is in one of these states."""
    return FlowModel.state.is_in(*states)


class Store:
    """Reads and conditional writes over the stage's tables."""

    def __init__(self, connection: Callable[[], Any]) -> None:
        self._connection = connection

    @property
    def connection(self) -> Any:
        """The low-level connection used for transactions (``connection()`` at each use)."""
        return self._connection()

    # --- reads -------------------------------------------------------------------

    @staticmethod
    def _get(model: type[M], key: str, attributes: list[str] | None = None) -> M | None:
        try:
            return model.get(key, consistent_read=True, attributes_to_get=attributes)
        except model.DoesNotExist:
            return None

    @_guard
    def get(self, model: type[M], key: str, attributes: list[str] | None = None) -> M | None:
        """One item by key, strongly consistent, or None (only ``attributes`` if given)."""
        if not _storable(key):
            return None
        return self._get(model, key, attributes)

    @_guard
    def get_many(self, *keys: tuple[type[Model], str]) -> list[Any]:
        """Several items in one round trip (a TransactGet: consistent), None where missing."""
        wanted = [(model, key) for model, key in keys if _storable(key)]
        found: list[Any] = []
        if wanted:
            with TransactGet(connection=self.connection) as tg:
                futures = [tg.get(model, key) for model, key in wanted]
            for future in futures:
                try:
                    found.append(future.get())
                except Exception:  # pynamodb raises DoesNotExist for a missing item
                    found.append(None)
        items = iter(found)
        return [next(items) if _storable(key) else None for _, key in keys]

    # --- flows -------------------------------------------------------------------

    @staticmethod
    def _update(item: M, label: str, actions: list[Action], condition: Condition) -> M:
        """A conditional update of one item; ``Conflict({label})`` if the condition failed."""
        try:
            item.update(actions=actions, condition=condition)
        except PynamoDBException as exc:
            if exc.cause_response_code in _CONDITION_FAILED:
                raise Conflict({label}) from exc
            raise
        return item

    @_guard
    def update_flow(self, flow_id: str, actions: list[Action], condition: Condition) -> FlowModel:
        """A conditional update of one flow; returns the item as written."""
        return self._update(FlowModel(flow_id), "flow", actions, condition)

    @_guard
    def update_outbox(self, message_id: str, actions: list[Action], condition: Condition) -> OutboxModel:
        """A conditional update of one outbox message (its claim and its outcome)."""
        return self._update(OutboxModel(message_id), "outbox", actions, condition)

    @_guard
    def delete_flow(self, flow_id: str, condition: Condition | None = None) -> None:
        """Delete a flow (compensation when its first message could not be sent)."""
        FlowModel(flow_id).delete(condition=condition)

    def commit(self, txn: Txn) -> None:
        """Run a labelled transaction."""
        txn.commit(self.connection)

    # --- rolling send log --------------------------------------------------------

    @staticmethod
    def add_stamp(txn: Txn, label: str, counter_key: str, stamp: int, limit: int, expires_at: float) -> None:
        """Add an event to a rolling log in ``txn``, refused once it holds ``limit`` events.

        A number set is used so a stamp can be removed again without reading the item
        (compensation, pruning); each stamp is unique.
        """
        txn.update(
            label,
            CounterModel(counter_key),
            actions=[CounterModel.stamps.add({stamp}), *CounterModel.expiry_actions(expires_at)],
            condition=CounterModel.stamps.does_not_exist() | (size(CounterModel.stamps) < limit),
        )

    @staticmethod
    def add_hit(txn: Txn, label: str, counter_key: str, limit: int | None, expires_at: float, n: int = 1) -> None:
        """Count ``n`` events in a fixed window in ``txn``, refused once it holds ``limit``
        (``None``: counted whatever it holds)."""
        txn.update(
            label,
            CounterModel(counter_key),
            actions=[CounterModel.hits.add(n), *CounterModel.expiry_actions(expires_at)],
            condition=None if limit is None else CounterModel.hits.does_not_exist() | (CounterModel.hits < limit),
        )

    @_guard
    def remove_hit(self, counter_key: str) -> None:
        """Take back one event of a fixed window."""
        CounterModel(counter_key).update(actions=[CounterModel.hits.add(-1)])

    @_guard
    def put_audit(self, item: AuditModel) -> None:
        """Append one audit event on its own (when there is no transaction to join)."""
        item.save(condition=AuditModel.event_key.does_not_exist())

    def put_audit_quietly(self, item: AuditModel) -> None:
        """Write an audit event that must not turn a 4xx answer into a 503 if storage fails."""
        try:
            self.put_audit(item)
        except StorageUnavailable:
            log.warning("audit event not written: %s", item.kind)

    @_guard
    def audit_page(self, subject: str, limit: int, cursor: str | None) -> tuple[list[AuditModel], str | None]:
        """A page of a subject's events, newest first, and the cursor of the next page."""
        condition = AuditModel.event_key < cursor if cursor else None
        items = list(
            AuditModel.query(subject, range_key_condition=condition, scan_index_forward=False, limit=limit + 1)
        )
        more = len(items) > limit
        items = items[:limit]
        return items, (items[-1].event_key if more and items else None)

    @_guard
    def put_flow(self, flow: FlowModel) -> None:
        """Write a new flow on its own (one that starts with nothing else to write)."""
        flow.save(condition=FlowModel.flow_id.does_not_exist())

    @_guard
    def update_passkey(self, credential_id: str, actions: list[Action], condition: Condition) -> PasskeyModel:
        """A conditional update of a passkey; ``Conflict({"passkey"})`` if it failed."""
        return self._update(PasskeyModel(credential_id), "passkey", actions, condition)

    @_guard
    def queued_flows(self, queue: str, limit: int = 200) -> list[FlowModel]:
        """The flows waiting in ``queue``, oldest first (the sparse ``by_queue`` index)."""
        return list(FlowModel.by_queue.query(queue, scan_index_forward=True, limit=limit))

    @_guard
    def scrub_audit(self, item: AuditModel, keep: frozenset[str]) -> None:
        """Remove what is personal from one audit event: any detail not in ``keep`` (the
        event, its time, actor, reason, client hash and device stay: the evidence). Writes
        ``details`` only: the one attribute the roles may update (docs/decisions.md)."""
        details = item.details.as_dict() if hasattr(item.details, "as_dict") else dict(item.details or {})
        AuditModel(item.subject, item.event_key).update(
            actions=[AuditModel.details.set({k: v for k, v in details.items() if k in keep})],
            condition=AuditModel.event_key.exists(),
        )

    @_guard
    def suppress(self, destination_key: str, reason: str, now: float) -> None:
        """Record that a destination bounced or complained."""
        SuppressionModel(destination_key, reason=reason, created_at=now).save()

    @_guard
    def prune_stamps(self, counter_key: str, cutoff: float) -> tuple[int, int | None]:
        """Drop sends older than ``cutoff``; return (sends left, oldest left)."""
        item = self._get(CounterModel, counter_key)
        stamps = set(item.stamps or ()) if item else set()
        stale = {s for s in stamps if s <= cutoff}
        if stale:
            CounterModel(counter_key).update(actions=[CounterModel.stamps.delete(stale)])
        left = stamps - stale
        return len(left), (int(min(left)) if left else None)

    @_guard
    def remove_stamp(self, counter_key: str, stamp: int) -> None:
        """Take back one send (its message was never accepted by the provider)."""
        CounterModel(counter_key).update(actions=[CounterModel.stamps.delete({stamp})])

    # --- accounts ----------------------------------------------------------------

    @_guard
    def reserve_attempt(
        self,
        model: type[M],
        key: str,
        now: float,
        max_failed: int,
        pin: bool,
        base: Condition | None,
        extra: list[Action],
    ) -> M:
        """Count one secret check *before* it is made; refused when locked or at the limit.

        ``model`` is an account or the guard item of a login without one: both carry the
        same lockout attributes and take the same single conditional update, so the
        two cases cost the same and answer the same. The counter is raised for every
        check and reset on success, so parallel wrong guesses can never be evaluated
        more than ``max_failed`` times in a row.
        """
        m: Any = model
        condition = (m.locked_until.does_not_exist() | (m.locked_until <= now)) & (
            m.failed_logins.does_not_exist() | (m.failed_logins < max_failed)
        )
        if base is not None:
            condition = base & condition
        if pin:
            condition &= m.pin_disabled.does_not_exist() | (m.pin_disabled == False)  # noqa: E712
        item = model(key)
        try:
            item.update(actions=[m.failed_logins.add(1), *extra], condition=condition)
        except PynamoDBException as exc:
            if exc.cause_response_code in _CONDITION_FAILED:
                raise Conflict({"account"}) from exc
            raise
        return item

    @_guard
    def record_failure(self, model: type[Model], key: str, actions: list[Action], condition: Condition | None) -> bool:
        """Apply what a wrong secret costs (a lock, a PIN strike); False if the condition failed.

        Nothing is read back (``ReturnValues: NONE``): an account item is larger than a
        login guard's, and reading it would make a real login's wrong PIN slower."""
        try:
            model._get_connection().update_item(key, actions=actions, condition=condition, return_values="NONE")
        except PynamoDBException as exc:
            if exc.cause_response_code in _CONDITION_FAILED:
                return False
            raise
        return True

    @_guard
    def account_sessions(self, account_id: str, limit: int = 100) -> list[SessionModel]:
        """An account's sessions, newest first (the index is eventually consistent: a
        session made this instant may be missing; its revocation is read from the item)."""
        return list(SessionModel.by_account.query(account_id, scan_index_forward=False, limit=limit))

    @_guard
    def claim_owner(self, claim_key: str) -> str | None:
        """The account holding a unique value, if any."""
        claim = self._get(ClaimModel, claim_key)
        return claim.account_id if claim else None


__all__ = [
    "AccountModel",
    "ClaimModel",
    "Conflict",
    "CounterModel",
    "FlowModel",
    "SessionModel",
    "Store",
    "SuppressionModel",
    "Txn",
    "challenge_of",
    "clear_challenge",
    "fill_challenge",
    "in_states",
    "live_flow",
    "set_challenge",
]
