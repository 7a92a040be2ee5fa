"""What the built layers put into /opt, checked against what Lambda reserves and what handlers import.

Lambda unpacks every layer of a function into /opt, and some places there have a meaning
(https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths,
https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html): /opt/extensions (every file is
started as an external extension at init), /opt/bin (on PATH), /opt/lib (on LD_LIBRARY_PATH), and the
language folders (/opt/python is on sys.path). Each layer of ours may use exactly one folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Each layer's one top-level folder; anything else it ships is a finding.
LAYER_ROOTS = {"RuntimeLayer": "python", "AgentLayer": "agent"}
# Top-level folders Lambda gives a meaning to (our layers must never ship these).
RESERVED = ("extensions", "bin", "lib", "nodejs", "java", "ruby")
# Files sam build's python builder copies next to the installed package (pip's manifest and its input).
MANIFESTS = {"requirements.txt", "requirements.in"}


def reserved_problems(layer_id: str, root: Path) -> list[str]:
    """Files of a built layer Lambda would misread or that do not belong in it."""
    problems = []
    for file in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        relative = file.relative_to(root)
        top = relative.parts[0]
        if top in RESERVED:
            problems.append(f"/opt/{relative}: Lambda reserves /opt/{top}")
        elif top != LAYER_ROOTS.get(layer_id):
            problems.append(f"/opt/{relative}: {layer_id} may only ship /opt/{LAYER_ROOTS.get(layer_id)}")
        if "__pycache__" in relative.parts or file.suffix in (".pyc", ".pyo"):
            problems.append(f"/opt/{relative}: byte-code cache from a local run")
        if file.is_symlink():
            problems.append(f"/opt/{relative}: a symbolic link (zip and Lambda may not keep it)")
    return problems


def imported_modules(source: Path, package: str) -> set[str]:
    """Modules of ``package`` a file imports, at the top or inside functions (lazy imports count)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    own = _module_name(source, package)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, own, is_package=source.name == "__init__.py")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == package or name.startswith(f"{package}.")}


def reachable_modules(entry_points: list[Path], package_root: Path, package: str) -> set[str]:
    """Every module of ``package`` (under ``package_root``) the entry points import, transitively."""
    files = {_module_name(path, package, package_root): path for path in package_root.rglob("*.py")}
    seen: set[str] = set()
    pending = [name for entry in entry_points for name in imported_modules(entry, package)]
    while pending:
        name = pending.pop()
        if name in seen or name not in files:
            continue
        seen.add(name)
        parts = name.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a and a.b
        pending += sorted(imported_modules(files[name], package))
    return seen


def _module_name(path: Path, package: str, package_root: Path | None = None) -> str:
    parts = list(path.with_suffix("").parts)
    if package_root is not None:
        parts = [package, *path.relative_to(package_root).with_suffix("").parts]
    elif package in parts:
        parts = parts[parts.index(package) :]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, own: str, *, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = own.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)
