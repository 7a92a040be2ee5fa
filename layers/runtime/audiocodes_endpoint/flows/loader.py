"""Load and check an agent directory: ``flows/*.yaml``, ``intents.yaml``, ``extensions/*.py``.

Everything that can be known before a call is checked here, so a mistake fails at load (or in
``validate``) with a message naming the file, line, node and field, never in the middle of a call:
the schema (pydantic), every ``next``-style reference, flows/intents/functions referred to, static
values (transfer targets, DTMF digits) and every template (compiled once and kept). Unreachable
nodes are warnings.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from audiocodes_endpoint.flows.extensions import Extensions
from audiocodes_endpoint.flows.fields import EXPRESSION, TEXT, TemplateKind
from audiocodes_endpoint.flows.model import KNOWN_EVENTS, Flow
from audiocodes_endpoint.flows.nlu import BuiltinIntentMatcher, IntentsFile, NluConnector
from audiocodes_endpoint.flows.nodes.base import NodeBase
from audiocodes_endpoint.flows.nodes.logic import Goto
from audiocodes_endpoint.flows.templating import Templates
from audiocodes_endpoint.flows.yamlio import line_of, parse

FLOW_PATTERNS = ("*.yaml", "*.yml")


class AgentLoadError(Exception):
    """The agent has errors; ``errors`` lists them, each naming file, line, node and field."""

    def __init__(self, errors: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.errors = list(errors)
        self.warnings = list(warnings)
        super().__init__(f"{len(self.errors)} error(s) in the agent:\n" + "\n".join(self.errors))


@dataclass
class Agent:
    root: Path
    flows: dict[str, Flow]
    nlu: NluConnector
    intents: IntentsFile
    extensions: Extensions
    templates: Templates
    sources: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def flow(self, name: str) -> Flow:
        return self.flows[name]


@dataclass
class Report:
    agent: Agent | None
    errors: list[str]
    warnings: list[str]


def load_agent(root: Path | str) -> Agent:
    """Load the agent or raise :class:`AgentLoadError` with every problem found."""
    report = check_agent(root)
    if report.errors or report.agent is None:
        raise AgentLoadError(report.errors, report.warnings)
    return report.agent


def check_agent(root: Path | str) -> Report:
    root = Path(root)
    errors: list[str] = []
    warnings: list[str] = []
    if not (root / "flows").is_dir():
        return Report(None, [f"{_show(root)}: no flows/ directory (expected {_show(root / 'flows')}/*.yaml)"], [])

    intents = load_intents(root / "intents.yaml", errors)
    extensions, problems = Extensions.load(root / "extensions")
    errors.extend(problems)

    parsed: dict[str, tuple[Path, Flow, Any]] = {}
    for path in sorted(p for pattern in FLOW_PATTERNS for p in (root / "flows").glob(pattern)):
        name = path.stem
        if name in parsed:
            errors.append(f"{_show(path)}: a second flow named {name!r}")
            continue
        loaded = _load_flow(path, errors)
        if loaded is not None:
            parsed[name] = (path, *loaded)
    if not parsed and not errors:
        errors.append(f"{_show(root / 'flows')}: no flows (*.yaml)")

    templates = Templates()
    refs = _References({name: flow for name, (_, flow, _) in parsed.items()}, intents, extensions)
    for name, (path, flow, tree) in parsed.items():
        checker = _FlowChecker(name, path, flow, tree, refs, templates)
        checker.run()
        errors.extend(checker.errors)
        warnings.extend(checker.warnings)

    if errors:
        return Report(None, errors, warnings)
    agent = Agent(
        root=root,
        flows={name: flow for name, (_, flow, _) in parsed.items()},
        nlu=BuiltinIntentMatcher.from_file(intents),
        intents=intents,
        extensions=extensions,
        templates=templates,
        sources={name: path for name, (path, _, _) in parsed.items()},
        warnings=warnings,
    )
    return Report(agent, [], warnings)


# --- files --------------------------------------------------------------------------------------


def _show(path: Path) -> str:
    """Relative to the working directory when inside it (short messages), else absolute."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _read_yaml(path: Path, errors: list[str]) -> tuple[Any, Any] | None:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except OSError as error:
        errors.append(f"{_show(path)}: cannot read: {error}")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        errors.append(f"{_show(path)}{where}: invalid YAML: {problem}")
    return None


def load_intents(path: Path, errors: list[str]) -> IntentsFile:
    if not path.exists():
        return IntentsFile()
    loaded = _read_yaml(path, errors)
    if loaded is None:
        return IntentsFile()
    data, tree = loaded
    try:
        return IntentsFile.model_validate(data or {})
    except ValidationError as error:
        for item in error.errors():
            loc = item["loc"]
            errors.append(f"{_show(path)}:{line_of(tree, loc)}: {'.'.join(map(str, loc))}: {item['msg']}")
        return IntentsFile()


def _load_flow(path: Path, errors: list[str]) -> tuple[Flow, Any] | None:
    loaded = _read_yaml(path, errors)
    if loaded is None:
        return None
    data, tree = loaded
    if not isinstance(data, dict):
        errors.append(f"{_show(path)}: a flow is a mapping with `start` and `nodes`")
        return None
    try:
        return Flow.model_validate(data), tree
    except ValidationError as error:
        errors.extend(_describe(path, data, tree, item) for item in error.errors())
        return None


_MESSAGES = {
    "extra_forbidden": "unknown field (misspelt?)",
    "union_tag_not_found": "missing `type`",
}


def _describe(path: Path, data: dict[str, Any], tree: Any, item: Any) -> str:
    """``file:line: node 'id' (type): field 'x': message`` from one pydantic error."""
    loc = [part for part in item["loc"] if not (isinstance(part, str) and "[" in part)]
    message = _MESSAGES.get(item["type"], item["msg"].removeprefix("Value error, "))
    if item["type"] == "union_tag_invalid":
        message = f"unknown node type {item['ctx']['tag']!r}; expected one of {item['ctx']['expected_tags']}"
    if len(loc) >= 2 and loc[0] == "nodes":
        node_id = loc[1]
        raw = data.get("nodes", {}).get(node_id) if isinstance(data.get("nodes"), dict) else None
        node_type = raw.get("type") if isinstance(raw, dict) else None
        rest = loc[2:]
        if rest and rest[0] == node_type:
            rest = rest[1:]
        where = f"node {node_id!r}" + (f" ({node_type})" if node_type else "")
        line = line_of(tree, ["nodes", node_id, *rest])
        field_part = f": field {'.'.join(map(str, rest))!r}" if rest else ""
        return f"{_show(path)}:{line}: {where}{field_part}: {message}"
    line = line_of(tree, loc)
    field_part = f"field {'.'.join(map(str, loc))!r}: " if loc else ""
    return f"{_show(path)}:{line}: {field_part}{message}"


# --- cross-references and templates ------------------------------------------------------------


class _References:
    def __init__(self, flows: dict[str, Flow], intents: IntentsFile, extensions: Extensions) -> None:
        self._flows = flows
        self._intents = intents
        self._extensions = extensions

    def has_flow(self, name: str) -> bool:
        return name in self._flows

    def has_node(self, flow: str, node: str) -> bool:
        return flow in self._flows and node in self._flows[flow].nodes

    def has_intent(self, name: str) -> bool:
        return name in self._intents.intents

    def function_problem(self, reference: str) -> str | None:
        return self._extensions.problem(reference)

    def entries_into(self, flow: str) -> set[str]:
        """Nodes of ``flow`` that other flows jump to directly."""
        return {
            node.node
            for other in self._flows.values()
            for node in other.nodes.values()
            if isinstance(node, Goto) and node.flow == flow and node.node
        }


class _FlowChecker:
    def __init__(self, name: str, path: Path, flow: Flow, tree: Any, refs: _References, templates: Templates) -> None:
        self.name, self.path, self.flow, self.tree = name, path, flow, tree
        self.refs, self.templates = refs, templates
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def _where(self, loc: Sequence[Any], node_id: str | None = None) -> str:
        line = line_of(self.tree, ["nodes", node_id, *loc] if node_id else loc)
        if node_id is None:
            return f"{_show(self.path)}:{line}: field {'.'.join(map(str, loc))!r}"
        node = self.flow.nodes[node_id]
        field_part = f": field {'.'.join(map(str, loc))!r}" if loc else ""
        return f"{_show(self.path)}:{line}: node {node_id!r} ({node.kind}){field_part}"

    def run(self) -> None:
        self._check_header()
        for node_id, node in self.flow.nodes.items():
            self._check_node(node_id, node)
        if not self.errors:
            self._reachability()

    def _check_header(self) -> None:
        """The flow's name, ``start`` and its event and intent handlers."""
        flow, nodes = self.flow, self.flow.nodes
        if not _is_name(self.name):
            self.errors.append(f"{_show(self.path)}: flow name {self.name!r} (the file name) must be an identifier")
        if flow.start not in nodes:
            self.errors.append(f"{self._where(['start'])}: no node {flow.start!r} in this flow")
        for event, target in flow.events.items():
            if target not in nodes:
                self.errors.append(f"{self._where(['events', event])}: no node {target!r} in this flow")
            if event not in KNOWN_EVENTS and not event.startswith("speakerVerification"):
                self.warnings.append(
                    f"{self._where(['events', event])}: {event!r} is not an event VoiceAI Connect is "
                    "known to send (names are case-sensitive)"
                )
        for intent, target in flow.intents.items():
            if not self.refs.has_intent(intent):
                self.errors.append(f"{self._where(['intents', intent])}: no intent named {intent!r} in intents.yaml")
            if target not in nodes:
                self.errors.append(f"{self._where(['intents', intent])}: no node {target!r} in this flow")

    def _check_node(self, node_id: str, node: NodeBase) -> None:
        """A node's edges lead somewhere, its fields check out, its templates compile."""
        for field_path, target in node.edges():
            if target not in self.flow.nodes:
                self.errors.append(f"{self._where(field_path.split('.'), node_id)}: no node {target!r} in this flow")
        for field_name, problem in node.check(self.refs):
            self.errors.append(f"{self._where(field_name.split('.'), node_id)}: {problem}")
        for loc, problem in _template_problems(node, self.templates):
            self.errors.append(f"{self._where(loc, node_id)}: {problem}")

    def _reachability(self) -> None:
        roots = {self.flow.start, *self.flow.events.values(), *self.flow.intents.values()}
        roots |= self.refs.entries_into(self.name)
        seen: set[str] = set()
        todo = [root for root in roots if root in self.flow.nodes]
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            todo.extend(target for _, target in self.flow.nodes[node_id].edges())
        for node_id in self.flow.nodes:
            if node_id not in seen:
                self.warnings.append(f"{self._where([], node_id)}: unreachable (no path from `start` or a handler)")


def _is_name(name: str) -> bool:
    return name.replace("-", "_").isidentifier()


def _template_problems(
    model: BaseModel, templates: Templates, prefix: tuple[Any, ...] = ()
) -> Iterator[tuple[list[Any], str]]:
    """Compile every template of ``model`` (recursing into nested models); yield (loc, problem)."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        loc = [*prefix, info.alias or name]
        kind = _marker(info.metadata) or _marker_in(info.annotation)
        if kind is not None:
            problem = _compile_problem(templates, kind, value)
            if problem is not None:
                yield loc, problem
            continue
        for sub, child in _children(value):
            if isinstance(child, BaseModel) and not isinstance(child, NodeBase):
                yield from _template_problems(child, templates, (*loc, *sub))


def _compile_problem(templates: Templates, kind: TemplateKind, value: Any) -> str | None:
    """Why a field's template (expression, text or data) does not compile, or None."""
    try:
        if kind == EXPRESSION:
            templates.compile_expression(value)
        elif kind == TEXT:
            for text in _texts(value):
                templates.compile_text(text)
        else:
            templates.compile_data(value)
    except Exception as error:  # jinja2.TemplateSyntaxError and friends
        return f"bad template: {getattr(error, 'message', None) or error}"
    return None


def _children(value: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """The values inside a model, list, tuple or dict field, each with its step in the location."""
    if isinstance(value, BaseModel):
        return [((), value)]
    if isinstance(value, list | tuple):
        return [((index,), item) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return [((key,), item) for key, item in value.items()]
    return []


def _marker(metadata: Sequence[Any]) -> TemplateKind | None:
    return next((item for item in metadata if isinstance(item, TemplateKind)), None)


def _marker_in(annotation: Any) -> TemplateKind | None:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return _marker(metadata) or _marker_in(base)
    for argument in typing.get_args(annotation):
        found = _marker_in(argument)
        if found is not None:
            return found
    return None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []
