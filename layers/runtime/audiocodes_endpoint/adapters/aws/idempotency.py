"""Powertools idempotency on DynamoDB: the :class:`~audiocodes_endpoint.core.idempotency.Once` port.

Records share the sessions table (its TTL attribute ``expires_at`` cleans them up) and are kept a day.
Each record's key starts with a fixed name rather than Powertools' default (the Lambda function's name
and the wrapped function's module path), so a deploy that moves code or renames a function still
recognises the keys callers used before it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from audiocodes_endpoint.core.idempotency import KeyInProgress, KeyReused

EXPIRES_AFTER_SECONDS = 24 * 3600


class IdempotentFunction:
    """``function(call)`` at most once per ``call["key"]``; a repeat gets the first answer."""

    def __init__(self, table: str, name: str, function: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._table = table
        self._name = name
        self._function = function

    @cached_property
    def _wrapped(self) -> tuple[Any, Any]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        store = DynamoDBPersistenceLayer(table_name=self._table, expiry_attr="expires_at")
        config = IdempotencyConfig(
            event_key_jmespath="key", payload_validation_jmespath="request", expires_after_seconds=EXPIRES_AFTER_SECONDS
        )
        function = self._function

        @idempotent_function(
            data_keyword_argument="call", persistence_store=store, config=config, key_prefix=self._name
        )
        def once(call: dict[str, Any]) -> dict[str, Any]:
            return function(call)

        return once, config

    def __call__(self, call: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        once, config = self._wrapped
        config.register_lambda_context(lambda_context)  # in-progress records expire with this invocation
        try:
            answer: dict[str, Any] = once(call=call)
        except IdempotencyValidationError:
            raise KeyReused(call["key"]) from None
        except IdempotencyAlreadyInProgressError:
            raise KeyInProgress(call["key"]) from None
        return answer
