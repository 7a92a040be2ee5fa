"""Read ``template.yaml`` for the local emulator, so the SAM template stays the one source of truth.

SAM's own translator (``aws-sam-translator``, the transform ``sam deploy`` runs) turns the template
into CloudFormation, with parameter defaults (or overrides): Globals merged, events turned into
OpenAPI routes and event source mappings, aliases, versions, layers with their hashed ids. The
YAML is read with the translator's own CloudFormation tag constructor (``!Ref X`` -> ``{"Ref": "X"}``).
This module only does what neither does: map local ``CodeUri``/``ContentUri`` folders around the
translation (as ``sam build`` would), follow routes, aliases and event sources to the function they
invoke, and resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join`` against local names
(a caller-supplied mapping such as ``{"SessionsTable": "sessions-local", "Queue.Arn": "arn:..."}``,
parameter overrides, parameter defaults and local pseudo parameters). Anything else raises
:class:`TemplateError` rather than guessing.

The emulator asks this module, never the YAML, for HTTP and WebSocket routes, function specs,
layers, DynamoDB tables, SQS queues and SQS event sources.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from samtranslator.yaml_helper import intrinsics_multi_constructor

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
_NO_VALUE = object()  # Ref AWS::NoValue: the property is left out

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
    """A safe YAML loader with the SAM translator's CloudFormation tag constructor (global SafeLoader untouched)."""


_CloudFormationLoader.add_multi_constructor("!", intrinsics_multi_constructor)

# Placeholder for local code folders during translation (the translator wants S3 locations).
_LOCAL_CODE_BUCKET = "local-code"


def load_template(path: str | os.PathLike[str], parameters: Mapping[str, str] | None = None) -> Template:
    """Load and translate a SAM/CloudFormation template; ``parameters`` override Parameter defaults.

    Loaded once per file version and parameters (tests and the emulator ask often; treat it as read-only).
    """
    template_path = Path(path).resolve()
    return _load(template_path, template_path.stat().st_mtime_ns, tuple(sorted((parameters or {}).items())))


@functools.lru_cache(maxsize=32)
def _load(template_path: Path, _version: int, parameters: tuple[tuple[str, str], ...]) -> Template:
    with template_path.open(encoding="utf-8") as stream:
        body = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise TemplateError(f"{template_path} is not a CloudFormation template (no Resources)")
    template = Template(path=template_path, body=body, parameter_overrides=dict(parameters))
    template.translated  # noqa: B018 - translate now: errors belong to loading
    return template


def _translate(body: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """SAM -> CloudFormation with SAM's translator, local code folders swapped for S3 placeholders."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    sam = copy.deepcopy(body)
    for logical_id, resource in (sam.get("Resources") or {}).items():
        props = _properties(resource)
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{_LOCAL_CODE_BUCKET}/{logical_id}"
    function_globals = _properties({"Properties": (sam.get("Globals") or {}).get("Function")})
    if isinstance(function_globals.get("CodeUri"), str):
        raise TemplateError("a CodeUri in Globals: give each function its own")
    if not sam.get("Transform"):
        sam["Transform"] = "AWS::Serverless-2016-10-31"
    region = LOCAL_PSEUDO_PARAMETERS["AWS::Region"]
    values: dict[str, Any] = dict(parameters)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics": the translator's own
    # What samtranslator.translator.transform.transform does, with a region and no IAM: the translator
    # asks IAM for managed policy ARNs only for policies named in Policies, and there is no IAM here.
    to_py27_compatible_template(sam, values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        translated = translator.translate(sam, parameter_values=values, get_managed_policy_map=dict)
    except InvalidDocumentException as error:
        problems = "; ".join(str(cause) for cause in error.causes)
        raise TemplateError(f"SAM cannot translate the template: {problems}") from error
    result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    return result


# --- what the emulator gets ---------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route; ``path`` is ``$default`` for a SAM catch-all event without Path."""

    method: str  # upper case; "ANY" matches every method
    path: str  # API Gateway syntax: "/", "/{proxy+}", "/items/{id}"
    function_logical_id: str
    api_logical_id: str  # "ServerlessHttpApi" when the event names no ApiId (SAM's implicit API)


def route_pattern(path: str) -> re.Pattern[str]:
    """API Gateway path matching as a regex (use ``fullmatch``), reduced to what the template uses:
    literals, ``{name}`` (exactly one segment) and ``{name+}`` (one or more); each a named group."""
    pattern = re.escape(path)
    pattern = re.sub(r"\\\{([^}]+?)\\\+\\\}", r"(?P<\1>.+)", pattern)
    pattern = re.sub(r"\\\{([^}]+?)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(pattern)


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
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions


@dataclass(frozen=True)
class LayerSpec:
    """A layer; Lambda unpacks it into /opt."""

    logical_id: str
    content_uri: Path  # absolute
    build_method: str | None

    @property
    def is_python_package(self) -> bool:
        """True when sam build puts the content under python/, i.e. on sys.path (/opt/python).

        A ``python3.x`` BuildMethod says so; so does a requirements.txt (a makefile build of a Python layer).
        """
        return (self.build_method or "").startswith("python") or (self.content_uri / "requirements.txt").is_file()


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
    """A loaded template: ``body`` as written (SAM), ``translated`` as CloudFormation (SAM's translator)."""

    path: Path
    body: dict[str, Any]
    parameter_overrides: dict[str, str]

    @property
    def root(self) -> Path:
        """The directory relative paths (CodeUri, ContentUri) are resolved against."""
        return self.path.parent

    @functools.cached_property
    def translated(self) -> dict[str, Any]:
        """The template as CloudFormation, translated once with the parameter values."""
        return _translate(self.body, self.parameter_values())

    def parameter_values(self) -> dict[str, str]:
        """Parameter defaults with the overrides given to :func:`load_template` applied.

        A parameter without a default (one ``sam deploy --guided`` asks for) gets its first allowed
        value, or a local stand-in, so a new required parameter never stops ``make run``.
        """
        values = {}
        for name, spec in self._section("Parameters").items():
            if not isinstance(spec, dict):
                continue
            if "Default" in spec:
                values[name] = _scalar_str(spec["Default"])
            elif spec.get("AllowedValues"):
                values[name] = _scalar_str(spec["AllowedValues"][0])
            else:
                values[name] = "1" if spec.get("Type") == "Number" else "local"
        values.update(self.parameter_overrides)
        return values

    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        """Resources of the template as written (SAM types included), by logical id, in template order."""
        return _of_types(self._section("Resources"), types)

    def cloudformation_resources(self, *types: str) -> dict[str, dict[str, Any]]:
        """Resources after SAM's translation (``AWS::Lambda::Function``, ``AWS::ApiGatewayV2::Api``, ...)."""
        return _of_types(self.translated.get("Resources") or {}, types)

    # -- routes

    def http_routes(self) -> list[HttpRoute]:
        """Routes of the HTTP APIs (SAM ``HttpApi`` events, as the translator writes them into OpenAPI)."""
        routes = []
        for api_id, api in self.cloudformation_resources("AWS::ApiGatewayV2::Api").items():
            paths = (_properties(api).get("Body") or {}).get("paths") or {}
            for path, operations in paths.items():
                for operation, spec in (operations or {}).items():
                    integration = spec.get("x-amazon-apigateway-integration") if isinstance(spec, dict) else None
                    if integration is None:
                        continue
                    method = "ANY" if operation == "x-amazon-apigateway-any-method" else operation.upper()
                    function_id = self._function_behind(integration.get("uri"), f"{api_id} {method} {path}")
                    routes.append(HttpRoute(method, path, function_id, api_id))
        # In the order the template's events are written (OpenAPI's order is the translator's own).
        written = [
            (
                function_id,
                str((event.get("Properties") or {}).get("Method", "ANY")).upper(),
                str((event.get("Properties") or {}).get("Path", "$default")),
            )
            for function_id, resource in self.resources("AWS::Serverless::Function").items()
            for event in (_properties(resource).get("Events") or {}).values()
            if isinstance(event, dict) and event.get("Type") == "HttpApi"
        ]

        def position(route: HttpRoute) -> int:
            key = (route.function_logical_id, route.method, route.path)
            return written.index(key) if key in written else len(written)

        return sorted(routes, key=position)

    def websocket_routes(self) -> list[WebSocketRoute]:
        """Routes of ``AWS::ApiGatewayV2`` WebSocket APIs (SAM has no WebSocket event type).

        Follows Route.Target -> Integration.IntegrationUri -> the function (or its alias) it invokes.
        """
        apis = {
            logical_id
            for logical_id, api in self.cloudformation_resources("AWS::ApiGatewayV2::Api").items()
            if _properties(api).get("ProtocolType") == "WEBSOCKET"
        }
        integrations = self.cloudformation_resources("AWS::ApiGatewayV2::Integration")
        routes = []
        for logical_id, route in self.cloudformation_resources("AWS::ApiGatewayV2::Route").items():
            props = _properties(route)
            api_ids = _references(props.get("ApiId")) & apis
            if not api_ids:
                continue
            integration_id = _only(_references(props.get("Target")) & integrations.keys(), logical_id, "integration")
            uri = _properties(integrations[integration_id]).get("IntegrationUri")
            routes.append(
                WebSocketRoute(str(props["RouteKey"]), self._function_behind(uri, integration_id), api_ids.pop())
            )
        return routes

    # -- functions and layers

    def function(self, logical_id: str, resolve: Mapping[str, str] | None = None) -> FunctionSpec:
        """The function as Lambda runs it; ``resolve`` maps logical ids ("X" or "X.Attr") to local values."""
        resource = self.cloudformation_resources("AWS::Lambda::Function").get(logical_id)
        if resource is None:
            raise TemplateError(f"no AWS::Serverless::Function named {logical_id}")
        props = _properties(resource)
        code, handler = props.get("Code") or {}, props.get("Handler")
        if code.get("S3Bucket") != _LOCAL_CODE_BUCKET or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id} needs a local CodeUri and a module.function Handler")
        module, _, name = handler.rpartition(".")
        resolver = self._resolver(resolve)
        variables = (props.get("Environment") or {}).get("Variables") or {}
        layer_ids = self._layer_ids()
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=self._local_path(str(code["S3Key"]), "CodeUri"),
            handler_module=module,
            handler_name=name,
            runtime=str(props.get("Runtime", "")),
            timeout=int(resolver.value(props.get("Timeout", _DEFAULT_TIMEOUT_SECONDS))),
            memory_size=int(resolver.value(props.get("MemorySize", _DEFAULT_MEMORY_MB))),
            environment={key: _scalar_str(value) for key, value in resolver.value(variables).items()},
            layers=tuple(_layer_id(layer, layer_ids) for layer in props.get("Layers") or []),
            reserved_concurrency=_optional_int(resolver.value(props.get("ReservedConcurrentExecutions"))),
        )

    def functions(self, resolve: Mapping[str, str] | None = None) -> dict[str, FunctionSpec]:
        """Every function (``AWS::Serverless::Function`` or ``AWS::Lambda::Function``), by logical id."""
        return {
            logical_id: self.function(logical_id, resolve)
            for logical_id in self.cloudformation_resources("AWS::Lambda::Function")
        }

    def layers(self) -> dict[str, LayerSpec]:
        """Every ``AWS::Serverless::LayerVersion`` with a local ContentUri, by its logical id as written."""
        layers = {}
        for logical_id, resource in self.resources("AWS::Serverless::LayerVersion").items():
            content_uri = _properties(resource).get("ContentUri")
            if not isinstance(content_uri, str) or content_uri.startswith("s3://"):
                raise TemplateError(f"{logical_id} needs a local ContentUri")
            build_method = (resource.get("Metadata") or {}).get("BuildMethod")
            layers[logical_id] = LayerSpec(logical_id, (self.root / content_uri).resolve(), build_method)
        return layers

    # -- data stores

    def dynamodb_tables(self) -> dict[str, DynamoTable]:
        """Every ``AWS::DynamoDB::Table``, by logical id."""
        resolver = self._resolver(None)
        tables = {}
        for logical_id, resource in self.cloudformation_resources("AWS::DynamoDB::Table").items():
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
        for logical_id, resource in self.cloudformation_resources("AWS::SQS::Queue").items():
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
        """Event source mappings from SQS queues (SAM ``Type: SQS`` events), in template order."""
        resolver = self._resolver(None)
        queues = self.cloudformation_resources("AWS::SQS::Queue").keys()
        sources = []
        for mapping_id, mapping in self.cloudformation_resources("AWS::Lambda::EventSourceMapping").items():
            props = _properties(mapping)
            queue_ids = _references(props.get("EventSourceArn")) & queues
            if not queue_ids:
                continue  # Kinesis, DynamoDB streams, ...: not emulated
            settings = resolver.value({k: v for k, v in props.items() if k not in ("EventSourceArn", "FunctionName")})
            sources.append(
                SqsEventSource(
                    function_logical_id=self._function_behind(props.get("FunctionName"), mapping_id),
                    queue_logical_id=_only(queue_ids, mapping_id, "queue"),
                    batch_size=int(settings.get("BatchSize", 10)),
                    maximum_batching_window=int(settings.get("MaximumBatchingWindowInSeconds", 0)),
                    function_response_types=tuple(settings.get("FunctionResponseTypes") or ()),
                    enabled=_truthy(settings.get("Enabled", True)),
                )
            )
        return sources

    def attribute_references(self) -> set[str]:
        """Every ``Resource.Attribute`` the translated template reads (``Fn::GetAtt`` and ``${X.Y}`` in Sub)."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "Fn::GetAtt" and isinstance(value, list) and len(value) == 2:
                        found.add(f"{value[0]}.{value[1]}")
                    elif key == "Fn::Sub":
                        text = value if isinstance(value, str) else value[0] if isinstance(value, list) else ""
                        found.update(name for name in _SUB_VARIABLE.findall(str(text)) if "." in name)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.translated.get("Resources"))
        return found

    # -- helpers

    def _section(self, name: str) -> dict[str, Any]:
        section = self.body.get(name) or {}
        return section if isinstance(section, dict) else {}

    def _function_behind(self, node: Any, owner: str) -> str:
        """The function a value invokes: directly, or through an alias or version (AutoPublishAlias)."""
        functions = self.cloudformation_resources("AWS::Lambda::Function").keys()
        aliases = self.cloudformation_resources("AWS::Lambda::Alias", "AWS::Lambda::Version")
        found = set()
        for reference in _references(node):
            if reference in functions:
                found.add(reference)
            elif reference in aliases:
                found |= _references(_properties(aliases[reference]).get("FunctionName")) & functions
        return _only(found, owner, "function")

    def _layer_ids(self) -> dict[str, str]:
        """Translated layer ids (``RuntimeLayerb004759cc2``) -> the logical ids as written."""
        return {
            logical_id: str((_properties(resource).get("Content") or {}).get("S3Key"))
            for logical_id, resource in self.cloudformation_resources("AWS::Lambda::LayerVersion").items()
            if (_properties(resource).get("Content") or {}).get("S3Bucket") == _LOCAL_CODE_BUCKET
        }

    def _local_path(self, logical_id: str, key: str) -> Path:
        value = _properties(self._section("Resources").get(logical_id) or {}).get(key)
        if not isinstance(value, str):
            raise TemplateError(f"{logical_id} needs a local {key}")
        return (self.root / value).resolve()

    def _resolver(self, resolve: Mapping[str, str] | None) -> _Resolver:
        values = {**LOCAL_PSEUDO_PARAMETERS, **self.parameter_values(), **(resolve or {})}
        return _Resolver(values, self._section("Conditions"))


def _of_types(resources: Mapping[str, Any], types: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and (not types or resource.get("Type") in types)
    }


# --- intrinsics ---------------------------------------------------------------------------------


class _Resolver:
    """Resolves the intrinsics a local run can answer; raises TemplateError on the rest."""

    def __init__(self, values: Mapping[str, str], conditions: Mapping[str, Any] | None = None) -> None:
        self._values = values
        self._conditions = conditions or {}

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic inside it replaced by its value (``AWS::NoValue`` drops a key)."""
        if isinstance(node, dict):
            if _is_intrinsic(node):
                return self._intrinsic(node)
            values = {key: self.value(value) for key, value in node.items()}
            return {key: value for key, value in values.items() if value is not _NO_VALUE}
        if isinstance(node, list):
            return [item for item in (self.value(item) for item in node) if item is not _NO_VALUE]
        return node

    def string(self, node: Any) -> str:
        """Like :meth:`value`, as the string Lambda would see in an environment variable."""
        return _scalar_str(self.value(node))

    def _intrinsic(self, node: dict[str, Any]) -> Any:
        ((function, argument),) = node.items()
        if function == "Ref" and argument == "AWS::NoValue":
            return _NO_VALUE
        if function == "Fn::If":
            condition, if_true, if_false = argument
            return self.value(if_true if self._condition(str(condition)) else if_false)
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

    def _condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise TemplateError(f"Fn::If names no condition {name!r}")
        return self._true(self._conditions[name])

    def _true(self, node: Any) -> bool:
        """A Conditions expression: Fn::Equals / Not / And / Or over resolvable values, or Condition."""
        if not isinstance(node, dict) or len(node) != 1:
            raise TemplateError(f"condition cannot be evaluated locally: {node}")
        ((function, argument),) = node.items()
        if function == "Condition":
            return self._condition(str(argument))
        if function == "Fn::Equals":
            left, right = (_scalar_str(self.value(item)) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not self._true(argument[0])
        if function in ("Fn::And", "Fn::Or"):
            results = [self._true(item) for item in argument]
            return all(results) if function == "Fn::And" else any(results)
        raise TemplateError(f"condition cannot be evaluated locally: {node}")

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


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _layer_id(layer: Any, translated_ids: Mapping[str, str]) -> str:
    if isinstance(layer, str):
        return layer  # a literal layer ARN
    reference = _only(_references(layer), "Layers", "layer")
    return translated_ids.get(reference, reference)


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
