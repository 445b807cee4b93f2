"""chalicelib.challenges: codes (randomness, keyed hashing), send and verify (attempts, lock,
single use, resend, expiry) on a real (emulated) table."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.challenges import codes as otp
from chalicelib.challenges.send import Outgoing, send_code, start_with_code
from chalicelib.challenges.verify import verify_code
from chalicelib.clock import to_datetime
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.storage.flows import new_flow_id
from chalicelib.storage.models import FlowModel
from tests.conftest import FakeClock, Outbox

KEY = b"k" * 32


def test_codes_are_six_digits_and_spread_over_all_digits() -> None:
    codes = [otp.generate_code() for _ in range(5000)]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) > 4900  # a fixed or tiny code space would collide
    first_digits = Counter(c[0] for c in codes)
    assert set(first_digits) == set("0123456789")  # leading zeros kept
    assert max(first_digits.values()) < 650  # ~500 each if uniform


def test_stored_hash_is_keyed_and_bound_to_flow_and_challenge() -> None:
    stored = otp.hash_code(KEY, "flow-1", "c1", "123456")
    assert "123456" not in stored
    assert otp.code_matches(KEY, "flow-1", "c1", "123456", stored)
    assert not otp.code_matches(KEY, "flow-1", "c1", "123457", stored)
    assert not otp.code_matches(KEY, "flow-2", "c1", "123456", stored)  # another flow
    assert not otp.code_matches(KEY, "flow-1", "c2", "123456", stored)  # an older challenge
    assert not otp.code_matches(b"x" * 32, "flow-1", "c1", "123456", stored)  # another key


def test_a_notice_challenge_matches_no_code_at_all() -> None:
    _, challenge = otp.issue(KEY, "f", "email", "a@example.com", 0.0, 300, 60, sends=1, notice=True)
    assert not any(
        otp.code_matches(KEY, "f", challenge.code_id, f"{n:06d}", challenge.code_hash) for n in range(0, 1_000_000, 997)
    )


# --- the challenge machinery on a real (emulated) table ----------------------------------


def _open(deps: Deps, clock: FakeClock) -> str:
    flow = FlowModel(
        new_flow_id(),
        flow_type="test",
        state="verify",
        expires_at=to_datetime(clock() + 1800),
        created_at=clock(),
        updated_at=clock(),
        data={},
    )
    start_with_code(deps, flow, outgoing=Outgoing("email", "a@example.com", "registration"), lang="id", now=clock())
    return flow.flow_id


def _verify(deps: Deps, clock: FakeClock, flow_id: str, code: str) -> FlowModel:
    return verify_code(
        deps, flow_id, flow_type="test", state="verify", code=code, now=clock(), to_state="done", lifetime=1800
    )


def _error(fn, *args) -> ApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as caught:
        fn(*args)
    return caught.value


def test_attempts_are_counted_before_comparison_and_lock_at_five(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    code = outbox.email_code("a@example.com")
    bad = "000000" if code != "000000" else "111111"
    seen = [_error(_verify, deps, clock, flow_id, bad) for _ in range(5)]
    assert [e.key for e in seen] == ["invalid_code"] * 4 + ["code_locked"]
    assert [e.details["attempts_remaining"] for e in seen] == [4, 3, 2, 1, 0]
    assert _error(_verify, deps, clock, flow_id, code).key == "code_locked"
    stored = deps.store.get(FlowModel, flow_id)
    assert stored is not None and stored.ch_attempts == 5  # the refused sixth try was not counted


def test_right_code_is_single_use(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    code = outbox.email_code("a@example.com")
    assert _verify(deps, clock, flow_id, code).state == "done"
    assert _error(_verify, deps, clock, flow_id, code).key == "wrong_state"


def test_code_expires_after_five_minutes(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    code = outbox.email_code("a@example.com")
    clock.advance(300)
    assert _error(_verify, deps, clock, flow_id, code).key == "code_expired"


def test_code_still_valid_just_before_expiry(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    code = outbox.email_code("a@example.com")
    clock.advance(299)
    assert _verify(deps, clock, flow_id, code).state == "done"


def test_expired_flow_is_gone_even_if_ttl_has_not_deleted_it(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    code = outbox.email_code("a@example.com")
    clock.advance(1801)
    assert deps.store.get(FlowModel, flow_id) is not None  # still in the table
    assert _error(_verify, deps, clock, flow_id, code).key == "flow_expired"


def test_resend_resets_attempts_and_invalidates_the_old_code(deps: Deps, clock: FakeClock, outbox: Outbox) -> None:
    flow_id = _open(deps, clock)
    old = outbox.email_code("a@example.com")
    for _ in range(5):
        _error(_verify, deps, clock, flow_id, "999999" if old != "999999" else "888888")
    clock.advance(60)
    flow = deps.store.get(FlowModel, flow_id)
    assert flow is not None
    send_code(
        deps,
        flow,
        outgoing=Outgoing("email", "a@example.com", "registration"),
        lang="id",
        now=clock(),
        from_states=("verify",),
        to_state="verify",
        lifetime=1800,
    )
    new = outbox.email_code("a@example.com")
    if new != old:
        assert _error(_verify, deps, clock, flow_id, old).key == "invalid_code"
    assert _verify(deps, clock, flow_id, new).state == "done"
