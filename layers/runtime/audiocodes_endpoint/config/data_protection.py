"""``data_protection:`` of an endpoint (Cognigy's "Data Protection & Analytics")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DataProtectionSettings(BaseModel):
    """``data_protection:`` in an endpoint file. Defaults keep caller data out of logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mask_logging: bool = True
    """No caller/callee number, userId, text or data in any log line."""
    mask_analytics: bool = False
    """The caller's and the bot's words masked whole in analytics records and transcripts."""
    mask_ip: bool = True
    """Client IP addresses are stored as ``*****``."""
    collect_analytics: bool = True
    """One analytics record per turn."""
    store_transcripts: bool = False
    """Keep what the caller and the bot said, per turn."""
    retention_days: int = Field(default=30, ge=1, le=3650)
    """Analytics records and transcripts expire (DynamoDB TTL) after this many days."""
