"""A DynamoDB table's stream as Lambda's event source mapping reads it: new records in
order, handed to a handler as the event Lambda would give it. The dev stack and the
tests use it to run the outbox sender the way AWS does (moto keeps the stream)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StreamTail:
    """The records a table's stream holds beyond those already read."""

    def __init__(self, dynamodb: Any, streams: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._table = table_name
        self._after: dict[str, str] = {}  # shard -> the last sequence number read

    def new_records(self) -> list[dict[str, Any]]:
        """Every record not read yet, oldest first."""
        try:
            arn = self._dynamodb.describe_table(TableName=self._table)["Table"].get("LatestStreamArn")
        except self._dynamodb.exceptions.ResourceNotFoundException:
            return []  # no table (yet, or a test took it away): nothing to read
        if not arn:
            return []
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            # A fresh iterator each time, after the last record read (the emulator may
            # replace a table's stream shard when a transaction rolls back).
            where: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard_id in self._after:
                where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._after[shard_id]}
            iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **where)["ShardIterator"]
            found = self._streams.get_records(ShardIterator=iterator).get("Records", [])
            if found:
                self._after[shard_id] = found[-1]["dynamodb"]["SequenceNumber"]
            records += found
        return records

    def deliver(self, handler: Callable[[dict[str, Any]], Any]) -> int:
        """Hand the new records to ``handler`` as one stream event; how many there were."""
        records = self.new_records()
        if records:
            handler({"Records": records})
        return len(records)
