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
FUNCTIONS = ("APIHandler", "StaffAuthorizer", "Cleanup", "SesFeedback")


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
    resources["SesFeedbackTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": {"Fn::Sub": "${AWS::StackName}-ses-feedback"},
            "KmsMasterKeyId": "alias/aws/sns",
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
    for function in FUNCTIONS:
        # Table names follow the stack name (deploy stage X as stack "sandi-X").
        resources[function] = {
            "Properties": {"Environment": {"Variables": {"SANDI_TABLE_PREFIX": {"Fn::Sub": "${AWS::StackName}-"}}}}
        }
    return {"Resources": resources}


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
