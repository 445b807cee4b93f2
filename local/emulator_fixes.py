"""Keep the emulator's cost per request flat as the local stack's data grows.

moto's ``TransactWriteItems`` deep-copies every table a transaction touches, before
it starts, to roll back on failure: each transaction costs time in proportion to the
table, so a long ``make load`` slows down as it goes. DynamoDB's own rule is simpler:
a transaction changes only its own items. ``fast_transactions`` keeps a copy of just
those items (at most 100) and puts them back if the transaction fails.

Installed by the dev stack only, whose emulator runs one request at a time
(``devstack._Serialized``): the class-level switch below is never seen by another
request.
"""

from __future__ import annotations

import copy
import functools
from typing import Any


def _key(backend: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """(table, hash value, range value) of one transaction item, or None if unknown."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    key = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    if table.range_key_attr is not None and table.range_key_attr not in key:
        return None  # moto refuses the item itself
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    return table, DynamoType(key[table.hash_key_attr]), range_value


def _put_back(table: Any, hash_value: Any, range_value: Any, saved: Any) -> None:
    if table.range_key_attr is not None:
        if saved is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = saved
    elif saved is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = saved


def fast_transactions() -> None:
    """Replace the whole-table rollback copy of moto's TransactWriteItems (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_sandi_fast", False):
        return

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items[:100]:
            op_type, op = next(iter(entry.items()))
            found = _key(self, op_type, op) if isinstance(op, dict) else None
            if found is not None:
                table, hash_value, range_value = found
                saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]  # moto's own copy: skipped
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                _put_back(table, hash_value, range_value, item)
            raise
        finally:
            del Table.__deepcopy__  # type: ignore[attr-defined]

    transact_write_items._sandi_fast = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
