"""No caller data in any output of a masking endpoint, along every error path the handlers have.

An agent made for the test fails everywhere it can, each time with the caller's number, words and
display name in the error's message: code nodes that raise or return an invalid activity, a URL
the HTTP node refuses, DTMF digits that are not digits, an NLU connector and every transformer
(input, output, raw inject, raw notify) that raise or return garbage, a disconnect handler that
raises, Amazon Translate unavailable; plus bodies that do not decode and inject/notify refusals.
All of it runs through the real handlers (Bot API, WebSocket, dispatcher, Inject & Notify) on
moto. Everything written is captured: the Powertools logger, every standard ``logging`` logger (at
INFO, stricter than Lambda's default WARNING), and the process's stdout and stderr.

The same run with ``mask_logging: false`` must find the caller's data: the control that proves the
capture would see a leak.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest

from audiocodes_devtools.events import http_event
from tests.conftest import ROOT
from tests.integration.conftest import (
    ASYNC_TOKEN,
    TOKEN,
    FakeLambdaContext,
    activity,
    drain,
    start_event,
)

NUMBER = "+4915799912345"
NAME = "Zelda Quuxington"
WORDS = "marzipan cellar door"
SECRETS = ("15799912345", "Quuxington", "marzipan")  # what must appear nowhere (any formatting of the number)
KEY = "leaky-inject-key"

EXTENSION = '''
"""Extensions that fail with the caller's data in their messages."""


def fail_with_input(input, context):
    call = context.get("call", {})
    raise ValueError(f"cannot handle {input.get('text')!r} for {call.get('callerDisplayName')} {call.get('caller')}")


def bad_output(input):
    return {"type": "", "text": f"{input.get('text')} for {input.get('userId')}"}


def recognize(text, language):
    raise RuntimeError(f"NLU choked on {text!r}")


def handle_input(payload):
    raise ValueError(f"input transformer refused {payload.get('text')!r} from {payload.get('userId')}")


def handle_output(output):
    return {"text": 42, "echo": output}


def handle_inject(body, headers, raw_body):
    raise ValueError(f"webhook refused: {raw_body}")


def handle_notify(body):
    return {"sessionId": body.get("conversation"), "text": {"said": body.get("say")}}


def on_disconnect(context):
    raise KeyError(f"{context['call'].get('callerDisplayName')} {context['call'].get('caller')}")
'''

FLOW = """
start: hello
events:
  disconnect: cleanup
nodes:
  hello:
    type: say
    text: "Hello {{ context.call.callerDisplayName }}, what can I do?"
    next: ask
  ask:
    type: question
    text: Say a command.
    store: wish
    next: route
  route:
    type: switch
    value: input.text.split(' ')[0]
    cases:
      code: crash
      output: garble
      http: fetch
      dtmf: keys
    default: crash
  crash:
    type: code
    function: leaky.fail_with_input
    next: ask
  garble:
    type: code
    function: leaky.bad_output
    next: ask
  fetch:
    type: http
    url: "ftp://files.example/{{ input.text }}"
    next: ask
  keys:
    type: send_dtmf
    dtmfDigits: "{{ input.text }}"
    next: ask
  cleanup:
    type: code
    function: leaky.on_disconnect
"""

ENDPOINT = """
name: Leaky {mode}
url_token: {token}
flow: leaky
bot_token: ssm:/audiocodes-endpoint/{token}/bot-token
async_mode: {async_mode}
{inject}
data_protection:
  mask_logging: {masking}
  collect_analytics: true
  store_transcripts: true
nlu:
  connector: code
  function: leaky.recognize
translation:
  enabled: true
  user_language: de
  flow_language: en
transformers:
  module: leaky
  input: true
  output: true
  inject: true
  notify: true
"""


def agent(tmp_path: Path, masking: bool) -> Path:
    directory = tmp_path / "agent"
    shutil.copytree(ROOT / "agent", directory)
    (directory / "extensions" / "leaky.py").write_text(EXTENSION)
    (directory / "flows" / "leaky.yaml").write_text(FLOW)
    for token, async_mode in (("leaky", "false"), ("leaky-async", "true")):
        inject = f"inject_api_key: ssm:/audiocodes-endpoint/{token}/inject-api-key" if async_mode == "true" else ""
        text = ENDPOINT.format(
            mode=token, token=token, async_mode=async_mode, inject=inject, masking=str(masking).lower()
        )
        (directory / "endpoints" / f"{token}.yaml").write_text(textwrap.dedent(text))
    return directory


@pytest.fixture
def output(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Everything written: the Powertools logger, the standard logging tree at INFO, fd 1 and fd 2."""
    from aws_lambda_powertools.logging.filters import SuppressFilter

    from audiocodes_endpoint.observability import logger

    powertools = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", powertools)
    standard = io.StringIO()
    handler = logging.StreamHandler(standard)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    # Lambda's own root handler exists before our Logger is made, and the Logger then filters its
    # service's records out of it (no line twice); this handler comes later, so it is filtered here.
    handler.addFilter(SuppressFilter(logger.service))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # moto's own request logs are not ours

    def everything() -> str:
        captured = capfd.readouterr()
        return "\n".join([powertools.getvalue(), standard.getvalue(), captured.out, captured.err])

    yield everything
    root.removeHandler(handler)
    root.setLevel(previous)


def request(module: Any, path: str, body: Any, headers: dict[str, str], *, raw: bytes | None = None) -> int:
    data = raw if raw is not None else json.dumps(body).encode()
    event = http_event("POST", path, headers={"content-type": "application/json", **headers}, body=data)
    result: dict[str, Any] = module.lambda_handler(event, FakeLambdaContext())
    return int(result["statusCode"])


@pytest.mark.parametrize("masking", [True, False], ids=["masking", "control-without-masking"])
def test_no_error_path_writes_the_callers_data(
    masking: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    handlers: dict[str, Any],
    turn_queue: Any,
    output: Any,
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.wiring import runtime

    ssm = boto3.client("ssm")
    for token, secret in (("leaky", TOKEN), ("leaky-async", ASYNC_TOKEN)):
        ssm.put_parameter(Name=f"/audiocodes-endpoint/{token}/bot-token", Value=secret, Type="SecureString")
    ssm.put_parameter(Name="/audiocodes-endpoint/leaky-async/inject-api-key", Value=KEY, Type="SecureString")
    ssm.put_parameter(Name="/audiocodes-endpoint/demo-async/inject-api-key", Value="other", Type="SecureString")
    monkeypatch.setenv("AGENT_DIR", str(agent(tmp_path, masking)))
    parameters.clear_caches()
    runtime.cache_clear()
    import importlib

    bot_api, inject = handlers["bot_api"], importlib.import_module("functions.inject_notify.app")
    bearer = {"authorization": f"Bearer {TOKEN}"}
    start = start_event(NUMBER)
    start["parameters"]["callerDisplayName"] = NAME
    statuses: list[int] = []

    def sync_call(conversation: str, *said: str) -> None:
        base = f"/leaky/conversation/{conversation}"
        statuses.append(request(bot_api, "/leaky", {"conversation": conversation}, bearer))
        statuses.append(request(bot_api, f"{base}/activities", {"activities": [start]}, bearer))
        for text in said:
            statuses.append(request(bot_api, f"{base}/activities", {"activities": [activity(text=text)]}, bearer))

    # Sync: every failing node, the NLU connector, translation and both transformers on each turn
    sync_call("c-code", f"code {WORDS} {NUMBER}")
    sync_call("c-output", f"output {WORDS}")
    sync_call("c-http", f"http {WORDS}")
    sync_call("c-dtmf", f"dtmf {WORDS} {NAME}")
    # The disconnect path raising, on a call that is still live
    sync_call("c-bye")
    reason = {"reasonCode": "client-disconnected", "reason": f"{NAME} hung up"}
    statuses.append(request(bot_api, "/leaky/conversation/c-bye/disconnect", reason, bearer))
    # Bodies that do not decode or do not validate, quoting the caller's words
    base = "/leaky/conversation/c-bye/activities"
    statuses.append(request(bot_api, base, None, bearer, raw=f'{{"activities": [{{"text": "{WORDS}"'.encode()))
    statuses.append(request(bot_api, base, {"activities": [{"id": 1, "type": WORDS, "text": NUMBER}]}, bearer))
    statuses.append(
        request(bot_api, base, {"activities": [{"id": "a", "type": "x", "value": WORDS + "\ud800"}]}, bearer)
    )

    # Async: a live call, its socket, an inject that fails in the flow, raw inject and notify that fail
    keyed = {"x-api-key": KEY}
    async_bearer = {"authorization": f"Bearer {ASYNC_TOKEN}"}
    statuses.append(request(bot_api, "/leaky-async", {"conversation": "c-async"}, async_bearer))
    socket = {
        "requestContext": {"routeKey": "$connect", "connectionId": "conn-leak", "stage": "live"},
        "headers": async_bearer,
        "queryStringParameters": {"endpoint": "leaky-async", "conversation": "c-async"},
    }
    assert handlers["websocket"].lambda_handler(socket, FakeLambdaContext())["statusCode"] == 200
    start_async = start_event(NUMBER)
    start_async["parameters"]["callerDisplayName"] = NAME
    statuses.append(
        request(bot_api, "/leaky-async/conversation/c-async/activities", {"activities": [start_async]}, async_bearer)
    )
    drain(handlers, turn_queue)
    cognigy = {"URLToken": "leaky-async", "sessionId": "c-async"}
    statuses.append(request(inject, "/v2.0/endpoint/inject", {**cognigy, "text": f"code {WORDS} {NUMBER}"}, keyed))
    statuses.append(request(inject, "/v2.0/endpoint/notify", {**cognigy, "userId": NUMBER, "text": WORDS}, keyed))
    statuses.append(request(inject, "/v2.0/endpoint/inject", {**cognigy, "text": "x" * 10_001 + WORDS}, keyed))
    statuses.append(request(inject, "/v2.0/endpoint/inject", {**cognigy, "userId": NAME, "text": WORDS}, keyed))
    statuses.append(request(inject, "/inject/leaky-async", {"payer": NAME, "note": WORDS}, keyed))
    statuses.append(request(inject, "/notify/leaky-async", {"conversation": "c-async", "say": WORDS}, keyed))
    drain(handlers, turn_queue)

    # Then the error paths were taken (flows failed closed, refusals were 4xx)...
    assert {200, 202, 400, 404} <= set(statuses), statuses
    written = output()
    assert "flow failed" in written and "transformer failed" in written and "NLU failed" in written
    assert "disconnect path of the flow failed" in written
    # ...and the caller's data appears in no output at all on a masking endpoint, and does without masking
    leaked = sorted({secret for secret in SECRETS if secret in written})
    if masking:
        assert leaked == [], [line[:300] for line in written.splitlines() if any(s in line for s in SECRETS)][:8]
    else:
        assert leaked == sorted(SECRETS)
