"""What a Lambda process builds once: settings, endpoints, the agent and the conversation core.

Each handler calls :func:`prepare` at import, so Lambda's init phase (not the first request) pays for
loading the agent, compiling its templates, each endpoint's services and the network clients. With
SnapStart, :func:`reconnect` runs after a restore: clients and pooled sockets are made anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from audiocodes_endpoint.adapters.aws.bedrock import provider_for as bedrock_provider
from audiocodes_endpoint.adapters.aws.parameters import ParameterStore
from audiocodes_endpoint.adapters.aws.session_store import DynamoDBSessionStore
from audiocodes_endpoint.adapters.aws.turn_queue import TurnQueue
from audiocodes_endpoint.adapters.aws.websocket_pusher import WebSocketPusher
from audiocodes_endpoint.config.endpoint import EndpointSettings, RuntimeConfig, endpoints_for
from audiocodes_endpoint.config.secrets import SecretUnavailable, resolve_secret, use_secret_store
from audiocodes_endpoint.core.conversation import Conversations
from audiocodes_endpoint.core.delivery import SocketOutlet
from audiocodes_endpoint.core.idempotency import Once
from audiocodes_endpoint.features.analytics import Analytics
from audiocodes_endpoint.features.external_nlu import connector_for
from audiocodes_endpoint.features.llm.providers import use_bedrock
from audiocodes_endpoint.features.outbound.calls import Outbound
from audiocodes_endpoint.features.outbound.campaigns import Campaigns
from audiocodes_endpoint.features.services import EndpointServices
from audiocodes_endpoint.features.transformers import Transformers, endpoint_object
from audiocodes_endpoint.features.translation import TranslationProvider, Translator
from audiocodes_endpoint.flows.nlu import NluConnector
from audiocodes_endpoint.observability import logger

_SECRETS = ParameterStore()
use_secret_store(_SECRETS)  # ssm: and secretsmanager: references, for every module that resolves one
use_bedrock(bedrock_provider)  # llm.provider: bedrock


class AsyncModeUnavailable(Exception):
    """An endpoint asks for async mode but this deployment has no WebSocket API or turn queue."""


@dataclass(frozen=True)
class Runtime:
    config: RuntimeConfig
    endpoints: dict[str, EndpointSettings]
    conversations: Conversations
    services: EndpointServiceRegistry
    _idempotent: dict[str, Once] = field(default_factory=dict, init=False, repr=False, compare=False)

    def endpoint(self, url_token: str) -> EndpointSettings | None:
        endpoint = self.endpoints.get(url_token)
        return endpoint if endpoint is not None and endpoint.enabled else None

    # --- async mode ----------------------------------------------------------------------------

    def websocket_url(self, endpoint: EndpointSettings, conversation: str) -> str:
        """Absolute: the WebSocket API lives on another host than the HTTP API."""
        base = self._require(self.config.websocket_url, "WEBSOCKET_URL")
        return f"{base}?{urlencode({'endpoint': endpoint.url_token, 'conversation': conversation})}"

    @cached_property
    def pusher(self) -> WebSocketPusher:
        return WebSocketPusher(self._require(self.config.connections_url, "CONNECTIONS_URL"))

    @cached_property
    def outlet(self) -> SocketOutlet:
        return SocketOutlet(self.pusher, self.conversations.store)

    @cached_property
    def queue(self) -> TurnQueue:
        return TurnQueue(self._require(self.config.turn_queue_url, "TURN_QUEUE_URL"))

    @cached_property
    def accept_once(self) -> Once:
        """Inject & notify under an ``Idempotency-Key``."""
        from audiocodes_endpoint.core.injection import accept_call

        return self.idempotent("inject-notify", lambda call: accept_call(call, self))

    def idempotent(self, name: str, function: Callable[[dict[str, Any]], dict[str, Any]]) -> Once:
        """``function`` at most once per ``call["key"]``: Powertools records in the sessions table.

        ``name`` prefixes the records' keys; one instance per name, so its store is made once.
        """
        from audiocodes_endpoint.adapters.aws.idempotency import IdempotentFunction

        if name not in self._idempotent:
            self._idempotent[name] = IdempotentFunction(self.config.sessions_table, name, function)
        return self._idempotent[name]

    @cached_property
    def outbound(self) -> Outbound:
        from audiocodes_endpoint.adapters.aws.outbound_store import CallStore, StatusEvents

        return Outbound(store=CallStore(self.config.sessions_table), events=StatusEvents(self.config.event_bus))

    @cached_property
    def campaigns(self) -> Campaigns | None:
        """Campaigns, when this deployment has their queue; they hook into :attr:`outbound`'s final statuses."""
        if not self.config.campaign_queue_url:
            return None
        from audiocodes_endpoint.adapters.aws.campaign_store import CampaignQueue, CampaignStore
        from audiocodes_endpoint.features.outbound.campaigns import Campaigns

        store, queue = CampaignStore(self.config.sessions_table), CampaignQueue(self.config.campaign_queue_url)
        return Campaigns(store, queue, self.outbound, self.endpoint)

    @staticmethod
    def _require(value: str, name: str) -> str:
        if not value:
            raise AsyncModeUnavailable(f"{name} is not set: deploy the WebSocket API and turn queue")
        return value


def agent_version(agent_dir: Path) -> str:
    """A digest of every file of the agent: equal for equal agents, whatever the deploy."""
    digest = hashlib.sha256()
    for path in sorted(p for p in agent_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(agent_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def prepare(secrets: Callable[[EndpointSettings], list[str | None]] | None = None) -> Runtime:
    """Everything that does not depend on a request, built now (Lambda's init phase).

    ``secrets`` names the references this function checks per endpoint (its token, its key): they are
    fetched now too, and the sessions table's connection opened, unless the init is for a SnapStart
    snapshot (no secret or connection may live in one). A secret that cannot be read is left for the
    request, which answers 503 and logs it.
    """
    built = runtime()
    for endpoint in built.endpoints.values():
        if endpoint.enabled:
            built.services(endpoint)  # transformers and extensions imported, NLU, translation, analytics
    reconnect()
    _after_snapstart_restore(reconnect)
    if built.config.initialization_type == "snap-start":
        return built  # no secret and no open connection may be part of a snapshot
    # Open the sessions table's connection (TLS) now: a read of a key no session has.
    with contextlib.suppress(Exception):
        built.conversations.store.get("-", "-")
    if secrets is not None:
        for endpoint in built.endpoints.values():
            for reference in secrets(endpoint) if endpoint.enabled else []:
                with contextlib.suppress(SecretUnavailable):
                    resolve_secret(reference)
    return built


def reconnect() -> None:
    """(Re)create the network clients: at init, and after a SnapStart restore (none may come from the snapshot)."""
    from audiocodes_endpoint.features.llm.providers import reset_clients as reset_llm_clients
    from audiocodes_endpoint.flows.nodes.http import reset_shared_client

    built = runtime()
    _connect(built.conversations.store)
    for endpoint in built.endpoints.values():
        analytics = built.services(endpoint).analytics if endpoint.enabled else None
        if analytics is not None:
            _connect(analytics.store)
    if built.config.turn_queue_url:
        built.queue.connect()
    if built.config.connections_url:
        built.pusher.connect()
    _SECRETS.connect()
    reset_shared_client()
    reset_llm_clients()


def _connect(store: object) -> None:
    connect = getattr(store, "connect", None)  # the AWS stores have clients; in-memory ones do not
    if callable(connect):
        connect()


def _after_snapstart_restore(hook: Callable[[], None]) -> None:
    """Register ``hook`` with the Lambda runtime's SnapStart hooks (python3.12+); elsewhere nothing."""
    try:
        from snapshot_restore_py import register_after_restore  # provided by Lambda's runtime, not shipped
    except ImportError:
        return
    if hook not in _registered:
        register_after_restore(hook)
        _registered.append(hook)


_registered: list[Callable[[], None]] = []


@cache
def runtime() -> Runtime:
    from audiocodes_endpoint.core.call_handling import flow_problems
    from audiocodes_endpoint.flows import AgentLoadError, FlowEngine, load_agent

    config = RuntimeConfig.from_environment()
    agent_dir = config.agent_dir.resolve()
    if str(agent_dir) not in sys.path:
        sys.path.insert(0, str(agent_dir))  # agent extensions are importable as top-level modules
    agent = load_agent(agent_dir)
    for warning in agent.warnings:
        logger.warning("agent", extra={"problem": str(warning)})
    endpoints = endpoints_for(agent_dir)
    problems = [
        problem
        for endpoint in endpoints.values()
        for problem in flow_problems(agent.flows, endpoint.url_token, endpoint.default_region, endpoint.call_events)
    ]
    if problems:  # refused at load, like any other agent error, never in the middle of a call
        raise AgentLoadError(problems)
    services = EndpointServiceRegistry(
        agent_dir=agent_dir, builtin_nlu=agent.nlu, analytics_table=config.analytics_table
    )
    return Runtime(
        config=config,
        endpoints=endpoints,
        conversations=Conversations(
            store=DynamoDBSessionStore(config.sessions_table),
            flows=FlowEngine(agent, version=agent_version(agent_dir)),
            services=services,
        ),
        services=services,
    )


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
            translator=Translator(endpoint.translation, self._translate(endpoint)),
            nlu=self._nlu(endpoint),
            analytics=self._analytics(endpoint),
        )

    def _nlu(self, endpoint: EndpointSettings) -> NluConnector | None:
        if endpoint.nlu.connector == "builtin" and self._builtin is None:
            return None  # an agent without intents.yaml: no intents, not an error
        from audiocodes_endpoint.adapters.aws.lex import LexConnector

        return connector_for(endpoint.nlu, self._builtin, self._agent_dir, lex=LexConnector)

    @staticmethod
    def _translate(endpoint: EndpointSettings) -> TranslationProvider | None:
        settings = endpoint.translation
        if not settings.enabled:
            return None
        from audiocodes_endpoint.adapters.aws.translate import AmazonTranslate

        return AmazonTranslate(settings.region, settings.timeout_seconds)

    def _analytics(self, endpoint: EndpointSettings) -> Analytics | None:
        protection = endpoint.data_protection
        if not self._analytics_table or not (protection.collect_analytics or protection.store_transcripts):
            return None
        from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore

        store: Any = DynamoDBAnalyticsStore(self._analytics_table)
        return Analytics(store, protection)
