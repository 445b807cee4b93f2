"""Sign-in, lockout, tokens, sign-out, PIN and password: what a user or attacker sees."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import jwt
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.deps import Deps
from chalicelib.passwords import SecretHasher
from chalicelib.storage.models import AccountModel
from tests.actions import SESSIONS, set_pin, sign_in
from tests.actions import change_password as change
from tests.conftest import Api, FakeClock, Member, Outbox

# --- signing in --------------------------------------------------------------------------


def test_sign_in_by_email_in_any_case_or_by_kpj(api: Api, member: Member) -> None:
    for login in (member.who.email, member.who.email.upper(), member.who.kpj):
        answer = sign_in(api, login, password=member.who.password)
        assert answer.status == 201
        assert set(answer.body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        me = api.get("/v1/me", headers=member.auth(answer.body["access_token"]))
        assert me.body["account_id"] == member.account_id


def test_unknown_login_and_wrong_password_look_the_same(api: Api, member: Member, deps: Deps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hashed: list[object] = []
    real = deps.hasher.verify
    monkeypatch.setattr(deps.hasher, "verify", lambda stored, secret: hashed.append(stored) or real(stored, secret))
    wrong = sign_in(api, member.who.email, password="Salah-Sekali-1")
    unknown = sign_in(api, "nobody@example.com", password="Salah-Sekali-1")
    unknown_kpj = sign_in(api, "99999999999", password="Salah-Sekali-1")
    assert wrong.status == unknown.status == unknown_kpj.status == 401
    assert wrong.body == unknown.body == unknown_kpj.body
    assert wrong.headers == unknown.headers
    assert len(hashed) == 3  # the unknown logins paid for an argon2 check too


def test_a_closed_account_cannot_sign_in(api: Api, member: Member, deps: Deps) -> None:
    AccountModel(member.account_id).update(actions=[AccountModel.status.set("closed")])
    answer = sign_in(api, member.who.email, password=member.who.password)
    assert answer.status == 401 and answer.code == "invalid_credentials"
    assert api.get("/v1/me", headers=member.auth()).code == "unauthenticated"


@pytest.mark.parametrize("body", [{}, {"login": "x"}, {"login": 5, "password": "x"}, {"login": "x", "pin": "12ab56"}])
def test_incomplete_sign_in_is_a_field_error(api: Api, body: dict) -> None:
    answer = api.post(SESSIONS, body)
    assert answer.status == 422 and answer.code == "validation_error"


# --- lockout -----------------------------------------------------------------------------


def test_five_wrong_passwords_lock_for_fifteen_minutes(api: Api, member: Member, clock: FakeClock) -> None:
    answers = [sign_in(api, member.who.email, password="Salah-Sekali-1") for _ in range(5)]
    assert [a.status for a in answers] == [401, 401, 401, 401, 423]
    assert answers[-1].code == "account_locked" and answers[-1].body["error"]["details"]["retry_after"] == 900
    locked = sign_in(api, member.who.kpj, password=member.who.password)
    assert locked.status == 423 and locked.headers["retry-after"] == "900"
    clock.advance(899)
    assert sign_in(api, member.who.email, password=member.who.password).status == 423
    clock.advance(1)
    assert sign_in(api, member.who.email, password=member.who.password).status == 201


def test_repeat_locks_double(api: Api, member: Member, clock: FakeClock) -> None:
    waits = []
    for _ in range(3):
        for _ in range(5):
            last = sign_in(api, member.who.email, password="Salah-Sekali-1")
        waits.append(last.body["error"]["details"]["retry_after"])
        clock.advance(waits[-1])
    assert waits == [900, 1800, 3600]
    assert sign_in(api, member.who.email, password=member.who.password).status == 201
    for _ in range(5):
        last = sign_in(api, member.who.email, password="Salah-Sekali-1")
    assert last.body["error"]["details"]["retry_after"] == 900  # a success ends the doubling


def test_a_success_resets_the_count(api: Api, member: Member) -> None:
    for _ in range(4):
        assert sign_in(api, member.who.email, password="Salah-Sekali-1").status == 401
    assert sign_in(api, member.who.email, password=member.who.password).status == 201
    for _ in range(4):
        assert sign_in(api, member.who.email, password="Salah-Sekali-1").status == 401


# --- PIN ---------------------------------------------------------------------------------


def test_set_pin_then_sign_in_with_it(api: Api, member: Member) -> None:
    assert set_pin(api, member, "258036").status == 204
    assert api.get("/v1/me", headers=member.auth()).body["pin_set"] is True
    answer = sign_in(api, member.who.kpj, pin="258036")
    assert answer.status == 201
    assert sign_in(api, member.who.kpj, pin="258037").code == "invalid_credentials"


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("111111", "repeated_digits"),
        ("123456", "sequential_digits"),
        ("654321", "sequential_digits"),
        ("170590", "birth_date"),
        ("12345", "invalid_format"),
        ("12a456", "invalid_format"),
    ],
)
def test_weak_pins_are_refused(api: Api, member: Member, pin: str, reason: str) -> None:
    answer = set_pin(api, member, pin)
    assert answer.status == 422 and answer.body["error"]["details"]["fields"]["pin"] == [reason]
    assert api.get("/v1/me", headers=member.auth()).body["pin_set"] is False


def test_pin_rules_previous_pin_mismatch_and_password(api: Api, member: Member) -> None:
    assert set_pin(api, member, "258036").status == 204
    same = set_pin(api, member, "258036")
    assert same.status == 422 and same.body["error"]["details"]["fields"]["pin"] == ["same_as_previous"]
    assert set_pin(api, member, "369147", confirmation="369148").code == "pin_mismatch"
    wrong_password = set_pin(api, member, "369147", password="Salah-Sekali-1")
    assert wrong_password.status == 401 and wrong_password.code == "invalid_credentials"
    assert sign_in(api, member.who.kpj, pin="258036").status == 201  # nothing changed


def test_ten_wrong_pins_since_the_last_pin_success_disable_the_pin(api: Api, member: Member) -> None:
    set_pin(api, member, "258036")
    answers = []
    for batch in (4, 4, 2):
        answers += [sign_in(api, member.who.kpj, pin="999888") for _ in range(batch)]
        sign_in(api, member.who.kpj, password=member.who.password)  # ends the run, not the PIN strikes
    assert [a.status for a in answers] == [401] * 9 + [423]
    assert answers[-1].body["error"]["details"] == {"reason": "pin_disabled"}
    right = sign_in(api, member.who.kpj, pin="258036")
    assert right.status == 423 and right.body["error"]["details"]["reason"] == "pin_disabled"
    assert api.get("/v1/me", headers=member.auth()).body["pin_set"] is False
    assert sign_in(api, member.who.kpj, password=member.who.password).status == 201
    assert set_pin(api, member, "369147").status == 204  # setting a PIN re-enables it
    assert sign_in(api, member.who.kpj, pin="369147").status == 201


# --- tokens ------------------------------------------------------------------------------


def _forge(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_bad_tokens_are_unauthenticated(api: Api, member: Member, clock: FakeClock) -> None:
    payload = jwt.decode(member.access, options={"verify_signature": False})
    none_alg = jwt.encode(payload, key=None, algorithm="none")
    foreign = jwt.encode(payload, "another-key-entirely-32-bytes-long!!", algorithm="HS256")
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic " + member.access},
        member.auth(none_alg),
        member.auth(foreign),
        member.auth(_forge(member.access, sub="someone-else")),
        member.auth(member.access + "x"),
    ):
        answer = api.get("/v1/me", headers=headers)
        assert answer.status == 401 and answer.code == "unauthenticated", headers
    clock.advance(899)
    assert api.get("/v1/me", headers=member.auth()).status == 200
    clock.advance(1)
    assert api.get("/v1/me", headers=member.auth()).code == "unauthenticated"  # 15 minutes


def test_refresh_rotates_and_reuse_revokes_the_family(api: Api, member: Member) -> None:
    first = api.post(f"{SESSIONS}/refresh", {"refresh_token": member.refresh})
    assert first.status == 201 and first.body["refresh_token"] != member.refresh
    second = api.post(f"{SESSIONS}/refresh", {"refresh_token": first.body["refresh_token"]})
    assert second.status == 201
    assert api.get("/v1/me", headers=member.auth(second.body["access_token"])).status == 200
    reuse = api.post(f"{SESSIONS}/refresh", {"refresh_token": member.refresh})  # stolen, spent
    assert reuse.status == 401 and reuse.code == "unauthenticated"
    assert api.post(f"{SESSIONS}/refresh", {"refresh_token": second.body["refresh_token"]}).status == 401
    assert api.get("/v1/me", headers=member.auth(second.body["access_token"])).status == 401


@pytest.mark.parametrize("token", ["", "nodot", "abc.def", 42])
def test_garbage_refresh_tokens(api: Api, member: Member, token: object) -> None:
    answer = api.post(f"{SESSIONS}/refresh", {"refresh_token": token})
    assert answer.status in (401, 422)
    assert api.get("/v1/me", headers=member.auth()).status == 200  # nothing revoked


def test_refresh_tokens_expire(api: Api, member: Member, clock: FakeClock) -> None:
    clock.advance(30 * 86400)
    assert api.post(f"{SESSIONS}/refresh", {"refresh_token": member.refresh}).status == 401


def test_sign_out_refuses_the_access_and_refresh_tokens(api: Api, member: Member) -> None:
    answer = api.call("DELETE", f"{SESSIONS}/current", headers=member.auth())
    assert answer.status == 204 and answer.body is None
    assert api.get("/v1/me", headers=member.auth()).code == "unauthenticated"
    assert api.post(f"{SESSIONS}/refresh", {"refresh_token": member.refresh}).status == 401
    assert api.call("DELETE", f"{SESSIONS}/current", headers=member.auth()).status == 401


# --- password ----------------------------------------------------------------------------


def test_change_password_ends_other_sessions_and_tells_the_owner(api: Api, member: Member, outbox: Outbox) -> None:
    other = sign_in(api, member.who.email, password=member.who.password).body
    assert change(api, member, member.who.password, "Baru-Lebih-Kuat-7").status == 204
    assert api.get("/v1/me", headers=member.auth()).status == 200  # this session stays
    assert api.get("/v1/me", headers=member.auth(other["access_token"])).status == 401
    assert api.post(f"{SESSIONS}/refresh", {"refresh_token": other["refresh_token"]}).status == 401
    assert sign_in(api, member.who.email, password=member.who.password).status == 401
    assert sign_in(api, member.who.email, password="Baru-Lebih-Kuat-7").status == 201
    assert "Kata sandi akun Sandi Anda" in outbox.emails(member.who.email)[-1].subject


def test_change_password_errors_change_nothing(api: Api, member: Member) -> None:
    assert change(api, member, "Salah-Sekali-1", "Baru-Lebih-Kuat-7").code == "invalid_credentials"
    weak = change(api, member, member.who.password, "lemah")
    assert weak.status == 422 and "too_short" in weak.body["error"]["details"]["fields"]["password"]
    assert (
        change(api, member, member.who.password, "Baru-Lebih-Kuat-7", "Baru-Lebih-Kuat-8").code == "password_mismatch"
    )
    assert sign_in(api, member.who.email, password=member.who.password).status == 201


def test_sign_in_rehashes_when_parameters_change(api: Api, member: Member, deps: Deps) -> None:
    before = AccountModel.get(member.account_id).password_hash
    deps.__dict__["hasher"] = SecretHasher(replace(deps.settings, argon2_time_cost=2))
    assert sign_in(api, member.who.email, password=member.who.password).status == 201
    after = AccountModel.get(member.account_id).password_hash
    assert "t=1" in before and "t=2" in after
    assert sign_in(api, member.who.email, password=member.who.password).status == 201


@example("budi@xn--bcher-kva.de")
@example('"budi"@example.com')
@example("Budi.Santoso@Example.COM")
@given(
    st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,20}@(xn--)?[A-Za-z0-9.-]{1,20}", fullmatch=True)
    | st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=40)
)
def test_the_fast_login_key_is_the_email_librarys(login: str) -> None:
    """Sign-in skips the email library for plain ASCII logins: the key must not change."""
    from chalicelib.flows.sessions import login_claim
    from chalicelib.storage import claim_key
    from chalicelib.validation import FieldError, email_key, parse_email

    try:
        slow = claim_key("email", email_key(parse_email(login.strip())))
    except FieldError:
        slow = claim_key("email", email_key(login.strip()))
    if login.strip().isdigit() and len(login.strip()) == 11:
        return  # a KPJ
    assert login_claim(login, 11) == slow
