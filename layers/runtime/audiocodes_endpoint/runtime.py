"""What a Lambda process builds once, lazily: settings, endpoints, the agent and the conversation core.

Nothing here runs at import, so a cold start pays for the agent and boto3 on the first request only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache, cached_property
from urllib.parse import urlencode

from .conversation import Conversations
from .delivery import SocketOutlet, TurnQueue, WebSocketPusher
from .observability import logger
from .services import EndpointServiceRegistry
from .sessions.dynamodb import DynamoDBSessionStore
from .settings import EndpointSettings, RuntimeConfig, endpoints_for, resolve_secret


class AsyncModeUnavailable(Exception):
    """An endpoint asks for async mode but this deployment has no WebSocket API or turn queue."""


@dataclass(frozen=True)
class Runtime:
    config: RuntimeConfig
    endpoints: dict[str, EndpointSettings]
    conversations: Conversations
    services: EndpointServiceRegistry

    def endpoint(self, url_token: str) -> EndpointSettings | None:
        endpoint = self.endpoints.get(url_token)
        return endpoint if endpoint is not None and endpoint.enabled else None

    @staticmethod
    def bot_token(endpoint: EndpointSettings) -> str | None:
        return resolve_secret(endpoint.bot_token)

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

    @staticmethod
    def _require(value: str, name: str) -> str:
        if not value:
            raise AsyncModeUnavailable(f"{name} is not set: deploy the WebSocket API and turn queue")
        return value


@cache
def runtime() -> Runtime:
    from .call_handling import flow_problems
    from .flows import AgentLoadError, FlowEngine, load_agent

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
            store=DynamoDBSessionStore(config.sessions_table), flows=FlowEngine(agent), services=services
        ),
        services=services,
    )
