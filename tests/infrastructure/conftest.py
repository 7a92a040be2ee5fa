"""Shared fixtures for the template and event tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audiocodes_devtools.template import HttpRoute, Template, load_template, route_pattern

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template(REPO_ROOT / "template.yaml")


@pytest.fixture
def aws(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's moto fixture, minus endpoint overrides a shell pointed at the emulator may have."""
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


def route_matches(route: HttpRoute, method: str, path: str) -> bool:
    """API Gateway path matching, reduced to what the template uses: literals, {x} and {x+}."""
    if route.method not in ("ANY", method):
        return False
    return route_pattern(route.path).fullmatch(path) is not None
