"""Field types shared by the flow models.

Markers in ``Annotated`` metadata tell the loader which fields hold templates, so it can compile
every template once at load (a bad template fails there, not in the middle of a call) without each
node listing its template fields by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StringConstraints


@dataclass(frozen=True)
class TemplateKind:
    """How a field's strings are compiled: ``text`` ({{ }} text), ``expression`` (no braces) or
    ``data`` (any JSON value whose strings are text templates, see :mod:`.templating`)."""

    kind: str


TEXT = TemplateKind("text")
EXPRESSION = TemplateKind("expression")
DATA = TemplateKind("data")

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
FlowName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
ContextPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"),
    Field(description="A dotted path into `context`, e.g. `account.id`."),
]

Text = Annotated[str, TEXT]
Expression = Annotated[str, EXPRESSION]
Data = Annotated[Any, DATA]


def is_template(value: str) -> bool:
    """True if ``value`` needs the template engine; plain strings are used as they are."""
    return "{{" in value or "{%" in value or "{#" in value
