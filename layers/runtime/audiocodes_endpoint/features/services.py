"""What each endpoint adds around its flow: transformers, NLU, translation, analytics.

Built once per process and endpoint by ``wiring.EndpointServiceRegistry`` (imports, clients and
caches survive between calls); the core sees only this bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from audiocodes_endpoint.config.transformers import TransformerSettings
from audiocodes_endpoint.config.translation import TranslationSettings
from audiocodes_endpoint.features.analytics import Analytics
from audiocodes_endpoint.features.transformers import Transformers
from audiocodes_endpoint.features.translation import Translator
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
