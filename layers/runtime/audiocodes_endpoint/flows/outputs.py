"""Turn what a code node or a raw-output node produces into activities.

Accepted, one or a list of:
* a string: a ``message`` to speak;
* an activity dict (has ``type``): sent as it is (stamped with ``id``/``timestamp`` if missing);
* a Cognigy output ``{"text", "data"}``: the activities in ``data._cognigy._audioCodes.json``
  (or the legacy ``_audiocodes`` / ``_voiceGateway`` envelopes) are sent unchanged; without an
  envelope its ``text`` becomes a message (Cognigy's Say node did the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from audiocodes_endpoint.channel.audiocodes import Activity, cognigy_activities, from_wire, message


class OutputError(ValueError):
    pass


def to_activities(value: Any) -> list[Activity]:
    if value is None:
        return []
    if isinstance(value, Activity):
        return [value]
    if isinstance(value, str):
        return [message(value)] if value else []
    if isinstance(value, list | tuple):
        return [activity for item in value for activity in to_activities(item)]
    if isinstance(value, Mapping):
        try:
            if "type" in value:
                return [from_wire(value)]
            if "data" in value or "text" in value:
                found = cognigy_activities(value)
                if found is not None:
                    return found
                text = value.get("text")
                return [message(text)] if isinstance(text, str) and text else []
        except ValidationError as error:
            # Field and problem only: the activity's values may be the caller's words.
            problem = error.errors()[0]
            field = ".".join(str(part) for part in problem["loc"]) or "activity"
            raise OutputError(f"invalid activity: {field}: {problem['msg']}") from None
    raise OutputError(f"cannot send {type(value).__name__}: expected text, an activity or a Cognigy output")
