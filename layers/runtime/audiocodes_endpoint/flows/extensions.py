"""Python functions from ``agent/extensions/*.py``, called by code nodes with a time limit.

Extensions are the agent owner's own code, imported as a package (``from . import helpers`` works)
and *not* sandboxed: they can do anything the Lambda can. What the engine guards is time: a call
runs in its own daemon thread and the turn fails after ``code_timeout_seconds``. Python cannot kill
a thread, so a timed-out function keeps running in the background until it returns; it can no
longer change the conversation (its context copy is discarded), but it still uses CPU and may still
perform side effects.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE_HELP = "expected `module.function` naming a function in agent/extensions/<module>.py"


class CodeTimeout(Exception):
    pass


class Extensions:
    def __init__(self, modules: dict[str, types.ModuleType] | None = None) -> None:
        self.modules = modules or {}

    @classmethod
    def load(cls, directory: Path) -> tuple[Extensions, list[str]]:
        """Import every ``*.py`` in ``directory``; errors are returned as messages naming the file."""
        if not directory.is_dir():
            return cls(), []
        # A package name unique to the directory, so two agents in one process do not collide.
        package = "agent_extensions_" + hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:10]
        if package not in sys.modules:
            module = types.ModuleType(package)
            module.__path__ = [str(directory)]
            sys.modules[package] = module
        modules, errors = {}, []
        for path in sorted(directory.glob("*.py")):
            if path.stem.startswith("_"):
                continue
            try:
                modules[path.stem] = importlib.import_module(f"{package}.{path.stem}")
            except Exception as error:  # user code: report, do not crash the loader
                errors.append(f"{path}: cannot import: {type(error).__name__}: {error}")
        return cls(modules), errors

    def resolve(self, reference: str) -> Callable[..., Any] | None:
        module_name, _, function_name = reference.rpartition(".")
        module = self.modules.get(module_name)
        function = getattr(module, function_name, None) if module else None
        return function if callable(function) else None

    def problem(self, reference: str) -> str | None:
        module_name, _, function_name = reference.rpartition(".")
        if not module_name:
            return f"{reference!r}: {REFERENCE_HELP}"
        if module_name not in self.modules:
            return f"no extension module {module_name!r} (agent/extensions/{module_name}.py)"
        if self.resolve(reference) is None:
            return f"extension module {module_name!r} has no function {function_name!r}"
        return None


def errors_of(errors: list[str], module: str) -> list[str]:
    """The load errors (from :meth:`Extensions.load`) of ``module``'s own file, not its neighbours'."""
    return [error for error in errors if Path(error.split(":", 1)[0]).stem == module]


def call(function: Callable[..., Any], available: dict[str, Any], timeout: float) -> Any:
    """Call ``function`` with the keyword arguments it declares (of ``available``) in a thread."""
    kwargs = _accepted(function, available)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function(**kwargs)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target, name=f"code-node:{getattr(function, '__name__', '?')}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise CodeTimeout(f"did not return within {timeout:g} s (its thread keeps running)")
    error = box.get("error")
    if isinstance(error, Exception):
        raise error
    if error is not None:  # SystemExit and friends must not escape a turn as themselves
        raise RuntimeError(f"raised {type(error).__name__}: {error}")
    return box.get("value")


def _accepted(function: Callable[..., Any], available: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return available
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return available
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {key: value for key, value in available.items() if key in names}
