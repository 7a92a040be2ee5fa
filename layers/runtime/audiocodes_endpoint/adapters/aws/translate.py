"""Amazon Translate ``TranslateText``: the translation provider of ``features.translation``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.features.translation import Translation

if TYPE_CHECKING:
    from botocore.client import BaseClient


class AmazonTranslate:
    def __init__(
        self, region: str | None = None, timeout_seconds: float = 2.0, client: BaseClient | None = None
    ) -> None:
        self._region = region
        self._timeout = timeout_seconds
        self._client = client

    @property
    def client(self) -> BaseClient:
        if self._client is None:  # on first use: only endpoints that translate pay for the client
            self._client = clients.client("translate", region_name=self._region, timeout_seconds=self._timeout)
        return self._client

    def translate(self, text: str, source: str, target: str) -> Translation:
        answer = self.client.translate_text(Text=text, SourceLanguageCode=source, TargetLanguageCode=target)
        return Translation(answer["TranslatedText"], answer.get("SourceLanguageCode") or source)
