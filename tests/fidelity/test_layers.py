"""The built layers and functions hold nothing Lambda would misread, and nothing the handlers do not use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fidelity import harness
from tests.fidelity.layers import LAYER_ROOTS, MANIFESTS, reachable_modules, reserved_problems

ROOT = harness.ROOT
FUNCTION_FOLDERS = {
    "BotApiFunction": "bot_api",
    "DispatcherFunction": "dispatcher",
    "InjectNotifyFunction": "inject_notify",
    "OutboundFunction": "outbound",
    "WebSocketFunction": "websocket",
}


def built(test: Any) -> Any:
    """Marks a test that reads the `sam build` output (skipped with SKIP_SAM=1, run by `make fidelity`)."""
    for mark in (
        pytest.mark.sam,
        pytest.mark.timeout(900),
        pytest.mark.skipif(os.environ.get("SKIP_SAM") == "1", reason="SKIP_SAM=1"),
    ):
        test = mark(test)
    return test


@pytest.fixture(scope="module")
def build() -> Path:
    return harness.sam_build()


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def _source_files(root: Path) -> set[Path]:
    return {p for p in _files(root) if "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")}


# --- the checker itself, on layouts made here ---------------------------------------------------


def test_the_checker_flags_the_agent_unpacked_at_the_top_of_opt(tmp_path: Path) -> None:
    # Given the agent layer as it used to be built: agent/ copied as-is, with a local run's caches
    shutil.copytree(ROOT / "agent", tmp_path / "AgentLayer")
    (tmp_path / "AgentLayer" / "extensions" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "AgentLayer" / "extensions" / "__pycache__" / "banking.cpython-312.pyc").write_bytes(b"")

    # When it is checked
    problems = reserved_problems("AgentLayer", tmp_path / "AgentLayer")

    # Then the extensions Lambda would start, the stray top-level folders and the cache are all named
    assert "/opt/extensions/banking.py: Lambda reserves /opt/extensions" in problems
    assert "/opt/endpoints/demo.yaml: AgentLayer may only ship /opt/agent" in problems
    assert any("__pycache__" in problem for problem in problems)


def test_the_checker_flags_executables_and_libraries_a_layer_would_put_on_path(tmp_path: Path) -> None:
    # Given a runtime layer that also ships a script in bin/ and a shared library in lib/
    for name in ("python/audiocodes_endpoint/__init__.py", "bin/tool", "lib/libx.so"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")

    # Then both are findings, the package is not
    assert reserved_problems("RuntimeLayer", tmp_path) == [
        "/opt/bin/tool: Lambda reserves /opt/bin",
        "/opt/lib/libx.so: Lambda reserves /opt/lib",
    ]


# --- the built artifacts ------------------------------------------------------------------------


@built
@pytest.mark.parametrize("layer_id", sorted(LAYER_ROOTS))
def test_no_built_layer_puts_a_file_where_lambda_reserves_a_meaning(build: Path, layer_id: str) -> None:
    assert reserved_problems(layer_id, build / layer_id) == []


@built
def test_the_agent_layer_is_the_agent_folder_under_agent(build: Path) -> None:
    # Then /opt/agent holds exactly the files of agent/ (no caches), byte for byte
    built = build / "AgentLayer" / "agent"
    assert _files(built) == _source_files(ROOT / "agent")
    for relative in _files(built):
        assert (built / relative).read_bytes() == (ROOT / "agent" / relative).read_bytes(), relative


@built
def test_the_runtime_layer_holds_the_package_and_exactly_the_locked_distributions(build: Path) -> None:
    # Given the built runtime layer's site (/opt/python)
    site = build / "RuntimeLayer" / "python"
    shipped = {name: version for name, (version, _info) in harness.distributions(site).items()}

    # Then its distributions are the lock's, name and version (boto3 and botocore as a matched pair)
    assert shipped == harness.locked_distributions()
    assert shipped["boto3"] == shipped["botocore"]

    # And besides them only our package and pip's manifest: no dev tools, no fakes, no tests
    recorded = harness.distribution_files(site)
    others = {path.parts[0] for path in _files(site) if path not in recorded}
    assert others == {"audiocodes_endpoint", *MANIFESTS}


@built
def test_every_module_of_the_runtime_layer_is_imported_by_a_handler(build: Path) -> None:
    # Given the package as built into the layer, and the four handlers
    package_root = build / "RuntimeLayer" / "python" / "audiocodes_endpoint"
    modules = {
        ".".join(["audiocodes_endpoint", *p.relative_to(package_root).with_suffix("").parts]).removesuffix(".__init__")
        for p in package_root.rglob("*.py")
    }
    handlers = [build / function_id / "app.py" for function_id in FUNCTION_FOLDERS]

    # When the imports are followed from the handlers (lazy imports inside functions included)
    reachable = reachable_modules(handlers, package_root, "audiocodes_endpoint")

    # Then every module shipped is one a handler can import: nothing is deployed that Lambda never loads
    assert modules - reachable == set()
    # and the package's source is shipped unchanged
    source = ROOT / "layers" / "runtime" / "audiocodes_endpoint"
    assert _files(package_root) == _source_files(source)


@built
@pytest.mark.parametrize("function_id", sorted(FUNCTION_FOLDERS))
def test_each_built_function_is_its_handler_folder_and_nothing_else(build: Path, function_id: str) -> None:
    built = build / function_id
    assert _files(built) == _source_files(ROOT / "functions" / FUNCTION_FOLDERS[function_id])


@built
def test_no_two_layers_of_a_function_write_the_same_path(build: Path) -> None:
    # merged_layers raises on a clash, as the later layer would silently replace the earlier's file
    merged = harness.merged_layers(build, ["RuntimeLayer", "AgentLayer"])
    assert {path.parts[0] for path in merged} == {"python", "agent"}
