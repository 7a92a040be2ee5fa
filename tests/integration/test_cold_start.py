"""Init builds what requests need; a SnapStart restore makes every network client anew."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest


def _clients(rt: Any) -> list[Any]:
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    from audiocodes_endpoint.flows.nodes import http

    return [rt.conversations.store._client, rt.queue._client, rt.pusher._client, DEFAULT_PROVIDERS["ssm"], http._client]


def test_init_builds_the_clients_and_services_and_a_restore_replaces_every_client(
    handlers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from audiocodes_endpoint import wiring as runtime_module

    # Given Lambda's SnapStart hooks module (python3.12 runtimes provide it; here a stand-in records hooks)
    hooks: list[Any] = []
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", types.SimpleNamespace(register_after_restore=hooks.append))
    monkeypatch.setattr(runtime_module, "_registered", [])
    runtime_module.runtime.cache_clear()

    # When a function's init runs
    rt = runtime_module.prepare()

    # Then every endpoint's services and the clients exist before any request, and a restore hook is registered
    assert set(rt.services._built) == {e.url_token for e in rt.endpoints.values() if e.enabled}
    before = _clients(rt)
    assert all(client is not None for client in before)
    assert hooks == [runtime_module.reconnect]

    # When the environment is restored from a snapshot
    hooks[0]()

    # Then no client of the snapshot is used any more
    after = _clients(rt)
    assert all(new is not old for new, old in zip(after, before, strict=True))
    assert before[-1].is_closed  # the pooled HTTP connections of the snapshot are closed
