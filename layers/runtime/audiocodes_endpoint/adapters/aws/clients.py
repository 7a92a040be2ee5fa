"""boto3 clients for the adapters: created on first use, unless a test injects one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient


def client(service: str, injected: BaseClient | None = None, **options: Any) -> BaseClient:
    """The injected client, or a new boto3 one (boto3 is imported here: it costs ~100 ms of cold start)."""
    if injected is not None:
        return injected
    import boto3

    made: BaseClient = boto3.client(service, **options)
    return made
