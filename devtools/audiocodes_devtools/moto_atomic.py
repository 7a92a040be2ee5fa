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
# Reads too: moto's GetItem copies an item that a concurrent UpdateItem may be changing in place.
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item", "get_item")
_WRAPPED: set[Any] = set()


def make_dynamodb_writes_atomic() -> None:
    """Idempotent: wrap moto's DynamoDB write operations in one process-wide lock."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or original in _WRAPPED:
            continue
        wrapped = _locked(original)
        _WRAPPED.add(wrapped)
        setattr(DynamoDBBackend, name, wrapped)


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked
