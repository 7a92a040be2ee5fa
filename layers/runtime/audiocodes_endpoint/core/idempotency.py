"""The idempotency port: a unit of work done at most once per key (``adapters.aws.idempotency`` in Lambda)."""

from __future__ import annotations

from typing import Any, Protocol


class KeyReused(Exception):
    """The key was used before with another request body."""


class KeyInProgress(Exception):
    """A request with the same key is running now."""


class Once(Protocol):
    def __call__(self, call: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        """The first answer for ``call["key"]`` (``call["request"]`` must be the same body), or a new one.

        Raises :class:`KeyReused` or :class:`KeyInProgress`.
        """
        ...
