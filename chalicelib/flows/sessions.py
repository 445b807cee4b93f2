"""Sessions and the signed-in user: sign-in, refresh, sign-out, profile, PIN, password.

A session item is one refresh-token family. The access token (JWT, 15 minutes) names
the account and the session; every authenticated request reads the session and the
account in one round trip, so a signed-out or revoked session is refused at once.
Sessions carry the account's ``session_epoch``: raising it (password change, reset)
voids every other session without listing them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib import audit, limits, metrics
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.devices import describe
from chalicelib.errors import ApiError, DeliveryFailed, StorageUnavailable
from chalicelib.flows import credentials
from chalicelib.flows.credentials import Kind
from chalicelib.http import WithStatus
from chalicelib.keys import keyed_hash
from chalicelib.limits import Limit
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel, FlowModel, SessionModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.tokens import (
    AccessClaims,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    read_access_token,
    token_kid,
)
from chalicelib.validation import (
    Collector,
    FieldError,
    email_key,
    parse_code,
    parse_date,
    parse_email,
    parse_text,
    pin_problems,
    required,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

SPENT_KEPT = 20  # spent refresh-token hashes remembered per family, to detect reuse


@dataclass(frozen=True)
class Signed:
    """The caller of an authenticated request."""

    account: AccountModel
    session: SessionModel
    extra: list[Any]


# --- tokens ------------------------------------------------------------------------------


def _tokens(deps: Deps, account_id: str, session_id: str, secret: str, now: float) -> dict[str, Any]:
    s, keys = deps.settings, deps.keys
    return {
        "access_token": issue_access_token(
            keys.token, s.token_issuer, s.token_audience, account_id, session_id, now, s.access_token_ttl, keys.kid
        ),
        "token_type": "Bearer",
        "expires_in": s.access_token_ttl,
        "refresh_token": f"{session_id}.{secret}",
    }


def new_session(deps: Deps, account: AccountModel, now: float, device: str = "") -> tuple[SessionModel, dict[str, Any]]:
    """A session item to store and the tokens to give the client."""
    session_id = secrets.token_urlsafe(16)
    secret = new_refresh_token()
    item = SessionModel(
        session_id,
        account_id=account.account_id,
        epoch=int(account.session_epoch or 0),
        refresh_hash=hash_refresh_token(deps.keys.refresh, secret),
        spent=[],
        created_at=now,
        last_used_at=now,
        device=describe(device),
        revoked=False,
    )
    item.expire_at(now + min(deps.settings.refresh_token_ttl, deps.settings.session_max_age))
    return item, _tokens(deps, account.account_id, session_id, secret, now)


def profile_view(account: AccountModel) -> dict[str, Any]:
    """The account as its owner sees it (NIK masked)."""
    return {
        "account_id": account.account_id,
        "email": account.email,
        "phone": account.phone,
        "full_name": account.full_name,
        "birth_date": account.birth_date,
        "nik_masked": account.nik_masked,
        "kpj": account.kpj,
        "membership_type": account.membership_type,
        "pin_set": bool(account.pin_hash) and not account.pin_disabled,
        "authenticator_enabled": bool(account.totp_secret),
        "created_at": rfc3339(account.created_at),
    }


# --- sign-in -----------------------------------------------------------------------------


def login_claim(login: str, kpj_length: int) -> str:
    """The claim a login names: a KPJ number, or an email normalized exactly as
    registration stores it (the email library's form, then case-insensitive)."""
    text = login.strip()
    if text.isdigit() and text.isascii() and len(text) == kpj_length:
        return claim_key("kpj", text)
    try:
        text = parse_email(text)
    except FieldError:
        pass  # not an address: it names no account, and goes the unknown-login way
    return claim_key("email", email_key(text))


def _credentials(body: dict[str, Any]) -> tuple[str, Kind, str]:
    fields = Collector(body)
    login = fields.field("login", parse_text)
    if "pin" in body and "password" not in body:
        kind: Kind = "pin"
        secret = fields.field("pin", parse_code)
    else:
        kind = "password"
        secret = fields.field("password", parse_text)
    fields.raise_if_any()
    assert login is not None and secret is not None
    return login, kind, secret


def signin_limits(deps: Deps, client_ip: str) -> list[Limit]:
    """The sign-in throttle of one client address (every attempt counts, before the check)."""
    s = deps.settings
    if not (s.client_limits_enabled and client_ip):
        return []
    client = "signin#client#" + keyed_hash(deps.keys.destination, "client", client_ip)
    return [
        Limit("client_minute", client + "#m", s.signin_per_client_per_minute, 60),
        Limit("client_hour", client + "#h", s.signin_per_client_per_hour, 3600),
    ]


def sign_in(deps: Deps, body: dict[str, Any], client_ip: str = "", device: str = "") -> dict[str, Any] | WithStatus:
    """Email or KPJ with a password or PIN; one answer for every kind of wrong login.

    A login with no account is checked against its own guard item, so it is locked
    after the same tries as a real one (see ``credentials.check_secret``).
    """
    login, kind, secret = _credentials(body)
    now = deps.clock()
    throttle = signin_limits(deps, client_ip)
    if throttle:
        limits.commit_within(deps.store, lambda txn: None, throttle, now)
    claim = login_claim(login, deps.settings.kpj_length)
    owner = deps.store.claim_owner(claim)
    guard = credentials.account_guard(owner) if owner else credentials.login_guard(deps, claim)
    account = credentials.check_secret(deps, guard, kind, secret, now)
    if account.totp_secret:
        # The check stays counted until the second step succeeds: a right password
        # does not buy an authenticator guesser a fresh five.
        return WithStatus(202, _second_factor_flow(deps, account, kind, device, now))
    session, tokens = new_session(deps, account, now, device)
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        credentials.success_actions(deps, account, kind, secret),
        AccountModel.status == "active",
    )
    txn.put("session", session)
    txn.put("audit", audit.for_account(deps, "signin.success", account.account_id, now, details={"method": kind}))
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_credentials") from exc  # closed or deleted between the check and now
    metrics.count("SignIns", secret=kind)
    return tokens


SIGN_IN = "sign_in"
SECOND_FACTOR = "second_factor"


def _second_factor_flow(deps: Deps, account: AccountModel, kind: Kind, device: str, now: float) -> dict[str, Any]:
    from chalicelib.flows import common

    data = {"method": kind, "device": describe(device)}
    flow = common.new_flow(SIGN_IN, SECOND_FACTOR, now, deps.settings.second_factor_ttl, "id", data, account.account_id)
    txn = Txn()
    txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
    txn.put(
        "audit",
        audit.for_account(deps, "signin.second_factor_asked", account.account_id, now, details={"method": kind}),
    )
    deps.store.commit(txn)
    return common.flow_view(deps, flow)


def verify_second_factor(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The authenticator (or a recovery) code after a right password or PIN: the session.

    Wrong codes count toward the same account lockout as wrong passwords; the flow is
    bound to its account and lives five minutes.
    """
    from chalicelib.flows import authenticator, common

    code = required(body, "code", parse_text)
    now = deps.clock()
    flow = common.load_flow(deps, flow_id, SIGN_IN, now)
    common.require_state(flow, SECOND_FACTOR)
    guard = credentials.account_guard(flow.account_id or "-")
    account = credentials.reserve(deps, guard, "code", now)
    use = authenticator.use_of(deps, account, code, now)
    if use is None:
        raise credentials.wrong_code(deps, guard, account, now)
    data = common.flow_data(flow)
    session, tokens = new_session(deps, account, now, "")
    session.device = str(data.get("device") or "Unknown device")
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        [*credentials.reset_actions(), *use.actions],
        (AccountModel.status == "active") & use.condition,
    )
    txn.update(
        "flow",
        FlowModel(flow_id),
        [FlowModel.state.set("completed"), FlowModel.updated_at.set(now)],
        FlowModel.state == SECOND_FACTOR,
    )
    txn.put("session", session)
    details = {"method": str(data.get("method") or ""), "second_factor": "recovery" if use.recovery else "totp"}
    txn.put("audit", audit.for_account(deps, "signin.success", account.account_id, now, details=details))
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        if "flow" in exc.labels:
            raise ApiError("wrong_state", {"state": "completed"}) from exc
        raise ApiError("invalid_code") from exc  # the same code won in a parallel request
    return tokens


# --- the signed-in caller ----------------------------------------------------------------


def authenticate(deps: Deps, authorization: str | None, *extra: tuple[type[Any], str]) -> Signed:
    """The account and session behind a bearer token, plus ``extra`` items, in one read."""
    now = deps.clock()
    scheme, _, token = (authorization or "").strip().partition(" ")
    claims = read_member_token(deps, token.strip(), now)
    if scheme.lower() != "bearer" or claims is None:
        raise ApiError("unauthenticated")
    session, account, *rest = deps.store.get_many(
        (SessionModel, claims.session_id), (AccountModel, claims.account_id), *extra
    )
    if not _live(session, account, claims.account_id, now):
        raise ApiError("unauthenticated")
    return Signed(account=account, session=session, extra=rest)


def read_member_token(deps: Deps, token: str, now: float) -> AccessClaims | None:
    """A member's access token under any accepted signing version. A version this
    container does not know yet (a rotation elsewhere) makes it re-read the secret once."""
    s = deps.settings
    claims = read_access_token(deps.keys.token_keys, s.token_issuer, s.token_audience, token, now)
    kid = token_kid(token) if claims is None else None
    if kid is not None and kid not in deps.keys.token_keys:
        deps.reload_keys(unless_younger_than=10.0)
        claims = read_access_token(deps.keys.token_keys, s.token_issuer, s.token_audience, token, now)
    return claims


def _live(session: SessionModel | None, account: AccountModel | None, account_id: str, now: float) -> bool:
    return (
        session is not None
        and account is not None
        and not session.revoked
        and session.account_id == account_id
        and session.expires_at > to_datetime(now)
        and account.status == "active"
        and int(session.epoch or 0) == int(account.session_epoch or 0)
    )


def me(deps: Deps, authorization: str | None) -> dict[str, Any]:
    """The caller's profile."""
    return profile_view(authenticate(deps, authorization).account)


def sign_out(deps: Deps, authorization: str | None) -> None:
    """Revoke the caller's session: its access and refresh tokens stop working."""
    signed = authenticate(deps, authorization)
    txn = Txn()
    txn.update("session", SessionModel(signed.session.session_id), [SessionModel.revoked.set(True)])
    deps.store.commit(txn)


# --- refresh -----------------------------------------------------------------------------


def refresh(deps: Deps, body: dict[str, Any]) -> dict[str, Any]:
    """A new access token and a new refresh token; the presented one is spent.

    Presenting a spent refresh token means it was copied: the whole family is revoked.
    """
    token = required(body, "refresh_token", parse_text)
    session_id, _, secret = token.partition(".")
    if not session_id or not secret:
        raise ApiError("unauthenticated")
    now = deps.clock()
    presented = hash_refresh_token(deps.keys.refresh, secret)
    session = deps.store.get(SessionModel, session_id)
    if session is None or session.revoked or session.expires_at <= to_datetime(now):
        raise ApiError("unauthenticated")
    # Absolute lifetime: refreshing never carries a session past its sign-in plus the maximum.
    ends = float(session.created_at) + deps.settings.session_max_age
    if now >= ends:
        raise ApiError("unauthenticated")
    if presented in (session.spent or []):
        _revoke(deps, session_id)
        raise ApiError("unauthenticated")
    if presented != session.refresh_hash:
        raise ApiError("unauthenticated")
    new_secret = new_refresh_token()
    txn = Txn()
    txn.update(
        "session",
        SessionModel(session_id),
        [
            SessionModel.refresh_hash.set(hash_refresh_token(deps.keys.refresh, new_secret)),
            SessionModel.spent.set([*(session.spent or []), presented][-SPENT_KEPT:]),  # type: ignore[arg-type]
            SessionModel.last_used_at.set(now),  # the devices list, in the write the refresh makes anyway
            *SessionModel.expiry_actions(min(now + deps.settings.refresh_token_ttl, ends)),
        ],
        (SessionModel.refresh_hash == presented) & (SessionModel.revoked == False),  # noqa: E712
    )
    txn.check(
        "account",
        AccountModel,
        session.account_id,
        (AccountModel.status == "active") & (AccountModel.session_epoch == int(session.epoch or 0)),
    )
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        if "session" in exc.labels:
            # A parallel refresh spent this token first: that is reuse too.
            _revoke(deps, session_id)
        raise ApiError("unauthenticated") from exc
    return _tokens(deps, session.account_id, session_id, new_secret, now)


def _revoke(deps: Deps, session_id: str) -> None:
    txn = Txn()
    txn.update("session", SessionModel(session_id), [SessionModel.revoked.set(True)])
    deps.store.commit(txn)


# --- PIN and password ------------------------------------------------------------------


def recheck_password(deps: Deps, signed: Signed, body: dict[str, Any], field: str = "password") -> AccountModel:
    """The signed-in owner's password, checked before anything else in the request.

    A wrong one is ``401 invalid_credentials`` and counts toward the lockout; a stolen
    access token alone learns nothing about the PIN, the NIK or the new value.
    """
    password = required(body, field, parse_text)
    guard = credentials.account_guard(signed.account.account_id)
    return credentials.check_secret(deps, guard, "password", password, deps.clock())


def after_recheck[T](deps: Deps, account: AccountModel, rules: Callable[[], T]) -> T:
    """Run the request's own rules once the password was right; if they refuse, the
    right password still ends the run of wrong ones (the reserved check is settled)."""
    try:
        return rules()
    except ApiError:
        credentials.settle_success(deps, account)
        raise
    except StorageUnavailable:
        credentials.uncount(deps, account.account_id)  # nothing happened: the check does not count
        raise


def set_pin(deps: Deps, authorization: str | None, body: dict[str, Any]) -> None:
    """Set or change the PIN; the password proves it is the owner, and is checked first."""
    signed = authenticate(deps, authorization)
    password = required(body, "password", parse_text)
    account = recheck_password(deps, signed, body)
    pin = after_recheck(deps, account, lambda: new_pin(deps, account, body))
    now = deps.clock()
    actions = credentials.success_actions(deps, account, "password", password)
    actions += [
        AccountModel.pin_hash.set(deps.hasher.hash(pin)),
        AccountModel.pin_failures.set(0),
        AccountModel.pin_disabled.set(False),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update("account", AccountModel(account.account_id), actions, AccountModel.status == "active")
    txn.put("audit", audit.for_account(deps, "pin.changed", account.account_id, now))
    credentials.commit_after_check(deps, account.account_id, txn)


def new_pin(deps: Deps, account: AccountModel, body: dict[str, Any]) -> str:
    """The new PIN in ``body`` if it meets the rules, differs from the old one and is confirmed."""
    fields = Collector(body)
    pin = fields.field("pin", parse_text)
    confirmation = fields.field("pin_confirmation", parse_text)
    if pin is not None:
        problems = pin_problems(pin, parse_date(account.birth_date))
        if not problems and account.pin_hash and deps.hasher.verify(account.pin_hash, pin):
            problems.append("same_as_previous")
        if problems:
            fields.add("pin", *problems)
    fields.raise_if_any()
    assert pin is not None
    if confirmation != pin:
        raise ApiError("pin_mismatch")
    return pin


def change_password(deps: Deps, authorization: str | None, body: dict[str, Any], lang: str) -> None:
    """Change the password; every other session ends; the owner is told by email."""
    signed = authenticate(deps, authorization)
    account = recheck_password(deps, signed, body, "current_password")
    password = after_recheck(
        deps, account, lambda: credentials.new_password(deps, body, account.email, account.full_name, account.nik_hash)
    )
    now = deps.clock()
    epoch = int(account.session_epoch or 0) + 1
    actions = [
        *credentials.reset_actions(),
        AccountModel.password_hash.set(deps.hasher.hash(password)),
        AccountModel.session_epoch.set(epoch),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        actions,
        (AccountModel.status == "active") & (AccountModel.session_epoch == epoch - 1),
    )
    txn.update("session", SessionModel(signed.session.session_id), [SessionModel.epoch.set(epoch)])
    txn.put("audit", audit.for_account(deps, "password.changed", account.account_id, now))
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("unauthenticated") from exc  # the session was voided meanwhile
    notify(deps, account.email, templates.password_changed_email(lang, deps.settings.app_name))


def notify_sms(deps: Deps, phone: str, text: str) -> None:
    """An SMS notice after a change is already stored; a failure is logged, not raised."""
    try:
        deps.sender.send_sms(phone, text)
    except DeliveryFailed:
        log.warning("notice sms not sent")


def notify(deps: Deps, email: str, message: tuple[str, str]) -> None:
    """Send a notice after a change is already stored; a failure is logged, not raised."""
    try:
        deps.sender.send_email(email, *message)
    except DeliveryFailed:
        log.warning("notice email not sent")
