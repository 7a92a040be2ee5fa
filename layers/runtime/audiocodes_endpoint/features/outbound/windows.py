"""Calling windows in each target's local time.

A number's time zones come from phonenumbers' geographic data
(``phonenumbers.timezone.time_zones_for_number``). A number can map to several zones (a US toll-free
number, a mobile range of a country with many zones, Russia's +7 9xx): then a call is allowed only
when the moment is inside the window in **every** one of them, so no callee is rung outside its window
whichever zone they are in.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cache
from zoneinfo import ZoneInfo

from audiocodes_endpoint.features.outbound.campaign_settings import DAYS, CallingWindow

UNKNOWN = "Etc/Unknown"  # what phonenumbers answers for a number it cannot place
HORIZON_DAYS = 8  # a window that opens in no zone within a week and a day never opens


def zones_for(e164: str, fallback: str | None = None) -> tuple[str, ...]:
    """The IANA zones a number may be in; ``()`` when unknown and there is no fallback."""
    import phonenumbers
    from phonenumbers import timezone

    zones = tuple(z for z in timezone.time_zones_for_number(phonenumbers.parse(e164)) if z != UNKNOWN)
    if zones:
        return zones
    return (fallback,) if fallback else ()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def inside(window: CallingWindow, zone: str, at: float) -> bool:
    local = datetime.datetime.fromtimestamp(at, _zone(zone))
    start, end = window.bounds()
    if DAYS[local.weekday()] not in window.days:
        return False
    now = local.time()
    return start <= now and (end is None or now < end)


def inside_all(window: CallingWindow, zones: Sequence[str], at: float) -> bool:
    return bool(zones) and all(inside(window, zone, at) for zone in zones)


def _next_start(window: CallingWindow, zone: str, at: float) -> float:
    """The first moment at or after ``at`` when the window is open in ``zone`` (``at`` itself if open)."""
    if inside(window, zone, at):
        return at
    tz = _zone(zone)
    local = datetime.datetime.fromtimestamp(at, tz)
    start, _ = window.bounds()
    for offset in range(HORIZON_DAYS + 1):
        day = local.date() + datetime.timedelta(days=offset)
        if DAYS[day.weekday()] not in window.days:
            continue
        opening = datetime.datetime.combine(day, start, tzinfo=tz).timestamp()
        if opening >= at:
            return opening
    return at + HORIZON_DAYS * 86400.0


def next_opening(window: CallingWindow, zones: Sequence[str], now: float) -> float | None:
    """When the window is next open in all of ``zones`` (``now`` if it is), or ``None``: never within a week.

    Each pass moves the candidate to the next opening of a zone that is closed; it stops when no zone
    moved it (open everywhere) or past the horizon (the zones' windows never overlap).
    """
    if not zones:
        return None
    candidate = now
    while candidate <= now + HORIZON_DAYS * 86400:
        moved = max(_next_start(window, zone, candidate) for zone in zones)
        if moved == candidate and inside_all(window, zones, candidate):
            return candidate
        candidate = moved if moved > candidate else candidate + 60.0  # closed again at once: step a minute
    return None
