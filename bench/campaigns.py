"""Campaign dialling through the outbound handler in-process on moto, against single calls (same run).

The campaign queue is consumed as Lambda's event source would (the emulator's SqsPoller), each message
handed to the handler alone so its time is its own; VAIC is the local dial-out stand-in (real HTTP, no
bot conversation); its status callbacks are handed to the handler as API Gateway would. Every AWS
request the handler makes is counted per operation (botocore's before-call hook).
"""

from __future__ import annotations

import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENDPOINT = """
name: Bench
url_token: bench
flow: main
bot_token: env:BENCH_BOT_TOKEN
default_region: DE
dialout:
  api_key: env:BENCH_DIALOUT_KEY
  api_url: {url}
  token_url: {url}/oauth/token
  client_id: env:BENCH_CLIENT_ID
  client_secret: env:BENCH_CLIENT_SECRET
  bot: bench
  caller: "+4930123456789"
  machine_detection: true
  destinations:
    country_codes: [49]
"""


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)]}


def measure(targets: int = 60, busy_every: int = 5) -> dict[str, Any]:
    import os

    sys.path.insert(0, str(ROOT / "devtools"))
    sys.path.insert(0, str(ROOT))
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from audiocodes_devtools.dialout_standin import CLIENT_ID, CLIENT_SECRET, Callee, DialoutStandIn
    from audiocodes_devtools.events import http_event
    from audiocodes_devtools.moto_atomic import make_dynamodb_writes_atomic
    from audiocodes_devtools.sqs_poller import SqsPoller
    from audiocodes_devtools.template import load_template
    from tests.integration.conftest import FakeLambdaContext

    numbers = [f"+49301234{i:04d}" for i in range(targets)]
    busy = {n for i, n in enumerate(numbers) if i % busy_every == 0}
    standin = DialoutStandIn(lambda name: ("http://127.0.0.1:9/", None),
                             {n: Callee.scripted(["busy", "answer"]) for n in busy},
                             pause_seconds=0.0, play_bot=False).start()  # fmt: skip
    agent = Path(tempfile.mkdtemp()) / "agent"
    shutil.copytree(ROOT / "agent", agent)
    (agent / "endpoints" / "bench.yaml").write_text(ENDPOINT.format(url=standin.url))
    os.environ |= {"AGENT_DIR": str(agent), "BENCH_BOT_TOKEN": "t", "BENCH_DIALOUT_KEY": "k",
                   "BENCH_CLIENT_ID": CLIENT_ID, "BENCH_CLIENT_SECRET": CLIENT_SECRET}  # fmt: skip
    made: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        made[f"{self.meta.service_model.service_name}:{operation}"] += 1
        return original(self, operation, params)

    make_dynamodb_writes_atomic()
    try:
        with mock_aws():
            table = load_template(ROOT / "template.yaml").dynamodb_tables()["SessionsTable"]
            boto3.client("dynamodb").create_table(**table.create_table_kwargs("bench-campaigns"))
            queue = boto3.client("sqs").create_queue(QueueName="bench-campaigns")["QueueUrl"]
            os.environ |= {"SESSIONS_TABLE": "bench-campaigns", "CAMPAIGN_QUEUE_URL": queue}
            from audiocodes_endpoint.wiring import runtime

            runtime.cache_clear()
            app = importlib.import_module("functions.outbound.app")
            BaseClient._make_api_call = counting  # type: ignore[method-assign]

            def send(method: str, path: str, body: Any) -> tuple[int, Any]:
                path, _, query = path.partition("?")
                headers = {"content-type": "application/json", "host": "api.example", "x-api-key": "k"}
                event = http_event(method, path, query=query, headers=headers, body=json.dumps(body).encode())
                result = app.lambda_handler(event, FakeLambdaContext())
                return result["statusCode"], result["body"]

            def callbacks(placed: Any) -> list[float]:
                assert placed.done.wait(10)
                timed = []
                for body in placed.callbacks:
                    started = time.perf_counter()
                    status, _ = send("POST", placed.request["notifyUrl"].removeprefix("http://api.example"), body)
                    timed.append((time.perf_counter() - started) * 1000)
                    assert status == 200
                return timed

            # Baseline: the same targets as single calls (POST /calls), each with its callbacks
            single_ms, single_ops = [], Counter[str]()
            for number in numbers[: targets // 2]:
                before = Counter(made)
                started = time.perf_counter()
                assert send("POST", "/outbound/bench/calls", {"target": number})[0] == 202
                single_ms.append((time.perf_counter() - started) * 1000)
                callbacks(standin.calls[-1])
                single_ops += made - before
            single_calls = len(standin.calls)
            standin.dialled.clear()

            # The campaign
            made.clear()
            body = {"name": "bench", "targets": [{"target": n, "metadata": {"i": i}} for i, n in enumerate(numbers)],
                    "pacing": {"calls_per_second": 50, "max_concurrent": targets, "recheck_seconds": 1},
                    "retry": {"on": ["busy"], "max_attempts": 2, "backoff_seconds": 0},
                    "window": {"start": "00:00", "end": "24:00"}}  # fmt: skip
            started_at = time.perf_counter()
            status, answer = send("POST", "/outbound/bench/campaigns", body)
            assert status == 202, answer
            create_ms = (time.perf_counter() - started_at) * 1000
            campaign = json.loads(answer)["id"]
            create_ops = Counter(made)
            arn = "arn:aws:sqs:eu-central-1:123456789012:bench-campaigns"
            poller = SqsPoller(queue_url=queue, queue_arn=arn, batch_size=10, reports_failures=True,
                               invoke=lambda e: e, region="eu-central-1")  # fmt: skip
            sqs = boto3.client("sqs")
            message_ms: list[float] = []
            callback_ms: list[float] = []
            delivered = set()
            first_dial = last_dial = 0.0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                answer_ = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                for message in answer_.get("Messages", []):
                    started = time.perf_counter()
                    result = app.lambda_handler(poller.event([message]), FakeLambdaContext())
                    message_ms.append((time.perf_counter() - started) * 1000)
                    assert result == {"batchItemFailures": []}, result
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                for placed in list(standin.calls[single_calls:]):
                    if placed.conversation_id not in delivered:
                        last_dial = time.perf_counter()
                        first_dial = first_dial or last_dial
                        callback_ms += callbacks(placed)
                        delivered.add(placed.conversation_id)
                reads = made["dynamodb:GetItem"]
                progress = json.loads(send("GET", f"/outbound/bench/campaigns/{campaign}", None)[1])["progress"]
                made["dynamodb:GetItem"] = reads  # the bench's own progress reads are not the campaign's cost
                if progress["completed"] == targets:
                    break
            wall = time.perf_counter() - started_at
            campaign_calls = len(standin.calls) - single_calls
            campaign_ops = Counter(made)
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        standin.stop()
    attempts = progress["attempts"]
    harness = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    return {
        "targets": targets, "busy": len(busy), "attempts": attempts, "calls": campaign_calls, "wall_s": wall,
        "dial_span_s": last_dial - first_dial, "create_ms": create_ms, "create_ops": dict(create_ops),
        "message": _ms(message_ms), "messages": len(message_ms), "callback": _ms(callback_ms),
        "single": _ms(single_ms), "single_calls": single_calls,
        "single_ops_per_call": {k: v / single_calls for k, v in single_ops.items() if not k.startswith("ssm:")},
        "campaign_ops_per_call": {k: v / attempts for k, v in campaign_ops.items()
                                  if k not in harness and not k.startswith("ssm:")},
    }  # fmt: skip


def render(r: dict[str, Any]) -> str:
    def ops(per_call: dict[str, float]) -> str:
        return ", ".join(f"`{k}` {v:.2f}" for k, v in sorted(per_call.items()))

    message, single, callback = r["message"], r["single"], r["callback"]

    dynamodb = sum(v for k, v in r["campaign_ops_per_call"].items() if k.startswith("dynamodb:"))
    sqs = sum(v for k, v in r["campaign_ops_per_call"].items() if k.startswith("sqs:"))
    single_dynamodb = sum(v for k, v in r["single_ops_per_call"].items() if k.startswith("dynamodb:"))
    return f"""## Campaigns: dialling throughput and AWS requests per call (outbound handler in-process, moto)

A campaign of {r["targets"]} targets ({r["busy"]} busy once, retried after 0 s), `calls_per_second` 50 (the
maximum), no slot limit in the way, VAIC the local stand-in (real HTTP), each SQS message handed to the
handler alone; {r["single_calls"]} single calls (`POST /calls`) in the same run as the baseline.

| measure | median (ms) | p99 (ms) |
|---|---|---|
| one campaign message (read, window, rate, claim, dial-out) | {message["median"]:.1f} | {message["p99"]:.1f} |
| baseline: one single call (`POST /calls`: check, record, dial-out) | {single["median"]:.1f} | {single["p99"]:.1f} |
| a campaign call's status callback (the final ends the attempt) | {callback["median"]:.1f} | {callback["p99"]:.1f} |

- Campaign message / single call (median): **{r["message"]["median"] / r["single"]["median"]:.2f}x**.
- Creating the campaign ({r["targets"]} targets): {r["create_ms"]:.0f} ms; {ops(r["create_ops"])}.
- Dialling: {r["attempts"]} attempts ({r["calls"]} dial-outs) from {r["messages"]} messages in {r["wall_s"]:.1f} s from
  creation to the last final status: {r["attempts"] / r["wall_s"]:.1f} calls/s with one consumer handling
  messages and callbacks in turn, so bounded by the handler times above, not by the pacing (the schedule
  spreads {r["targets"]} targets over {r["targets"] / 50:.1f} s; Lambda runs several consumers at once).
- AWS requests per call attempt, the campaign's creation, messages and callbacks included (SQS's
  receive/delete by the event source mapping not counted): {ops(r["campaign_ops_per_call"])}:
  **{dynamodb:.1f} DynamoDB and {sqs:.2f} SQS requests per call**, against {single_dynamodb:.1f} DynamoDB requests
  per single call ({ops(r["single_ops_per_call"])}).
"""


if __name__ == "__main__":
    print(render(measure()))
