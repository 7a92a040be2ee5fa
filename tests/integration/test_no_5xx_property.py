"""Property: whatever bytes a client sends to any route of any function, never a 5xx.

Routes come from template.yaml (HTTP API events and WebSocket routes), each sent to the handler of
the function the template names. A seeded generator builds each request from bytes up: a JSON
document for the route (or garbage), values that break naive decoders (lone surrogates, U+FFFF,
10,000-level nesting, numbers past 4,300 digits, NaN), an encoding (UTF-8, BOMs, latin-1, UTF-16/32,
truncated), a compression (gzip, deflate, raw deflate, a bomb) with or without a matching
``Content-Encoding``, a transport (``isBase64Encoded`` true/false, valid or broken base64, a body
str holding surrogates), a content type (case variants, parameters, odd types) and header names in
any case. The dispatcher runs what the other doors queued, as the event source would.

Asserted: no 5xx; every 4xx is ``{"error", "message"[, "detail"]}``; every 2xx body is JSON; every
queued record is processed without a failure; and nothing written to DynamoDB or SQS (every
parameter of every call, JSON inside strings included) holds a lone surrogate or U+FFFE/U+FFFF.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import importlib
import json
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from audiocodes_devtools.sqs_poller import SqsPoller
from audiocodes_devtools.template import load_template
from tests.conftest import ROOT
from tests.integration.conftest import (
    ASYNC_TOKEN,
    TOKEN,
    FakeLambdaContext,
    connect,
    post,
    start_event,
)
from tests.integration.test_inject_notify import KEY

REQUESTS = 5_000
SEED = 20_261_201
DRAIN_EVERY = 250  # keeps the FIFO queue shallow: moto slows down as a queue fills

TEMPLATE = load_template(ROOT / "template.yaml")
TOKENS = ["demo"] * 30 + ["demo-async"] * 20 + ["demo-translated", "unknown", "", "..", "%2e%2e", "d\u00e9mo"]
LIVE = ["c-live", "c-async", *[f"c-{n}" for n in range(20)]]  # c-<n> are created by generated requests
ODD_CONVERSATIONS = ["unknown", ".", "..", "%2e", "a b", "x" * 200, "\u00e9", "", "a/b"]
ACTIONS = ["activities"] * 12 + ["refresh"] * 2 + ["disconnect", "other", ""]
MUTATE = 0.15  # each dimension of a request (content type, encoding, compression, transport) is off this often
FUNCTION_WEIGHTS = {"BotApiFunction": 6, "InjectNotifyFunction": 3, "WebSocketFunction": 1}
TEXTS = ["hello", "1234", "goodbye", "", " ", "caf\u00e9 \u2603 \U0001f600", "x" * 300, "\x00\x1f", "+4930123456"]
SPECIAL = {  # placeholders replaced in the JSON text, so the bytes are exactly what a hostile client sends
    "__SURROGATE__": '"\\ud800"',
    "__LOW_SURROGATE__": '"a\\udfffb"',
    "__PAIR__": '"\\ud83d\\ude00"',
    "__FFFF__": '"\\uffff"',
    "__NUL__": '"\\u0000"',
    "__DEEP__": "[" * 10_000 + "]" * 10_000,
    "__DEEP33__": "[" * 33 + "]" * 33,
    "__DEEP31__": "[" * 28 + "]" * 28,
    "__DIGITS__": "9" * 4_301,
    "__DIGITS_OK__": "9" * 4_000,
    "__NAN__": "NaN",
    "__INF__": "1e999",
    "__NEG__": "-Infinity",
}
CONTENT_TYPES = [
    "application/json", "application/json", "APPLICATION/JSON", "Application/Json; charset=UTF-8",
    'application/json;charset="utf-8"', "application/json; charset=latin-1", "application/json; charset=utf-16",
    "text/json", "application/vnd.example+json", "text/plain", "multipart/form-data",
    "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "application/", "", ";", "*/*",
    "application/json, text/plain", "\u00e9/json", None,
]  # fmt: skip
ENCODINGS = ["utf-8"] * 8 + ["utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                            "truncated", "random"]  # fmt: skip


# --- generation ------------------------------------------------------------------------------------------


class Requests:
    """A seeded generator of API Gateway events for the template's routes."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, items: list[Any]) -> Any:
        return items[self.r.randrange(len(items))]

    def conversation(self) -> str:
        return str(self.pick(LIVE) if self.chance(0.85) else self.pick(ODD_CONVERSATIONS))

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    # values and documents

    def value(self, depth: int = 0) -> Any:
        roll = self.r.random()
        if roll < 0.15:
            return self.pick(list(SPECIAL))
        if roll < 0.5 or depth > 2:
            return self.pick([None, True, 0, -1, 3.5, 10**30, self.pick(TEXTS)])
        if roll < 0.75:
            return [self.value(depth + 1) for _ in range(self.r.randrange(3))]
        return {
            self.pick(["a", "caller", "__SURROGATE__", "x" * 10]): self.value(depth + 1)
            for _ in range(self.r.randrange(3))
        }

    def activity(self) -> dict[str, Any]:
        kind = self.pick(["message", "message", "event", "typing", "", self.value()])
        fields: dict[str, Any] = {"id": str(uuid.UUID(int=self.r.getrandbits(128))), "type": kind}
        if self.chance(0.6):
            fields["text"] = self.pick([*TEXTS, self.value()])
        if kind == "event" or self.chance(0.2):
            fields["name"] = self.pick(["start", "DTMF", "dtmf", "noUserInput", "transferStatus", "weird"])
        if self.chance(0.4):
            fields["value"] = self.value()
        if self.chance(0.4):
            fields["parameters"] = {self.pick(["caller", "confidence", "x"]): self.value() for _ in range(2)}
        if self.chance(0.1):
            del fields["id"]
        return fields

    def document(self, path: str) -> Any:
        if self.chance(0.05):
            return self.value()
        if path.startswith("/v2.0/endpoint/") or path.startswith("/new/v2.0/endpoint/"):
            doc = {
                "URLToken": self.pick(["demo-async", "demo-async", "demo-async", "demo", "nope"]),
                "sessionId": "c-async" if self.chance(0.7) else self.conversation(),
            }
            if self.chance(0.7):
                doc["text"] = self.pick([*TEXTS, self.value()])
            if self.chance(0.5):
                doc["data"] = self.pick(
                    [{"activities": [{"type": "event", "name": "hangup"}]}, {"k": self.value()}, self.value()]
                )
            if self.chance(0.2):
                doc["userId"] = self.pick(["+4921154591991", "c-async", self.value()])
            return doc
        if path.startswith("/inject/"):
            return {
                "event": self.pick(["payment.succeeded", "payment.failed", "other"]),
                "amount": self.value(),
                "metadata": {"conversation": "c-async" if self.chance(0.7) else self.conversation()},
            }
        if path.startswith("/notify/"):
            return {
                "conversation": "c-async" if self.chance(0.7) else self.conversation(),
                "say": self.pick([*TEXTS, self.value()]),
            }
        if path.endswith("/activities"):
            return {
                "conversation": self.conversation(),
                "activities": [self.activity() for _ in range(self.r.randrange(1, 4))],
            }
        if path.endswith("/disconnect"):
            return {"reasonCode": self.pick(["client-disconnected", self.value()]), "reason": self.value()}
        return {"conversation": self.conversation() if self.chance(0.9) else self.value()}

    # bytes

    def text(self, document: Any) -> str:
        text = json.dumps(document, ensure_ascii=self.chance(0.5))
        for placeholder, replacement in SPECIAL.items():
            text = text.replace(f'"{placeholder}"', replacement)
        if self.chance(0.05):
            text = text[: self.r.randrange(len(text) + 1)]  # truncated JSON
        return text

    def encoded(self, text: str) -> bytes:
        encoding = self.pick(ENCODINGS) if self.chance(MUTATE * 2) else "utf-8"
        if encoding == "truncated":
            data = text.encode("utf-8", "surrogatepass") + "\u00e9".encode()
            return data[:-1]
        if encoding == "random":
            return self.r.randbytes(self.r.randrange(1, 80))
        return text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")

    def compressed(self, data: bytes, headers: dict[str, str]) -> bytes:
        if not self.chance(MUTATE * 2):
            if self.chance(0.05):
                headers["content-encoding"] = self.pick(["gzip", "br", "identity", "gzip, gzip, gzip"])
            return data
        kind = self.pick(["gzip", "deflate", "raw-deflate", "bomb"])
        if kind == "gzip":
            out = gzip.compress(data)
        elif kind == "deflate":
            out = zlib.compress(data)
        elif kind == "raw-deflate":
            packer = zlib.compressobj(wbits=-15)
            out = packer.compress(data) + packer.flush()
        else:
            out = gzip.compress(b'{"pad": "' + b" " * 2_000_000 + b'"}')
        if self.chance(0.8):  # with a Content-Encoding (matching, in any case), or none at all
            name = {"gzip": "gzip", "bomb": "gzip", "deflate": "deflate", "raw-deflate": "deflate"}[kind]
            headers["content-encoding"] = self.pick([name, name.upper(), "x-gzip" if name == "gzip" else name])
        return out

    def transported(self, data: bytes, event: dict[str, Any]) -> None:
        try:
            utf8: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None
        roll = self.r.random() if self.chance(MUTATE * 2) else 0.5
        if roll < 0.15:  # broken base64
            good = base64.b64encode(data).decode()
            event["body"] = self.pick([good + "*", good[:-1], "\u00e9" + good, "====", good.replace("A", "-")])
            event["isBase64Encoded"] = True
        elif utf8 is not None and roll < 0.7:
            event["body"], event["isBase64Encoded"] = utf8, False
        elif utf8 is None and roll < 0.3:  # a str that is not Unicode (surrogateescape) or mis-decoded latin-1
            errors = self.pick(["surrogateescape", "latin-1"])
            text = data.decode("latin-1") if errors == "latin-1" else data.decode("utf-8", "surrogateescape")
            event["body"], event["isBase64Encoded"] = text, False
        else:
            event["body"], event["isBase64Encoded"] = (base64.b64encode(data).decode() if data else None), bool(data)

    def cased(self, name: str) -> str:
        return self.pick([name, name.lower(), name.upper(), name.title(), name.swapcase()])

    # requests

    def path(self, template_path: str) -> str:
        if template_path == "/{proxy+}":
            roll = self.r.random()
            token = self.pick(TOKENS)
            if roll < 0.15:
                return self.pick([f"/{token}", f"/{token}/"])
            if roll < 0.95:
                return f"/{token}/conversation/{self.conversation()}/{self.pick(ACTIONS)}"
            return "/" + "".join(self.pick(list("/abcdemo-_.%\u00e9")) for _ in range(self.r.randrange(20)))
        token = "demo-async" if self.chance(0.8) else self.pick(["demo", "nope", "..", "%2e"])
        path = template_path.replace("{URLToken}", token)
        return path

    def http(self, route: Any) -> dict[str, Any]:
        path = self.path(route.path)
        method = self.pick(["GET", "PUT", "DELETE", "PATCH", "POST"]) if self.chance(0.08) else "POST"
        if path.count("/") == 1 and self.chance(0.2):
            method = "GET"  # the validation probe
        headers: dict[str, str] = {}
        query = ""
        if route.function_logical_id == "InjectNotifyFunction":
            key = KEY if self.chance(0.8) else self.pick(["wrong", "", "\u00e9"])
            if self.chance(0.1):
                query = f"api_key={key}"
            elif key:
                headers[self.cased("x-api-key")] = key
            if self.chance(0.1):
                headers[self.cased("idempotency-key")] = self.pick(["k1", "k2", "\u00e9"])
        else:
            token = ASYNC_TOKEN if "/demo-async" in path else TOKEN
            auth = self.pick([f"Bearer {token}"] * 5 + [f"bearer {token}", token, "Bearer wrong", None])
            if auth is not None:
                headers[self.cased("authorization")] = auth
        body_headers: dict[str, str] = {}
        data = b"" if self.chance(0.05) else self.encoded(self.text(self.document(path)))
        if self.chance(0.02):
            data += b" " * 70_000
        data = self.compressed(data, body_headers)
        content_type = self.pick(CONTENT_TYPES) if self.chance(MUTATE * 2) else "application/json"
        if content_type is not None:
            body_headers["content-type"] = content_type
        headers.update({self.cased(name): value for name, value in body_headers.items()})
        stage = self.pick(["$default", "$default", "Prod"])
        event: dict[str, Any] = {
            "version": "2.0", "routeKey": "$default", "rawPath": path if stage == "$default" else f"/{stage}{path}",
            "rawQueryString": query, "headers": headers,
            "requestContext": {"accountId": "123456789012", "apiId": "local", "stage": stage,
                               "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": "203.0.113.9", "userAgent": "property"},
                               "requestId": str(uuid.UUID(int=self.r.getrandbits(128))), "routeKey": "$default"},
        }  # fmt: skip
        if query:
            event["queryStringParameters"] = dict([query.split("=", 1)])
        self.transported(data, event)
        return event

    def websocket(self, route: Any) -> dict[str, Any]:
        # (the connection id is API Gateway's, never the client's)
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route.route_key,
                "stage": "live",
                "connectionId": self.pick(["conn-1", "conn-x", "conn-y"]),
            },
        }
        if route.route_key == "$connect":
            token = self.pick([ASYNC_TOKEN, ASYNC_TOKEN, "wrong", "\ud800"])
            event["headers"] = {self.cased("authorization"): f"Bearer {token}"}
            event["queryStringParameters"] = self.pick(
                [
                    {"endpoint": self.pick(TOKENS), "conversation": self.pick([*LIVE, *ODD_CONVERSATIONS, "\ud800"])},
                    {"endpoint": "demo-async"},
                    {},
                ]
            )
        else:
            event["body"] = self.pick([None, "", "ping", self.text(self.value()), "\ud800"])
        return event


# --- what is checked ----------------------------------------------------------------------------------------


def not_storable(value: Any, seen: list[str], where: str = "") -> None:
    """Collect strings (JSON inside strings too) that DynamoDB or SQS would hold as invalid Unicode."""
    from audiocodes_endpoint.channel.decoding import storable

    if isinstance(value, str):
        if not storable(value):
            seen.append(where)
        elif value[:1] in "[{":
            try:
                inner = json.loads(value)
            except ValueError:
                return
            not_storable(inner, seen, where + "<json>")
    elif isinstance(value, bytes):
        with contextlib.suppress(UnicodeDecodeError):  # binary attributes hold bytes, not text
            not_storable(value.decode("utf-8"), seen, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            not_storable(key, seen, where)
            not_storable(item, seen, f"{where}.{key}")
    elif isinstance(value, list | tuple | set):
        for item in value:
            not_storable(item, seen, where)


WRITES = {"PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem", "SendMessage", "SendMessageBatch"}


@pytest.fixture
def everything(handlers: dict[str, Any], turn_queue: dict[str, str], call: Any) -> dict[str, Any]:
    """Every function of the template, a live sync call, a live async call with its socket open."""
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString")
    # Every endpoint's secret exists: a missing one is a deployment fault, not a client's bad request.
    ssm.put_parameter(Name="/audiocodes-endpoint/demo-translated/bot-token", Value=TOKEN, Type="SecureString")
    ssm.put_parameter(Name="/audiocodes-endpoint/demo/dialout-api-key", Value=KEY, Type="SecureString")
    functions = TEMPLATE.resources("AWS::Serverless::Function")
    modules = {
        logical_id: importlib.import_module(
            f"functions.{str(spec['Properties']['CodeUri']).strip('/').split('/')[-1]}."
            f"{str(spec['Properties']['Handler']).rsplit('.', 1)[0]}"
        )
        for logical_id, spec in functions.items()
    }
    assert call("POST", "/demo", {"conversation": "c-live"})[0] == 200
    assert call("POST", "/demo/conversation/c-live/activities", {"activities": [start_event()]})[0] == 200
    assert post(call, "/demo-async", {"conversation": "c-async"})[0] == 200
    assert connect(handlers, "conn-1", conversation="c-async")["statusCode"] == 200
    assert post(call, "/demo-async/conversation/c-async/activities", {"activities": [start_event()]})[0] == 200
    return modules


@pytest.mark.slow
def test_no_request_to_any_route_gets_a_5xx(everything: dict[str, Any], turn_queue: dict[str, str]) -> None:
    modules = everything
    written: list[tuple[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WRITES:
            written.append((model.name, params))

    boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb", record)  # type: ignore[union-attr]
    boto3.DEFAULT_SESSION.events.register("provide-client-params.sqs", record)  # type: ignore[union-attr]
    from audiocodes_endpoint.wiring import runtime

    runtime.cache_clear()  # its clients are made again, with the recorder

    generate = Requests(SEED)
    routes: list[tuple[str, Any, Callable[[Any], dict[str, Any]]]] = [
        *[(r.function_logical_id, r, generate.http) for r in TEMPLATE.http_routes()],
        *[(r.function_logical_id, r, generate.websocket) for r in TEMPLATE.websocket_routes()],
    ]
    assert {name for name, _, _ in routes} >= {"BotApiFunction", "InjectNotifyFunction", "WebSocketFunction"}
    # Each function gets its share, split evenly between its routes (a route added later is included)
    per_function = Counter(name for name, _, _ in routes)
    weights = [FUNCTION_WEIGHTS.get(name, 3) / per_function[name] for name, _, _ in routes]
    weights = [w / 20 if getattr(r, "path", "") == "/" else w for w, (_, r, _) in zip(weights, routes, strict=True)]
    dispatcher = modules["DispatcherFunction"]
    failures: list[str] = []

    def dispatch(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = dispatcher.lambda_handler(event, FakeLambdaContext())
        failures.extend(item["itemIdentifier"] for item in result.get("batchItemFailures", []))
        return result

    poller = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=dispatch,
        region="eu-central-1",
    )
    sqs = boto3.client("sqs")
    statuses: Counter[tuple[str, int]] = Counter()
    for number in range(REQUESTS):
        function, route, make = (
            routes[number % len(routes)] if number < len(routes) * 4 else generate.r.choices(routes, weights)[0]
        )
        event = make(route)
        result = modules[function].lambda_handler(event, FakeLambdaContext())
        status = result["statusCode"]
        statuses[(function, status)] += 1
        context = (function, getattr(route, "path", getattr(route, "route_key", "")), event, result)
        assert status < 500, context
        if result.get("body"):
            answer = json.loads(result["body"])
            if status >= 400:
                assert isinstance(answer, dict) and set(answer) <= {"error", "message", "detail"}, context
                assert isinstance(answer.get("error"), str) and isinstance(answer.get("message"), str), context
        if number % DRAIN_EVERY == DRAIN_EVERY - 1:
            while poller.poll_once(sqs):
                pass
    while poller.poll_once(sqs):
        pass

    # Then every status class was seen, per function, and the dispatcher took every queued record
    seen = {(f, s) for f, s in statuses}
    assert {200, 400, 401, 404, 405, 413, 415} <= {s for f, s in seen if f == "BotApiFunction"}, statuses
    assert {200, 202, 400, 401, 404, 413, 415} <= {s for f, s in seen if f == "InjectNotifyFunction"}, statuses
    assert {200, 400, 401} <= {s for f, s in seen if f == "WebSocketFunction"}, statuses
    assert sum(statuses.values()) >= 5_000
    assert failures == []
    # And nothing invalid was written to DynamoDB or SQS
    assert len(written) > 100
    bad: list[str] = []
    for operation, params in written:
        not_storable(params, bad, operation)
    assert bad == []
