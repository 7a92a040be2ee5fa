"""Secret references: a setting names where a secret is (``env:``, ``ssm:`` or ``secretsmanager:``),
never the secret. ``env:`` is read here; the others through the installed :class:`SecretStore`
(``adapters.aws.parameters``: Powertools Parameters, cached for ``SECRET_MAX_AGE_SECONDS``).
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Protocol

from pydantic import StringConstraints

SecretRef = Annotated[
    str,
    StringConstraints(pattern=r"^(env|ssm|secretsmanager):\S+$", max_length=512),
]


class SecretStore(Protocol):
    def fetch(self, reference: str, scheme: str, name: str) -> Any:
        """The value (``None`` or empty when there is none); raises :class:`SecretUnavailable` on errors."""


_store: SecretStore | None = None


def use_secret_store(store: SecretStore) -> None:
    """Where ``ssm:`` and ``secretsmanager:`` references are read from (the wiring installs AWS's)."""
    global _store
    _store = store


class SecretUnavailable(Exception):
    """A secret reference with no readable value: missing, empty, not decryptable or not permitted.

    Carries the reference and AWS's error code, never a value: both may be logged.
    """

    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(f"{reference}: {reason}")
        self.reference = reference
        self.reason = reason


def resolve_secret(reference: str | None) -> str | None:
    """The value behind a secret reference; ``None`` when there is no reference.

    Raises :class:`SecretUnavailable` when the reference names nothing readable, so the endpoint
    can answer 503 (its operator must fix it) instead of refusing every caller as if they were wrong.
    """
    if not reference:
        return None
    scheme, _, name = reference.partition(":")
    if scheme == "env":
        value: Any = os.environ.get(name)
    elif _store is None:
        raise SecretUnavailable(reference, "no secret store")  # wiring installs the AWS one at import
    else:
        value = _store.fetch(reference, scheme, name)
    if not value:
        raise SecretUnavailable(reference, "empty" if value is not None else "not set")
    return str(value)
