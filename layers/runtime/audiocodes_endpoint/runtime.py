"""What a Lambda process builds once, lazily: settings, endpoints, the agent and the conversation core.

Nothing here runs at import, so a cold start pays for the agent and boto3 on the first request only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache

from .conversation import Conversations
from .sessions.dynamodb import DynamoDBSessionStore
from .settings import EndpointSettings, RuntimeConfig, endpoints_for, resolve_secret


@dataclass(frozen=True)
class Runtime:
    config: RuntimeConfig
    endpoints: dict[str, EndpointSettings]
    conversations: Conversations

    def endpoint(self, url_token: str) -> EndpointSettings | None:
        endpoint = self.endpoints.get(url_token)
        return endpoint if endpoint is not None and endpoint.enabled else None

    @staticmethod
    def bot_token(endpoint: EndpointSettings) -> str | None:
        return resolve_secret(endpoint.bot_token)


@cache
def runtime() -> Runtime:
    from .flows import FlowEngine, load_agent

    config = RuntimeConfig.from_environment()
    agent_dir = config.agent_dir.resolve()
    if str(agent_dir) not in sys.path:
        sys.path.insert(0, str(agent_dir))  # agent extensions are importable as top-level modules
    agent = load_agent(agent_dir)
    return Runtime(
        config=config,
        endpoints=endpoints_for(agent_dir),
        conversations=Conversations(
            store=DynamoDBSessionStore(config.sessions_table),
            flows=FlowEngine(agent),
            nlu=agent.nlu,
        ),
    )
