"""Start the emulator in a subprocess (as `make run` does) for end-to-end tests and the benchmark.

A subprocess keeps its AWS endpoint, credentials and moto server away from the caller's process.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .emulator import ROOT, free_port
from .vaic import VaicClient

SESSIONS_TABLE = "audiocodes-endpoint-local-SessionsTable"


@dataclass(frozen=True)
class RunningEmulator:
    base_url: str
    moto_url: str
    tokens: dict[str, str]
    inject_keys: dict[str, str]
    oauth_clients: dict[str, dict[str, str]] = field(default_factory=dict)
    """``auth: oauth2`` endpoints: ``token_url``, ``client_id``, ``client_secret``, ``scope`` of the local issuer."""
    output: list[str] = field(default_factory=list)  # what the emulator printed after its banner
    pid: int = 0  # the emulator's process (its workers and moto are its children)

    def client(self, url_token: str, token: str | None = "", *, timeout: float = 10.0) -> VaicClient:
        """A VAIC client for an endpoint, with its token unless another (or None) is given."""
        chosen = self.tokens[url_token] if token == "" else token
        return VaicClient(f"{self.base_url}/{url_token}", chosen, timeout=timeout)

    def inject(self, kind: str, url_token: str, session_id: str, **fields: Any) -> httpx.Response:
        """POST /v2.0/endpoint/inject|notify as another system would."""
        body = {"URLToken": url_token, "sessionId": session_id, **fields}
        headers = {"X-API-Key": self.inject_keys[url_token]}
        return httpx.post(f"{self.base_url}/v2.0/endpoint/{kind}", json=body, headers=headers, timeout=10)

    def session(self, url_token: str, conversation: str) -> dict[str, Any] | None:
        """The session item as the emulator's DynamoDB (moto) holds it."""
        import boto3

        client = boto3.client(
            "dynamodb",
            endpoint_url=self.moto_url,
            region_name="eu-central-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's dummy keys
        )
        key = {"id": {"S": f"{url_token}/{conversation}"}}
        item: dict[str, Any] | None = client.get_item(TableName=SESSIONS_TABLE, Key=key).get("Item")
        return item


@contextlib.contextmanager
def emulator_process(
    agent_dir: Path | None = None, *, template: Path | None = None, startup_seconds: float = 60, **environment: str
) -> Iterator[RunningEmulator]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PORT": str(port),
        "MOTO_PORT": str(free_port()),
        "OAUTH_PORT": str(free_port()),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/runtime", "devtools")),
        "EMULATOR_QUIET": "1",
        "EMULATOR_STATE_FILE": "",  # a test's emulator is not the one `make call` should find
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    if agent_dir is not None:
        env["LOCAL_AGENT_DIR"] = str(agent_dir)
    if template is not None:
        env["EMULATOR_TEMPLATE"] = str(template)
    env.update(environment)
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "audiocodes_devtools.emulator"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output: list[str] = []
        banner = _read_banner(process, startup_seconds, output)
        moto_url = re.search(r"AWS on moto at (\S+)\)", banner)
        if moto_url is None:
            raise RuntimeError(f"unexpected emulator banner:\n{banner}")
        tokens = dict(re.findall(r"endpoint '([^']+)': bot URL \S+\s+token (\S+)", banner))
        inject_keys = dict(re.findall(r"endpoint '([^']+)'[^\n]*\n\s+inject & notify: \S+\s+X-API-Key (\S+)", banner))
        oauth = re.findall(
            r"endpoint '([^']+)': bot URL \S+\s+oauth2: token URL (\S+) client (\S+) secret (\S+) scope (\S+)", banner
        )
        clients = {e: {"token_url": u, "client_id": c, "client_secret": s, "scope": sc} for e, u, c, s, sc in oauth}
        yield RunningEmulator(
            f"http://127.0.0.1:{port}",
            moto_url[1],
            tokens,
            inject_keys,
            oauth_clients=clients,
            output=output,
            pid=process.pid,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def _read_banner(process: subprocess.Popen[str], timeout: float, output: list[str]) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the emulator exited:\n" + "".join(lines))
        lines.append(line)
        if "Talk to it" in line:
            threading.Thread(target=_collect, args=(process.stdout, output), daemon=True).start()
            return "".join(lines)
    raise TimeoutError("the emulator did not start:\n" + "".join(lines))


def _collect(stream: Any, output: list[str]) -> None:
    """Keep reading the emulator's output (so a full pipe never blocks it) for tests to inspect."""
    for line in stream:
        output.append(line)
