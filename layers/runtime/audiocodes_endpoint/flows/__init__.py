"""Flows: the agent's conversation as YAML graphs of nodes, and the engine that runs them.

Importing this package is cheap (the turn contract only); the engine, loader, templating, NLU and
HTTP client are imported on first use, because the Lambda handler's cold import has a budget and the
agent is loaded lazily on the first request.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.flows.turn import Emit, EventAction, FlowError, FlowInput, FlowState, TurnOptions, TurnResult

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.engine import FlowEngine
    from audiocodes_endpoint.flows.loader import Agent, AgentLoadError, Report, check_agent, load_agent
    from audiocodes_endpoint.flows.model import Flow, flow_json_schema
    from audiocodes_endpoint.flows.nlu import BuiltinIntentMatcher, NluConnector, NluResult, evaluate, load_utterances

_LAZY = {
    "FlowEngine": "engine",
    "Agent": "loader",
    "AgentLoadError": "loader",
    "Report": "loader",
    "check_agent": "loader",
    "load_agent": "loader",
    "Flow": "model",
    "flow_json_schema": "model",
    "BuiltinIntentMatcher": "nlu",
    "NluConnector": "nlu",
    "NluResult": "nlu",
    "evaluate": "nlu",
    "load_utterances": "nlu",
}

__all__ = [
    "Agent",
    "AgentLoadError",
    "BuiltinIntentMatcher",
    "Emit",
    "EventAction",
    "Flow",
    "FlowEngine",
    "FlowError",
    "FlowInput",
    "FlowState",
    "NluConnector",
    "NluResult",
    "Report",
    "TurnOptions",
    "TurnResult",
    "check_agent",
    "evaluate",
    "flow_json_schema",
    "load_agent",
    "load_utterances",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
