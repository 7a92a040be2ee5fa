"""Cold start of the built Bot API function as Lambda lays it out (tests/fidelity/harness.py).

Each run starts a fresh execution environment (a new process in its own mount namespace, from the
`sam build` artifacts, on moto over HTTPS): its init (the handler's import, which builds the agent,
templates, services and clients), then a call's first two requests (create, start), then the same two
requests of a second call in the now warm environment. Needs root (`unshare -m`) and python3.12.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECRET = "/audiocodes-endpoint/demo/bot-token"


def available() -> str | None:
    """Why the measurement cannot run here, or None."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root and unshare -m"
    return None


def _event(name: str, conversation: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "bot_api" / f"{name}.json").read_text())
    body = event["body"].replace("f010e998-4499-4ddb-80d4-fea137fd7b4d", conversation)
    path = event["rawPath"].replace("f010e998-4499-4ddb-80d4-fea137fd7b4d", conversation)
    event.update(body=body, rawPath=path)
    event["requestContext"]["http"]["path"] = path
    event["headers"]["content-length"] = str(len(body.encode()))
    return event


def measure(runs: int = 5) -> dict[str, list[float]]:
    import boto3

    from audiocodes_devtools.template import load_template
    from tests.fidelity import harness

    build, venv = harness.sam_build(), harness.lambda_venv()
    samples: dict[str, list[float]] = {
        "init": [],
        "first_create": [],
        "first_start": [],
        "warm_create": [],
        "warm_start": [],
    }
    with tempfile.TemporaryDirectory(prefix="cold-start-") as directory:
        stage = Path(directory)
        cert, key = harness.self_signed_certificate(stage)
        server = harness.MotoServer(cert, key)
        try:
            template = load_template(ROOT / "template.yaml")
            dynamodb = boto3.client("dynamodb", endpoint_url=server.url, verify=str(cert), region_name=harness.REGION)
            dynamodb.create_table(**template.dynamodb_tables()["SessionsTable"].create_table_kwargs("bench-sessions"))
            boto3.client("ssm", endpoint_url=server.url, verify=str(cert), region_name=harness.REGION).put_parameter(
                Name=SECRET, Value="local-demo-token", Type="SecureString", Overwrite=True
            )
            spec = template.function(
                "BotApiFunction",
                resolve={"SessionsTable": "bench-sessions", "AnalyticsTable": "", "TurnQueue": "",
                         "TurnQueue.QueueName": "", "CampaignQueue": "", "WebSocketApi": harness.WEBSOCKET_API_ID,
                         "AWS::Region": harness.REGION},
            )  # fmt: skip
            hosts = stage / "hosts"
            hosts.write_text(Path("/etc/hosts").read_text())
            for _ in range(runs):
                function = harness.start_function(
                    function_id="BotApiFunction",
                    spec=spec,
                    build=build,
                    venv=venv,
                    stage=stage,
                    environment=dict(spec.environment),
                    hosts=hosts,
                    network={"AWS_ENDPOINT_URL": server.url, "AWS_CA_BUNDLE": str(cert)},
                )
                try:
                    samples["init"].append(function.init["init_ms"])
                    for phase in ("first", "warm"):
                        conversation = str(uuid.uuid4())
                        samples[f"{phase}_create"].append(
                            function.invoke(_event("create_conversation", conversation))["ms"]
                        )
                        samples[f"{phase}_start"].append(
                            function.invoke(_event("activities_start", conversation))["ms"]
                        )
                finally:
                    function.stop()
        finally:
            server.stop()
    return samples


def render(samples: dict[str, list[float]] | str) -> str:
    lines = ["## Cold start in Lambda's layout (built artifacts)", ""]
    if isinstance(samples, str):
        return "\n".join([*lines, f"Not measured: {samples}.", ""])
    median = {key: statistics.median(values) for key, values in samples.items()}
    lines += [
        f"BotApiFunction from `sam build`, {len(samples['init'])} fresh execution environments (tests/fidelity "
        "layout, moto over HTTPS); medians in ms. Init is the handler's import, which now builds the agent, "
        "templates, endpoint services and AWS clients (SnapStart would snapshot it).",
        "",
        "| | first call of a fresh environment | a call in the warm environment | ratio |",
        "|---|---|---|---|",
        f"| init (import) | {median['init']:.0f} | | |",
    ]
    for request in ("create", "start"):
        first, warm = median[f"first_{request}"], median[f"warm_{request}"]
        lines.append(f"| {request} | {first:.1f} | {warm:.1f} | {first / warm:.2f}x |")
    total_first = median["first_create"] + median["first_start"]
    total_warm = median["warm_create"] + median["warm_start"]
    lines += [
        "",
        f"First two requests: {total_first:.1f} ms fresh vs {total_warm:.1f} ms warm "
        f"({total_first / total_warm:.2f}x; goal < 2x).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(available() or measure()))
