"""Forgot password: email -> code -> new password.

States: code_verification -> new_password -> completed.

Any well-formed email gets the same ``202`` and flow. Only a real account's address is
sent a code; for any other the flow holds a challenge nothing can verify, the send
limits are counted the same, and a decoy goes to SES's mailbox simulator, so answer,
timing and limits do not tell whether the address has an account. Completing stores
the new password, clears a lockout and voids every session (epoch) in one write.
"""

from __future__ import annotations

from typing import Any

from chalicelib.accounts import contact, credentials
from chalicelib.accounts.changes import finish_with_account_change
from chalicelib.challenges.send import Outgoing, first_reads, send_code, start_with_code
from chalicelib.challenges.verify import verify_code
from chalicelib.delivery import notices
from chalicelib.deps import Deps
from chalicelib.storage import claim_key
from chalicelib.storage.flows import flow_data, load_flow, new_flow, require_state
from chalicelib.storage.models import AccountModel, FlowModel
from chalicelib.storage.store import Txn
from chalicelib.validation import email_key, parse_code, parse_email, required
from chalicelib.views import flow_view

FLOW_TYPE = "password_reset"
CODE_VERIFICATION = "code_verification"
NEW_PASSWORD = "new_password"
COMPLETED = "completed"


def _lifetime(deps: Deps) -> int:
    return deps.settings.flow_ttl


def start(deps: Deps, body: dict[str, Any], lang: str, client_ip: str) -> dict[str, Any]:
    """Open a reset for an email; a code goes out only if it has an account."""
    email = required(body, "email", parse_email)
    now = deps.clock()
    owner, suppressed = first_reads(deps, claim_key("email", email_key(email)), email)
    decoy = owner is None or suppressed
    data = {"email": email, "decoy": decoy}
    flow = new_flow(
        FLOW_TYPE, state=CODE_VERIFICATION, now=now, lifetime=_lifetime(deps), lang=lang, data=data, account_id=owner
    )
    outgoing = Outgoing("email", email, FLOW_TYPE, "decoy" if decoy else "code", client_ip, hidden=True)
    return flow_view(deps, start_with_code(deps, flow, outgoing=outgoing, lang=lang, now=now))


def get(deps: Deps, flow_id: str) -> dict[str, Any]:
    """The flow as it stands."""
    return flow_view(deps, load_flow(deps, flow_id, FLOW_TYPE, deps.clock()))


def verify(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the emailed code; the flow moves to ``new_password``."""
    code = required(body, "code", parse_code)
    now = deps.clock()

    def still_bound(txn: Txn, flow: FlowModel) -> None:
        contact.email_claim_check(flow_data(flow)["email"])(txn, flow)

    flow = verify_code(
        deps,
        flow_id,
        flow_type=FLOW_TYPE,
        state=CODE_VERIFICATION,
        code=code,
        now=now,
        to_state=NEW_PASSWORD,
        lifetime=_lifetime(deps),
        on_consume=still_bound,
    )
    return flow_view(deps, flow)


def resend(deps: Deps, flow_id: str, lang: str, client_ip: str) -> dict[str, Any]:
    """A fresh code (or, for an address without an account, the same decoy work)."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, CODE_VERIFICATION)
    data = flow_data(flow)
    decoy = data.get("decoy") or not flow.account_id
    outgoing = Outgoing("email", data["email"], FLOW_TYPE, "decoy" if decoy else "code", client_ip, hidden=True)
    flow = send_code(
        deps,
        flow,
        outgoing=outgoing,
        lang=lang,
        now=now,
        from_states=(CODE_VERIFICATION,),
        to_state=CODE_VERIFICATION,
        lifetime=_lifetime(deps),
    )
    return flow_view(deps, flow)


def complete(deps: Deps, flow_id: str, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """Set the new password: sessions end, a lockout clears, the owner is told."""
    now = deps.clock()
    flow = load_flow(deps, flow_id, FLOW_TYPE, now)
    require_state(flow, NEW_PASSWORD)
    email = flow_data(flow)["email"]
    # Bound to the address it was started for: moved away (or closed) meanwhile, it is dead.
    account = contact.require_contact(deps.store.get(AccountModel, flow.account_id or ""), email)
    password = credentials.new_password(deps, body, account.email, account.full_name, account.nik_hash)
    actions = [
        AccountModel.password_hash.set(deps.hasher.hash(password)),
        AccountModel.session_epoch.add(1),  # every session and refresh token ends
        AccountModel.locked_until.set(0),
        *credentials.reset_actions(),
        AccountModel.updated_at.set(now),
    ]
    still_bound = contact.email_claim_check(email)
    told = notices.to_account("password_reset", account, lang)

    def bound_and_told(txn: Txn) -> None:
        still_bound(txn, flow)
        notices.tell(txn, deps, told, now)

    flow = finish_with_account_change(
        deps,
        flow,
        from_state=NEW_PASSWORD,
        to_state=COMPLETED,
        account_id=account.account_id,
        actions=actions,
        event="password.reset",
        now=now,
        in_same_txn=bound_and_told,
    )
    return flow_view(deps, flow)
