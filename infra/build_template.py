"""Writes infra/resources.json, the template merged by `chalice package --merge-template`.

Generated (and committed) so the seven tables stay in step with the PynamoDB models:
tests check the committed file against this generator. Run it after changing a model:
`.venv/bin/python -m infra.build_template`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "resources.json"

# logical id, table suffix, key schema, TTL?, expiry index?
TABLES: list[tuple[str, str, list[tuple[str, str, str]], bool, bool]] = [
    ("AccountsTable", "accounts", [("account_id", "S", "HASH")], False, False),
    ("ClaimsTable", "claims", [("claim_key", "S", "HASH")], False, False),
    ("FlowsTable", "flows", [("flow_id", "S", "HASH")], True, True),
    ("SessionsTable", "sessions", [("session_id", "S", "HASH")], True, True),
    ("CountersTable", "counters", [("counter_key", "S", "HASH")], True, True),
    ("SuppressionsTable", "suppressions", [("destination_key", "S", "HASH")], False, False),
    ("AuditTable", "audit", [("subject", "S", "HASH"), ("event_key", "S", "RANGE")], True, False),
]
FUNCTIONS = ("APIHandler", "Cleanup", "SesFeedback")
LIVE_ALIAS = "live"
STAFF_GROUPS = {
    "agent": "Call-center agents: search, view, change contact data, unlock, read the audit trail",
    "supervisor": "Supervisors: everything an agent does, plus account and authenticator resets",
}


# Shared with the local stage's emulated pool (local/staff_pool.py).
STAFF_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": 14,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 1,
}


def _staff_pool() -> dict[str, Any]:
    """The stage's staff identity: admin-created users, MFA required (TOTP), strong
    passwords, threat protection, and a console client without a secret."""
    pool: dict[str, Any] = {
        "Type": "AWS::Cognito::UserPool",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "UserPoolName": {"Fn::Sub": "${AWS::StackName}-staff"},
            "UserPoolTier": "PLUS",  # threat protection (formerly advanced security) needs Plus
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
            "MfaConfiguration": "ON",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]},
            "Policies": {"PasswordPolicy": {**STAFF_PASSWORD_POLICY, "PasswordHistorySize": 12}},
            "UsernameConfiguration": {"CaseSensitive": False},
            "DeletionProtection": "ACTIVE",
        },
    }
    client = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "UserPoolId": {"Ref": "StaffUserPool"},
            "ClientName": "console",
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "AccessTokenValidity": 15,
            "IdTokenValidity": 15,
            "RefreshTokenValidity": 10,
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"},
        },
    }
    resources = {"StaffUserPool": pool, "StaffUserPoolClient": client}
    for name, description in STAFF_GROUPS.items():
        resources[f"Staff{name.title()}Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"UserPoolId": {"Ref": "StaffUserPool"}, "GroupName": name, "Description": description},
        }
    return resources


def _event_key() -> dict[str, Any]:
    """The KMS key of the event topics: the account administers it, SES may encrypt what
    it publishes (for this account only), SNS may use it for its own delivery."""
    account_root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    key = {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": {"Fn::Sub": "${AWS::StackName}: SES and SMS event topics"},
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": account_root},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "SesPublishesEvents",
                        "Effect": "Allow",
                        "Principal": {"Service": "ses.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    },
                    {
                        "Sid": "SnsDeliversEvents",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    },
                ],
            },
        },
    }
    alias = {
        "Type": "AWS::KMS::Alias",
        "Properties": {
            "AliasName": {"Fn::Sub": "alias/${AWS::StackName}-events"},
            "TargetKeyId": {"Ref": "EventTopicKey"},
        },
    }
    return {"EventTopicKey": key, "EventTopicKeyAlias": alias}


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"application/json": json.dumps({"error": {"code": code, "message": message}})}


def _table(suffix: str, keys: list[tuple[str, str, str]], ttl: bool, expiry_index: bool) -> dict[str, Any]:
    attributes = [{"AttributeName": name, "AttributeType": kind} for name, kind, _ in keys]
    props: dict[str, Any] = {
        "TableName": {"Fn::Sub": "${AWS::StackName}-" + suffix},
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": attributes,
        "KeySchema": [{"AttributeName": name, "KeyType": role} for name, _, role in keys],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": True,
    }
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": "expires_at", "Enabled": True}
    if expiry_index:
        attributes.append({"AttributeName": "expiry_bucket", "AttributeType": "S"})
        props["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by_expiry",
                "KeySchema": [{"AttributeName": "expiry_bucket", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    if suffix == "sessions":  # the devices list: an account's sessions, newest first
        attributes += [
            {"AttributeName": "account_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "N"},
        ]
        props["GlobalSecondaryIndexes"].append(
            {
                "IndexName": "by_account",
                "KeySchema": [
                    {"AttributeName": "account_id", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["device", "last_used_at", "revoked", "epoch", "expires_at"],
                },
            }
        )
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }


def _gateway_response(kind: str, status: str, code: str, message: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "ResponseType": kind,
            "StatusCode": status,
            "ResponseTemplates": _error_body(code, message),
        },
    }


def build() -> dict[str, Any]:
    """The merge template."""
    resources: dict[str, Any] = {
        logical: _table(suffix, keys, ttl, index) for logical, suffix, keys, ttl, index in TABLES
    }
    resources.update(_event_key())
    resources["SesFeedbackTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": {"Fn::Sub": "${AWS::StackName}-ses-feedback"},
            # A customer managed key: SES cannot publish to a topic under alias/aws/sns.
            "KmsMasterKeyId": {"Ref": "EventTopicKey"},
        },
    }
    # API Gateway's own answers, in the contract's shape (English: no request language here).
    resources["NotFoundResponse"] = _gateway_response(
        "MISSING_AUTHENTICATION_TOKEN", "404", "not_found", "The requested resource was not found."
    )
    resources["UnauthorizedResponse"] = _gateway_response(
        "UNAUTHORIZED", "401", "unauthenticated", "Your session is invalid or has ended. Please sign in again."
    )
    resources["AccessDeniedResponse"] = _gateway_response(
        "ACCESS_DENIED", "403", "forbidden", "You are not allowed to do this."
    )
    resources["ThrottledResponse"] = _gateway_response(
        "THROTTLED", "429", "rate_limited", "Too many requests. Please try again later."
    )
    resources["Default5xxResponse"] = _gateway_response(
        "DEFAULT_5XX", "500", "internal_error", "Something went wrong. Please try again later."
    )
    resources.update(_staff_pool())
    for function in FUNCTIONS:
        # Table names follow the stack name (deploy stage X as stack "sandi-X").
        variables: dict[str, Any] = {"SANDI_TABLE_PREFIX": {"Fn::Sub": "${AWS::StackName}-"}}
        if function == "APIHandler":
            variables["SANDI_STAFF_POOL_ID"] = {"Ref": "StaffUserPool"}
            variables["SANDI_STAFF_CLIENT_ID"] = {"Ref": "StaffUserPoolClient"}
        resources[function] = {
            "Properties": {
                "Environment": {"Variables": variables},
                # SnapStart restores a snapshot of the primed init (chalicelib/warm.py) for
                # every new container; it applies to published versions, which the alias
                # points at (API Gateway, the schedule and the topic invoke the alias).
                "SnapStart": {"ApplyOn": "PublishedVersions"},
                "AutoPublishAlias": LIVE_ALIAS,
            }
        }
    # API Gateway's Cognito authorizer (declared by app.py) checks tokens of this pool.
    resources["RestAPI"] = {
        "Properties": {
            "DefinitionBody": {
                "securityDefinitions": {
                    "StaffPool": {
                        "x-amazon-apigateway-authorizer": {
                            "type": "cognito_user_pools",
                            "providerARNs": [{"Fn::GetAtt": ["StaffUserPool", "Arn"]}],
                        }
                    }
                }
            }
        }
    }
    return {"Resources": resources}


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
