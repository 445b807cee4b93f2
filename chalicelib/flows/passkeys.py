"""Passkeys: adding one (after the step-up), listing, naming and removing them, and
signing in with one (API.md "Passkeys (WebAuthn)").

Both ceremonies keep their state in a flow (the challenge, 5 minutes), never a cookie
or a session header: a native app only carries the ``flow_id``. A flow works once: its
first use, right or wrong, spends it. A failed sign-in assertion is one answer, ``401
invalid_credentials``, and counts toward nothing: a lock counts guesses of a secret,
and nobody guesses a passkey, so a locked account still signs in with its passkey.

Round trips: options, one read (the caller) and one write; registration, one read (the
caller and the flow) and one transaction; sign-in, one read (the flow, the credential
and the account the user handle names) and one transaction.
"""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import size

from chalicelib import audit, limits, metrics
from chalicelib.accounts import passkeys as webauthn
from chalicelib.accounts.credentials import step_up
from chalicelib.accounts.sessions import new_session
from chalicelib.accounts.signed_in import Caller, load
from chalicelib.clock import rfc3339, to_datetime
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.devices import describe
from chalicelib.errors import ApiError
from chalicelib.storage.flows import flow_data, new_flow
from chalicelib.storage.models import AccountModel, FlowModel, PasskeyModel
from chalicelib.storage.store import Conflict, Txn
from chalicelib.validation import parse_free_text, parse_text, required
from chalicelib.views import mask_email

REGISTRATION, SIGN_IN = "passkey_registration", "passkey_sign_in"
WAITING, DONE = "options", "completed"
NAME_LENGTH = 64


def passkey_view(item: PasskeyModel) -> dict[str, Any]:
    """A passkey as its owner sees it: never the key or the counter."""
    return {
        "passkey_id": item.credential_id,
        "name": item.name,
        "created_at": rfc3339(item.created_at),
        "last_used_at": rfc3339(item.last_used_at) if item.last_used_at else None,
        "backed_up": bool(item.backed_up),
        "device_type": "multi_device" if item.backup_eligible else "single_device",
    }


# --- adding a passkey --------------------------------------------------------------------


def registration_options(deps: Deps, caller: Caller, body: dict[str, Any], user_agent: str) -> dict[str, Any]:
    """Creation options after the step-up; ``409 passkey_limit`` before the phone makes one."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body)
    account = step.account
    s = deps.settings
    owned = sorted(account.passkeys or ())
    if len(owned) >= s.max_passkeys:
        deps.store.record_failure(AccountModel, account.account_id, step.write(), step.condition)
        raise ApiError("passkey_limit")
    now = deps.clock()
    challenge = webauthn.new_challenge()
    data = {"challenge": challenge, "device": describe(user_agent)[:NAME_LENGTH]}
    flow = new_flow(
        REGISTRATION,
        state=WAITING,
        now=now,
        lifetime=s.passkey_ttl,
        lang="id",
        data=data,
        account_id=account.account_id,
    )
    txn = Txn()
    txn.update("account", AccountModel(account.account_id), step.write(), step.guarded(AccountModel.status == "active"))
    txn.put("flow", flow, FlowModel.flow_id.does_not_exist())
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("invalid_code") from exc  # the same authenticator code won in a parallel request
    options = webauthn.creation_options(
        s,
        challenge=challenge,
        handle=webauthn.user_handle(deps.keys.passkey, account.account_id),
        user_name=mask_email(account.email or ""),
        display_name=account.full_name or "",
        exclude=owned,
    )
    return {"flow_id": flow.flow_id, "expires_at": rfc3339(flow.expires_at.timestamp()), "options": options}


def _spend(deps: Deps, flow_id: str) -> None:
    """A flow's first use spends it, right or wrong."""
    try:
        deps.store.update_flow(flow_id, [FlowModel.state.set("spent")], FlowModel.state == WAITING)
    except Conflict:
        pass


def _live(flow: FlowModel | None, flow_type: str, now: float, owner: str | None = None) -> FlowModel:
    """The flow if it waits for its one use; ``404`` for none (or another's), ``410`` once used or past."""
    if flow is None or flow.flow_type != flow_type or (owner is not None and flow.account_id != owner):
        raise ApiError("not_found")
    if flow.state != WAITING or flow.expires_at <= to_datetime(now):
        raise ApiError("flow_expired")
    return flow


def register(deps: Deps, caller: Caller, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """Verify the phone's new credential and keep it; ``201`` passkey."""
    flow_id = required(body, "flow_id", parse_text)
    name = body.get("name")
    if name is not None:
        name = required(body, "name", lambda v: parse_free_text(v, NAME_LENGTH, "invalid_name"))
    signed = load(deps, caller, (FlowModel, flow_id))
    account = signed.account
    now = deps.clock()
    flow = _live(signed.extra[0], REGISTRATION, now, owner=account.account_id)
    data = flow_data(flow)
    try:
        new = webauthn.verify_registration(deps.settings, body.get("credential"), str(data["challenge"]))
    except ApiError:
        _spend(deps, flow_id)  # a registration that fails verification spends its flow
        raise
    item = PasskeyModel(
        new.credential_id,
        account_id=account.account_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        backup_eligible=new.backup_eligible,
        backed_up=new.backed_up,
        name=name or str(data.get("device") or "Passkey"),
        created_at=now,
    )
    limit = deps.settings.max_passkeys
    txn = Txn()
    txn.update("flow", FlowModel(flow_id), [FlowModel.state.set(DONE)], FlowModel.state == WAITING)
    txn.put("passkey", item, PasskeyModel.credential_id.does_not_exist())
    txn.update(
        "account",
        AccountModel(account.account_id),
        [AccountModel.passkeys.add({new.credential_id}), AccountModel.updated_at.set(now)],
        (AccountModel.status == "active")
        & (AccountModel.passkeys.does_not_exist() | (size(AccountModel.passkeys) < limit)),
    )
    txn.put(
        "audit",
        audit.for_account(
            deps, "passkey.added", account.account_id, now, details={"passkey_id": new.credential_id[:16]}
        ),
    )
    told = notices.to_account("passkey_added", account, lang)
    notices.tell(txn, deps, told, now)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        if "passkey" in exc.labels:
            _spend(deps, flow_id)
            raise ApiError("passkey_registered") from exc
        if "flow" in exc.labels:
            raise ApiError("flow_expired") from exc
        raise ApiError("passkey_limit") from exc  # a parallel registration took the last place
    metrics.count("PasskeysAdded")
    return passkey_view(item)


# --- listing, naming, removing ------------------------------------------------------------


def list_passkeys(deps: Deps, caller: Caller) -> dict[str, Any]:
    """The member's passkeys, newest first (the caller, then the keys: two reads)."""
    signed = load(deps, caller)
    return {"passkeys": [passkey_view(p) for p in webauthn.owned(deps, signed.account)]}


def rename(deps: Deps, caller: Caller, passkey_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Name a passkey ("HP kerja"); ``404`` for another account's."""
    name = required(body, "name", lambda v: parse_free_text(v, NAME_LENGTH, "invalid_name"))
    signed = load(deps, caller, (PasskeyModel, passkey_id))
    item = signed.extra[0]
    if item is None or item.account_id != signed.account.account_id:
        raise ApiError("not_found")
    try:
        updated = deps.store.update_passkey(
            passkey_id, [PasskeyModel.name.set(name)], PasskeyModel.account_id == signed.account.account_id
        )
    except Conflict as exc:
        raise ApiError("not_found") from exc
    return passkey_view(updated)


def remove(deps: Deps, caller: Caller, passkey_id: str, body: dict[str, Any], lang: str) -> None:
    """Remove a passkey after the step-up; ``404`` for another account's."""
    signed = load(deps, caller)
    step = step_up(deps, signed, body)
    account = step.account
    if passkey_id not in (account.passkeys or set()):
        deps.store.record_failure(AccountModel, account.account_id, step.write(), step.condition)
        raise ApiError("not_found")
    now = deps.clock()
    txn = Txn()
    txn.delete("passkey", PasskeyModel(passkey_id), PasskeyModel.account_id == account.account_id)
    txn.update(
        "account",
        AccountModel(account.account_id),
        [*step.write(), AccountModel.passkeys.delete({passkey_id}), AccountModel.updated_at.set(now)],
        step.guarded(AccountModel.status == "active"),
    )
    txn.put(
        "audit",
        audit.for_account(deps, "passkey.removed", account.account_id, now, details={"passkey_id": passkey_id[:16]}),
    )
    told = notices.to_account("passkey_removed", account, lang)
    notices.tell(txn, deps, told, now)
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("not_found") from exc


def well_known(deps: Deps, document: str) -> Any:
    """The three ``/.well-known/`` documents of the relying party, from the stage's configuration."""
    s = deps.settings
    if document == "webauthn":
        return {"origins": webauthn.web_origins(s)}
    if document == "assetlinks":
        return webauthn.assetlinks(s)
    return webauthn.apple_association(s)


# --- signing in with a passkey --------------------------------------------------------------


def sign_in_options(deps: Deps) -> dict[str, Any]:
    """Request options for a discoverable sign-in (no login typed), in a 5-minute flow."""
    now = deps.clock()
    challenge = webauthn.new_challenge()
    flow = new_flow(
        SIGN_IN, state=WAITING, now=now, lifetime=deps.settings.passkey_ttl, lang="id", data={"challenge": challenge}
    )
    deps.store.put_flow(flow)
    options = webauthn.request_options(deps.settings, challenge=challenge)
    return {"flow_id": flow.flow_id, "expires_at": rfc3339(flow.expires_at.timestamp()), "options": options}


def sign_in(deps: Deps, body: dict[str, Any], client_ip: str, user_agent: str) -> dict[str, Any]:
    """A session for a verified assertion; any failure is one ``401`` and locks nothing."""
    flow_id = required(body, "flow_id", parse_text)
    assertion = webauthn.read_assertion(body.get("credential"))
    now = deps.clock()
    throttle = limits.signin(deps.settings, deps.keys.destination, client_ip)
    if throttle:
        limits.commit_within(deps.store, lambda txn: None, throttle, now)
    handle = assertion.user_handle
    account_id = webauthn.account_of_handle(deps.keys.passkey, handle) if handle else None
    flow, item, account = deps.store.get_many(
        (FlowModel, flow_id), (PasskeyModel, assertion.credential_id), (AccountModel, account_id or "-")
    )
    _live(flow, SIGN_IN, now)
    if item is None or account is None or account.status != "active" or item.account_id != account.account_id:
        _spend(deps, flow_id)
        raise ApiError("invalid_credentials")  # unknown credential, no or a foreign user handle, a closed account
    try:
        count, backed_up = webauthn.verify_assertion(
            deps.settings, assertion, str(flow_data(flow)["challenge"]), item.public_key
        )
    except ApiError:
        _spend(deps, flow_id)
        raise
    stored = int(item.sign_count or 0)
    if (count or stored) and count <= stored:
        _spend(deps, flow_id)
        details = {"passkey_id": item.credential_id[:16], "counter": f"{count}<={stored}"}
        deps.store.put_audit_quietly(
            audit.event(
                "passkey.clone_suspected",
                audit.account_subject(account.account_id),
                now,
                deps.settings.audit_retention_days,
                details=details,
            )
        )
        metrics.count("PasskeyCloneSuspected")
        raise ApiError("invalid_credentials")
    amr = ["swk" if item.backup_eligible else "hwk", "user"]
    session, tokens = new_session(deps, account, now, user_agent, amr=amr)
    txn = Txn()
    txn.update("flow", FlowModel(flow_id), [FlowModel.state.set(DONE)], FlowModel.state == WAITING)
    txn.update(
        "passkey",
        PasskeyModel(item.credential_id),
        [PasskeyModel.sign_count.set(count), PasskeyModel.last_used_at.set(now), PasskeyModel.backed_up.set(backed_up)],
        PasskeyModel.sign_count == stored,
    )
    txn.check(
        "account",
        AccountModel,
        account.account_id,
        (AccountModel.status == "active") & (AccountModel.session_epoch == int(account.session_epoch or 0)),
    )
    txn.put("session", session)
    txn.put("audit", audit.for_account(deps, "signin.success", account.account_id, now, details={"method": "passkey"}))
    try:
        deps.store.commit(txn)
    except Conflict as exc:
        raise ApiError("flow_expired" if "flow" in exc.labels else "invalid_credentials") from exc
    metrics.count("SignIns", secret="passkey")
    return tokens
