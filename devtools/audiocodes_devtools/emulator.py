"""The local emulator behind ``make run``: the template's APIs on 127.0.0.1, AWS on moto, no Docker.

It reads ``template.yaml`` (routes, function environment, tables, queues, event sources), starts
moto's server, creates the resources, stores each endpoint's bot token where its settings say
(SSM / Secrets Manager on moto), and serves:

- the HTTP API, by calling the same handler modules Lambda runs with API Gateway v2 events;
- the WebSocket API (``$connect`` / ``$disconnect`` through the same handler module) and its
  ``@connections`` management endpoint, which the dispatcher reaches through ``CONNECTIONS_URL``;
- the SQS event source mappings, by polling moto and invoking the function with batches.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from . import accounts_stub
from .events import http_event
from .sqs_poller import SqsPoller
from .template import FunctionSpec, Template, load_template
from .websocket_gateway import WebSocketGateway

ROOT = Path(__file__).resolve().parents[2]
LOCAL_REGION = "eu-central-1"
LOCAL_PREFIX = "audiocodes-endpoint-local-"
AGENT_MOUNT = "/opt/agent"  # where Lambda sees the agent layer's agent/ folder (template.yaml: AGENT_DIR)
CONNECTIONS_PATH = re.compile(r"^/@connections/(?P<id>[^/]+)$")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LambdaContext:
    """What handlers read from Lambda's context object."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    started: float

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


@dataclass(frozen=True)
class LocalFunction:
    spec: FunctionSpec
    handler: Handler

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        context = LambdaContext(
            self.spec.logical_id, self.spec.memory_size, self.spec.timeout, str(uuid.uuid4()), time.monotonic()
        )
        return self.handler(event, context)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    function: LocalFunction


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with contextlib.closing(socket.socket()) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def local_secret(url_token: str, kind: str) -> str:
    """What `make run` uses for an endpoint's secret unless ``<URL_TOKEN>_<KIND>`` is set.

    ``demo``'s bot token: ``local-demo-token`` or ``$DEMO_BOT_TOKEN``; its inject key:
    ``local-demo-inject-key`` or ``$DEMO_INJECT_API_KEY``.
    """
    default = {"bot_token": f"local-{url_token}-token", "inject_api_key": f"local-{url_token}-inject-key"}[kind]
    return os.environ.get(f"{url_token.upper().replace('-', '_')}_{kind.upper()}", default)


def _store_secret(reference: str, value: str) -> str:
    """Put a local secret where a reference points (moto's SSM / Secrets Manager, or the environment)."""
    import boto3

    scheme, _, name = reference.partition(":")
    if scheme == "ssm":
        boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    elif scheme == "secretsmanager":
        boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)
    else:
        value = os.environ.setdefault(name, value)
    return value


class Emulator:
    def __init__(
        self, *, port: int = 3000, template: Path = ROOT / "template.yaml", agent_dir: Path | None = None
    ) -> None:
        self.port = port
        self.agent_dir = agent_dir  # instead of the template's agent layer (tests use their own agent)
        self.template: Template = load_template(template)
        self._stoppers: list[Callable[[], None]] = []
        self.routes: list[Route] = []
        self.functions: dict[str, LocalFunction] = {}
        self.tokens: dict[str, str] = {}
        self.inject_keys: dict[str, str] = {}
        self.websockets = WebSocketGateway(self._invoke_websocket)
        self.pollers: list[SqsPoller] = []
        self._environment_overrides: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        self._start_moto()
        stub = accounts_stub.start(int(os.environ.get("ACCOUNTS_PORT", "0")))
        self._stoppers.append(stub.shutdown)
        os.environ.setdefault("ACCOUNTS_API_URL", f"http://127.0.0.1:{stub.server_port}")
        # The demo endpoints let their HTTP nodes reach the stub on 127.0.0.1 only when this is set.
        os.environ.setdefault("LOCAL_ALLOW_PRIVATE_NETWORK", "true")
        # moto has no Bedrock: demo-llm uses the OpenAI-compatible server in LLM_BASE_URL, or none.
        os.environ.setdefault("LLM_PROVIDER", "openai" if os.environ.get("LLM_BASE_URL") else "none")
        resources = {**self._create_tables(), **self._create_queues(), "AWS::Region": LOCAL_REGION}
        resources["AccountsApiUrl"] = os.environ["ACCOUNTS_API_URL"]  # the template parameter, locally the stub
        resources |= dict.fromkeys({r.api_logical_id for r in self.template.websocket_routes()}, "local")
        http = ThreadingHTTPServer(("127.0.0.1", self.port), _http_handler(self))
        self.port = http.server_port
        self.websockets.start()
        self._stoppers.append(self.websockets.stop)
        # The deployed stack points these at API Gateway; here they point at this emulator. Set before the
        # handlers are imported: their init (runtime.prepare) reads the environment once.
        self._environment_overrides = {"WEBSOCKET_URL": self.websockets.url, "CONNECTIONS_URL": self.base_url}
        self.functions = {
            logical_id: self._load_function(spec) for logical_id, spec in self.template.functions(resources).items()
        }
        self.routes = _routes(self.template, self.functions)
        self._store_secrets()
        threading.Thread(target=http.serve_forever, name="http-api", daemon=True).start()
        self._stoppers.append(http.shutdown)
        self._start_pollers(resources)
        return self

    def stop(self) -> None:
        for stop in reversed(self._stoppers):
            with contextlib.suppress(Exception):
                stop()
        self._stoppers.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- AWS on moto -------------------------------------------------------------------------

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        from .moto_atomic import make_dynamodb_writes_atomic

        make_dynamodb_writes_atomic()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log drowns ours
        # A known port, so `make transcript` / `make summary` can read the emulator's tables.
        port = int(os.environ.get("MOTO_PORT", "5055"))
        if not port_is_free(port):
            port = free_port()
            print(f"  (port {os.environ.get('MOTO_PORT', '5055')} is taken: moto listens on {port}; "
                  f"use MOTO_PORT={port} with make transcript / make summary)", flush=True)  # fmt: skip
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        self._stoppers.append(moto.stop)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_REGION": LOCAL_REGION,
            }
        )
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    def _create_tables(self) -> dict[str, str]:
        import boto3

        client = boto3.client("dynamodb")
        names = {}
        for logical_id, table in self.template.dynamodb_tables().items():
            name = LOCAL_PREFIX + logical_id
            client.create_table(**table.create_table_kwargs(name))
            if table.ttl_attribute:
                client.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True}
                )
            names[logical_id] = name
        return names

    def _create_queues(self) -> dict[str, str]:
        """Queues (dead-letter queues first), as ``Ref`` (URL), ``.Arn`` and ``.QueueName``."""
        import boto3

        client = boto3.client("sqs")
        resolved: dict[str, str] = {}
        for queue in self.template.sqs_queues():
            dead_letter_arn = resolved.get(f"{queue.dead_letter_queue}.Arn") if queue.dead_letter_queue else None
            kwargs = queue.create_queue_kwargs(LOCAL_PREFIX + queue.logical_id, dead_letter_arn)
            url = client.create_queue(**kwargs)["QueueUrl"]
            arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            resolved |= {queue.logical_id: url, f"{queue.logical_id}.Arn": arn}
            resolved[f"{queue.logical_id}.QueueName"] = kwargs["QueueName"]
        return resolved

    def _start_pollers(self, resources: dict[str, str]) -> None:
        for source in self.template.sqs_event_sources():
            if not source.enabled:
                continue
            poller = SqsPoller(
                queue_url=resources[source.queue_logical_id],
                queue_arn=resources[f"{source.queue_logical_id}.Arn"],
                batch_size=source.batch_size,
                reports_failures=source.reports_batch_item_failures,
                invoke=self.functions[source.function_logical_id].invoke,
                region=LOCAL_REGION,
            ).start()
            self.pollers.append(poller)
            self._stoppers.append(poller.stop)

    def _store_secrets(self) -> None:
        """Each endpoint's bot token and inject API key, where its settings say they live."""
        from audiocodes_endpoint.settings import load_endpoints

        for endpoint in load_endpoints(Path(os.environ["AGENT_DIR"])).values():
            self.tokens[endpoint.url_token] = _store_secret(
                endpoint.bot_token, local_secret(endpoint.url_token, "bot_token")
            )
            if endpoint.inject_api_key:
                key = local_secret(endpoint.url_token, "inject_api_key")
                self.inject_keys[endpoint.url_token] = _store_secret(endpoint.inject_api_key, key)

    # --- functions ---------------------------------------------------------------------------

    def _load_function(self, spec: FunctionSpec) -> LocalFunction:
        layers = self.template.layers()
        for layer_id in spec.layers:
            layer = layers.get(layer_id)
            if layer is not None and layer.is_python_package and str(layer.content_uri) not in sys.path:
                sys.path.insert(0, str(layer.content_uri))
        # The agent layer puts agent/ (the layer's source folder) at /opt/agent: point that path at the folder.
        data_layers = [layers[i].content_uri for i in spec.layers if i in layers and not layers[i].is_python_package]
        agent = self.agent_dir or (data_layers[0] if data_layers else None)
        for key, value in spec.environment.items():
            in_agent = agent is not None and (value == AGENT_MOUNT or value.startswith(f"{AGENT_MOUNT}/"))
            os.environ[key] = f"{agent}{value[len(AGENT_MOUNT) :]}" if in_agent else value
        os.environ.update(self._environment_overrides)
        module = _import_handler(spec)
        return LocalFunction(spec, getattr(module, spec.handler_name))

    def route(self, method: str, path: str) -> LocalFunction | None:
        for route in self.routes:
            if route.method in ("ANY", method) and route.pattern.fullmatch(path):
                return route.function
        return None

    def _invoke_websocket(self, event: dict[str, Any]) -> dict[str, Any]:
        key = event["requestContext"]["routeKey"]
        for route in self.template.websocket_routes():
            if route.route_key == key:
                return self.functions[route.function_logical_id].invoke(event)
        return {"statusCode": 200}

    def connections_api(self, method: str, connection_id: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The ``@connections`` management API: POST sends a frame, DELETE closes the socket."""
        if method == "POST" and self.websockets.post(connection_id, body):
            return 200, {}, b""
        if method == "DELETE" and self.websockets.delete(connection_id):
            return 204, {}, b""
        if method == "GET" and connection_id in self.websockets.connection_ids():
            return 200, {"Content-Type": "application/json"}, json.dumps({"connectionId": connection_id}).encode()
        gone = json.dumps({"message": f"connection {connection_id} is gone"}).encode()
        return 410, {"Content-Type": "application/json", "x-amzn-ErrorType": "GoneException"}, gone


def _import_handler(spec: FunctionSpec) -> ModuleType:
    """Import ``CodeUri/<module>.py`` under a unique name (every function's module is called app)."""
    path = spec.code_uri / f"{spec.handler_module.replace('.', '/')}.py"
    name = f"_local_{spec.logical_id}_{spec.handler_module}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _routes(template: Template, functions: dict[str, LocalFunction]) -> list[Route]:
    """HTTP routes as regexes, most specific first (API Gateway prefers static over greedy paths)."""
    ranked = []
    for route in template.http_routes():
        path = "/{proxy+}" if route.path == "$default" else route.path
        regex = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
        function = functions[route.function_logical_id]
        ranked.append(((path.count("+"), -path.count("/")), Route(route.method, re.compile(regex), function)))
    return [route for _, route in sorted(ranked, key=lambda pair: pair[0])]


def _http_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class HttpApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            management = CONNECTIONS_PATH.match(url.path)
            if management:
                self._send(*emulator.connections_api(self.command, management["id"], body))
                return
            self._respond(self._invoke(url.path, url.query, body))

        def _invoke(self, path: str, query: str, body: bytes) -> dict[str, Any]:
            function = emulator.route(self.command, path)
            if function is None:
                return {"statusCode": 404, "body": json.dumps({"message": "Not Found"})}
            event = http_event(
                self.command, path, query=query, headers=dict(self.headers), body=body, source_ip=self.client_address[0]
            )
            try:
                return function.invoke(event)
            except Exception as error:  # what API Gateway answers when a Lambda raises
                print(f"  ! {function.spec.logical_id} raised {error!r}", file=sys.stderr)
                return {"statusCode": 500, "body": json.dumps({"message": "Internal Server Error"})}

        def _respond(self, result: dict[str, Any]) -> None:
            import base64

            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
            headers = {"Content-Type": "application/json", **(result.get("headers") or {})}
            self._send(int(result.get("statusCode", 200)), headers, data)

        def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            if os.environ.get("EMULATOR_QUIET") != "1":
                sys.stderr.write(f"  {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")

    return HttpApi


@contextlib.contextmanager
def running(port: int = 0) -> Iterator[Emulator]:
    """The emulator on a free port (for tests): ``with running() as emulator: ...``."""
    emulator = Emulator(port=port)
    try:
        yield emulator.start()
    finally:
        emulator.stop()


def main() -> None:
    agent_dir = os.environ.get("LOCAL_AGENT_DIR")
    emulator = Emulator(port=int(os.environ.get("PORT", "3000")), agent_dir=Path(agent_dir) if agent_dir else None)
    emulator.start()
    print(f"\nAudioCodes endpoint emulator on {emulator.base_url} (AWS on moto at {os.environ['AWS_ENDPOINT_URL']})")
    print(f"  WebSocket API (async mode) on {emulator.websockets.url}")
    for url_token, token in emulator.tokens.items():
        print(f"  endpoint {url_token!r}: bot URL {emulator.base_url}/{url_token}   token {token}")
        if url_token in emulator.inject_keys:
            key = emulator.inject_keys[url_token]
            print(f"    inject & notify: {emulator.base_url}/v2.0/endpoint/inject   X-API-Key {key}")
    print("Talk to it from another terminal: make call   (Ctrl-C stops)\n", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
