"""OpenAPI documents of the routes other systems call: Inject & Notify and the outbound-call API.

Powertools generates each from the handler's own routes and pydantic models
(``app.get_openapi_json_schema``, the resolver runs with ``enable_validation=True``). The documents are
committed under ``docs/openapi/`` for integrators, served as Swagger UI by ``make run`` at ``/_docs``
(dev only: nothing of this is deployed), and ``tests/infrastructure/test_openapi.py`` fails when the
committed ones drift from the code.

    python -m audiocodes_devtools.openapi write     (make openapi) rewrite docs/openapi/*.json
    python -m audiocodes_devtools.openapi check     exit 1 naming each document that drifted

Two answers happen outside Powertools' view and are described here: the API key is checked before
the route runs (401), and the validation error Powertools documents as 422 is answered 400 with our
JSON error body (``http_api.install_error_handlers``).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import json
import os
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "openapi"
DOCS_PREFIX = "/_docs"


@dataclass(frozen=True)
class PublicApi:
    name: str
    module: str
    title: str
    description: str
    key_in_query: bool
    """Whether the API key may also come as ``?api_key=`` (Cognigy's client sends it that way)."""
    accepted: str | None = None
    """``module:Model`` of the 202 answer, where the handler returns it as a dict (Powertools sees
    ``dict[str, Any]``): its schema is documented from the model itself."""


PUBLIC_APIS = (
    PublicApi(
        "inject-notify",
        "functions.inject_notify.app",
        "Inject & Notify",
        "Other systems speak into a live async-mode call, with Cognigy's REST API body. *Inject* runs text "
        "and/or data through the flow as if the caller had said it; *notify* sends it straight to the caller. "
        "The raw routes take any JSON body and map it with the endpoint's handle_inject / handle_notify "
        "transformer. An `Idempotency-Key` header makes a retry return the first answer.",
        key_in_query=True,
        accepted="audiocodes_endpoint.core.injection:Accepted",
    ),
    PublicApi(
        "outbound",
        "functions.outbound.app",
        "Outbound calls",
        "Place a call through VoiceAI Connect's dial-out API and read its status history (the endpoint's "
        "`dialout.api_key`). VoiceAI Connect posts each status to the call's notifyUrl, `.../status?token=`: "
        "the token made for that call is its authentication.",
        key_in_query=False,
    ),
)

ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. bad_request, unauthorized"},
        "message": {"type": "string", "description": "What was wrong, for a person"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


@contextlib.contextmanager
def _importable_handlers() -> Iterator[None]:
    """Settings under which a handler module imports with no AWS call: a SnapStart init fetches no
    secret and opens no connection (runtime.prepare), and nothing else is read at import."""
    settings = {
        "SESSIONS_TABLE": "openapi-document",
        "AGENT_DIR": str(ROOT / "agent"),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for path in (ROOT, ROOT / "layers" / "runtime"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    with mock.patch.dict(os.environ, settings):  # the environment as it was, afterwards
        yield


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def document(api: PublicApi) -> dict[str, Any]:
    """The OpenAPI document of ``api``, as Powertools generates it from the handler, with the answers
    given outside the resolver described."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    with _importable_handlers():
        app = importlib.import_module(api.module).app
    schemes: dict[str, Any] = {"apiKey": APIKey(name="X-API-Key", **{"in": APIKeyIn.header})}
    if api.key_in_query:
        schemes["apiKeyQuery"] = APIKey(name="api_key", **{"in": APIKeyIn.query})
    security: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    generated = app.get_openapi_json_schema(
        title=api.title,
        version=_version(),
        description=api.description,
        security_schemes=schemes,
        security=security,
    )
    doc = _our_answers(json.loads(generated))
    if api.accepted:
        _document_accepted(doc, api.accepted)
    return doc


DROPPED = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"const": "dropped"}, "message": {"type": "string"}},
        }
    }
}


def _document_accepted(doc: dict[str, Any], target: str) -> None:
    """Every operation's 202 answer described by the model that builds it, and its 409."""
    module, _, name = target.partition(":")
    model = getattr(importlib.import_module(module), name)
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    doc["components"]["schemas"][name] = schema
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
    for operations in doc["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            responses["202"] = {"description": "Accepted: queued on the call, in order", "content": content}
            responses["409"] = _error(
                "The call has ended, the endpoint is not in async mode, or the Idempotency-Key is in use"
            )
            if "requestBody" not in operation:  # a raw route: its transformer may drop the body
                responses["200"] = {"description": "The endpoint's transformer ignored this body", "content": DROPPED}
            operation["responses"] = dict(sorted(responses.items()))


def _our_answers(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if responses.pop("422", None) is not None:
                responses["400"] = _error("The body is not valid JSON, or a field is missing or wrong")
            if path.endswith("/status"):  # VAIC's callback: the call's own token, not the API key
                operation["security"] = []
                responses["401"] = _error("The token is not the one made for this call")
            else:
                responses["401"] = _error("The API key is missing or not this endpoint's")
            responses["404"] = _error("No such endpoint, session or call")
            operation["responses"] = dict(sorted(responses.items()))
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def snapshot(api: PublicApi) -> Path:
    return DOCS / f"{api.name}.json"


def write() -> list[Path]:
    DOCS.mkdir(parents=True, exist_ok=True)
    for api in PUBLIC_APIS:
        snapshot(api).write_text(render(document(api)), encoding="utf-8")
    return [snapshot(api) for api in PUBLIC_APIS]


def drift() -> dict[str, str]:
    """A unified diff per document whose committed snapshot differs from what the code generates."""
    found: dict[str, str] = {}
    for api in PUBLIC_APIS:
        path = snapshot(api)
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        generated = render(document(api))
        if committed != generated:
            lines = difflib.unified_diff(
                committed.splitlines(keepends=True), generated.splitlines(keepends=True), str(path), "generated"
            )
            found[api.name] = "".join(lines)
    return found


# --- Swagger UI under `make run` (dev only) ---------------------------------------------------------------

Answer = tuple[int, list[tuple[str, str]], bytes]


def serve_docs(method: str, path: str, base_url: str) -> Answer:
    """``/_docs``: a page per public API (Swagger UI with Powertools' bundled assets, no CDN), its
    requests aimed at this emulator; ``/_docs/<name>.json``: the committed document."""
    if method not in ("GET", "HEAD"):
        return _text(405, "text/plain", f"{DOCS_PREFIX} answers GET only")
    rest = path.removeprefix(DOCS_PREFIX).strip("/")
    apis = {api.name: api for api in PUBLIC_APIS}
    if rest == "":
        links = "".join(f'<li><a href="{DOCS_PREFIX}/{a.name}">{a.title}</a></li>' for a in PUBLIC_APIS)
        return _text(200, "text/html", f"<!doctype html><title>API documents</title><ul>{links}</ul>")
    name, _, extension = rest.partition(".")
    api = apis.get(name)
    if api is None or extension not in ("", "json"):
        return _text(404, "text/plain", f"no document {rest}")
    doc = {**json.loads(snapshot(api).read_text(encoding="utf-8")), "servers": [{"url": base_url}]}
    if extension == "json":
        return _text(200, "application/json", render(doc))
    return _text(200, "text/html", _swagger_page(doc))


def _swagger_page(doc: dict[str, Any]) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = json.dumps(doc).replace("</", "<\\/")  # as Powertools does: the JSON sits in a <script>
    return generate_swagger_html(spec, js, css, "", None)


def _text(status: int, kind: str, text: str) -> Answer:
    return status, [("Content-Type", f"{kind}; charset=utf-8"), ("Cache-Control", "no-store")], text.encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiocodes_devtools.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["write", "check"])
    arguments = parser.parse_args(argv)
    if arguments.command == "write":
        for path in write():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    found = drift()
    for name, diff in found.items():
        print(f"docs/openapi/{name}.json is not what the code generates (make openapi rewrites it):\n{diff}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
