"""What each endpoint adds around its flow: transformers, NLU, translation, analytics.

Built once per process and endpoint (imports, clients and caches survive between calls).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.features.analytics import Analytics
from audiocodes_endpoint.features.external_nlu import connector_for
from audiocodes_endpoint.features.transformers import Transformers, TransformerSettings, endpoint_object
from audiocodes_endpoint.features.translation import TranslationSettings, Translator
from audiocodes_endpoint.flows.nlu import NluConnector


@dataclass(frozen=True)
class EndpointServices:
    transformers: Transformers
    translator: Translator
    nlu: NluConnector | None = None
    analytics: Analytics | None = None

    @classmethod
    def plain(cls, nlu: NluConnector | None = None) -> EndpointServices:
        """No transformers, no translation, no analytics: the flow and (optionally) intents only."""
        return cls(Transformers(settings=TransformerSettings()), Translator(TranslationSettings()), nlu)


class EndpointServiceRegistry:
    """``registry(endpoint)``: the endpoint's services, built on first use (thread-safe for the emulator)."""

    def __init__(self, *, agent_dir: Path, builtin_nlu: NluConnector | None, analytics_table: str) -> None:
        self._agent_dir = agent_dir
        self._builtin = builtin_nlu
        self._analytics_table = analytics_table
        self._built: dict[str, EndpointServices] = {}
        self._lock = threading.Lock()

    def __call__(self, endpoint: EndpointSettings) -> EndpointServices:
        with self._lock:
            services = self._built.get(endpoint.url_token)
            if services is None:
                services = self._build(endpoint)
                self._built[endpoint.url_token] = services
            return services

    def _build(self, endpoint: EndpointSettings) -> EndpointServices:
        return EndpointServices(
            transformers=Transformers.load(endpoint.transformers, self._agent_dir, endpoint_object(endpoint)),
            translator=Translator(endpoint.translation),
            nlu=self._nlu(endpoint),
            analytics=self._analytics(endpoint),
        )

    def _nlu(self, endpoint: EndpointSettings) -> NluConnector | None:
        if endpoint.nlu.connector == "builtin" and self._builtin is None:
            return None  # an agent without intents.yaml: no intents, not an error
        return connector_for(endpoint.nlu, self._builtin, self._agent_dir)

    def _analytics(self, endpoint: EndpointSettings) -> Analytics | None:
        protection = endpoint.data_protection
        if not self._analytics_table or not (protection.collect_analytics or protection.store_transcripts):
            return None
        from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore

        store: Any = DynamoDBAnalyticsStore(self._analytics_table)
        return Analytics(store, protection)
