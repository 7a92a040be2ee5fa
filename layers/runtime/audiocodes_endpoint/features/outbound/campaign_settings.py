"""A campaign's request: its targets, pacing, retry policy and calling window (``POST .../campaigns``).

These names are ours (AudioCodes' dial-out API places one call per request, ``outbound-calling.htm``);
each target becomes one dial-out request with ``target`` and ``metadata`` when its turn comes.
"""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_TARGETS = 2000
"""Per campaign; with the 64 KiB body limit a JSON list holds about 1,000-2,000 targets."""
MAX_METADATA_BYTES = 2048
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Outcome = Literal["busy", "no_answer", "failed", "machine"]
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"
COUNTERS = (
    "total", "pending", "active", "completed", "answered", "machine", "busy", "no_answer", "failed",
    "deferred", "refused", "retries", "attempts",
)  # fmt: skip
"""A campaign's progress counters (``active``: calls in progress, the concurrency slots taken)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pacing(_Strict):
    calls_per_second: float = Field(default=1.0, gt=0, le=50)
    """New calls started per second, at most (0.2 = one every 5 s)."""
    max_concurrent: int = Field(default=5, ge=1, le=500)
    """Calls of this campaign in progress at once, at most (a slot is freed by the call's final status)."""
    recheck_seconds: int = Field(default=5, ge=1, le=900)
    """When every slot is taken, a target waits this long before it looks again."""


class RetryPolicy(_Strict):
    on: list[Outcome] = Field(default_factory=lambda: list[Outcome](["busy", "no_answer"]))
    """Which outcomes are tried again: ``busy``, ``no_answer``, ``failed`` (any other failure), ``machine``."""
    max_attempts: int = Field(default=3, ge=1, le=10)
    """Calls per target at most, the first included."""
    backoff_seconds: int = Field(default=300, ge=0, le=86400)
    """Wait before the second attempt; each later wait is ``backoff_multiplier`` times the one before."""
    backoff_multiplier: float = Field(default=2.0, ge=1, le=10)
    max_backoff_seconds: int = Field(default=3600, ge=0, le=7 * 86400)


class CallingWindow(_Strict):
    """When a target may be called, in the target's own local time (``phonenumbers`` time-zone data)."""

    start: Annotated[str, StringConstraints(pattern=_CLOCK)] = "09:00"
    end: Annotated[str, StringConstraints(pattern=_CLOCK)] = "20:00"
    """Exclusive: a window 09:00-20:00 lets calls start until 19:59:59."""
    days: list[Day] = Field(default_factory=lambda: list[Day](DAYS))
    fallback_timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    """IANA zone for numbers phonenumbers cannot place (else such a target is refused: ``unknown_timezone``)."""

    @model_validator(mode="after")
    def _ordered(self) -> CallingWindow:
        if self.start >= self.end:
            raise ValueError("start must be before end (windows over midnight are not supported)")
        if not self.days:
            raise ValueError("days must name at least one day")
        return self

    @field_validator("fallback_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    def bounds(self) -> tuple[datetime.time, datetime.time | None]:
        """Start and end as times of day; ``None`` for an end of 24:00."""
        end = None if self.end == "24:00" else datetime.time.fromisoformat(self.end)
        return datetime.time.fromisoformat(self.start), end


class CampaignTarget(_Strict):
    target: Annotated[str, StringConstraints(min_length=3, max_length=32)]
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Reaches the flow as ``dialoutMetadata`` (VAIC ``outbound-calling.htm``)."""

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is limited to {MAX_METADATA_BYTES} bytes of JSON per target")
        return value


class CampaignRequest(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    targets: list[CampaignTarget] | None = Field(default=None, max_length=MAX_TARGETS)
    targets_csv: str | None = None
    """The same list as CSV text with a header row (a ``number`` column; the others become metadata)."""
    pacing: Pacing = Pacing()
    retry: RetryPolicy = RetryPolicy()
    window: CallingWindow = CallingWindow()

    @model_validator(mode="after")
    def _one_list(self) -> CampaignRequest:
        if (self.targets is None) == (self.targets_csv is None):
            raise ValueError("send either targets or targets_csv")
        return self


def from_query(query: dict[str, str]) -> dict[str, Any]:
    """The campaign's settings from a CSV upload's query string (flat names; see the README)."""
    document: dict[str, Any] = {"name": query.get("name", "")}
    pacing = {key: query[key] for key in ("calls_per_second", "max_concurrent", "recheck_seconds") if key in query}
    retry: dict[str, Any] = {
        key: query[key]
        for key in ("max_attempts", "backoff_seconds", "backoff_multiplier", "max_backoff_seconds")
        if key in query
    }
    if "retry_on" in query:
        retry["on"] = [item for item in query["retry_on"].split(",") if item]
    window: dict[str, Any] = {}
    if "window" in query:
        start, _, end = query["window"].partition("-")
        window |= {"start": start, "end": end}
    if "days" in query:
        window["days"] = [item for item in query["days"].split(",") if item]
    if "fallback_timezone" in query:
        window["fallback_timezone"] = query["fallback_timezone"]
    for key, part in (("pacing", pacing), ("retry", retry), ("window", window)):
        if part:
            document[key] = part
    unknown = set(query) - {
        "name", "calls_per_second", "max_concurrent", "recheck_seconds", "retry_on", "max_attempts",
        "backoff_seconds", "backoff_multiplier", "max_backoff_seconds", "window", "days", "fallback_timezone",
    }  # fmt: skip
    if unknown:
        document["unknown_query_parameters"] = sorted(unknown)  # refused by the model (extra="forbid")
    return document
