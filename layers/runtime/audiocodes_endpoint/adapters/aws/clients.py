"""The one place boto3 clients are made: created on first use, unless a test injects one."""

from __future__ import annotations

from functools import cached_property
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


class LazyClient:
    """An adapter's boto3 client, made on first use, or at once by :meth:`connect`.

    Subclasses say how in ``_make_client`` (usually ``client(service, injected)``).
    """

    def _make_client(self) -> BaseClient:
        raise NotImplementedError

    @cached_property
    def _client(self) -> BaseClient:
        return self._make_client()

    def connect(self) -> None:
        """(Re)create the client now: at init, and after a SnapStart restore (no sockets from the snapshot)."""
        self.__dict__.pop("_client", None)
        self._client  # noqa: B018 - the cached property builds the client
