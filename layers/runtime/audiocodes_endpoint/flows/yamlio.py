"""YAML reading for flows: YAML 1.2 booleans, no duplicate keys, and line numbers for errors.

PyYAML follows YAML 1.1, where ``on``, ``off``, ``yes`` and ``no`` are booleans: a menu choice
called ``yes`` or a handler map called ``on`` would silently become ``True``. Only ``true`` and
``false`` are booleans here, as in YAML 1.2 and in editors' YAML language servers. A duplicate key
(two nodes with one id) would silently drop a node, so it is an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

BOOL_TAG = "tag:yaml.org,2002:bool"


class FlowYamlLoader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable key: the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
FlowYamlLoader.add_implicit_resolver(BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse(text: str) -> tuple[Any, Node | None]:
    """The document's data and its node tree (for line numbers); raises ``yaml.YAMLError``."""
    loader = FlowYamlLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return data, root


def line_of(root: Node | None, path: Sequence[Any]) -> int | None:
    """1-based line of the deepest node along ``path`` (mapping keys / list indexes)."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if str(getattr(key_node, "value", None)) == str(part):
                    node, line = value_node, key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
