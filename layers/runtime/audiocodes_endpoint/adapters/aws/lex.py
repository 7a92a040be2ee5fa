"""Amazon Lex V2 ``RecognizeText``: the ``lex`` connector of ``features.external_nlu``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.config.nlu import LexSettings
from audiocodes_endpoint.features.external_nlu import lex_result
from audiocodes_endpoint.flows.nlu import NluResult

if TYPE_CHECKING:
    from botocore.client import BaseClient


class LexConnector:
    """Amazon Lex V2 ``RecognizeText`` as a classifier: Lex's top interpretation becomes the intent.

    Every call uses a fresh Lex session id so Lex's own dialog state (slot elicitation) never carries
    over between turns: the flow, not Lex, runs the conversation.
    """

    def __init__(self, settings: LexSettings, client: BaseClient | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> BaseClient:
        if self._client is None:  # on first use: only endpoints that use Lex pay for the client
            self._client = clients.client(
                "lexv2-runtime", region_name=self.settings.region, timeout_seconds=self.settings.timeout_seconds
            )
        return self._client

    def recognize(self, text: str, language: str | None) -> NluResult:
        answer = self.client.recognize_text(
            botId=self.settings.bot_id,
            botAliasId=self.settings.bot_alias_id,
            localeId=self.settings.locale_id,
            sessionId=uuid.uuid4().hex,
            text=text,
        )
        return lex_result(answer)
