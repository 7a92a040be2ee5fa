"""Field types and helpers several node modules share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from audiocodes_endpoint.flows.fields import DATA
from audiocodes_endpoint.flows.params import check_parameters
from audiocodes_endpoint.flows.turn import FlowError

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

Params = Annotated[dict[str, Any], DATA, AfterValidator(check_parameters)]

ACTIVITY_PARAMS = Field(
    default=None, description="AudioCodes parameters for this activity only (known names are type-checked)."
)
SESSION_PARAMS = Field(
    default=None, description="AudioCodes parameters for the rest of the call (known names are type-checked)."
)


def render_params(turn: Turn, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Render templates in ``params`` and check the result; ``None`` (or empty) sends nothing."""
    if not params:
        return None
    rendered = turn.data(params)
    try:
        return check_parameters(rendered)
    except ValueError as error:
        raise FlowError(f"parameters after rendering: {error}") from None


def merged(base: dict[str, Any] | None, own: dict[str, Any]) -> dict[str, Any] | None:
    """A node's named fields written over its free-form ``activityParams`` (as Cognigy's nodes did)."""
    result = dict(base or {})
    result.update({key: value for key, value in own.items() if value is not None})
    return result or None
