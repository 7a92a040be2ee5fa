"""The flow format: one YAML file per flow, validated by these models (and the JSON Schema
generated from them, ``schemas/flow.schema.json``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from audiocodes_endpoint.flows.fields import NodeId
from audiocodes_endpoint.flows.nodes.audiocodes import (
    AgentAssist,
    CallRecording,
    Hangup,
    PlayUrl,
    SendDtmf,
    SendMetadata,
    SetSessionParameters,
    Transfer,
)
from audiocodes_endpoint.flows.nodes.code import Code
from audiocodes_endpoint.flows.nodes.http import HttpRequest
from audiocodes_endpoint.flows.nodes.llm import Llm, LlmExtract
from audiocodes_endpoint.flows.nodes.logic import CallFlow, Condition, EndFlow, Goto, SetContext, Switch
from audiocodes_endpoint.flows.nodes.messages import Say, SendActivities, SendEvent
from audiocodes_endpoint.flows.nodes.question import Question
from audiocodes_endpoint.flows.nodes.voice import (
    BargeIn,
    BotDelay,
    ContinuousAsr,
    DtmfCollect,
    MuteSpeechInput,
    SessionSpeech,
    UserInputTimeout,
    UserNoInput,
)

NODE_CLASSES: tuple[type[BaseModel], ...] = (
    Say,
    Question,
    Condition,
    Switch,
    SetContext,
    Goto,
    CallFlow,
    EndFlow,
    HttpRequest,
    Code,
    Llm,
    LlmExtract,
    Hangup,
    Transfer,
    PlayUrl,
    SendMetadata,
    SetSessionParameters,
    CallRecording,
    AgentAssist,
    SendDtmf,
    BargeIn,
    ContinuousAsr,
    DtmfCollect,
    UserInputTimeout,
    UserNoInput,
    MuteSpeechInput,
    SessionSpeech,
    BotDelay,
    SendEvent,
    SendActivities,
)

Node = Annotated[
    Say
    | Question
    | Condition
    | Switch
    | SetContext
    | Goto
    | CallFlow
    | EndFlow
    | HttpRequest
    | Code
    | Llm
    | LlmExtract
    | Hangup
    | Transfer
    | PlayUrl
    | SendMetadata
    | SetSessionParameters
    | CallRecording
    | AgentAssist
    | SendDtmf
    | BargeIn
    | ContinuousAsr
    | DtmfCollect
    | UserInputTimeout
    | UserNoInput
    | MuteSpeechInput
    | SessionSpeech
    | BotDelay
    | SendEvent
    | SendActivities,
    Field(discriminator="type"),
]

KNOWN_EVENTS = frozenset(
    {
        "message",
        "any_event",
        "disconnect",
        "DTMF",
        "noUserInput",
        "transferStatus",
        "playUrlFailed",
        "speechHypothesis",
        "voiceDetected",
        "silenceDetected",
        "playFinished",
        "agentConnected",
        "dialoutInitiated",
        "conversationEnd",
        # outbound calls: answering-machine detection (Live Hub EventsDuringVoiceConversation.htm)
        "machineDetection",
        # raised by the endpoint itself: data-only Inject, and session.on_expiry: notify_flow
        "inject",
        # a deploy removed the node a live call waited on, or changed its kind (FlowEngine._recover)
        "flow_changed",
        "maxCallDuration",
    }
)


class Flow(BaseModel):
    """A conversation graph: nodes by id, where to start, and which nodes handle events/intents."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="AudioCodes endpoint flow")

    description: str | None = Field(default=None, description="What this flow is for.")
    start: NodeId = Field(description="The node a new conversation (or a call of this flow) starts at.")
    events: dict[str, NodeId] = Field(
        default_factory=dict,
        description=(
            "Event name -> node, e.g. `noUserInput`, `transferStatus`, `playUrlFailed`, `disconnect` "
            "(a cleanup path that sends nothing), `message` (input while nothing waits; default: "
            "`start`), `any_event` (events without their own handler). Opt-in VAIC events handled here "
            "(`noUserInput`, `speechHypothesis`, `playFinished`, ...) are asked for with `sendEventsToBot` "
            "automatically."
        ),
    )
    intents: dict[str, NodeId] = Field(
        default_factory=dict,
        description="Intent -> node: global intents that interrupt wherever the conversation waits.",
    )
    nodes: dict[NodeId, Node] = Field(
        description="Node id -> node.",
        json_schema_extra={"additionalProperties": False},  # an id that breaks the pattern is an error
    )


def flow_json_schema() -> dict[str, Any]:
    schema = Flow.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
