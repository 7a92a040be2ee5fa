"""The committed JSON Schema is current; the validate, graph and schema commands work."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # pinned in requirements-dev.in: a missing one fails here, it never skips
import pytest

from audiocodes_devtools.flows_cli import main
from audiocodes_endpoint.flows import flow_json_schema
from audiocodes_endpoint.flows.model import NODE_CLASSES
from audiocodes_endpoint.flows.yamlio import parse

from .support import DEMO_AGENT, REPO, write_agent

SCHEMA = REPO / "schemas" / "flow.schema.json"


def test_committed_schema_is_current() -> None:
    # Given the schema generated from the models, Then it equals the committed file
    # (regenerate with `python -m audiocodes_devtools.flows_cli schema`)
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == flow_json_schema()


def test_schema_knows_every_node_type() -> None:
    (node,) = flow_json_schema()["properties"]["nodes"]["patternProperties"].values()
    mapping = node["discriminator"]["mapping"]
    assert set(mapping) == {cls.model_fields["type"].annotation.__args__[0] for cls in NODE_CLASSES}  # type: ignore[union-attr]


def test_demo_flows_validate_against_the_json_schema() -> None:
    # Given an editor validating YAML with the schema (jsonschema stands in for it)
    schema = flow_json_schema()
    for path in sorted((DEMO_AGENT / "flows").glob("*.yaml")):
        data, _ = parse(path.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema)


@pytest.mark.parametrize(
    "flow",
    [
        {"start": "a", "nodes": {"a": {"type": "say", "txt": "hi"}}},
        {"start": "a", "nodes": {"a": {"type": "sayy", "text": "hi"}}},
        {"start": "a", "nodes": {"bad id": {"type": "say", "text": "hi"}}},
        {"start": "a", "nodes": {"a": {"type": "session_params", "bargeIn": "yes"}}},
    ],
)
def test_schema_rejects_what_the_loader_rejects(flow: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(flow, flow_json_schema())


def test_validate_command_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEMO_AGENT)]) == 0
    assert "OK (assistant, async_demo, main; 6 intents; 0 warning(s))" in capsys.readouterr().out


def test_validate_command_reports_errors_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(tmp_path, {"main": "start: a\nnodes:\n  a: {type: say, text: x, next: b}\n  c: {type: say, text: y}\n"})
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "no node 'b'" in err and "1 error(s)" in err


def test_validate_command_prints_warnings_and_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_agent(tmp_path, {"main": "start: a\nnodes:\n  a: {type: say, text: x}\n  c: {type: say, text: y}\n"})
    assert main(["validate", str(tmp_path)]) == 0
    assert "warning: " in capsys.readouterr().err


def test_graph_command_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "main", "--agent", str(DEMO_AGENT)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart TD\n")
    assert '  start(("main")) --> n_setup' in text
    assert '  n_menu -->|"balance"| n_hold_on' in text
    assert '  n_transfer -->|"failed"| n_transfer_failed' in text
    assert '  intent_goodbye>"intent: goodbye"] -.-> n_goodbye' in text


def test_graph_command_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "main.mmd"
    assert main(["graph", "async_demo", "--agent", str(DEMO_AGENT), "--out", str(out)]) == 0
    assert 'n_lookup -->|"error"| n_failed' in out.read_text(encoding="utf-8")


def test_graph_image_needs_mmdc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", "main", "--agent", str(DEMO_AGENT), "--out", str(tmp_path / "x.png")]) == 2


def test_graph_unknown_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "nope", "--agent", str(DEMO_AGENT)]) == 1


def test_schema_command_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == flow_json_schema()
