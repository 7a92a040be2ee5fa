"""HTTP concerns shared by the API Gateway handlers: auth, body decoding, JSON errors, 405s.

Authentication happens before ``app.resolve()`` because Powertools validates bodies before any
middleware runs, and an unauthenticated caller must get 401, not a description of our schema.
Bodies are then decoded by :func:`decoded_event` (``channel.decoding``), so Powertools only ever parses
UTF-8 JSON text that is known to be valid.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2

from audiocodes_endpoint.channel import decoding
from audiocodes_endpoint.config.validation import field
from audiocodes_endpoint.config.validation import problems as describe
from audiocodes_endpoint.observability import logger, metrics

MAX_BODY_BYTES = decoding.MAX_BODY_BYTES
Handler = TypeVar("Handler", bound=Callable[..., Any])


def error(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An API Gateway v2 result with a JSON error body: ``{"error", "message", ...}``."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **extra.pop("headers", {})},
        "body": json.dumps({"error": code, "message": message, **extra}),
        "isBase64Encoded": False,
    }


def presented_token(headers: Mapping[str, str] | None) -> str | None:
    """The token from ``Authorization: Bearer <t>`` or a raw ``Authorization: <t>``."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "authorization"), None)
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()


def endpoint_misconfigured(url_token: str, reference: str, reason: str) -> dict[str, Any]:
    """503 for an endpoint whose token or key cannot be read; the log names the reference, never a value."""
    logger.error(
        "endpoint secret unavailable", extra={"endpoint": url_token, "secret_reference": reference, "reason": reason}
    )
    metrics.add_metric(name="EndpointMisconfigured", unit=MetricUnit.Count, value=1)
    return error(
        503,
        "endpoint_misconfigured",
        "this endpoint's credentials cannot be read; its operator must store them (make secrets-check)",
    )


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no expected token configured means nobody gets in."""
    if not presented or not expected:
        return False
    # surrogatepass: a header value that is not Unicode simply does not match
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def ignores_body(route: Handler) -> Handler:
    """Mark a route whose body carries nothing we read (refresh): it is neither decoded nor refused."""
    route.ignores_body = True  # type: ignore[attr-defined]
    return route


def form_body(route: Handler) -> Handler:
    """Mark a route that takes ``application/x-www-form-urlencoded`` (Powertools ``Form()``) instead of JSON."""
    route.form_body = True  # type: ignore[attr-defined]
    return route


def csv_or_json_body(route: Handler) -> Handler:
    """Mark a route that takes ``text/csv`` as well as JSON; a CSV body reaches it as text, unparsed."""
    route.csv_body = True  # type: ignore[attr-defined]
    return route


def decoded_event(app: APIGatewayHttpResolver, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(event, None)`` with the body decoded for Powertools, or ``(event, error result)``.

    Call after auth. Header names come out in lower case; the body as UTF-8 JSON text with
    ``Content-Type: application/json`` (or form text, for a route marked :func:`form_body`) and no
    ``Content-Encoding``. A request no route takes (404, 405), a GET, or a route marked
    :func:`ignores_body` gets no body at all.
    """
    headers = decoding.headers_lowercased(event.get("headers"))
    raw, base64_encoded = event.get("body"), bool(event.get("isBase64Encoded"))
    event = {**event, "headers": headers, "body": None, "isBase64Encoded": False}
    route = _route(app, event)
    if route is None or route.method in ("GET", "HEAD") or getattr(route.func, "ignores_body", False):
        return event, None
    form = bool(getattr(route.func, "form_body", False))
    csv = bool(getattr(route.func, "csv_body", False)) and decoding.is_csv(headers.get("content-type", ""))
    try:
        body = decoding.decode_body(raw, base64_encoded=base64_encoded, headers=headers, form=form, csv=csv)
    except decoding.Refused as refused:
        return event, error(refused.status, refused.code, refused.message, headers=refused.headers)
    headers = {name: value for name, value in headers.items() if name != "content-encoding"}
    headers["content-type"] = (
        "application/x-www-form-urlencoded" if form else "text/csv" if csv else content_types.APPLICATION_JSON
    )
    return {**event, "headers": headers, "body": body.text}, None


def _route(app: APIGatewayHttpResolver, event: dict[str, Any]) -> Any:
    """The route Powertools will pick for ``event`` (same path and method rules), or ``None``."""
    current = APIGatewayProxyEventV2(event)
    path, method = current.path, current.http_method.upper()
    for route in app._static_routes + app._dynamic_routes:  # noqa: SLF001 - Powertools keeps no public list
        if route.method == method and route.rule.match(path):
            return route
    return None


def route_path(event: Mapping[str, Any]) -> str:
    """The request path without the API stage prefix (``/Prod/demo`` -> ``/demo``)."""
    path = str(event.get("rawPath") or "/")
    stage = str(event.get("requestContext", {}).get("stage") or "$default")
    prefix = f"/{stage}"
    if stage != "$default" and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path


def without_trailing_slash(event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The event with one trailing ``/`` removed from its path (routes are declared without it)."""
    path = str(event.get("rawPath") or "/")
    if len(path) <= 1 or not path.endswith("/"):
        return event, False
    event = {**event, "rawPath": path.rstrip("/") or "/"}
    http = event.get("requestContext", {}).get("http")
    if isinstance(http, dict) and isinstance(http.get("path"), str):
        event["requestContext"] = {**event["requestContext"], "http": {**http, "path": event["rawPath"]}}
    return event, True


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Validation errors become 400 naming each field; unknown routes 404, known ones 405."""

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        # Powertools' locations carry the body's position (1) in the handler's arguments: left out.
        issues = exc.errors()
        problems = [{"field": field(issue, top="", skip=(1,)), "problem": issue.get("msg", "")} for issue in issues]
        malformed = any(issue.get("type") == "json_invalid" for issue in exc.errors())
        message = "malformed JSON body" if malformed else describe(exc.errors(), top="", skip=(1,))
        return Response(
            status_code=400,
            content_type=content_types.APPLICATION_JSON,
            body={"error": "bad_request", "message": message, "detail": problems},
        )

    @app.not_found
    def _not_found(_exc: Exception) -> Response[Any]:
        allowed = allowed_methods(app, app.current_event.path)
        if allowed:
            return Response(
                status_code=405,
                content_type=content_types.APPLICATION_JSON,
                headers={"Allow": ", ".join(sorted(allowed))},
                body={"error": "method_not_allowed", "message": f"use {' or '.join(sorted(allowed))}"},
            )
        return Response(
            status_code=404,
            content_type=content_types.APPLICATION_JSON,
            body={"error": "not_found", "message": "no such route"},
        )


def allowed_methods(app: APIGatewayHttpResolver, path: str) -> set[str]:
    return {
        route.method.upper()
        for route in app._static_routes + app._dynamic_routes  # noqa: SLF001 - Powertools keeps no public list
        if route.rule.match(path)
    }
