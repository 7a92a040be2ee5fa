"""Data protection applied to what analytics keep (the log side is ``observability.masking``)."""

from __future__ import annotations

from audiocodes_endpoint.config.data_protection import DataProtectionSettings
from audiocodes_endpoint.observability.masking import MASK


def mask_ip_address(ip: str | None, settings: DataProtectionSettings) -> str | None:
    """The IP as analytics may keep it: masked when ``mask_ip`` or ``mask_analytics`` is on."""
    if ip is None:
        return None
    return MASK if settings.mask_ip or settings.mask_analytics else ip
