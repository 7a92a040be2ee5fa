"""The one place boto3 clients are made: created on first use, unless a test injects one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient


def client(
    service: str,
    injected: BaseClient | None = None,
    *,
    timeout_seconds: float | None = None,
    connect_timeout_seconds: float | None = None,
    **options: Any,
) -> BaseClient:
    """The injected client, or a new boto3 one (boto3 is imported here: it costs ~100 ms of cold start).

    ``timeout_seconds``: a client a caller waits on (Translate, Lex, Bedrock): that read timeout, the
    connect timeout (``connect_timeout_seconds`` or the same) and no retries: the feature has a fallback.
    """
    if injected is not None:
        return injected
    import boto3

    if timeout_seconds is not None:
        from botocore.config import Config

        options["config"] = Config(
            connect_timeout=connect_timeout_seconds if connect_timeout_seconds is not None else timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
    made: BaseClient = boto3.client(service, **options)
    return made
