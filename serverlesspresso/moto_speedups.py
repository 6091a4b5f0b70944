"""A faster TransactWriteItems for moto's DynamoDB, installed by the local runtime only.

moto 5.2.5 backs up every table a transaction touches with `copy.deepcopy` before applying it, so an
order placement costs O(table): measured 10 ms on an empty table, 118 ms at 2,000 items and 480 ms at
10,000. This version checks every condition first, backs up only the items the transaction touches,
applies the writes, and restores those items if one fails: the same all-or-nothing result.
It relies on the runtime serialising DynamoDB calls (see journal.py), as moto does not lock.
"""

from __future__ import annotations

from typing import Any, cast

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[Any] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(self, op_type, op)
        identity = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        planned.append((op_type, op, key))
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    backups = []
    for _op_type, op, key in planned:
        current = self.get_item(op["TableName"], key)
        backups.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
    try:
        for op_type, op, key in planned:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    # moto's own request parser passes None when the request has none
                    expression_attribute_names=cast(dict[str, Any], names),
                    expression_attribute_values=cast(dict[str, Any], values),
                )
    except Exception:
        for table_name, key, attributes in backups:
            if attributes is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise


_original_query = Table.query


def query_by_partition(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's Query walks every item of the table even for a primary-key query (O(table), measured
    42 % of the process after ~180 orders); the table already keeps items by partition, so hand the
    query only that partition. Indexes are still walked in full."""
    # moto's backend passes index_name by position (after hash_key, the 7th of the rest).
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or self.range_key_attr is None or hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)
    self.all_items = lambda: list(partition.values()) if partition else []  # type: ignore[method-assign]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


def install() -> None:
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = query_by_partition  # type: ignore[method-assign]
