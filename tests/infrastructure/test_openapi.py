"""The OpenAPI documents integrators read (docs/openapi/) are what the handlers' code generates, they
cover every route the template gives those functions, and ``make run`` serves them as Swagger UI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from audiocodes_devtools import openapi
from audiocodes_devtools.template import Template

from .conftest import REPO_ROOT

FUNCTIONS = {"inject-notify": "InjectNotifyFunction", "outbound": "OutboundFunction"}


def test_the_committed_documents_are_what_the_code_generates() -> None:
    # Run as `make openapi` would, in a process of its own (importing a handler builds its runtime)
    checked = subprocess.run(
        [sys.executable, "-m", "audiocodes_devtools.openapi", "check"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, f"{checked.stdout}{checked.stderr}\nrefresh with: make openapi"


def operations(doc: dict) -> set[tuple[str, str]]:
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path)) for path, ops in doc["paths"].items() for method in ops}


@pytest.mark.parametrize("api", openapi.PUBLIC_APIS, ids=lambda api: api.name)
def test_each_document_covers_exactly_the_routes_the_template_gives_its_function(
    api: openapi.PublicApi, template: Template
) -> None:
    doc = json.loads(openapi.snapshot(api).read_text(encoding="utf-8"))
    routes = {
        (route.method, re.sub(r"\{[^}]+\}", "{}", route.path))
        for route in template.http_routes()
        if route.function_logical_id == FUNCTIONS[api.name]
    }
    assert routes and operations(doc) == routes
    # every error answer names the body every handler sends: {"error", "message"}
    for ops in doc["paths"].values():
        for operation in ops.values():
            assert {"400", "401", "404"} <= set(operation["responses"])


def test_make_run_serves_swagger_ui_aimed_at_the_emulator_with_powertools_bundled_assets() -> None:
    status, headers, body = openapi.serve_docs("GET", "/_docs/inject-notify", "http://127.0.0.1:3000")
    page = body.decode()
    assert status == 200 and ("Content-Type", "text/html; charset=utf-8") in headers
    assert "SwaggerUIBundle" in page and "cdn" not in page.lower()  # no network needed to read the docs
    assert '"url": "http://127.0.0.1:3000"' in page or '"url":"http://127.0.0.1:3000"' in page
    status, _, body = openapi.serve_docs("GET", "/_docs/outbound.json", "http://127.0.0.1:3000")
    assert status == 200 and json.loads(body)["servers"] == [{"url": "http://127.0.0.1:3000"}]
    index = openapi.serve_docs("GET", "/_docs", "http://127.0.0.1:3000")
    assert index[0] == 200 and b"/_docs/inject-notify" in index[2] and b"/_docs/outbound" in index[2]
    assert openapi.serve_docs("GET", "/_docs/nope", "http://x")[0] == 404
    assert openapi.serve_docs("POST", "/_docs", "http://x")[0] == 405
