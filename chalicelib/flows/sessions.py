"""Sessions and the signed-in user: sign-in, refresh, sign-out, profile, PIN, password.

A session item is one refresh-token family. The access token (JWT, 15 minutes) names
the account and the session; every authenticated request reads the session and the
account in one round trip, so a signed-out or revoked session is refused at once.
Sessions carry the account's ``session_epoch``: raising it (password change, reset)
voids every other session without listing them.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from chalicelib import audit, limits, metrics
from chalicelib.accounts import authenticator, credentials
from chalicelib.accounts.credentials import SecretKind, after_recheck, new_pin, step_up
from chalicelib.accounts.sessions import amr_for, issue_tokens, new_session, revoke
from chalicelib.accounts.signed_in import Caller, load
from chalicelib.clock import to_datetime
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.devices import describe
from chalicelib.errors import ApiError
from chalicelib.storage import claim_key
from chalicelib.storage.flows import flow_data, load_flow, new_flow, require_state
from chalicelib.storage.models import AccountModel, FlowModel, SessionModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.tokens import (
    hash_refresh_token,
    new_refresh_token,
)
from chalicelib.validation import (
    Collector,
    FieldError,
    email_key,
    parse_code,
    parse_email,
    parse_text,
    required,
)
from chalicelib.views import WithStatus, flow_view, profile_view

log = logging.getLogger(__name__)

T = TypeVar("T")

SPENT_KEPT = 20  # spent refresh-token hashes remembered per family, to detect reuse


# --- tokens ------------------------------------------------------------------------------


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


def _credentials(body: dict[str, Any]) -> tuple[str, SecretKind, str]:
    fields = Collector(body)
    login = fields.field("login", parse_text)
    if "pin" in body and "password" not in body:
        kind: SecretKind = "pin"
        secret = fields.field("pin", parse_code)
    else:
        kind = "password"
        secret = fields.field("password", parse_text)
    fields.raise_if_any()
    assert login is not None and secret is not None
    return login, kind, secret


def sign_in(
    deps: Deps, body: dict[str, Any], client_ip: str = "", device: str = "", lang: str = "id"
) -> dict[str, Any] | WithStatus:
    """Email or KPJ with a password or PIN; one answer for every kind of wrong login.

    A login with no account is checked against its own guard item, so it is locked
    after the same tries as a real one (see ``credentials.check_secret``).
    """
    login, kind, secret = _credentials(body)
    now = deps.clock()
    throttle = limits.signin(deps.settings, deps.keys.destination, client_ip)
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
    session, tokens = new_session(deps, account, now, device, amr=amr_for(kind))
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        [*credentials.success_actions(deps, account, kind, secret), AccountModel.lang.set(lang)],
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


def _second_factor_flow(deps: Deps, account: AccountModel, kind: SecretKind, device: str, now: float) -> dict[str, Any]:
    data = {"method": kind, "device": describe(device)}
    flow = new_flow(
        SIGN_IN,
        state=SECOND_FACTOR,
        now=now,
        lifetime=deps.settings.second_factor_ttl,
        lang="id",
        data=data,
        account_id=account.account_id,
    )
    txn = Txn()
    txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
    txn.put(
        "audit",
        audit.for_account(deps, "signin.second_factor_asked", account.account_id, now, details={"method": kind}),
    )
    deps.store.commit(txn)
    return flow_view(deps, flow)


def verify_second_factor(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The authenticator (or a recovery) code after a right password or PIN: the session.

    Wrong codes count toward the same account lockout as wrong passwords; the flow is
    bound to its account and lives five minutes.
    """
    code = required(body, "code", parse_text)
    now = deps.clock()
    flow = load_flow(deps, flow_id, SIGN_IN, now)
    require_state(flow, SECOND_FACTOR)
    guard = credentials.account_guard(flow.account_id or "-")
    account = credentials.reserve(deps, guard, "code", now)
    use = authenticator.use_of(deps, account, code, now)
    if use is None:
        raise credentials.wrong_code(deps, guard, account, now)
    data = flow_data(flow)
    session, tokens = new_session(deps, account, now, "", amr=amr_for(str(data.get("method") or ""), "otp"))
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


def me(deps: Deps, caller: Caller) -> dict[str, Any]:
    """The caller's profile."""
    return profile_view(load(deps, caller).account)


def sign_out(deps: Deps, caller: Caller) -> None:
    """Revoke the caller's session: its access and refresh tokens stop working."""
    signed = load(deps, caller)
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
        revoke(deps, session_id, reused_by=session.account_id)
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
            revoke(deps, session_id, reused_by=session.account_id)
        raise ApiError("unauthenticated") from exc
    return issue_tokens(deps, session.account_id, session_id, new_secret, now, [str(m) for m in session.amr or []])


# --- PIN and password ------------------------------------------------------------------


def set_pin(deps: Deps, caller: Caller, body: dict[str, Any], lang: str = "id") -> None:
    """Set or change the PIN; the password proves it is the owner, and is checked first."""
    signed = load(deps, caller)
    password = required(body, "password", parse_text)
    step = step_up(deps, signed, body)
    account = step.account
    pin = after_recheck(deps, account, lambda: new_pin(deps, account, body))
    now = deps.clock()
    actions = [*credentials.success_actions(deps, account, "password", password), *step.actions]
    actions += [
        AccountModel.pin_hash.set(deps.hasher.hash(pin)),
        AccountModel.pin_failures.set(0),
        AccountModel.pin_disabled.set(False),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update("account", AccountModel(account.account_id), actions, step.guarded(AccountModel.status == "active"))
    txn.put("audit", audit.for_account(deps, "pin.changed", account.account_id, now))
    told = notices.to_account("pin_changed", account, lang)
    notices.tell(txn, deps, told, now)
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same authenticator code won in a parallel request


def change_password(deps: Deps, caller: Caller, body: dict[str, Any], lang: str) -> None:
    """Change the password; every other session ends; the owner is told by email."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body, "current_password")
    account = step.account
    password = after_recheck(
        deps, account, lambda: credentials.new_password(deps, body, account.email, account.full_name, account.nik_hash)
    )
    now = deps.clock()
    epoch = int(account.session_epoch or 0) + 1
    actions = [
        *step.write(),
        AccountModel.password_hash.set(deps.hasher.hash(password)),
        AccountModel.session_epoch.set(epoch),
        AccountModel.updated_at.set(now),
    ]
    txn = Txn()
    txn.update(
        "account",
        AccountModel(account.account_id),
        actions,
        step.guarded((AccountModel.status == "active") & (AccountModel.session_epoch == epoch - 1)),
    )
    txn.update("session", SessionModel(signed.session.session_id), [SessionModel.epoch.set(epoch)])
    txn.put("audit", audit.for_account(deps, "password.changed", account.account_id, now))
    told = notices.to_account("password_changed", account, lang)
    notices.tell(txn, deps, told, now)
    try:
        credentials.commit_after_check(deps, account.account_id, txn)
    except Conflict as exc:
        raise ApiError("unauthenticated") from exc  # the session was voided meanwhile
