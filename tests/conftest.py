"""Shared fixtures: AWS on moto (in-process), the sessions and analytics tables built from template.yaml."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Never reach a real AWS account from tests, whatever the developer's shell has.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "AudioCodesEndpointTests",
        "POWERTOOLS_SERVICE_NAME": "audiocodes-endpoint",
    }
)
for variable in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL") or v == "AWS_PROFILE"]:
    del os.environ[variable]


def _share_one_botocore_loader() -> None:
    """Every botocore session gets the same loader, so service models are parsed once per test run.

    moto's ``mock_aws`` resets boto3's default session for each test; each new session made a new
    loader and parsed DynamoDB's, SQS's, ... JSON models again (most of the integration suite's time).
    The loader caches only what ships with botocore: sharing it changes no test's behaviour.
    """
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda search_path_string=None: shared  # type: ignore[assignment]


_share_one_botocore_loader()


def _parse_each_flow_file_once() -> None:
    """The agent's YAML parsed once per text per test process (PyYAML's pure-Python loader, see yamlio).

    Most integration tests start a fresh runtime (``runtime.cache_clear()``), which loads the agent
    again: re-parsing the same flow files was about a third of their setup. Same text, same result:
    each caller gets its own deep copy of the data (the node tree, only read for line numbers, is shared).
    """
    import copy
    import functools

    from audiocodes_endpoint.flows import loader, yamlio

    original = yamlio.parse
    parsed = functools.lru_cache(maxsize=256)(original)

    @functools.wraps(original)
    def parse(text: str):  # type: ignore[no-untyped-def]
        data, root = parsed(text)
        return copy.deepcopy(data), root

    yamlio.parse = parse  # type: ignore[assignment]
    if loader.parse is original:
        loader.parse = parse  # type: ignore[assignment]


_parse_each_flow_file_once()


def _one_metrics_writer_at_a_time() -> None:
    """Powertools' ``Metrics`` keeps one metric set per process, which Lambda never shares.

    Tests that call a handler from many threads (the turn core under 50 parallel activities) would
    otherwise race one invocation's flush against another's: ``flush_metrics`` checks the set is not
    empty, another thread clears it, and the serialiser raises "Must contain at least one metric".
    """
    import functools
    import threading

    from aws_lambda_powertools.metrics import Metrics

    lock = threading.RLock()

    def locked(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            with lock:
                return method(*args, **kwargs)

        return wrapper

    for name in ("add_metric", "add_dimension", "add_metadata", "flush_metrics", "clear_metrics"):
        setattr(Metrics, name, locked(getattr(Metrics, name)))


_one_metrics_writer_at_a_time()


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the Powertools logger writes (formatted and masked as in Lambda), into a buffer."""
    from audiocodes_endpoint.observability import logger

    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from audiocodes_devtools.moto_atomic import make_dynamodb_writes_atomic

    make_dynamodb_writes_atomic()  # DynamoDB's conditional writes are atomic; moto's need a lock
    with mock_aws():
        yield


@pytest.fixture
def sessions_table(aws: None) -> str:
    """The sessions table exactly as template.yaml defines it."""
    import boto3

    from audiocodes_devtools.template import load_template

    table = load_template(ROOT / "template.yaml").dynamodb_tables()["SessionsTable"]
    client = boto3.client("dynamodb")
    client.create_table(**table.create_table_kwargs("sessions-test"))
    return "sessions-test"


@pytest.fixture
def analytics_table(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The analytics table exactly as template.yaml defines it (the only definition tests use),
    named in ANALYTICS_TABLE as the functions read it."""
    import boto3

    from audiocodes_devtools.template import load_template

    table = load_template(ROOT / "template.yaml").dynamodb_tables()["AnalyticsTable"]
    boto3.client("dynamodb").create_table(**table.create_table_kwargs("analytics-test"))
    monkeypatch.setenv("ANALYTICS_TABLE", "analytics-test")
    return "analytics-test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a test marked ``slow`` run first, each kept whole and in its own order.

    ``make pytest`` hands whole modules to its workers (``--dist loadfile``: a module's emulator starts
    once); a long module handed out last would leave the other workers idle while it runs.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
