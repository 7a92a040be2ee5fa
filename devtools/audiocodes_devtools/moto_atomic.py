"""Conditional writes on moto's DynamoDB made atomic, as they are on DynamoDB.

moto checks a ``ConditionExpression`` and then writes, with nothing in between to stop another
thread doing the same: two concurrent turns could both pass ``version = :expected``. The sessions'
optimistic lock relies on DynamoDB's atomicity, so the emulator and the tests give moto a lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
# The request handlers, not only the backend: moto turns an item into its answer (GetItem, and
# UpdateItem's ReturnValues) after the backend call returns, while another thread's UpdateItem may be
# changing that same item in place ("dictionary changed size during iteration").
_OPERATIONS = (
    "put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item",
    "get_item", "batch_get_item", "transact_get_items", "query", "scan",
)  # fmt: skip
_WRAPPED: set[Any] = set()


def make_dynamodb_writes_atomic() -> None:
    """Idempotent: run moto's DynamoDB item operations, answers included, under one process-wide lock."""
    from moto.dynamodb.responses import DynamoHandler

    for name in _OPERATIONS:
        original = getattr(DynamoHandler, name, None)
        if original is None or original in _WRAPPED:
            continue
        wrapped = _locked(original)
        _WRAPPED.add(wrapped)
        setattr(DynamoHandler, name, wrapped)


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked
