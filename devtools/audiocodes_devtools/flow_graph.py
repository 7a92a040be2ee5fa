"""Render a flow as a Mermaid flowchart, so a user can look at what the YAML says."""

from __future__ import annotations

import re

from audiocodes_endpoint.flows.model import Flow
from audiocodes_endpoint.flows.nodes.base import NodeBase
from audiocodes_endpoint.flows.nodes.logic import CallFlow, Goto

# Node shapes by role: decisions are diamonds, waits are hexagons, call ends are stadiums,
# integrations are subroutines, everything else a box.
_SHAPES = {
    "condition": ("{", "}"),
    "switch": ("{", "}"),
    "question": ("{{", "}}"),
    "hangup": ("([", "])"),
    "transfer": ("([", "])"),
    "end": ("([", "])"),
    "http": ("[[", "]]"),
    "code": ("[[", "]]"),
    "call": ("[[", "]]"),
}
_MAX_LABEL = 48


def _escape(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1] + "…"
    # Mermaid entity codes: `#` first, so a literal "#quot;" in a flow stays literal.
    return text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _id(node_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _edge_label(field: str) -> str:
    if field == "next":
        return ""
    if field.startswith("cases."):
        return field[len("cases.") :]
    if field.startswith("choices."):
        return field[len("choices.") :].rsplit(".next", 1)[0]
    return {"on_failure": "failed", "on_error": "error", "on_no_input": "no input"}.get(field, field)


def _label(node_id: str, node: NodeBase) -> str:
    summary = node.summary()
    text = f"<b>{_escape(node_id)}</b><br/>{node.kind}"
    return f"{text}: {_escape(summary)}" if summary else text


def mermaid(name: str, flow: Flow) -> str:
    lines = ["flowchart TD", f'  start(("{_escape(name)}")) --> {_id(flow.start)}']
    for node_id, node in flow.nodes.items():
        left, right = _SHAPES.get(node.kind, ("[", "]"))
        lines.append(f'  {_id(node_id)}{left}"{_label(node_id, node)}"{right}')
    for node_id, node in flow.nodes.items():
        for field, target in node.edges():
            label = _edge_label(field)
            arrow = f'-->|"{_escape(label)}"|' if label else "-->"
            lines.append(f"  {_id(node_id)} {arrow} {_id(target)}")
        if isinstance(node, Goto | CallFlow) and node.flow:
            other = f"flow_{re.sub(r'[^A-Za-z0-9_]', '_', node.flow)}"
            lines.append(f'  {other}[["flow {_escape(node.flow)}"]]')
            style = "-. calls .->" if isinstance(node, CallFlow) else "-. goes to .->"
            lines.append(f"  {_id(node_id)} {style} {other}")
    for table, handlers in (("event", flow.events), ("intent", flow.intents)):
        for key, target in handlers.items():
            handler = f"{table}_{re.sub(r'[^A-Za-z0-9_]', '_', key)}"
            lines.append(f'  {handler}>"{table}: {_escape(key)}"] -.-> {_id(target)}')
    return "\n".join(lines) + "\n"
