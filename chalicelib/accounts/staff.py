"""The signed-in staff member: a token of the stage's Cognito staff pool, checked at the
edge (the route's ``staff=``) with the group the route needs."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.accounts.signed_in import read_member_token
from chalicelib.deps import Deps
from chalicelib.errors import ApiError
from chalicelib.staff_auth import GROUPS, issuer, verify
from chalicelib.storage.models import AccountModel


@dataclass(frozen=True)
class Staff:
    """The authenticated staff member behind an admin call (a user of the staff pool)."""

    staff_id: str  # the pool's ``sub``
    username: str
    role: str  # agent | supervisor

    @property
    def actor(self) -> str:
        """How audit events name them: username, group and the pool's ``sub``."""
        return f"staff:{self.username} ({self.role}, {self.staff_id})"


def target_account(deps: Deps, account_id: str) -> AccountModel:
    """The account a staff call names; ``404 not_found`` if there is none."""
    account = deps.store.get(AccountModel, account_id)
    if account is None:
        raise ApiError("not_found")
    return account


AGENT = "agent"


SUPERVISOR = "supervisor"


def authorize(deps: Deps, authorization: str | None, need: str = AGENT) -> Staff:
    """The staff member a bearer token names, allowed to act as ``need``.

    ``401 unauthenticated``: no token, or one that is not a valid token of this stage's
    staff pool and console client (malformed, forged, expired, another pool).
    ``403 forbidden``: a member's token, a staff user in neither group, an agent where a
    supervisor is needed. Groups are read from the token: removing someone from a group
    takes effect when their access token expires (the pool issues them for 15 minutes).
    """
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError("unauthenticated")
    s = deps.settings
    claims = None
    if s.staff_pool_id and s.staff_client_id:
        claims = verify(token, deps.staff_keys, issuer(s.region, s.staff_pool_id), s.staff_client_id, deps.clock())
    if claims is None:
        if read_member_token(deps, token, deps.clock()) is not None:
            raise ApiError("forbidden")  # a member, authenticated, not staff
        raise ApiError("unauthenticated")
    groups = [g for g in GROUPS if g in claims.groups]
    role = SUPERVISOR if SUPERVISOR in groups else (AGENT if groups else "")
    if not role or (need == SUPERVISOR and role != SUPERVISOR):
        raise ApiError("forbidden")
    return Staff(claims.sub, claims.username, role)
