"""Dotted paths into the session ``context`` (``account.id``), used by ``set``, ``store`` fields."""

from __future__ import annotations

from typing import Any


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``target[a][b] = value`` for ``a.b``, creating (or replacing non-dict) parents."""
    *parents, leaf = path.split(".")
    node = target
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = value


def get_path(target: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = target
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def delete_path(target: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = target
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
