"""DynamoDB's typed attribute values to plain Python and back, as the outbound and campaign stores keep them.

boto3's ``TypeSerializer`` wants ``Decimal`` for every number; these records hold ints and floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def attribute(value: Any) -> dict[str, Any]:
    """``{"S": ...}``, ``{"N": ...}``, ``{"BOOL": ...}``, ``{"L": ...}`` or ``{"M": ...}`` (None left out of maps)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, list):
        return {"L": [attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {k: attribute(v) for k, v in value.items() if v is not None}}
    return {"S": str(value)}


def plain(value: Mapping[str, Any]) -> Any:
    """One attribute value as Python: numbers as int when whole, else float."""
    ((kind, inner),) = value.items()
    if kind == "M":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "L":
        return [plain(v) for v in inner]
    if kind == "N":
        number = float(inner)
        return int(number) if number.is_integer() else number
    if kind == "BOOL":
        return bool(inner)
    return inner
