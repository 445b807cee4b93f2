"""The staff user pool of the local stage, in the emulator (moto's cognito-idp).

A deployed stage gets its pool from the template (``infra/build_template.py``); the
local stack creates the same shape here: groups ``agent`` and ``supervisor``, MFA
required, admin-created users only, and a console app client without a secret.
``make staff-token`` and the tests sign staff users in through it for real.
"""

from __future__ import annotations

from typing import Any

from infra.build_template import STAFF_AUTH_FLOWS, STAFF_PASSWORD_POLICY

GROUPS = ("agent", "supervisor")
LOCAL_PASSWORD = "Sandi-Staff-Lokal-1!"  # the local stage only: documented in the README


def pool_name(stage: str) -> str:
    """The pool's name in a stage."""
    return f"sandi-{stage}-staff"


def ensure_pool(cognito: Any, stage: str) -> tuple[str, str]:
    """(pool id, console client id), creating the pool, its groups and client if needed."""
    name = pool_name(stage)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=name,
            MfaConfiguration="ON",
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            Policies={"PasswordPolicy": STAFF_PASSWORD_POLICY},
        )["UserPool"]["Id"]
        for group in GROUPS:
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == "console"), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="console",
            GenerateSecret=False,
            ExplicitAuthFlows=STAFF_AUTH_FLOWS,  # the deployed client's list
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def ensure_user(cognito: Any, pool_id: str, username: str, role: str, password: str = LOCAL_PASSWORD) -> None:
    """The staff user, with a permanent password, in exactly the group ``role``."""
    if role not in GROUPS:
        raise ValueError(f"role must be one of {GROUPS}")
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=username, TemporaryPassword=password + "t", MessageAction="SUPPRESS"
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    for group in GROUPS:
        if group == role:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
        else:
            cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=username, GroupName=group)


def sign_in(cognito: Any, client_id: str, username: str, password: str = LOCAL_PASSWORD) -> str:
    """A real sign-in against the pool (USER_PASSWORD_AUTH): the access token."""
    answer = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )
    if "AuthenticationResult" not in answer:
        raise RuntimeError(f"the pool asked for {answer.get('ChallengeName')}")
    return str(answer["AuthenticationResult"]["AccessToken"])


def staff_token(cognito: Any, stage: str, username: str, role: str) -> str:
    """Create (or regroup) a staff user and sign them in: the bearer token for admin routes."""
    pool_id, client_id = ensure_pool(cognito, stage)
    ensure_user(cognito, pool_id, username, role)
    return sign_in(cognito, client_id, username)
