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

from chalicelib.delivery import templates
from chalicelib.deps import Deps
from chalicelib.flows import common, credentials
from chalicelib.flows.common import Outgoing
from chalicelib.flows.sessions import notify
from chalicelib.storage import claim_key
from chalicelib.storage.models import AccountModel, FlowModel
from chalicelib.storage.store import Txn
from chalicelib.validation import email_key, parse_code, parse_email, required

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
    owner, suppressed = common.first_reads(deps, claim_key("email", email_key(email)), email)
    decoy = owner is None or suppressed
    data = {"email": email, "decoy": decoy}
    flow = common.new_flow(FLOW_TYPE, CODE_VERIFICATION, now, _lifetime(deps), lang, data, owner)
    outgoing = Outgoing("email", email, FLOW_TYPE, "decoy" if decoy else "code", client_ip, hidden=True)
    return common.flow_view(deps, common.start_flow(deps, flow, outgoing, lang, now))


def get(deps: Deps, flow_id: str) -> dict[str, Any]:
    """The flow as it stands."""
    return common.flow_view(deps, common.load_flow(deps, flow_id, FLOW_TYPE, deps.clock()))


def verify(deps: Deps, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check the emailed code; the flow moves to ``new_password``."""
    code = required(body, "code", parse_code)
    now = deps.clock()

    def bound(txn: Txn, flow: FlowModel) -> None:
        common.email_claim_check(common.flow_data(flow)["email"])(txn, flow)

    flow = common.verify_code(
        deps, flow_id, FLOW_TYPE, CODE_VERIFICATION, code, now, NEW_PASSWORD, _lifetime(deps), also=bound
    )
    return common.flow_view(deps, flow)


def resend(deps: Deps, flow_id: str, lang: str, client_ip: str) -> dict[str, Any]:
    """A fresh code (or, for an address without an account, the same decoy work)."""
    now = deps.clock()
    flow = common.load_flow(deps, flow_id, FLOW_TYPE, now)
    common.require_state(flow, CODE_VERIFICATION)
    data = common.flow_data(flow)
    decoy = data.get("decoy") or not flow.account_id
    outgoing = Outgoing("email", data["email"], FLOW_TYPE, "decoy" if decoy else "code", client_ip, hidden=True)
    flow = common.send_challenge(
        deps, flow, outgoing, lang, now, (CODE_VERIFICATION,), CODE_VERIFICATION, _lifetime(deps)
    )
    return common.flow_view(deps, flow)


def complete(deps: Deps, flow_id: str, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """Set the new password: sessions end, a lockout clears, the owner is told."""
    now = deps.clock()
    flow = common.load_flow(deps, flow_id, FLOW_TYPE, now)
    common.require_state(flow, NEW_PASSWORD)
    email = common.flow_data(flow)["email"]
    # Bound to the address it was started for: moved away (or closed) meanwhile, it is dead.
    account = common.require_contact(deps.store.get(AccountModel, flow.account_id or ""), email)
    password = credentials.new_password(deps, body, account.email, account.full_name, account.nik_hash)
    actions = [
        AccountModel.password_hash.set(deps.hasher.hash(password)),
        AccountModel.session_epoch.add(1),  # every session and refresh token ends
        AccountModel.locked_until.set(0),
        *credentials.reset_actions(),
        AccountModel.updated_at.set(now),
    ]
    bound = common.email_claim_check(email)
    flow = common.finish_with_account_change(
        deps,
        flow,
        NEW_PASSWORD,
        COMPLETED,
        account.account_id,
        actions,
        "password.reset",
        now,
        lambda t: bound(t, flow),
    )
    notify(deps, account.email, templates.password_changed_email(lang, deps.settings.app_name))
    return common.flow_view(deps, flow)
