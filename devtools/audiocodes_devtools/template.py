"""Read ``template.yaml`` for the local emulator, so the SAM template stays the one source of truth.

The emulator asks this module, never the YAML, for HTTP and WebSocket routes, function specs
(code, handler, merged environment), layers, DynamoDB tables, SQS queues and SQS event sources.

CloudFormation short tags (``!Ref X``, ``!GetAtt A.B``, ``!Sub ...``) load as their long forms
(``{"Ref": "X"}``, ``{"Fn::GetAtt": ["A", "B"]}``, ``{"Fn::Sub": ...}``), so YAML and JSON
templates look the same to the reader. ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join``
are resolved against, in order: a caller-supplied mapping (``{"SessionsTable": "sessions-local",
"Queue.Arn": "arn:..."}``), parameter overrides, parameter defaults and local pseudo parameters.
Anything else raises :class:`TemplateError` rather than guessing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Pseudo parameters as moto sees them (moto's default account); callers may override any.
LOCAL_PSEUDO_PARAMETERS: Mapping[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "audiocodes-endpoint-local",
    "AWS::URLSuffix": "amazonaws.com",
}

# Lambda's own defaults, for functions that set neither the property nor a Global.
_DEFAULT_TIMEOUT_SECONDS = 3
_DEFAULT_MEMORY_MB = 128

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")

# Properties read (and so resolved) for local resources; the rest may hold unresolvable intrinsics.
_TABLE_FIELDS = frozenset(
    {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "TimeToLiveSpecification",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
    }
)
_QUEUE_FIELDS = frozenset(
    {
        "QueueName",
        "FifoQueue",
        "ContentBasedDeduplication",
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
    }
)


class TemplateError(ValueError):
    """The template lacks what the emulator needs, or uses an intrinsic it cannot resolve locally."""


# --- loading ------------------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation short tags into long-form intrinsics."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise TemplateError(f"unexpected YAML node for !{tag_suffix}: {node!r}")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # The short form "Resource.Attribute" splits at the first dot only (attributes may have dots).
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | os.PathLike[str], parameters: Mapping[str, str] | None = None) -> Template:
    """Load a SAM/CloudFormation template; ``parameters`` override Parameter defaults."""
    template_path = Path(path).resolve()
    with template_path.open(encoding="utf-8") as stream:
        body = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise TemplateError(f"{template_path} is not a CloudFormation template (no Resources)")
    return Template(path=template_path, body=body, parameter_overrides=dict(parameters or {}))


# --- what the emulator gets ---------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route; ``path`` is ``$default`` for a SAM catch-all event without Path."""

    method: str  # upper case; "ANY" matches every method
    path: str  # API Gateway syntax: "/", "/{proxy+}", "/items/{id}"
    function_logical_id: str
    api_logical_id: str  # "ServerlessHttpApi" when the event names no ApiId (SAM's implicit API)


@dataclass(frozen=True)
class WebSocketRoute:
    """One WebSocket API route (``$connect``, ``$disconnect``, ``$default`` or a custom key)."""

    route_key: str
    function_logical_id: str
    api_logical_id: str


@dataclass(frozen=True)
class FunctionSpec:
    """A function as Lambda would run it, with Globals merged in."""

    logical_id: str
    code_uri: Path  # absolute; the handler module is imported from here
    handler_module: str  # "app" for Handler "app.lambda_handler"
    handler_name: str  # "lambda_handler"
    runtime: str
    timeout: int  # seconds
    memory_size: int  # MB
    environment: dict[str, str]  # Globals merged with the function's own, intrinsics resolved
    layers: tuple[str, ...]  # logical ids of layers in this template, or literal layer ARNs


@dataclass(frozen=True)
class LayerSpec:
    """A layer; Lambda unpacks it into /opt."""

    logical_id: str
    content_uri: Path  # absolute
    build_method: str | None

    @property
    def is_python_package(self) -> bool:
        """True when sam build puts the content under python/, i.e. on sys.path (/opt/python)."""
        return (self.build_method or "").startswith("python")


@dataclass(frozen=True)
class DynamoTable:
    """A DynamoDB table; ``create_table_kwargs`` feeds boto3, the TTL needs a separate call."""

    logical_id: str
    table_name: str | None  # the template's TableName, if it sets one
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str
    ttl_attribute: str | None  # for update_time_to_live; None when TTL is off
    provisioned_throughput: dict[str, int] | None = None
    global_secondary_indexes: list[dict[str, Any]] | None = None
    local_secondary_indexes: list[dict[str, Any]] | None = None

    def create_table_kwargs(self, table_name: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client("dynamodb").create_table``."""
        kwargs: dict[str, Any] = {
            "TableName": table_name or self.table_name or self.logical_id,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": self.billing_mode,
        }
        optional = {
            "ProvisionedThroughput": self.provisioned_throughput,
            "GlobalSecondaryIndexes": self.global_secondary_indexes,
            "LocalSecondaryIndexes": self.local_secondary_indexes,
        }
        kwargs.update({key: value for key, value in optional.items() if value})
        return kwargs


@dataclass(frozen=True)
class SqsQueue:
    """An SQS queue; ``create_queue_kwargs`` feeds boto3."""

    logical_id: str
    queue_name: str | None  # the template's QueueName, if it sets one
    fifo: bool
    content_based_deduplication: bool
    visibility_timeout: int  # seconds
    message_retention_period: int  # seconds
    delay_seconds: int
    dead_letter_queue: str | None  # logical id of the DLQ named in RedrivePolicy
    max_receive_count: int | None

    def create_queue_kwargs(self, name: str | None = None, dead_letter_arn: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client("sqs").create_queue``.

        Create the dead-letter queue first and pass its ARN: a queue with a RedrivePolicy needs it.
        FIFO names get the mandatory ``.fifo`` suffix when missing.
        """
        queue_name = name or self.queue_name or self.logical_id
        if self.fifo and not queue_name.endswith(".fifo"):
            queue_name += ".fifo"
        attributes = {
            "VisibilityTimeout": str(self.visibility_timeout),
            "MessageRetentionPeriod": str(self.message_retention_period),
            "DelaySeconds": str(self.delay_seconds),
        }
        if self.fifo:
            # SQS rejects FifoQueue=false and ContentBasedDeduplication on standard queues.
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = _bool_str(self.content_based_deduplication)
        if self.dead_letter_queue is not None:
            if dead_letter_arn is None:
                raise ValueError(f"{self.logical_id} redrives to {self.dead_letter_queue}: pass its ARN")
            redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receive_count}
            attributes["RedrivePolicy"] = json.dumps(redrive, separators=(",", ":"))
        return {"QueueName": queue_name, "Attributes": attributes}


@dataclass(frozen=True)
class SqsEventSource:
    """A function polling a queue (a SAM ``Type: SQS`` event)."""

    function_logical_id: str
    queue_logical_id: str
    batch_size: int
    maximum_batching_window: int  # seconds
    function_response_types: tuple[str, ...]
    enabled: bool

    @property
    def reports_batch_item_failures(self) -> bool:
        """True when a failed record is retried alone instead of failing the whole batch."""
        return "ReportBatchItemFailures" in self.function_response_types


# --- the template -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A loaded template; every query reads ``body`` afresh (templates are small)."""

    path: Path
    body: dict[str, Any]
    parameter_overrides: dict[str, str]

    @property
    def root(self) -> Path:
        """The directory relative paths (CodeUri, ContentUri) are resolved against."""
        return self.path.parent

    def parameter_values(self) -> dict[str, str]:
        """Parameter defaults with the overrides given to :func:`load_template` applied."""
        values = {
            name: _scalar_str(spec["Default"])
            for name, spec in self._section("Parameters").items()
            if isinstance(spec, dict) and "Default" in spec
        }
        values.update(self.parameter_overrides)
        return values

    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        """Resources of the given types (all when none given), by logical id, in template order."""
        return {
            logical_id: resource
            for logical_id, resource in self._section("Resources").items()
            if isinstance(resource, dict) and (not types or resource.get("Type") in types)
        }

    # -- routes

    def http_routes(self) -> list[HttpRoute]:
        """Routes of SAM ``HttpApi`` events, in template order."""
        routes = []
        for function_id, event in self._events("HttpApi"):
            if "Path" not in event:
                routes.append(HttpRoute("ANY", "$default", function_id, self._api_id(event)))
                continue
            method = str(event.get("Method", "ANY")).upper()
            routes.append(HttpRoute(method, str(event["Path"]), function_id, self._api_id(event)))
        return routes

    def websocket_routes(self) -> list[WebSocketRoute]:
        """Routes of ``AWS::ApiGatewayV2`` WebSocket APIs (SAM has no WebSocket event type).

        Follows Route.Target -> Integration.IntegrationUri -> the function it invokes.
        """
        apis = {
            logical_id
            for logical_id, api in self.resources("AWS::ApiGatewayV2::Api").items()
            if _properties(api).get("ProtocolType") == "WEBSOCKET"
        }
        integrations = self.resources("AWS::ApiGatewayV2::Integration")
        functions = self.resources("AWS::Serverless::Function")
        routes = []
        for logical_id, route in self.resources("AWS::ApiGatewayV2::Route").items():
            props = _properties(route)
            api_ids = _references(props.get("ApiId")) & apis
            if not api_ids:
                continue
            integration_id = _only(_references(props.get("Target")) & integrations.keys(), logical_id, "integration")
            uri = _properties(integrations[integration_id]).get("IntegrationUri")
            function_id = _only(_references(uri) & functions.keys(), integration_id, "function")
            routes.append(WebSocketRoute(str(props["RouteKey"]), function_id, api_ids.pop()))
        return routes

    # -- functions and layers

    def function(self, logical_id: str, resolve: Mapping[str, str] | None = None) -> FunctionSpec:
        """The function with Globals merged; ``resolve`` maps logical ids ("X" or "X.Attr") to values."""
        resource = self.resources("AWS::Serverless::Function").get(logical_id)
        if resource is None:
            raise TemplateError(f"no AWS::Serverless::Function named {logical_id}")
        globals_ = self._section("Globals").get("Function", {})
        props = _merge_globals(globals_, _properties(resource))
        code_uri, handler = props.get("CodeUri"), props.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id} needs a local CodeUri and a module.function Handler")
        module, _, name = handler.rpartition(".")
        resolver = self._resolver(resolve)
        variables = props.get("Environment", {}).get("Variables", {})
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=(self.root / code_uri).resolve(),
            handler_module=module,
            handler_name=name,
            runtime=str(props.get("Runtime", "")),
            timeout=int(resolver.value(props.get("Timeout", _DEFAULT_TIMEOUT_SECONDS))),
            memory_size=int(resolver.value(props.get("MemorySize", _DEFAULT_MEMORY_MB))),
            environment={key: resolver.string(value) for key, value in variables.items()},
            layers=tuple(_layer_id(layer) for layer in props.get("Layers", [])),
        )

    def functions(self, resolve: Mapping[str, str] | None = None) -> dict[str, FunctionSpec]:
        """Every ``AWS::Serverless::Function``, by logical id."""
        return {
            logical_id: self.function(logical_id, resolve) for logical_id in self.resources("AWS::Serverless::Function")
        }

    def layers(self) -> dict[str, LayerSpec]:
        """Every ``AWS::Serverless::LayerVersion`` with a local ContentUri, by logical id."""
        layers = {}
        for logical_id, resource in self.resources("AWS::Serverless::LayerVersion").items():
            content_uri = _properties(resource).get("ContentUri")
            if not isinstance(content_uri, str):
                raise TemplateError(f"{logical_id} needs a local ContentUri")
            build_method = resource.get("Metadata", {}).get("BuildMethod")
            layers[logical_id] = LayerSpec(logical_id, (self.root / content_uri).resolve(), build_method)
        return layers

    # -- data stores

    def dynamodb_tables(self) -> dict[str, DynamoTable]:
        """Every ``AWS::DynamoDB::Table``, by logical id."""
        resolver = self._resolver(None)
        tables = {}
        for logical_id, resource in self.resources("AWS::DynamoDB::Table").items():
            # Only the fields a local table needs: SSE keys and the like may not resolve locally.
            props = resolver.value({key: value for key, value in _properties(resource).items() if key in _TABLE_FIELDS})
            ttl = props.get("TimeToLiveSpecification") or {}
            tables[logical_id] = DynamoTable(
                logical_id=logical_id,
                table_name=props.get("TableName"),
                key_schema=props["KeySchema"],
                attribute_definitions=props["AttributeDefinitions"],
                billing_mode=props.get("BillingMode", "PROVISIONED"),
                ttl_attribute=ttl.get("AttributeName") if _truthy(ttl.get("Enabled")) else None,
                provisioned_throughput=props.get("ProvisionedThroughput"),
                global_secondary_indexes=props.get("GlobalSecondaryIndexes"),
                local_secondary_indexes=props.get("LocalSecondaryIndexes"),
            )
        return tables

    def sqs_queues(self) -> list[SqsQueue]:
        """Every ``AWS::SQS::Queue``, dead-letter queues before the queues that redrive to them."""
        resolver = self._resolver(None)
        queues = []
        for logical_id, resource in self.resources("AWS::SQS::Queue").items():
            raw = _properties(resource)
            redrive = raw.get("RedrivePolicy") or {}
            props = resolver.value({key: value for key, value in raw.items() if key in _QUEUE_FIELDS})
            dead_letter_refs = _references(redrive.get("deadLetterTargetArn"))
            dead_letter = _only(dead_letter_refs, logical_id, "dead-letter queue") if redrive else None
            queues.append(
                SqsQueue(
                    logical_id=logical_id,
                    queue_name=props.get("QueueName"),
                    fifo=_truthy(props.get("FifoQueue")),
                    content_based_deduplication=_truthy(props.get("ContentBasedDeduplication")),
                    visibility_timeout=int(props.get("VisibilityTimeout", 30)),
                    message_retention_period=int(props.get("MessageRetentionPeriod", 345_600)),
                    delay_seconds=int(props.get("DelaySeconds", 0)),
                    dead_letter_queue=dead_letter,
                    max_receive_count=int(resolver.value(redrive["maxReceiveCount"])) if redrive else None,
                )
            )
        # Queues without a DLQ first: one pass then creates every DLQ before its source queue.
        return sorted(queues, key=lambda queue: queue.dead_letter_queue is not None)

    def sqs_event_sources(self) -> list[SqsEventSource]:
        """SAM ``Type: SQS`` events, in template order."""
        resolver = self._resolver(None)
        queues = self.resources("AWS::SQS::Queue").keys()
        sources = []
        for function_id, event in self._events("SQS"):
            queue_id = _only(_references(event.get("Queue")) & queues, function_id, "queue")
            props = resolver.value({key: value for key, value in event.items() if key != "Queue"})
            sources.append(
                SqsEventSource(
                    function_logical_id=function_id,
                    queue_logical_id=queue_id,
                    batch_size=int(props.get("BatchSize", 10)),
                    maximum_batching_window=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    function_response_types=tuple(props.get("FunctionResponseTypes", ())),
                    enabled=_truthy(props.get("Enabled", True)),
                )
            )
        return sources

    # -- helpers

    def _section(self, name: str) -> dict[str, Any]:
        section = self.body.get(name) or {}
        return section if isinstance(section, dict) else {}

    def _events(self, event_type: str) -> Iterable[tuple[str, dict[str, Any]]]:
        """(function logical id, event Properties) for every SAM event of one type."""
        for function_id, resource in self.resources("AWS::Serverless::Function").items():
            for event in (_properties(resource).get("Events") or {}).values():
                if isinstance(event, dict) and event.get("Type") == event_type:
                    yield function_id, event.get("Properties") or {}

    def _api_id(self, event: Mapping[str, Any]) -> str:
        if "ApiId" not in event:
            return "ServerlessHttpApi"
        return _only(_references(event["ApiId"]), "HttpApi event", "ApiId")

    def _resolver(self, resolve: Mapping[str, str] | None) -> _Resolver:
        return _Resolver({**LOCAL_PSEUDO_PARAMETERS, **self.parameter_values(), **(resolve or {})})


# --- intrinsics ---------------------------------------------------------------------------------


class _Resolver:
    """Resolves the intrinsics a local run can answer; raises TemplateError on the rest."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic inside it replaced by its string value."""
        if isinstance(node, dict):
            if _is_intrinsic(node):
                return self._intrinsic(node)
            return {key: self.value(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.value(item) for item in node]
        return node

    def string(self, node: Any) -> str:
        """Like :meth:`value`, as the string Lambda would see in an environment variable."""
        return _scalar_str(self.value(node))

    def _intrinsic(self, node: dict[str, Any]) -> str:
        ((function, argument),) = node.items()
        if function == "Ref":
            return self._lookup(str(argument), "Ref")
        if function == "Fn::GetAtt":
            return self._lookup(".".join(argument), "Fn::GetAtt")
        if function == "Fn::Sub":
            return self._sub(argument)
        if function == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(self.string(item) for item in self.value(items))
        raise TemplateError(f"{function} cannot be resolved locally: {node}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.string(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is an escaped, literal ${Literal}
                return "${" + name[1:] + "}"
            return local[name] if name in local else self._lookup(name, "Fn::Sub")

        return _SUB_VARIABLE.sub(replace, str(text))

    def _lookup(self, name: str, function: str) -> str:
        if name not in self._values:
            raise TemplateError(f"{function} {name} has no local value; pass resolve={{{name!r}: ...}}")
        return self._values[name]


def _is_intrinsic(node: Mapping[str, Any]) -> bool:
    if len(node) != 1:
        return False
    (key,) = node
    return key == "Ref" or str(key).startswith("Fn::")


def _references(node: Any) -> set[str]:
    """Logical ids (or parameter names) a value refers to through Ref, GetAtt or Sub."""
    if isinstance(node, list):
        return set().union(*(_references(item) for item in node))
    if not isinstance(node, dict):
        return set()
    if _is_intrinsic(node):
        ((function, argument),) = node.items()
        if function == "Ref":
            return {str(argument).split(".", 1)[0]}  # SAM's "MyFunction.Alias" refers to MyFunction
        if function == "Fn::GetAtt":
            return {str(argument[0])}
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            names = {name.split(".", 1)[0] for name in _SUB_VARIABLE.findall(str(text))}
            return {name for name in names if not name.startswith("!")} - set(variables) | _references(variables)
        return _references(argument)
    return _references(list(node.values()))


def _only(candidates: set[str], owner: str, what: str) -> str:
    if len(candidates) != 1:
        raise TemplateError(f"{owner}: expected one {what} reference, found {sorted(candidates) or 'none'}")
    return next(iter(candidates))


def _merge_globals(globals_: Any, local: Any) -> Any:
    """SAM's Globals rules: maps merge, lists concatenate (Globals first), anything else is replaced."""
    if isinstance(globals_, dict) and isinstance(local, dict):
        if _is_intrinsic(globals_) or _is_intrinsic(local):
            return local
        merged = dict(globals_)
        for key, value in local.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(local, list):
        return [*globals_, *local]
    return local


def _layer_id(layer: Any) -> str:
    if isinstance(layer, str):
        return layer  # a literal layer ARN
    return _only(_references(layer), "Layers", "layer")


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties") or {}
    return props if isinstance(props, dict) else {}


def _truthy(value: Any) -> bool:
    """CloudFormation booleans arrive as YAML booleans or as the strings "true"/"false"."""
    return value is True or str(value).lower() == "true"


def _bool_str(value: bool) -> str:
    return "true" if value else "false"


def _scalar_str(value: Any) -> str:
    """Render a scalar the way CloudFormation passes it on (booleans lower case)."""
    if isinstance(value, bool):
        return _bool_str(value)
    if isinstance(value, (dict, list)):
        raise TemplateError(f"expected a scalar, got {value!r}")
    return str(value)
