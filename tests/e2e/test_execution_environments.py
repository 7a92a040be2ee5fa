"""The emulator hosts functions as Lambda does: isolated environments, INIT once, one invocation
at a time, the concurrency limit, the Timeout enforced, payload 2.0 events, nothing raw in its output.

Runs the emulator on a template of its own (tests/e2e/lambda_host) with a probe function.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from audiocodes_devtools.launcher import RunningEmulator, emulator_process

pytestmark = pytest.mark.e2e

HOST = Path(__file__).parent / "lambda_host"
EVENTS = Path(__file__).parents[2] / "events"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with emulator_process(tmp_path_factory.mktemp("no-agent"), template=HOST / "template.yaml") as running:
        yield running


def ask(probe: RunningEmulator, path: str = "/probe/x", **options: Any) -> httpx.Response:
    return httpx.request(options.pop("method", "GET"), probe.base_url + path, timeout=10, **options)


def printed(probe: RunningEmulator, text: str) -> bool:
    """Whether the emulator printed ``text`` (its output is read by another thread: allow it a moment)."""
    for _ in range(50):
        if any(text in line for line in probe.output):
            return True
        time.sleep(0.05)
    return False


def report(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_environments_initialise_once_and_never_run_two_invocations_at_once(probe: RunningEmulator) -> None:
    # Given more parallel requests than the function's reserved concurrency (2)
    with ThreadPoolExecutor(8) as pool:
        reports = [report(a) for a in pool.map(lambda _: ask(probe, "/probe/x?sleep=0.2"), range(16))]

    # Then each environment ran one invocation at a time, at most 2 environments ran,
    # and each environment's module state survived between its invocations (one INIT each)
    assert {r["in_flight"] for r in reports} == {1}
    by_environment: dict[int, list[int]] = {}
    for r in reports:
        by_environment.setdefault(r["pid"], []).append(r["invocations"])
    assert 1 <= len(by_environment) <= 2
    for counts in by_environment.values():
        assert sorted(counts) == list(range(min(counts), min(counts) + len(counts)))
    assert sum(len(c) for c in by_environment.values()) == 16


def test_the_context_carries_the_template_s_memory_size_and_the_function_name(probe: RunningEmulator) -> None:
    seen = report(ask(probe))
    assert seen["memory_limit_in_mb"] == "256"  # a string, as in Lambda's Python runtime
    assert seen["function_name"].endswith("ProbeFunction")
    assert 0 < seen["remaining_ms"] <= 1000
    assert seen["settings"]["PROBE_SETTING"] == "from-the-template"
    # resources the emulator does not create resolve to placeholders instead of stopping it
    assert seen["settings"]["PROBE_TOPIC"] and seen["settings"]["PROBE_DASHBOARD"]


def test_a_timed_out_invocation_is_stopped_answered_503_and_its_environment_replaced(probe: RunningEmulator) -> None:
    # Given a warm environment
    before = {report(ask(probe))["pid"] for _ in range(4)}

    # When an invocation runs past the function's 1 s Timeout
    answer = ask(probe, "/probe/x?sleep=5")

    # Then the caller gets API Gateway's answer for a timed-out integration, and Lambda's log line
    assert answer.status_code == 503
    assert answer.json() == {"message": "Service Unavailable"}
    assert printed(probe, "Task timed out after 1.00 seconds")
    # And the environment that ran it is gone: later invocations run in fresh or other environments
    after = [report(ask(probe)) for _ in range(4)]
    killed = before - {r["pid"] for r in after}
    assert killed or any(r["invocations"] == 1 for r in after)


def test_http_events_follow_payload_2_0(probe: RunningEmulator) -> None:
    # Given a request with repeated query parameters, cookies and a repeated header
    headers = [("Cookie", "a=1; b=2"), ("X-Seen", "one"), ("X-Seen", "two"), ("User-Agent", "probe-test")]
    event = report(ask(probe, "/probe/a/b?api_key=k1&x=1&x=2&empty=", headers=headers))["event"]

    # Then the event is shaped as API Gateway's HTTP API sends it
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /probe/{proxy+}"
    assert event["rawPath"] == "/probe/a/b"
    assert event["rawQueryString"] == "api_key=k1&x=1&x=2&empty="
    assert event["queryStringParameters"] == {"api_key": "k1", "x": "1,2", "empty": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-seen"] == "one,two"
    assert event["pathParameters"] == {"proxy": "a/b"}
    http = {"method": "GET", "path": "/probe/a/b", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}
    assert event["requestContext"]["http"] == {**http, "userAgent": "probe-test"}
    assert event["isBase64Encoded"] is False and "body" not in event


def test_binary_bodies_arrive_base64_encoded(probe: RunningEmulator) -> None:
    data = bytes(range(256))
    event = report(ask(probe, method="POST", content=data, headers={"Content-Type": "audio/wav"}))["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    text = report(ask(probe, method="POST", content=b'{"a":1}', headers={"Content-Type": "application/json"}))
    assert (text["event"]["isBase64Encoded"], text["event"]["body"]) == (False, '{"a":1}')


def _shape(value: Any) -> Any:
    """Keys and value types, recursively (values themselves differ between a sample and a live event)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


@pytest.mark.parametrize("sample", ["bot_api/activities_message.json", "inject_notify/inject.json"])
def test_events_have_the_documented_shape(probe: RunningEmulator, sample: str) -> None:
    # Given a documented event (events/) and the emulator's event for the same kind of request
    documented = json.loads((EVENTS / sample).read_text(encoding="utf-8"))
    headers = {k: v for k, v in documented["headers"].items() if k not in ("content-length", "host")}
    answer = ask(
        probe,
        "/probe/x",
        method=documented["requestContext"]["http"]["method"],
        headers=headers,
        content=documented["body"].encode(),
    )
    live = report(answer)["event"]

    # Then both have the same fields with the same types (headers and route values aside)
    for event in (documented, live):
        event.pop("headers"), event.pop("pathParameters", None)
    assert _shape(live) == _shape(documented)


def test_a_raising_handler_gets_500_and_the_body_never_reaches_the_output(probe: RunningEmulator) -> None:
    # Given a request whose body carries a caller number, and a handler whose error message quotes it
    answer = ask(probe, "/probe/x?raise=1", method="POST", content=b'{"caller":"+4921154599999"}')

    # Then the caller gets API Gateway's 500, and the emulator names the error without its message
    assert answer.status_code == 500
    assert answer.json() == {"message": "Internal Server Error"}
    assert printed(probe, "ValueError")
    assert not any("4921154599999" in line for line in probe.output)


def test_an_environment_that_dies_mid_invocation_answers_500_and_is_replaced(probe: RunningEmulator) -> None:
    died = ask(probe, "/probe/x?exit=1")
    assert died.status_code == 500
    assert died.json() == {"message": "Internal Server Error"}
    assert printed(probe, "Runtime.ExitError")
    assert report(ask(probe))["in_flight"] == 1  # the next invocation runs (in another or a fresh environment)


def test_connections_api_refuses_anyone_but_the_emulator_s_functions(probe: RunningEmulator) -> None:
    forged = ask(probe, "/@connections/abc", method="POST", content=b'{"type":"message"}')
    wrong_key = ask(
        probe, "/@connections/abc", method="POST", content=b"{}", headers={"X-Local-Connections-Key": "guess"}
    )
    assert forged.status_code == wrong_key.status_code == 403
