"""What each Lambda function calls in AWS: the one list the roles are built from.

``infra/build_template.py`` turns this table into one IAM role per function, every
resource named from the stack (table ARNs by ``Fn::GetAtt``), so the policies and the
tables cannot disagree. ``tests/test_permissions.py`` records the calls the functions
really make (against the emulator, through every kind of request) and checks each one
is listed here; ``tests/test_package.py`` checks the packaged roles grant exactly this.

DynamoDB transactions need the item actions of each item (``TransactWriteItems`` with a
Put needs ``dynamodb:PutItem`` on that table); a Query of an index needs the index ARN.
"""

from __future__ import annotations

# logical table -> DynamoDB actions, per function; "table/index" names an index
Tables = dict[str, tuple[str, ...]]

API_TABLES: Tables = {
    "accounts": ("GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"),
    "claims": ("GetItem", "PutItem", "DeleteItem", "ConditionCheckItem"),
    "flows": ("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
    "flows/by_queue": ("Query",),  # contact changes awaiting approval
    "sessions": ("GetItem", "PutItem", "UpdateItem"),
    "sessions/by_account": ("Query",),
    "counters": ("GetItem", "PutItem", "UpdateItem"),
    "suppressions": ("GetItem", "ConditionCheckItem"),
    "audit": ("PutItem", "Query"),  # append only (each put asserts a new key); the export reads
    "passkeys": ("GetItem", "PutItem", "UpdateItem", "DeleteItem"),  # sign-in, add, remove, erasure
    "outbox": ("PutItem",),  # a message (or an erasure's scrub), in the transaction of the change it reports
}
CLEANUP_TABLES: Tables = {
    "flows": ("DeleteItem",),
    "flows/by_expiry": ("Query",),
    "sessions": ("DeleteItem",),
    "sessions/by_expiry": ("Query",),
    "counters": ("DeleteItem",),
    "counters/by_expiry": ("Query",),
}
RECEIPT_TABLES: Tables = {
    "counters": ("GetItem", "UpdateItem"),  # the receipt item; a failed send's cap events given back
    "flows": ("UpdateItem",),  # the challenge moves forward
}

# function -> (tables, other services' actions)
CALLS: dict[str, tuple[Tables, tuple[str, ...]]] = {
    "APIHandler": (
        API_TABLES,
        ("ses:SendEmail", "sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut", "ssm:GetParameter"),
    ),
    "Cleanup": (CLEANUP_TABLES, ("ssm:GetParameter",)),
    "SesFeedback": ({**RECEIPT_TABLES, "suppressions": ("PutItem",)}, ("ssm:GetParameter",)),
    "SmsReceipts": (RECEIPT_TABLES, ("ssm:GetParameter",)),
    # the claim and the outcome of each message; reading the stream is granted apart
    # and the erasure's scrub of an account's audit events (``details`` only: AUDIT_SCRUB)
    "OutboxSender": (
        {"outbox": ("UpdateItem",), "audit": ("Query", "UpdateItem")},
        ("ses:SendEmail", "sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut", "ssm:GetParameter"),
    ),
}


# An UpdateItem on the audit table may touch the event's key and ``details`` only (the
# scrub); IAM's dynamodb:Attributes condition enforces it, so no role can rewrite what
# happened, when, by whom or from where. (PutItem cannot be conditioned on a condition
# expression in IAM: see docs/decisions.md for what guards an overwrite.)
AUDIT_SCRUB_ATTRIBUTES = ("subject", "event_key", "details")


def granted(function: str) -> set[str]:
    """``service:Action:resource`` strings of one function (resource: table[/index] or ``*``)."""
    tables, others = CALLS[function]
    found = {f"dynamodb:{action}:{table}" for table, actions in tables.items() for action in actions}
    return found | {f"{call}:*" for call in others}
