"""One message for a pydantic validation error: ``a.b.0: message; c: message``.

Only where and what, never the input values: they may be caller data, and the message may be
logged or answered. Used by settings, transformers, flow parameters, the HTTP APIs and inject.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

from pydantic import ValidationError


def field(issue: Mapping[str, Any], *, top: str = "value", skip: Container[Any] = ()) -> str:
    """The dotted location of one error (parts in ``skip`` left out); ``top`` for the whole value."""
    return ".".join(str(part) for part in issue.get("loc", ()) if part not in skip) or top


def problems(
    error: ValidationError | Iterable[Mapping[str, Any]], *, top: str = "value", skip: Container[Any] = ()
) -> str:
    """Each error as ``location: message``, joined by ``; ``."""
    issues = error.errors() if isinstance(error, ValidationError) else error
    return "; ".join(f"{field(issue, top=top, skip=skip)}: {issue.get('msg', '')}" for issue in issues)
