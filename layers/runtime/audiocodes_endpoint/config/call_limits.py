"""``session:`` keys of the maximum call duration (the policy itself is ``core.call_limits``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class SessionPolicySettings(BaseModel):
    """Extra ``session:`` keys (next to ``expires_seconds`` and ``grace_seconds``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_call_seconds: int = Field(default=0, ge=0, le=86_400)
    """Longest a call may last; 0 = unlimited."""
    on_expiry: Literal["hangup", "notify_flow"] = "hangup"
    expiry_message: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        "We have reached the time limit for this call. Thank you for calling. Goodbye."
    )
    force_hangup_after_seconds: int = Field(default=60, ge=0, le=3600)
    """With ``notify_flow``: hang up this long after telling the flow if it has not ended the call;
    0 = leave it to the flow."""
