"""The dev stack's emulator keeps DynamoDB's transaction rule without copying tables."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local.emulator_fixes import fast_transactions


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items)  # undone after
    fast_transactions()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-3")
        client.create_table(
            TableName="plain",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="ranged",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "k", "AttributeType": "S"},
                {"AttributeName": "r", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="plain", Item={"k": {"S": "a"}, "x": {"N": "1"}})
        client.put_item(TableName="ranged", Item={"k": {"S": "a"}, "r": {"S": "1"}, "x": {"N": "1"}})
        yield client


def _update(table: str, key: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET x = :two",
            "ExpressionAttributeValues": {":two": {"N": "2"}},
            **extra,
        }
    }


def _state(client: Any) -> tuple[Any, ...]:
    return (
        client.get_item(TableName="plain", Key={"k": {"S": "a"}}).get("Item"),
        client.get_item(TableName="plain", Key={"k": {"S": "b"}}).get("Item"),
        client.get_item(TableName="ranged", Key={"k": {"S": "a"}, "r": {"S": "1"}}).get("Item"),
        client.get_item(TableName="ranged", Key={"k": {"S": "a"}, "r": {"S": "2"}}).get("Item"),
    )


def test_a_refused_condition_changes_nothing(dynamodb: Any) -> None:
    before = _state(dynamodb)
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _update("plain", {"k": {"S": "a"}}),
                _update("ranged", {"k": {"S": "a"}, "r": {"S": "1"}}),
                {"Put": {"TableName": "plain", "Item": {"k": {"S": "b"}}}},
                {"Put": {"TableName": "ranged", "Item": {"k": {"S": "a"}, "r": {"S": "2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "plain",
                        "Key": {"k": {"S": "c"}},
                        "ConditionExpression": "attribute_exists(k)",
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _state(dynamodb) == before


def test_a_failure_after_writes_puts_the_written_items_back(dynamodb: Any) -> None:
    before = _state(dynamodb)
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "plain", "Item": {"k": {"S": "b"}}}},
                _update("plain", {"k": {"S": "a"}}),
                _update("plain", {"k": {"S": "b"}}),  # the same item twice: refused as a whole
            ]
        )
    assert _state(dynamodb) == before


def test_a_good_transaction_applies_and_tables_still_copy_afterwards(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            _update("plain", {"k": {"S": "a"}}),
            {"Put": {"TableName": "ranged", "Item": {"k": {"S": "a"}, "r": {"S": "2"}}}},
        ]
    )
    plain_a, _, _, ranged_a2 = _state(dynamodb)
    assert plain_a["x"] == {"N": "2"} and ranged_a2 is not None
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"].tables["plain"]
    assert copy.deepcopy(table) is not table  # the switch is on only inside a transaction
