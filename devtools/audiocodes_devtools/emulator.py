"""The local emulator behind ``make run``: the template's APIs on 127.0.0.1, AWS on moto, no Docker.

It reads ``template.yaml`` (routes, function environment, tables, queues, event sources), starts
moto's server in its own process, creates the resources, stores each endpoint's bot token where its
settings say (SSM / Secrets Manager on moto), and serves:

- the HTTP API: API Gateway payload 2.0 events (:mod:`events`) to the function of the matched route;
- the WebSocket API (``$connect`` / ``$disconnect`` / messages) and its ``@connections`` management
  endpoint, which the dispatcher reaches through ``CONNECTIONS_URL``;
- the SQS event source mappings, by long-polling moto and invoking the function with batches.

Every event source invokes through the same per-function pools of execution environments
(:mod:`lambda_host`): one invocation at a time per environment, the function's Timeout enforced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import accounts_stub, browser_phone, local_urls, oauth_issuer, openapi
from .dialout_standin import EmulatorDialout
from .events import http_event
from .http_front import Answer, HttpFront, PortTaken
from .lambda_host import DEFAULT_CONCURRENCY, FunctionConfig, FunctionError, FunctionPool, FunctionTimeout, Log
from .lambda_worker import CONNECTIONS_KEY_HEADER
from .sqs_poller import SqsPoller
from .template import FunctionSpec, Template, TemplateError, load_template, route_pattern
from .websocket_gateway import WebSocketGateway

ROOT = Path(__file__).resolve().parents[2]
LOCAL_REGION = "eu-central-1"
LOCAL_PREFIX = "audiocodes-endpoint-local-"
AGENT_MOUNT = "/opt/agent"  # where Lambda sees the agent layer's agent/ folder (template.yaml: AGENT_DIR)
CONNECTIONS_PATH = re.compile(r"^/@connections/(?P<id>[^/]+)$")
JSON = ("Content-Type", "application/json")

# API Gateway's own answers (HTTP APIs): an integration that failed, timed out, or no route.
FAILED: Answer = (500, [JSON], b'{"message":"Internal Server Error"}')
TIMED_OUT: Answer = (503, [JSON], b'{"message":"Service Unavailable"}')
NOT_FOUND: Answer = (404, [JSON], b'{"message":"Not Found"}')


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax, "/{proxy+}" for $default
    route_key: str  # "ANY /{proxy+}", "POST /v2.0/endpoint/inject" or "$default"
    pattern: re.Pattern[str]
    pool: FunctionPool


def free_port() -> int:
    import socket

    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    import socket

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
        self,
        *,
        port: int = 3000,
        template: Path = ROOT / "template.yaml",
        agent_dir: Path | None = None,
        moto_port: int | None = None,
    ) -> None:
        self.port = port
        self.moto_port = moto_port
        self.agent_dir = agent_dir or ROOT / "agent"  # the template's agent layer, or a test's own agent
        self.template_path = template
        self.template: Template  # read in start(), while moto boots
        self._stoppers: list[Callable[[], None]] = []
        self.routes: list[Route] = []
        self.pools: dict[str, FunctionPool] = {}
        self.tokens: dict[str, str] = {}
        self.inject_keys: dict[str, str] = {}
        self.oauth_endpoints: list[str] = []
        self.oauth: oauth_issuer.LocalIssuer | None = None
        self.connections_key = secrets.token_urlsafe(24)
        self.websockets = WebSocketGateway(self._invoke_websocket)
        self._websocket_routes: dict[str, str] = {}
        self.pollers: list[SqsPoller] = []
        self.moto_url = ""
        self.log = Log(reports=os.environ.get("EMULATOR_QUIET") != "1")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        http = HttpFront(self.port, self.serve_http, quiet=os.environ.get("EMULATOR_QUIET") == "1")
        self.port = http.server_port
        self._stoppers.append(http.server_close)
        moto = self._spawn_moto()
        self.template = load_template(self.template_path)  # SAM's translator takes a second: moto boots meanwhile
        self._websocket_routes = {r.route_key: r.function_logical_id for r in self.template.websocket_routes()}
        self._await_moto(moto)
        stub = accounts_stub.start(int(os.environ.get("ACCOUNTS_PORT", "0")))
        self._stoppers.append(stub.shutdown)
        os.environ.setdefault("ACCOUNTS_API_URL", f"http://127.0.0.1:{stub.server_port}")
        # The demo endpoints let their HTTP nodes reach the stub on 127.0.0.1 only when this is set.
        os.environ.setdefault("LOCAL_ALLOW_PRIVATE_NETWORK", "true")
        # The authorization server `auth: oauth2` endpoints trust locally (agent/endpoints/demo_oauth.yaml).
        self.oauth = oauth_issuer.start(int(os.environ.get("OAUTH_PORT", "3002")))
        self._stoppers.append(self.oauth.stop)
        os.environ.setdefault("LOCAL_OAUTH_ISSUER", self.oauth.url)
        # moto has no Bedrock: demo-llm uses the OpenAI-compatible server in LLM_BASE_URL, or none.
        os.environ.setdefault("LLM_PROVIDER", "openai" if os.environ.get("LLM_BASE_URL") else "none")
        resources = self._create_resources()
        self.websockets.start()
        self._stoppers.append(self.websockets.stop)
        self.phone = browser_phone.BrowserPhone(self, self.websockets.url).start()  # /_phone (dev only)
        self._stoppers.append(self.phone.stop)
        self._store_secrets()  # first: secrets kept in the environment must reach the functions' environments
        self.dialout = EmulatorDialout(self)  # VAIC's dial-out API (dialout_standin.py), before the functions start
        self._start_pools(resources)
        self.routes = self._routes()
        http.start()
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

    def _spawn_moto(self) -> subprocess.Popen[str]:
        """moto's server in its own process (see moto_server), on MOTO_PORT or 5055, else a free port."""
        wanted = self.moto_port if self.moto_port is not None else int(os.environ.get("MOTO_PORT", "5055"))
        port = wanted
        if not port_is_free(port):
            port = free_port()
            print(
                f"  (port {wanted} is taken: moto listens on {port}; make transcript / summary find it "
                f"through .emulator.json)",
                flush=True,
            )
        process = subprocess.Popen(
            [sys.executable, "-m", "audiocodes_devtools.moto_server", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "devtools")},
        )  # (moto exits when its stdin closes: when this process ends, however it ends)
        self._stoppers.append(lambda: _end(process))
        self.moto_port = port
        return process

    def _await_moto(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("moto ready on "):
            raise RuntimeError(f"moto did not start on port {self.moto_port}")
        self.moto_url = line.removeprefix("moto ready on ").strip()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_REGION": LOCAL_REGION,
                "POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true"),
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            }
        )

    def _create_resources(self) -> dict[str, str]:
        """Tables and queues on moto; what ``Ref``/``Fn::GetAtt`` of each resource resolve to locally."""
        resources = {**self._create_tables(), **self._create_queues(), "AWS::Region": LOCAL_REGION}
        resources["AccountsApiUrl"] = os.environ["ACCOUNTS_API_URL"]  # the template parameter, locally the stub
        resources |= dict.fromkeys({r.api_logical_id for r in self.template.websocket_routes()}, "local")
        # Resources the emulator does not create (log groups, alarms, a dashboard, a topic): a function
        # that names one in its environment gets a placeholder instead of the emulator refusing to start.
        for logical_id in self.template.cloudformation_resources():
            resources.setdefault(logical_id, LOCAL_PREFIX + logical_id)
            resources.setdefault(f"{logical_id}.Arn", f"arn:aws:local:{LOCAL_REGION}:123456789012:{logical_id}")
        for attribute in self.template.attribute_references():
            resources.setdefault(attribute, f"local-{attribute.replace('.', '-')}")
        return resources

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
            pool = self.pools[source.function_logical_id]
            poller = SqsPoller(
                queue_url=resources[source.queue_logical_id],
                queue_arn=resources[f"{source.queue_logical_id}.Arn"],
                batch_size=source.batch_size,
                reports_failures=source.reports_batch_item_failures,
                invoke=pool.invoke,
                region=LOCAL_REGION,
            ).start(pollers=pool.config.concurrency)
            self.pollers.append(poller)
            self._stoppers.append(poller.stop)

    def _store_secrets(self) -> None:
        """Each endpoint's bot token and inject API key, where its settings say they live."""
        from audiocodes_endpoint.config.endpoint import load_endpoints

        if not (self.agent_dir / "endpoints").is_dir():
            return  # a template without the agent (tests of the emulator itself)
        for endpoint in load_endpoints(self.agent_dir).values():
            if endpoint.bot_token is None:  # auth: oauth2
                self.oauth_endpoints.append(endpoint.url_token)
            else:
                token = local_secret(endpoint.url_token, "bot_token")
                self.tokens[endpoint.url_token] = _store_secret(endpoint.bot_token, token)
            if endpoint.inject_api_key:
                key = local_secret(endpoint.url_token, "inject_api_key")
                self.inject_keys[endpoint.url_token] = _store_secret(endpoint.inject_api_key, key)

    # --- functions ---------------------------------------------------------------------------

    def _start_pools(self, resources: dict[str, str]) -> None:
        base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        # Powertools warns on every invocation without metrics; metrics are off locally anyway.
        base["PYTHONWARNINGS"] = "ignore:No application metrics to publish:UserWarning"
        base["LOCAL_CONNECTIONS_KEY"] = self.connections_key
        for logical_id, spec in self.template.functions(resources).items():
            config = self._function_config(spec)
            pool = FunctionPool(config, base, self.log)
            self.pools[logical_id] = pool
            self._stoppers.append(pool.stop)

    def _function_config(self, spec: FunctionSpec) -> FunctionConfig:
        layers = self.template.layers()
        python_path = tuple(
            str(layers[i].content_uri) for i in spec.layers if i in layers and layers[i].is_python_package
        )
        # The agent layer puts agent/ (the layer's source folder) at /opt/agent: point that path at the folder.
        environment = {}
        for key, value in spec.environment.items():
            if value == AGENT_MOUNT or value.startswith(f"{AGENT_MOUNT}/"):
                value = f"{self.agent_dir}{value[len(AGENT_MOUNT) :]}"
            elif key == "AGENT_DIR":
                value = str(self.agent_dir)  # wherever the template mounts the agent
            environment[key] = value
        # The deployed stack points these at API Gateway; here they point at this emulator.
        environment["WEBSOCKET_URL"] = self.websockets.url
        environment["CONNECTIONS_URL"] = self.base_url
        concurrency = spec.reserved_concurrency or int(os.environ.get("EMULATOR_CONCURRENCY", DEFAULT_CONCURRENCY))
        return FunctionConfig(
            logical_id=spec.logical_id,
            function_name=LOCAL_PREFIX + spec.logical_id,
            code_uri=spec.code_uri,
            handler_module=spec.handler_module,
            handler_name=spec.handler_name,
            timeout=spec.timeout,
            memory_size=spec.memory_size,
            concurrency=max(1, concurrency),
            environment=environment,
            python_path=python_path,
        )

    def _routes(self) -> list[Route]:
        """HTTP routes as regexes, most specific first (API Gateway prefers static over greedy paths)."""
        ranked = []
        for route in self.template.http_routes():
            path = "/{proxy+}" if route.path == "$default" else route.path
            key = "$default" if route.path == "$default" else f"{route.method} {route.path}"
            rank = (path.count("+"), -path.count("/"), route.method == "ANY")
            pool = self.pools[route.function_logical_id]
            ranked.append((rank, Route(route.method, path, key, route_pattern(path), pool)))
        return [route for _, route in sorted(ranked, key=lambda pair: pair[0])]

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            match = route.pattern.fullmatch(path) if route.method in ("ANY", method) else None
            if match:
                return route, match.groupdict()
        return None

    def serve_http(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> Answer:
        if path == browser_phone.PREFIX or path.startswith(browser_phone.PREFIX + "/"):
            return self.phone.serve(method, path, query)
        if path == openapi.DOCS_PREFIX or path.startswith(openapi.DOCS_PREFIX + "/"):
            return openapi.serve_docs(method, path, self.base_url)  # Swagger UI of the public APIs (dev only)
        management = CONNECTIONS_PATH.match(path)
        if management:
            return self.connections_api(method, management["id"], body, headers)
        found = self.route(method, path)
        if found is None:
            return NOT_FOUND
        route, parameters = found
        event = http_event(
            method,
            path,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            route_key=route.route_key,
            path_parameters=parameters or None,
        )
        try:
            result = route.pool.invoke(event)
        except FunctionTimeout:
            return TIMED_OUT
        except FunctionError as error:
            print(f"  ! {route.pool.config.logical_id} failed: {error.error_type}", file=sys.stderr, flush=True)
            return FAILED
        return _http_answer(result)

    def _invoke_websocket(self, event: dict[str, Any]) -> dict[str, Any]:
        function = self._websocket_routes.get(event["requestContext"]["routeKey"])
        if function is None:
            return {"statusCode": 200}
        try:
            result = self.pools[function].invoke(event)
        except FunctionError:
            return {"statusCode": 500}
        return result if isinstance(result, dict) else {"statusCode": 200}

    def connections_api(self, method: str, connection_id: str, body: bytes, headers: list[tuple[str, str]]) -> Answer:
        """The ``@connections`` management API: POST sends a frame, DELETE closes the socket.

        API Gateway answers only IAM-signed callers allowed to manage connections; locally only
        the emulator's own functions, whose boto3 adds a per-run ``X-Local-Connections-Key``.
        """
        given = next((v for k, v in headers if k.lower() == CONNECTIONS_KEY_HEADER.lower()), "")
        if not secrets.compare_digest(given, self.connections_key):
            return 403, [JSON, ("x-amzn-ErrorType", "ForbiddenException")], b'{"message":"Forbidden"}'
        if method == "POST" and self.websockets.post(connection_id, body):
            return 200, [], b""
        if method == "DELETE" and self.websockets.delete(connection_id):
            return 204, [], b""
        if method == "GET" and connection_id in self.websockets.connection_ids():
            return 200, [JSON], json.dumps({"connectionId": connection_id}).encode()
        gone = json.dumps({"message": f"connection {connection_id} is gone"}).encode()
        return 410, [JSON, ("x-amzn-ErrorType", "GoneException")], gone


def _end(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(10)


def _http_answer(result: Any) -> Answer:
    """What API Gateway makes of a payload 2.0 result (a dict without statusCode is a 200 JSON body)."""
    import base64

    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [JSON], json.dumps(result).encode()
    payload = result.get("body") or ""
    data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
    headers = {"content-type": "application/json"} | {
        k.lower(): str(v) for k, v in (result.get("headers") or {}).items()
    }
    pairs = list(headers.items()) + [("set-cookie", cookie) for cookie in result.get("cookies") or []]
    return int(result["statusCode"]), pairs, data


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    agent_dir = os.environ.get("LOCAL_AGENT_DIR")
    port = int(os.environ.get("PORT", str(local_urls.DEFAULT_PORT)))
    template = Path(os.environ.get("EMULATOR_TEMPLATE") or ROOT / "template.yaml")
    emulator = Emulator(port=port, template=template, agent_dir=Path(agent_dir) if agent_dir else None)
    # Ctrl-C, `kill`, or a test's terminate(): stop workers and moto too (they ignore SIGINT themselves).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        emulator.start()
        local_urls.write_state(
            api_url=emulator.base_url, websocket_url=emulator.websockets.url, moto_url=emulator.moto_url
        )
        _print_banner(emulator)
        threading.Event().wait()
    except PortTaken:
        print(f"Port {port} is taken (another `make run`?): try `make run PORT={free_port()}`.", file=sys.stderr)
        sys.exit(1)
    except TemplateError as error:
        print(f"{template}: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        local_urls.remove_state()
        emulator.stop()


def _print_banner(emulator: Emulator) -> None:
    print(f"\nAudioCodes endpoint emulator on {emulator.base_url} (AWS on moto at {emulator.moto_url})")
    print(f"  WebSocket API (async mode) on {emulator.websockets.url}")
    for url_token, token in emulator.tokens.items():
        print(f"  endpoint {url_token!r}: bot URL {emulator.base_url}/{url_token}   token {token}")
        if url_token in emulator.inject_keys:
            key = emulator.inject_keys[url_token]
            print(f"    inject & notify: {emulator.base_url}/v2.0/endpoint/inject   X-API-Key {key}")
    if emulator.oauth is not None:
        oauth = emulator.oauth
        for url_token in emulator.oauth_endpoints:
            client = f"client {oauth.client_id} secret {oauth.client_secret} scope {oauth.default_scope}"
            print(
                f"  endpoint {url_token!r}: bot URL {emulator.base_url}/{url_token}   "
                f"oauth2: token URL {oauth.token_url} {client}"
            )
    print(f"Browser phone and call inspector: {emulator.base_url}{browser_phone.PREFIX}")
    print(f"API documents (Inject & Notify, outbound calls): {emulator.base_url}{openapi.DOCS_PREFIX}")
    print("Talk to it from another terminal: make call   (Ctrl-C stops)\n", flush=True)


if __name__ == "__main__":
    main()
