"""The JSON docs/migrating-from-cognigy.md shows for our nodes is what they send."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .support import REPO, Call, build_agent

DOC = (REPO / "docs" / "migrating-from-cognigy.md").read_text(encoding="utf-8")
INLINE = re.compile(r"`(?P<type>[a-z_]+): (?P<fields>\{[^`]*\})` → `(?P<json>\{[^`]*\})`")
BLOCK = re.compile(r"```yaml\n(?P<yaml>(?:(?!```).)*)```\n→ `(?P<json>\{[^`]*\})`", re.DOTALL)


def examples() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = [
        (m["type"], {"type": m["type"], **yaml.safe_load(m["fields"])}, json.loads(m["json"]))
        for m in INLINE.finditer(DOC)
    ]
    for m in BLOCK.finditer(DOC):
        (name, node), *_ = yaml.safe_load(m["yaml"]).items()
        found.append((name, node, json.loads(m["json"])))
    return found


def test_the_doc_has_examples_to_check() -> None:
    assert len(examples()) >= 7


@pytest.mark.parametrize(("name", "node", "expected"), examples(), ids=[e[0] for e in examples()])
def test_documented_json_is_what_the_node_sends(
    tmp_path: Path, name: str, node: dict[str, Any], expected: dict[str, Any]
) -> None:
    node = {key: value for key, value in node.items() if key != "next"}
    agent = build_agent(tmp_path, yaml.safe_dump({"start": "n", "nodes": {"n": node}}))
    sent = Call(agent).start()
    assert sent, f"{name}: sent nothing"
    first = {key: value for key, value in sent[0].items() if key not in ("id", "timestamp")}
    assert first == expected
