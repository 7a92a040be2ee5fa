"""What a flow learns about an outbound call from VAIC's ``start`` event.

VAIC puts ``outboundTarget`` (the number dialled) and ``dialoutMetadata`` (the dial-out request's
``metadata``) into ``start``'s parameters for calls it placed (AudioCodes ``call-initiation.htm`` /
``outbound-calling.htm``); they reach ``context.call`` with the other parameters. ``direction`` is
ours: ``outbound`` when ``outboundTarget`` is there, else ``inbound``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal


def call_direction(parameters: Mapping[str, Any]) -> Literal["inbound", "outbound"]:
    return "outbound" if parameters.get("outboundTarget") else "inbound"
