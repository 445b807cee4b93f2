"""Writes infra/resources.json, the template merged by `chalice package --merge-template`.

Generated (and committed) so the seven tables stay in step with the PynamoDB models:
tests check the committed file against this generator. Run it after changing a model:
`.venv/bin/python -m infra.build_template`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.permissions import AUDIT_SCRUB_ATTRIBUTES, CALLS

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
    ("OutboxTable", "outbox", [("message_id", "S", "HASH")], True, False),
    ("PasskeysTable", "passkeys", [("credential_id", "S", "HASH")], False, False),
]
FUNCTIONS = ("APIHandler", "Cleanup", "SesFeedback", "SmsReceipts", "OutboxSender")
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


# The console signs in with USER_PASSWORD_AUTH (over TLS, to Cognito only); the local
# pool allows the same list, and a test checks every flow console.js starts is here.
STAFF_AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
STAFF_INVITATION = {
    "EmailSubject": "Sandi call-center console: your account",
    "EmailMessage": "Your user name is {username} and your temporary password is {####}. "
    "Sign in at the console, choose your own password and add an authenticator app.",
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
            # Invitations go by email: the pool has no SMS role (README: --desired-delivery-mediums EMAIL).
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "InviteMessageTemplate": STAFF_INVITATION},
            "AutoVerifiedAttributes": ["email"],
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
            "ExplicitAuthFlows": STAFF_AUTH_FLOWS,
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


def _service_may_use_key(sid: str, service: str) -> dict[str, Any]:
    """A key-policy statement: one AWS service may encrypt and decrypt with the key, for
    this account only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }


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
                    _service_may_use_key("SesPublishesEvents", "ses.amazonaws.com"),
                    _service_may_use_key("CloudWatchPublishesAlarms", "cloudwatch.amazonaws.com"),
                    _service_may_use_key("SnsDeliversEvents", "sns.amazonaws.com"),
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


SMS_LOG_GROUPS = {
    "SmsDeliveryLogs": "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber",
    "SmsFailureLogs": "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure",
}
OWNS_ACCOUNT_SETTINGS = "OwnsAccountSettings"  # this stack creates the account-wide singletons
HAS_CUSTOM_DOMAIN = "HasCustomDomain"
LOG_GROUP_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
EMAIL_EVENTS = ["delivery", "bounce", "complaint", "reject", "deliveryDelay"]


def _assumed_by(service: str, same_account: bool = False) -> dict[str, Any]:
    """A trust policy letting one AWS service assume the role (for this account only)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if same_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _delivery_receipts() -> dict[str, Any]:
    """Email: SES sends through a configuration set whose SNS destination is the feedback
    topic. SMS: SNS's delivery status logs (enabled per account: README) are subscribed to
    the ``sms_receipts`` function."""
    resources: dict[str, Any] = {
        "EmailEvents": {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-events"}},
        },
        "EmailEventsToTopic": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "EmailEvents"},
                "EventDestination": {
                    "Name": "receipts",
                    "Enabled": True,
                    "MatchingEventTypes": EMAIL_EVENTS,
                    "SnsDestination": {"TopicARN": {"Ref": "SesFeedbackTopic"}},
                },
            },
        },
        "SesFeedbackTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "SesFeedbackTopic"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesPublishesEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": "SesFeedbackTopic"},
                            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
            },
        },
        # SNS writes SMS delivery statuses with this role (set once per account and region:
        # `aws sns set-sms-attributes`, README's first-deploy checklist).
        "SmsDeliveryStatusRole": {
            "Type": "AWS::IAM::Role",
            "Condition": OWNS_ACCOUNT_SETTINGS,
            "Properties": {
                "AssumeRolePolicyDocument": _assumed_by("sns.amazonaws.com", same_account=True),
                "Policies": [
                    {
                        "PolicyName": "sms-delivery-status-logs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    # SNS creates the group when it is missing (it checks first)
                                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": [
                                        {"Fn::Sub": LOG_GROUP_ARN + g + suffix}
                                        for g in SMS_LOG_GROUPS.values()
                                        for suffix in ("", ":*")
                                    ],
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "SmsReceiptsInvokedByLogs": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": f"SmsReceiptsAlias{LIVE_ALIAS}"},  # the SnapStart version
                "Action": "lambda:InvokeFunction",
                "Principal": "logs.amazonaws.com",
                "SourceAccount": {"Ref": "AWS::AccountId"},
            },
        },
    }
    for logical, name in SMS_LOG_GROUPS.items():
        # One pair of groups per account and region (SNS names them): the first stack in
        # an account creates them, a second one (AccountSettings=existing) subscribes to them.
        resources[logical] = {
            "Type": "AWS::Logs::LogGroup",
            "Condition": OWNS_ACCOUNT_SETTINGS,
            "Properties": {"LogGroupName": {"Fn::Sub": name}, "RetentionInDays": 30},
            "Metadata": {"checkov": {"skip": [LOG_KMS_SKIP]}},
        }
        resources[logical + "ToReceipts"] = {
            "Type": "AWS::Logs::SubscriptionFilter",
            "DependsOn": "SmsReceiptsInvokedByLogs",
            "Properties": {
                "LogGroupName": {"Fn::If": [OWNS_ACCOUNT_SETTINGS, {"Ref": logical}, {"Fn::Sub": name}]},
                "FilterPattern": "",
                "DestinationArn": {"Ref": f"SmsReceiptsAlias{LIVE_ALIAS}"},
            },
        }
    return resources


ACCESS_LOG_FORMAT = {  # the route's template, never the path (flow and account ids stay out)
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "waf": "$context.wafResponseCode",
    "time": "$context.requestTime",
}
API_NAME = {"Fn::Sub": "${AWS::StackName}"}  # the REST API's name: one per stack, so alarms never mix stages
STAGE = {"Ref": "Stage"}  # the metrics' stage dimension (chalicelib/metrics.py), set by `make package`


def _metric(namespace: str, name: str, stat: str, period: int, **dims: Any) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        },
        "Period": period,
        "Stat": stat,
    }


def _alarm(description: str, threshold: float, queries: list[dict[str, Any]], periods: int = 1) -> dict[str, Any]:
    """An alarm on the last of ``queries`` (metric math over the others), to the ops topic."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": threshold,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "TreatMissingData": "notBreaching",
            "Metrics": queries,
            "AlarmActions": [{"Ref": "OpsAlarmTopic"}],
            "OKActions": [{"Ref": "OpsAlarmTopic"}],
        },
    }


def _q(query_id: str, stat: dict[str, Any] | None = None, expression: str | Any = None) -> dict[str, Any]:
    if expression is not None:
        return {"Id": query_id, "Expression": expression, "ReturnData": True}
    return {"Id": query_id, "MetricStat": stat, "ReturnData": False}


def _operations() -> dict[str, Any]:
    """Alarms (each with a runbook line in the README) and the operators' dashboard."""
    sandi = "Sandi"
    # One alarm per kind, over every table (an alarm reads at most 10 metrics).
    throttles = {
        kind: [
            _q(f"t{i}", _metric("AWS/DynamoDB", kind, "Sum", 300, TableName={"Ref": table}))
            for i, (table, *_) in enumerate(TABLES)
        ]
        for kind in ("ReadThrottleEvents", "WriteThrottleEvents")
    }
    resources: dict[str, Any] = {
        "OpsAlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": {"Fn::Sub": "${AWS::StackName}-alarms"},
                "KmsMasterKeyId": {"Ref": "EventTopicKey"},
            },
        },
        "SmsFailureRateAlarm": _alarm(
            "More than 20% of SMS codes failed in 15 minutes (at least 20 sent): carrier outage or number "
            "pumping. Runbook: README, Alarms.",
            0.2,
            [
                _q("failed", _metric(sandi, "DeliveryFailed", "Sum", 900, channel="sms", stage=STAGE)),
                _q("sent", _metric(sandi, "CodesSent", "Sum", 900, channel="sms", stage=STAGE)),
                _q("rate", expression="IF(sent >= 20, failed / sent, 0)"),
            ],
        ),
        "SesBounceRateAlarm": _alarm(
            "SES bounce rate above 4% (SES reviews the account at 5%). Runbook: README, Alarms.",
            0.04,
            [
                _q("bounce", _metric("AWS/SES", "Reputation.BounceRate", "Maximum", 3600)),
                _q("rate", expression="bounce"),
            ],
        ),
        "SesComplaintRateAlarm": _alarm(
            "SES complaint rate above 0.08% (SES reviews the account at 0.1%). Runbook: README, Alarms.",
            0.0008,
            [
                _q("complaint", _metric("AWS/SES", "Reputation.ComplaintRate", "Maximum", 3600)),
                _q("rate", expression="complaint"),
            ],
        ),
        "SmsBudgetAlarm": _alarm(
            "80% of the month's SMS budget is spent. Runbook: README, Alarms.",
            0.8,
            [
                _q("spent", _metric("AWS/SNS", "SMSMonthToDateSpentUSD", "Maximum", 3600)),
                _q("share", expression={"Fn::Sub": "spent / ${SmsMonthlyBudgetUSD}"}),
            ],
        ),
        "Api5xxAlarm": _alarm(
            "More than 1% of API requests answered 5xx for 5 minutes. Runbook: README, Alarms.",
            0.01,
            [
                _q("errors", _metric("AWS/ApiGateway", "5XXError", "Average", 60, ApiName=API_NAME, Stage="api")),
                _q("rate", expression="errors"),
            ],
            periods=5,
        ),
        "DynamoReadThrottleAlarm": _alarm(
            "DynamoDB throttled reads on a table. Runbook: README, Alarms.",
            0,
            [*throttles["ReadThrottleEvents"], _q("throttled", expression="SUM(METRICS())")],
        ),
        "DynamoWriteThrottleAlarm": _alarm(
            "DynamoDB throttled writes on a table or its indexes. Runbook: README, Alarms.",
            0,
            [*throttles["WriteThrottleEvents"], _q("throttled", expression="SUM(METRICS())")],
        ),
        "OpsDashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
                "DashboardBody": {"Fn::Sub": json.dumps(_dashboard())},
            },
        },
    }
    return resources


def _dashboard() -> dict[str, Any]:
    def widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "stat": "Sum",
                "period": 300,
                "metrics": metrics,
            },
        }

    stage = "${Stage}"
    per_channel = lambda name: [["Sandi", name, "channel", c, "stage", stage] for c in ("email", "sms")]  # noqa: E731
    reasons = [
        ["Sandi", "DeliveryFailed", "reason", r, "stage", stage]
        for r in ("unreachable", "rejected", "bounced", "expired", "unknown")
    ]
    return {
        "widgets": [
            widget("Codes sent", per_channel("CodesSent"), 0, 0),
            widget("Delivered / failed", per_channel("Delivered") + per_channel("DeliveryFailed"), 12, 0),
            widget("Failures by reason", reasons, 0, 6),
            widget(
                "Verified, wrong, locked",
                [["Sandi", n, "stage", stage] for n in ("CodesVerified", "CodesWrong", "CodesLocked", "CodesExpired")],
                12,
                6,
            ),
            widget(
                "Suppressed and rate-limited",
                [["Sandi", n, "stage", stage] for n in ("Suppressed", "RateLimited")],
                0,
                12,
            ),
            widget(
                "Outbox: notices and forgot-email SMS",
                [
                    ["Sandi", n, "channel", c, "stage", stage]
                    for n in ("OutboxSent", "OutboxFailed")
                    for c in ("email", "sms")
                ],
                12,
                24,
            ),
            widget(
                "Sign-ins and lockouts",
                [
                    ["Sandi", n, "stage", stage]
                    for n in ("SignIns", "SignInFailures", "Lockouts", "PasskeysAdded", "PasskeyCloneSuspected")
                ],
                12,
                12,
            ),
            widget(
                "API 5xx and DynamoDB throttles",
                [["AWS/ApiGateway", "5XXError", "ApiName", "${AWS::StackName}", "Stage", "api"]]
                + [
                    ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", "${AWS::StackName}-" + t]
                    for t in ("flows", "counters", "accounts")
                ],
                0,
                18,
            ),
        ]
    }


ROLES = {
    "APIHandler": "ApiHandlerRole",
    "Cleanup": "CleanupRole",
    "SesFeedback": "SesFeedbackRole",
    "SmsReceipts": "SmsReceiptsRole",
    "OutboxSender": "OutboxSenderRole",
}
TABLE_LOGICAL = {suffix: logical for logical, suffix, *_ in TABLES}
SECRET_PARAMETER = "/${AWS::StackName}/secret-key"  # the stage secret: named from the stack too
ACCOUNT_ARN = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"


def _table_arn(name: str) -> Any:
    table, _, index = name.partition("/")
    logical = TABLE_LOGICAL[table]
    return {"Fn::Sub": "${" + logical + ".Arn}/index/" + index} if index else {"Fn::GetAtt": [logical, "Arn"]}


def _service_resources(call: str) -> Any:
    """The narrowest resource each non-DynamoDB call allows."""
    if call == "ses:SendEmail":  # from this account's identities, through this stack's configuration set
        return [
            {"Fn::Sub": ACCOUNT_ARN % ("ses", "identity/*")},
            {"Fn::Sub": ACCOUNT_ARN % ("ses", "configuration-set/${EmailEvents}")},
        ]
    if call == "ssm:GetParameter":
        return {"Fn::Sub": ACCOUNT_ARN % ("ssm", "parameter" + SECRET_PARAMETER)}
    return "*"  # sns:Publish to a phone number and the opt-out check have no resource ARN


def _role(function: str) -> dict[str, Any]:
    """One function's role: exactly its calls (chalicelib/permissions.py), its own logs,
    and its dead-letter queue when it is invoked asynchronously."""
    tables, others = CALLS[function]
    statements: list[dict[str, Any]] = []
    for name, actions in tables.items():
        sid = "Table" + "".join(part.title() for part in name.replace("/", "_").split("_"))
        if name == "audit" and "UpdateItem" in actions:
            # the erasure's scrub: details only, never what happened, when, by whom or from where
            statements.append(
                {
                    "Sid": sid + "Scrub",
                    "Effect": "Allow",
                    "Action": ["dynamodb:UpdateItem"],
                    "Resource": _table_arn(name),
                    "Condition": {
                        "ForAllValues:StringEquals": {"dynamodb:Attributes": list(AUDIT_SCRUB_ATTRIBUTES)},
                        "StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE", "UPDATED_NEW"]},
                    },
                }
            )
            actions = tuple(a for a in actions if a != "UpdateItem")
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": [f"dynamodb:{a}" for a in actions],
                "Resource": _table_arn(name),
            }
        )
    for call in others:
        statements.append(
            {
                "Sid": call.replace(":", "").title().replace("-", ""),
                "Effect": "Allow",
                "Action": [call],
                "Resource": _service_resources(call),
            }
        )
    statements.append(
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {
                "Fn::Sub": ACCOUNT_ARN % ("logs", "log-group:/aws/lambda/${AWS::StackName}-" + function + "-*")
            },
        }
    )
    if function == "OutboxSender":
        # Lambda's event source mapping reads the outbox table's stream with this role, and
        # hands a record it gave up on to the dead-letter queue (its on-failure destination).
        statements.append(
            {
                "Sid": "OutboxStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": {"Fn::GetAtt": ["OutboxTable", "StreamArn"]},
            }
        )
    if function in ASYNC_FUNCTIONS or function == "OutboxSender":
        statements.append(
            {
                "Sid": "DeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": ["AsyncFailures", "Arn"]},
            }
        )
    role: dict[str, Any] = {
        "Properties": {
            "Policies": [
                {
                    "PolicyName": f"{function}-calls",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ]
        }
    }
    if function in ("APIHandler", "OutboxSender"):
        role["Metadata"] = {
            "checkov": {
                "skip": [
                    {
                        "id": "CKV_AWS_111",
                        "comment": "sns:Publish to a phone number and the SMS opt-out check have no resource ARN",
                    }
                ]
            }
        }
    return role


ASYNC_FUNCTIONS = ("Cleanup", "SesFeedback", "SmsReceipts")

# Scanner findings that stay, each with its reason (docs/decisions.md has the table).
FUNCTION_SKIPS = [
    {
        "id": "CKV_AWS_117",
        "comment": "No VPC: the functions reach only AWS APIs over TLS; a VPC adds NAT cost and cold-start time",
    },
    {
        "id": "CKV_AWS_173",
        "comment": "Environment variables hold names and ids only; the secret is in SSM, read at run time",
    },
]
SYNC_DLQ_SKIP = {
    "id": "CKV_AWS_116",
    "comment": "Invoked synchronously by API Gateway: a dead-letter queue never applies",
}
STREAM_DLQ_SKIP = {
    "id": "CKV_AWS_116",
    "comment": "Invoked by its stream's event source mapping, whose on-failure destination is the DLQ",
}
LOG_KMS_SKIP = {
    "id": "CKV_AWS_158",
    "comment": "CloudWatch Logs encrypts at rest; no personal data is logged (tests/test_logs.py); retention bounds it",
}
TABLE_KMS_SKIP = {
    "id": "CKV_AWS_119",
    "comment": "Encrypted with the AWS owned key; secrets and NIKs are stored as keyed hashes or sealed by the app",
}


def _guard_rails() -> dict[str, Any]:
    """WAF in front of the API stage, API Gateway access logs, a dead-letter queue for the
    asynchronous functions, and their alarms. Stage values (rates, retention) are set per
    stage by `make package` from infra/stages.json."""
    rules: list[dict[str, Any]] = [
        {
            "Name": "RatePerClientIp",
            "Priority": 0,
            # the contract's 429, with Retry-After (the window is 5 minutes)
            "Action": {
                "Block": {
                    "CustomResponse": {
                        "ResponseCode": 429,
                        "CustomResponseBodyKey": "rate_limited",
                        "ResponseHeaders": [{"Name": "Retry-After", "Value": "300"}],
                    }
                }
            },
            "Statement": {"RateBasedStatement": {"Limit": 300, "AggregateKeyType": "IP"}},
            "VisibilityConfig": _visibility("RatePerClientIp"),
        }
    ]
    for priority, group in enumerate(
        (
            "AWSManagedRulesAmazonIpReputationList",
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
        ),
        start=1,
    ):
        rules.append(
            {
                "Name": group,
                "Priority": priority,
                "OverrideAction": {"None": {}},
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
                "VisibilityConfig": _visibility(group),
            }
        )
    return {
        "ApiFirewall": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": {"Fn::Sub": "${AWS::StackName}-api"},
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "CustomResponseBodies": {
                    "rate_limited": {
                        "ContentType": "APPLICATION_JSON",
                        "Content": _error_json("rate_limited", "Too many requests. Please try again later."),
                    }
                },
                "Rules": rules,
                "VisibilityConfig": _visibility("api"),
            },
        },
        "ApiFirewallOnStage": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "DependsOn": "RestAPIapiStage",
            "Properties": {
                "ResourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/api"
                },
                "WebACLArn": {"Fn::GetAtt": ["ApiFirewall", "Arn"]},
            },
        },
        "ApiAccessLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": 30,
            },
            "Metadata": {"checkov": {"skip": [LOG_KMS_SKIP]}},
        },
        "AsyncFailures": {
            "Type": "AWS::SQS::Queue",
            # the AWS managed SQS key: usable by this account's roles through SQS, no grant needed
            "Properties": {"MessageRetentionPeriod": 1209600, "KmsMasterKeyId": "alias/aws/sqs"},
        },
        # API Gateway writes access logs with this role (an account-wide setting: README).
        "ApiGatewayLogsRole": {
            "Type": "AWS::IAM::Role",
            "Condition": OWNS_ACCOUNT_SETTINGS,
            "Properties": {
                "AssumeRolePolicyDocument": _assumed_by("apigateway.amazonaws.com"),
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        + "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Condition": OWNS_ACCOUNT_SETTINGS,
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}},
        },
        # The stage's access logs need the account's logging role first; a DependsOn on a
        # conditional resource is not allowed, so the API depends on this handle, which
        # names the account setting only where this stack creates it.
        "ApiGatewayAccountReady": {
            "Type": "AWS::CloudFormation::WaitConditionHandle",
            "Metadata": {"After": {"Fn::If": [OWNS_ACCOUNT_SETTINGS, {"Ref": "ApiGatewayAccount"}, ""]}},
        },
        "OutboxStream": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["OutboxTable", "StreamArn"]},
                "FunctionName": {"Ref": f"OutboxSenderAlias{LIVE_ALIAS}"},  # the SnapStart version
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 10,
                "MaximumBatchingWindowInSeconds": 0,  # a notice goes at once
                "ParallelizationFactor": 4,
                "MaximumRetryAttempts": 3,
                "MaximumRecordAgeInSeconds": 3600,
                "BisectBatchOnFunctionError": True,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                # only new messages: the sender's own updates do not come back to it
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["AsyncFailures", "Arn"]}}},
            },
        },
        "OutboxAgeAlarm": _alarm(
            "Outbox messages waited more than 60 s to be sent (the sender is failing or throttled): notices "
            "and forgot-email SMS are late. Runbook: README, Alarms.",
            60_000,
            [
                _q(
                    "age",
                    _metric(
                        "AWS/Lambda",
                        "IteratorAge",
                        "Maximum",
                        60,
                        FunctionName={"Ref": "OutboxSender"},
                        Resource={"Fn::Sub": "${OutboxSender}:" + LIVE_ALIAS},
                    ),
                ),
                _q("waited", expression="age"),
            ],
            periods=3,
        ),
        "AsyncFailuresAlarm": _alarm(
            "An asynchronous invocation (cleanup, SES or SMS receipts) or an outbox message failed after "
            "Lambda's retries. "
            "Runbook: README, Alarms.",
            0,
            [
                _q(
                    "dead",
                    _metric(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "Maximum",
                        300,
                        QueueName={"Fn::GetAtt": ["AsyncFailures", "QueueName"]},
                    ),
                ),
                _q("waiting", expression="dead"),
            ],
        ),
        "WafBlocksAlarm": _alarm(
            "The firewall blocked more than 500 requests in 5 minutes (credential spraying, SMS pumping or a "
            "misbehaving client). Runbook: README, Alarms.",
            500,
            [
                _q(
                    "blocked",
                    _metric(
                        "AWS/WAFV2",
                        "BlockedRequests",
                        "Sum",
                        300,
                        WebACL={"Fn::Sub": "${AWS::StackName}-api"},
                        Region={"Ref": "AWS::Region"},
                        Rule="ALL",
                    ),
                ),
                _q("count", expression="blocked"),
            ],
        ),
    }


def _visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def _error_json(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


# API Gateway's own answers, in the contract's shape (English: no request language here).
# Declared inside the API definition: as separate resources they race the deployment
# snapshot and the next deploy that changes the body drops them (cfn-lint W3660).
GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "The requested resource was not found."),
    "RESOURCE_NOT_FOUND": ("404", "not_found", "The requested resource was not found."),
    "UNAUTHORIZED": ("401", "unauthenticated", "Your session is invalid or has ended. Please sign in again."),
    "ACCESS_DENIED": ("403", "forbidden", "You are not allowed to do this."),
    "WAF_FILTERED": ("403", "forbidden", "You are not allowed to do this."),
    "THROTTLED": ("429", "rate_limited", "Too many requests. Please try again later."),
    "REQUEST_TOO_LARGE": ("400", "malformed_request", "The request is too large."),
    "DEFAULT_5XX": ("500", "internal_error", "Something went wrong. Please try again later."),
}


def _gateway_responses() -> dict[str, Any]:
    responses = {}
    for kind, (status, code, message) in GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {
            "statusCode": status,
            "responseTemplates": {"application/json": _error_json(code, message)},
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
        }
        if kind == "THROTTLED":
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = "'1'"
        responses[kind] = response
    return responses


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
        attributes += [
            {"AttributeName": "expiry_shard", "AttributeType": "S"},
            {"AttributeName": "expires_at", "AttributeType": "N"},
        ]
        props["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by_expiry",
                # a random shard per write (no hot key), then the expiry time: a cleanup
                # run asks each shard for what expired before now
                "KeySchema": [
                    {"AttributeName": "expiry_shard", "KeyType": "HASH"},
                    {"AttributeName": "expires_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    if suffix == "flows":  # sparse: the call center's contact changes awaiting a second person
        attributes += [
            {"AttributeName": "queue", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "N"},
        ]
        props["GlobalSecondaryIndexes"].append(
            {
                "IndexName": "by_queue",
                "KeySchema": [
                    {"AttributeName": "queue", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    if suffix == "outbox":  # each new message goes to the outbox sender
        props["StreamSpecification"] = {"StreamViewType": "NEW_IMAGE"}
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
                    "NonKeyAttributes": ["device", "last_used_at", "revoked", "epoch", "expires_at", "amr"],
                },
            }
        )
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
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
    resources.update(_staff_pool())
    resources.update(_delivery_receipts())
    resources.update(_operations())
    for function in FUNCTIONS:
        resources[ROLES[function]] = _role(function)
    for function in FUNCTIONS:
        # Table names follow the stack name (deploy stage X as stack "sandi-X").
        variables: dict[str, Any] = {
            "SANDI_TABLE_PREFIX": {"Fn::Sub": "${AWS::StackName}-"},
            "SANDI_SECRET_SSM_PARAM": {"Fn::Sub": SECRET_PARAMETER},
        }
        if function in ("APIHandler", "Cleanup", "OutboxSender"):
            variables["SANDI_SES_CONFIGURATION_SET"] = {"Ref": "EmailEvents"}
            # a deploy parameter, not the stage file: a placeholder SES can never verify
            # would fail every email (make preflight checks the domain is verified)
            variables["SANDI_SES_SENDER"] = {"Fn::Sub": "Sandi <${SenderAddress}>"}
        if function == "APIHandler":
            # passkeys: the custom domain is the relying party (its root serves /.well-known/)
            variables["SANDI_PASSKEY_RP_ID"] = {"Fn::If": [HAS_CUSTOM_DOMAIN, {"Ref": "DomainName"}, ""]}
            variables["SANDI_PASSKEY_ORIGINS"] = {
                "Fn::If": [HAS_CUSTOM_DOMAIN, {"Fn::Sub": "https://${DomainName}"}, ""]
            }
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
                # a change of configuration alone (an environment variable) publishes too
                "AutoPublishAliasAllProperties": True,
                **(
                    {"DeadLetterQueue": {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["AsyncFailures", "Arn"]}}}
                    if function in ASYNC_FUNCTIONS
                    else {}
                ),
            },
            "Metadata": {
                "checkov": {
                    "skip": FUNCTION_SKIPS
                    + (
                        []
                        if function in ASYNC_FUNCTIONS
                        else [STREAM_DLQ_SKIP if function == "OutboxSender" else SYNC_DLQ_SKIP]
                    )
                }
            },
        }
        resources[function + "LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${" + function + "}"}, "RetentionInDays": 30},
            "Metadata": {"checkov": {"skip": [LOG_KMS_SKIP]}},
        }
    resources.update(_guard_rails())
    for logical, *_ in TABLES:
        resources[logical]["Metadata"] = {"checkov": {"skip": [TABLE_KMS_SKIP]}}
    # API Gateway's Cognito authorizer (declared by app.py) checks tokens of this pool;
    # stage throttling, access logs and tracing (rates set per stage by `make package`).
    resources["RestAPI"] = {
        "DependsOn": ["ApiGatewayAccountReady"],
        "Metadata": {
            "checkov": {
                "skip": [
                    {"id": "CKV_AWS_120", "comment": "Answers are personal and per request: nothing may be cached"}
                ]
            }
        },
        "Properties": {
            "Name": API_NAME,
            # Without it SAM adds a second stage named "Stage" (no WAF, throttling or logs).
            "OpenApiVersion": "2.0",
            "EndpointConfiguration": "REGIONAL",  # TLS ends in the region; the WAF sees client addresses
            # With the custom domain (TLS 1.2 policy) the default endpoint is switched off.
            "DisableExecuteApiEndpoint": {"Fn::If": [HAS_CUSTOM_DOMAIN, True, False]},
            "TracingEnabled": True,
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": 100,
                    "ThrottlingBurstLimit": 200,
                    "MetricsEnabled": True,
                }
            ],
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]},
                "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
            },
            "DefinitionBody": {
                "x-amazon-apigateway-gateway-responses": _gateway_responses(),
                "securityDefinitions": {
                    "StaffPool": {
                        "x-amazon-apigateway-authorizer": {
                            "type": "cognito_user_pools",
                            "providerARNs": [{"Fn::GetAtt": ["StaffUserPool", "Arn"]}],
                        }
                    }
                },
            },
        },
    }
    resources.update(_custom_domain())
    return {
        "Parameters": PARAMETERS,
        "Conditions": {
            OWNS_ACCOUNT_SETTINGS: {"Fn::Equals": [{"Ref": "AccountSettings"}, "create"]},
            HAS_CUSTOM_DOMAIN: {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
        },
        "Resources": resources,
        "Outputs": _outputs(),
    }


PARAMETERS: dict[str, Any] = {
    "Stage": {
        "Type": "String",
        "AllowedValues": ["dev", "prod"],
        "Description": "The stage this package was built for (`make package` sets it): the metrics' dimension",
    },
    "SenderAddress": {
        "Type": "String",
        "AllowedPattern": r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$",
        "Description": "The address emails come from, in a domain verified in SES in this region",
    },
    "SmsMonthlyBudgetUSD": {
        "Type": "Number",
        "Default": 500,
        "MinValue": 1,
        "Description": "The SMS spend limit set in SNS for this account (USD per month); alarms at 80%",
    },
    "AccountSettings": {
        "Type": "String",
        "Default": "create",
        "AllowedValues": ["create", "existing"],
        "Description": "create: this stack owns the account-wide API Gateway logging role and the SNS SMS "
        "log groups (the first stage in an account and region); existing: another stack does",
    },
    "DomainName": {
        "Type": "String",
        "Default": "",
        "Description": "Optional custom domain (the passkeys' relying party, TLS 1.2); empty for none",
    },
    "CertificateArn": {
        "Type": "String",
        "Default": "",
        "Description": "ACM certificate for DomainName, in this region",
    },
}


def _custom_domain() -> dict[str, Any]:
    """The API at the root of the stage's own domain, TLS 1.2 only (REGIONAL endpoint)."""
    return {
        "ApiDomain": {
            "Type": "AWS::ApiGateway::DomainName",
            "Condition": HAS_CUSTOM_DOMAIN,
            "Properties": {
                "DomainName": {"Ref": "DomainName"},
                "RegionalCertificateArn": {"Ref": "CertificateArn"},
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
                "SecurityPolicy": "TLS_1_2",
            },
        },
        "ApiDomainRoot": {
            "Type": "AWS::ApiGateway::BasePathMapping",
            "Condition": HAS_CUSTOM_DOMAIN,
            "DependsOn": "RestAPIapiStage",
            "Properties": {"DomainName": {"Ref": "ApiDomain"}, "RestApiId": {"Ref": "RestAPI"}, "Stage": "api"},
        },
    }


def _outputs() -> dict[str, Any]:
    """What the README's checklist needs after the first deployment."""
    default_url = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
    return {
        "ApiUrl": {
            "Description": "Where the app and `make smoke URL=...` reach the API",
            "Value": {"Fn::If": [HAS_CUSTOM_DOMAIN, {"Fn::Sub": "https://${DomainName}/"}, {"Fn::Sub": default_url}]},
        },
        "CustomDomainTarget": {
            "Condition": HAS_CUSTOM_DOMAIN,
            "Description": "The DNS name the custom domain's CNAME (or alias) points at",
            "Value": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]},
        },
        "StaffUserPoolId": {"Value": {"Ref": "StaffUserPool"}},
        "StaffConsoleClientId": {"Value": {"Ref": "StaffUserPoolClient"}},
        "SmsDeliveryStatusRoleArn": {
            "Condition": OWNS_ACCOUNT_SETTINGS,
            "Description": "For `aws sns set-sms-attributes` (README, after the first deployment)",
            "Value": {"Fn::GetAtt": ["SmsDeliveryStatusRole", "Arn"]},
        },
        "SesFeedbackTopicArn": {"Value": {"Ref": "SesFeedbackTopic"}},
        "EmailConfigurationSet": {"Value": {"Ref": "EmailEvents"}},
        "OpsAlarmTopicArn": {"Description": "Subscribe the on-call here", "Value": {"Ref": "OpsAlarmTopic"}},
        "SecretParameterName": {"Value": {"Fn::Sub": SECRET_PARAMETER}},
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
