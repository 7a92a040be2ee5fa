"""The local emulator under VAIC's load pattern, against moto's own floor, measured in one run.

    python bench/emulator_load.py [--calls 20] [--concurrent 10,50] [--json]

- one call at a time: ``create``, a ``start`` event and 10 messages (the echo flow), over real HTTP;
- the same turns through the bot_api handler *in this process*, on the emulator's moto: the gap to
  the emulator's turn is what hosting adds (HTTP front, event, worker pipe);
- N concurrent calls x 10 turns: p50/p99 per turn, requests/s, errors (a 5xx, a reset, a refusal);
- moto's floor: GetItem + conditional PutItem (what a turn costs in DynamoDB) from N threads.

Runs the emulator in a subprocess (as `make run` does) with the demo agent plus the echo flow and a
``bench`` endpoint without analytics, so a turn makes exactly the two requests the floor makes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TURNS = 10
SESSIONS_TABLE = "audiocodes-endpoint-local-SessionsTable"


def _ms(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(values) * 1000,
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000,
    }


def _agent(target: Path) -> Path:
    shutil.copytree(ROOT / "agent", target, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests" / "e2e" / "agent", target, dirs_exist_ok=True)
    shutil.copytree(ROOT / "bench" / "agent", target, dirs_exist_ok=True)
    return target


def _one_call(base_url: str, token: str, turn_seconds: list[float]) -> int:
    """A VAIC call: create, start, 10 messages, disconnect; returns the HTTP requests made."""
    from audiocodes_devtools.vaic import VaicClient

    with VaicClient(f"{base_url}/bench", token) as vaic, vaic.create() as call:
        started = time.perf_counter()
        call.start(caller="+4921154591991")
        turn_seconds.append(time.perf_counter() - started)
        for turn in range(TURNS):
            started = time.perf_counter()
            said = call.say(f"turn {turn}")
            turn_seconds.append(time.perf_counter() - started)
            assert said and said[0].get("text") == f"You said turn {turn}", said
        call.disconnect()
    return TURNS + 3


def concurrent_calls(base_url: str, token: str, concurrency: int, calls: int) -> dict[str, Any]:
    turns: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def call(_: int) -> int:
        mine: list[float] = []
        try:
            made = _one_call(base_url, token, mine)
        except Exception as error:  # a 5xx, a reset, a refused connection: counted, not raised
            with lock:
                errors.append(type(error).__name__)
            return 0
        with lock:
            turns.extend(mine)
        return made

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        requests = sum(pool.map(call, range(calls)))
    elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "calls": calls, "turns": len(turns), **_ms(turns or [0.0]),
            "rps": requests / elapsed, "turns_per_s": len(turns) / elapsed, "errors": len(errors),
            "error_types": sorted(set(errors))}  # fmt: skip


def moto_floor(moto_url: str, threads: int, seconds: float = 4.0) -> dict[str, Any]:
    """GetItem + conditional PutItem, each thread on its own item, for ``seconds``: turns/s moto allows."""
    import boto3

    pairs: list[float] = []
    lock = threading.Lock()
    window: dict[str, float] = {}

    def open_window() -> None:  # clients made and items written by every thread: start the clock
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + seconds

    ready = threading.Barrier(threads, action=open_window)

    def worker(index: int) -> None:
        client = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=moto_url,
            region_name="eu-central-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        key = {"id": {"S": f"floor-{index}-{uuid.uuid4()}"}}
        item = {**key, "version": {"N": "0"}, "state": {"S": "{}" * 200}}
        client.put_item(TableName=SESSIONS_TABLE, Item=item)
        mine, version = [], 0
        ready.wait()
        while time.perf_counter() < window["end"]:
            started = time.perf_counter()
            client.get_item(TableName=SESSIONS_TABLE, Key=key, ConsistentRead=True)
            client.put_item(
                TableName=SESSIONS_TABLE,
                Item={**item, "version": {"N": str(version + 1)}},
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
            version += 1
            mine.append(time.perf_counter() - started)
        with lock:
            pairs.extend(mine)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - window["start"]
    return {"threads": threads, "pairs": len(pairs), **_ms(pairs), "turns_per_s": len(pairs) / elapsed}


def in_process_caller(moto_url: str, agent: Path, token: str) -> Callable[[list[float]], None]:
    """The bot_api handler loaded in this process, on the emulator's moto: handler time + moto, no hosting.

    Returns ``call(turn_seconds)``, one VAIC call (create, start, 10 messages) straight into the handler.
    """
    import warnings

    from audiocodes_devtools.events import http_event

    warnings.filterwarnings("ignore", "No application metrics to publish")  # metrics are off here, as in the emulator
    os.environ.update({
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1", "AGENT_DIR": str(agent),
        "SESSIONS_TABLE": SESSIONS_TABLE, "BENCH_BOT_TOKEN": token, "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "audiocodes-endpoint",
        "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_NAMESPACE": "AudioCodesEndpoint",
    })  # fmt: skip
    spec = importlib.util.spec_from_file_location("bench_bot_api", ROOT / "functions" / "bot_api" / "app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "BotApiFunction", "512", "bench"
        invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:BotApiFunction"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 10_000

    def post(path: str, body: dict[str, Any]) -> None:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        event = http_event("POST", path, headers=headers, body=json.dumps(body).encode(), route_key="ANY /{proxy+}")
        result: dict[str, Any] = app.lambda_handler(event, Context())
        assert result["statusCode"] == 200, result

    def activity(**fields: Any) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "timestamp": "2026-12-01T10:00:00.000Z", **fields}

    def call(turn_seconds: list[float]) -> None:
        conversation = str(uuid.uuid4())
        post("/bench", {"conversation": conversation})
        path = f"/bench/conversation/{conversation}/activities"
        turns = [activity(type="event", name="start", parameters={"caller": "+4921154591991"})]
        turns += [activity(type="message", text=f"turn {t}", parameters={"confidence": 0.9}) for t in range(TURNS)]
        for body in turns:
            started = time.perf_counter()
            post(path, {"conversation": conversation, "activities": [body]})
            turn_seconds.append(time.perf_counter() - started)

    for _ in range(2):  # warm: the agent, boto3 and the flow load on the first call
        call([])
    return call


def serial_calls(base_url: str, token: str, calls: int, in_process: Callable[[list[float]], None]) -> dict[str, Any]:
    """One call at a time, alternating the emulator and the in-process handler (same load for both)."""
    emulated: list[float] = []
    local: list[float] = []
    seconds = 0.0
    for _ in range(calls):
        started = time.perf_counter()
        _one_call(base_url, token, emulated)
        seconds += time.perf_counter() - started
        in_process(local)
    return {
        "calls": calls,
        "turns": len(emulated),
        **_ms(emulated),
        "rps": calls * (TURNS + 3) / seconds,
        "in_process": {"turns": len(local), **_ms(local)},
    }


def measure(calls: int = 20, concurrency: Sequence[int] = (10, 50)) -> dict[str, Any]:
    sys.path[:0] = [str(ROOT / "layers" / "runtime"), str(ROOT / "devtools"), str(ROOT)]
    from audiocodes_devtools.launcher import emulator_process

    with tempfile.TemporaryDirectory() as directory:
        agent = _agent(Path(directory))
        with emulator_process(agent, EMULATOR_CONCURRENCY=os.environ.get("EMULATOR_CONCURRENCY", "4")) as emulator:
            token = emulator.tokens["bench"]
            # Every environment up first (they start one at a time).
            warm = concurrent_calls(emulator.base_url, token, max(concurrency), max(concurrency))
            result: dict[str, Any] = {"warm_up_errors": warm["errors"], "warm_up_types": warm["error_types"]}
            result |= {"concurrent": [], "floor": []}
            # Each load next to its floor, so both see the same machine (other work on it comes and goes).
            for n in concurrency:
                result["concurrent"].append(concurrent_calls(emulator.base_url, token, n, max(n, 2 * n)))
                result["floor"].append(moto_floor(emulator.moto_url, n))
            # Last: it loads the handler into this process (its log lines go to /dev/null).
            sys.stdout.flush()
            saved = os.dup(1)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                try:
                    in_process = in_process_caller(emulator.moto_url, agent, token)
                    result["serial"] = serial_calls(emulator.base_url, token, calls, in_process)
                finally:
                    os.dup2(saved, 1)
    return result


def render(result: dict[str, Any]) -> str:
    serial = result["serial"]
    local = serial["in_process"]
    gap = serial["p50"] - local["p50"]
    rows = []
    for load, floor in zip(result["concurrent"], result["floor"], strict=True):
        ratio = load["turns_per_s"] / floor["turns_per_s"]
        rows.append(
            f"| {load['concurrency']} calls at once | {load['p50']:.1f} | {load['p99']:.1f} | {load['rps']:.0f} "
            f"| {load['turns_per_s']:.0f} | {floor['turns_per_s']:.0f} | **{ratio:.2f}x** | {load['errors']} |"
        )
    worst = result["concurrent"][-1]
    return f"""## The emulator under VAIC's load pattern (`make run`, over real HTTP)

Each call: create, `start`, {TURNS} messages (echo flow, no analytics: a turn is one GetItem and one
conditional PutItem), disconnect, from the VAIC client over HTTP keep-alive. Functions run in the
emulator's execution environments (worker processes, one invocation at a time each, up to
`EMULATOR_CONCURRENCY`); moto runs in its own process. Measured in the same run as moto's floor.

One call at a time ({serial["calls"]} calls, {serial["turns"]} turns, alternating with the handler in-process):

| measure | p50 (ms) | p99 (ms) |
|---|---|---|
| turn through the emulator | {serial["p50"]:.2f} | {serial["p99"]:.2f} |
| the same turn, bot_api handler in-process on the same moto | {local["p50"]:.2f} | {local["p99"]:.2f} |

Hosting adds {gap:.2f} ms per turn at the median (goal ≤ 2 ms: **{"met" if gap <= 2 else "MISSED"}**);
{serial["rps"]:.0f} requests/s with one call at a time.

Concurrent calls (floor: GetItem + conditional PutItem from as many threads, straight to the same moto):

| load | turn p50 (ms) | turn p99 (ms) | requests/s | turns/s | floor turns/s | emulator / floor | errors |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Goals: 0.8x the floor or better, zero errors at 50 calls at once (**{"met" if worst["errors"] == 0 else "MISSED"}**:
{worst["errors"]} errors). Warm-up (cold emulator, environments starting one at a time): {result["warm_up_errors"]}
errors {result["warm_up_types"]}.
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--concurrent", default="10,50")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.calls, [int(n) for n in args.concurrent.split(",")])
    print(json.dumps(result) if args.json else render(result))


if __name__ == "__main__":
    main()
