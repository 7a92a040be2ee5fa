"""The bot_api handler on moto, with the demo agent and its bot token in (moto's) SSM."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from audiocodes_devtools.events import http_event
from audiocodes_devtools.sqs_poller import SqsPoller
from audiocodes_devtools.template import load_template
from tests.conftest import ROOT

TOKEN = "integration-token"
CONVERSATION = "f010e998-4499-4ddb-80d4-fea137fd7b4d"


class FakeLambdaContext:
    function_name = "BotApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:BotApiFunction"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def bot_api(sessions_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler module with a fresh runtime bound to this test's moto state."""
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.wiring import runtime

    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("AGENT_DIR", str(ROOT / "agent"))
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo/bot-token", Value=TOKEN, Type="SecureString", Overwrite=True
    )
    parameters.clear_caches()
    runtime.cache_clear()
    module = importlib.import_module("functions.bot_api.app")
    yield module
    runtime.cache_clear()
    parameters.clear_caches()


@pytest.fixture
def call(bot_api: Any) -> Call:
    """``call(method, path, body=None, token=TOKEN, stage="$default") -> (status, json)``."""

    def send(
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw_body: bytes | None = None,
        stage: str = "$default",
        headers: dict[str, str] | None = None,
        context: Any = None,
        answer_headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
        event = http_event(method, path, headers=all_headers, body=data, stage=stage)
        result = bot_api.lambda_handler(event, context or FakeLambdaContext())
        if answer_headers is not None:  # the caller wants the answer's headers too
            answer_headers.update(result.get("headers") or {})
        return result["statusCode"], json.loads(result["body"]) if result.get("body") else None

    return send


def activity(kind: str = "message", **fields: Any) -> dict[str, Any]:
    import uuid

    return {"id": str(uuid.uuid4()), "timestamp": "2024-12-04T15:07:55.145Z", "type": kind, **fields}


def start_event(caller: str = "+4921154591991") -> dict[str, Any]:
    return activity(
        "event",
        name="start",
        language="en-US",
        parameters={
            "callee": "+493040739365",
            "calleeHost": "20.113.51.15",
            "caller": caller,
            "callerHost": "sip.telnyx.eu",
            "callerDisplayName": "Jane Doe",
            "vaigConversationId": CONVERSATION,
            "X-Customer-Tier": "gold",
        },
    )


# --- async mode -----------------------------------------------------------------------------------

ASYNC_TOKEN = "async-token"
CONVERSATION_ASYNC = "c-async"


@pytest.fixture
def turn_queue(aws: None) -> dict[str, str]:
    """The turn queue and its dead-letter queue as template.yaml defines them."""
    client = boto3.client("sqs")
    queues = {q.logical_id: q for q in load_template(ROOT / "template.yaml").sqs_queues()}
    dlq_url = client.create_queue(**queues["TurnDeadLetterQueue"].create_queue_kwargs("turns-dlq"))["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = client.create_queue(**queues["TurnQueue"].create_queue_kwargs("turns", dlq_arn))["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"url": url, "arn": arn, "dlq_url": dlq_url}


@pytest.fixture
def handlers(bot_api: Any, turn_queue: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from audiocodes_endpoint.wiring import runtime

    monkeypatch.setenv("TURN_QUEUE_URL", turn_queue["url"])
    monkeypatch.setenv("WEBSOCKET_URL", "wss://ws.example.com/live")
    monkeypatch.setenv("CONNECTIONS_URL", "https://abc123.execute-api.eu-central-1.amazonaws.com/live")
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/bot-token", Value=ASYNC_TOKEN, Type="SecureString", Overwrite=True
    )
    runtime.cache_clear()
    return {
        "bot_api": bot_api,
        "websocket": importlib.import_module("functions.websocket.app"),
        "dispatcher": importlib.import_module("functions.dispatcher.app"),
    }


def post(call, path, body):
    return call("POST", path, body, token=ASYNC_TOKEN)


def connect(handlers, connection_id, token=ASYNC_TOKEN, conversation=CONVERSATION_ASYNC):
    event = {
        "requestContext": {"routeKey": "$connect", "connectionId": connection_id, "stage": "live"},
        "headers": {"Authorization": f"Bearer {token}"},
        "queryStringParameters": {"endpoint": "demo-async", "conversation": conversation},
    }
    return handlers["websocket"].lambda_handler(event, FakeLambdaContext())


def drain(handlers, turn_queue, rounds=10):
    """Run the dispatcher over whatever is queued, as the event source mapping would."""
    poller = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda event: handlers["dispatcher"].lambda_handler(event, FakeLambdaContext()),
        region="eu-central-1",
    )
    client = boto3.client("sqs")
    while rounds and poller.poll_once(client):
        rounds -= 1


def pushed(connection_id: str) -> list[dict[str, Any]]:
    """Frames moto's management API received for a connection (it concatenates them)."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    data = apigatewaymanagementapi_backends["123456789012"]["eu-central-1"].connections[connection_id].data.decode()
    decoder, frames, index = json.JSONDecoder(), [], 0
    while index < len(data):
        frame, index = decoder.raw_decode(data, index)
        frames.append(frame)
    return frames


# --- an accounts API the tests control ----------------------------------------------------------------


class AccountsApi:
    """The demo flows' accounts API, real HTTP on 127.0.0.1: counts lookups and can hold them open.

    ``hold()`` makes lookups wait until ``release()`` (or 30 s), so a test can act while a turn's
    HTTP node is running; ``arrived`` is set when a lookup reaches the server.
    """

    def __init__(self) -> None:
        import threading
        import time
        from http.server import BaseHTTPRequestHandler

        from audiocodes_devtools.accounts_stub import ACCOUNTS
        from audiocodes_devtools.local_server import LocalHTTPServer

        self.lookups = 0
        self.delay = 0.0
        self.arrived = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with api._lock:
                    api.lookups += 1
                api.arrived.set()
                api._open.wait(30)
                time.sleep(api.delay)
                account = ACCOUNTS.get(self.path.split("?")[0].rsplit("/", 1)[-1])
                body = json.dumps(account or {"error": "not_found"})
                self.send_response(200 if account else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def hold(self) -> None:
        self.arrived.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set before the runtime is built (the first request), so the demo endpoints' variables point here."""
    from audiocodes_endpoint.config.endpoint import endpoints_for
    from audiocodes_endpoint.wiring import runtime

    api = AccountsApi()
    monkeypatch.setenv("ACCOUNTS_API_URL", api.url)
    monkeypatch.setenv("LOCAL_ALLOW_PRIVATE_NETWORK", "true")  # the demo endpoints reach 127.0.0.1 only so
    endpoints_for.cache_clear()  # endpoint variables are expanded once per process (and kept by the runtime)
    runtime.cache_clear()
    yield api
    endpoints_for.cache_clear()
    runtime.cache_clear()
    api.close()


@pytest.fixture
def lookup_call(call: Call, accounts: AccountsApi, monkeypatch: pytest.MonkeyPatch) -> Call:
    """``call`` on the test agent's ``lookup`` endpoint (every turn makes an HTTP lookup)."""
    from audiocodes_endpoint.config.endpoint import endpoints_for
    from audiocodes_endpoint.wiring import runtime

    monkeypatch.setenv("AGENT_DIR", str(ROOT / "tests" / "integration" / "agent"))
    monkeypatch.setenv("LOOKUP_BOT_TOKEN", TOKEN)
    runtime.cache_clear()
    endpoints_for.cache_clear()
    return call


class Context(FakeLambdaContext):
    """A Lambda context whose remaining time runs down with the wall clock, from ``budget_ms``."""

    def __init__(self, budget_ms: int) -> None:
        import time

        self.ends = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        import time

        return int((self.ends - time.monotonic()) * 1000)
