"""The local emulator under VAIC's load pattern, against moto's own floor, measured in one run.

    python bench/emulator_load.py [--calls 20] [--concurrent 10,50] [--json]

- one call at a time: ``create``, a ``start`` event and 10 messages (the echo flow), over real HTTP;
- the same turns through the bot_api handler *in this process*, on the emulator's moto: the gap to
  the emulator's turn is what hosting adds (HTTP front, event, worker pipe);
- N concurrent calls x 10 turns: p50/p99 per turn, requests/s, errors (a 5xx, a reset, a refusal);
- moto's floor: a message turn's own DynamoDB requests (captured from the in-process handler: the lease
  claim and the save releasing it), replayed from N threads.

Runs the emulator in a subprocess (as `make run` does) with the demo agent plus the echo flow and a
``bench`` endpoint without analytics, so a turn makes exactly the requests the floor replays.
"""

from __future__ import annotations

import argparse
import copy
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
Requests = list[tuple[str, dict[str, Any]]]  # (operation, parameters) as botocore got them
InProcessCall = Callable[..., None]  # call(turn_seconds, turn_requests=None)
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


class ProcessCpu:
    """CPU seconds (user + system) spent by the emulator's processes and this one, by role, from /proc.

    Roles: ``front`` (the emulator's own process: HTTP front, event building, pool dispatch),
    ``workers`` (the functions' execution environments), ``moto``, and ``client`` (this process: the
    VAIC load client, or the floor's threads). Linux only; elsewhere every figure is 0.
    """

    def __init__(self, emulator_pid: int) -> None:
        self.emulator_pid = emulator_pid
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def sample(self) -> dict[str, float]:
        roles = dict.fromkeys(("front", "workers", "moto"), 0.0)
        times = os.times()
        roles["client"] = times.user + times.system
        for pid, command in self._descendants():
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / self._tick
            role = "moto" if "moto_server" in command else "workers" if "lambda_worker" in command else "front"
            roles[role] += seconds
        return roles

    def _descendants(self) -> list[tuple[int, str]]:
        parents: dict[int, int] = {}
        commands: dict[int, str] = {}
        for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else []:
            if not entry.name.isdigit():
                continue
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
            except (OSError, IndexError, ValueError):  # it ended meanwhile
                continue
        found, frontier = [], [self.emulator_pid] if self.emulator_pid in parents else []
        while frontier:
            pid = frontier.pop()
            found.append((pid, commands[pid]))
            frontier += [child for child, parent in parents.items() if parent == pid]
        return found

    @staticmethod
    def per_turn(before: dict[str, float], after: dict[str, float], turns: int) -> dict[str, float]:
        """Milliseconds of CPU per turn, by role."""
        return {role: (after[role] - before[role]) * 1000 / max(turns, 1) for role in after}


def warm_up(base_url: str, token: str, concurrency: int) -> dict[str, Any]:
    """Every environment up (they start one at a time), so no INIT falls in a measured window.

    Returns the first round (its errors are what a cold emulator does to a burst); a round with
    errors (a client timing out while environments start on a loaded machine) is followed by another.
    """
    first = concurrent_calls(base_url, token, concurrency, concurrency)
    for _ in range(3):
        if not concurrent_calls(base_url, token, concurrency, concurrency)["errors"]:
            break
    return first


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
    return {
        "concurrency": concurrency,
        "calls": calls,
        "turns": len(turns),
        **_ms(turns or [0.0]),
        "rps": requests / elapsed,
        "turns_per_s": len(turns) / elapsed,
        "errors": len(errors),
        "error_types": sorted(set(errors)),
    }


class TurnRequests:
    """The DynamoDB requests (operation, parameters) the in-process handler makes, as botocore gets them."""

    def __init__(self) -> None:
        self.requests: Requests = []

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, copy.deepcopy(params)))

    def take(self) -> Requests:
        taken, self.requests = self.requests, []
        return taken


def _client(moto_url: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def moto_floor(
    moto_url: str, threads: int, turn: Requests, session: dict[str, Any], seconds: float = 4.0
) -> dict[str, Any]:
    """A turn's own DynamoDB requests, replayed from ``threads`` threads for ``seconds``: turns/s moto allows.

    ``turn`` is what one message turn of the handler sent (captured in this run): the lease claim
    (``UpdateItem``, ``ReturnValues=ALL_NEW``) and the save that releases it (``UpdateItem``). Each
    thread replays them on its own copy of that call's ``session`` item (same size), with the save's
    expected version moved on each time, so every request passes its condition as in a real turn.
    """
    (claim_op, claim), (save_op, save) = turn  # a turn is exactly two requests (turn_core's goal)
    assert (claim_op, save_op) == ("UpdateItem", "UpdateItem"), (claim_op, save_op)
    assert {":expected", ":version"} <= set(save["ExpressionAttributeValues"]), save
    pairs: list[float] = []
    lock = threading.Lock()
    window: dict[str, float] = {}

    def open_window() -> None:  # clients made and items written by every thread: start the clock
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + seconds

    ready = threading.Barrier(threads, action=open_window)

    def worker(index: int) -> None:
        client = _client(moto_url)
        key = {"id": {"S": f"floor-{index}-{uuid.uuid4()}"}}
        client.put_item(TableName=claim["TableName"], Item={**session, **key})
        version = int(session["version"]["N"])
        mine = []
        ready.wait()
        while time.perf_counter() < window["end"]:
            started = time.perf_counter()
            client.update_item(**{**claim, "Key": key})
            values = {**save["ExpressionAttributeValues"], ":expected": {"N": str(version)}}
            values[":version"] = {"N": str(version + 1)}
            client.update_item(**{**save, "Key": key, "ExpressionAttributeValues": values})
            version += 1
            mine.append(time.perf_counter() - started)
        with lock:
            pairs.extend(mine)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - window["start"]
    return {"threads": threads, "pairs": len(pairs), **_ms(pairs), "turns_per_s": len(pairs) / elapsed}


def in_process_caller(moto_url: str, agent: Path, token: str, recorder: TurnRequests) -> InProcessCall:
    """The bot_api handler loaded in this process, on the emulator's moto: handler time + moto, no hosting.

    Returns ``call(turn_seconds)``, one VAIC call (create, start, 10 messages) straight into the handler.
    ``recorder`` sees every DynamoDB request the handler makes.
    """
    import warnings

    import boto3

    from audiocodes_devtools.events import http_event

    warnings.filterwarnings("ignore", "No application metrics to publish")  # metrics are off here, as in the emulator
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_REGION": "eu-central-1",
            "AGENT_DIR": str(agent),
            "SESSIONS_TABLE": SESSIONS_TABLE,
            "BENCH_BOT_TOKEN": token,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "audiocodes-endpoint",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_METRICS_NAMESPACE": "AudioCodesEndpoint",
        }
    )
    # The handler makes its clients at import: they copy the default session's hooks, so register first.
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb", recorder.hook)
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

    def call(turn_seconds: list[float], turn_requests: list[Requests] | None = None) -> None:
        """One call; with ``turn_requests``, each turn's DynamoDB requests are appended there."""
        conversation = str(uuid.uuid4())
        post("/bench", {"conversation": conversation})
        path = f"/bench/conversation/{conversation}/activities"
        turns = [activity(type="event", name="start", parameters={"caller": "+4921154591991"})]
        turns += [activity(type="message", text=f"turn {t}", parameters={"confidence": 0.9}) for t in range(TURNS)]
        for body in turns:
            started = time.perf_counter()
            recorder.take()
            post(path, {"conversation": conversation, "activities": [body]})
            turn_seconds.append(time.perf_counter() - started)
            if turn_requests is not None:
                turn_requests.append(recorder.take())

    for _ in range(2):  # warm: the agent, boto3 and the flow load on the first call
        call([])
    return call


def serial_calls(base_url: str, token: str, calls: int, in_process: InProcessCall) -> dict[str, Any]:
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
            # The handler, loaded in this process on the emulator's moto, first: a message turn's own
            # DynamoDB requests are what the floor replays. Its log lines go to /dev/null.
            sys.stdout.flush()
            saved = os.dup(1)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                try:
                    recorder = TurnRequests()
                    in_process = in_process_caller(emulator.moto_url, agent, token, recorder)
                    per_turn: list[Requests] = []
                    in_process([], per_turn)
                    turn = per_turn[-1]  # the last message turn (the first is `start`)
                    claim = turn[0][1]  # the floor copies the call's session item as the turn left it
                    session = _client(emulator.moto_url).get_item(
                        TableName=claim["TableName"], Key=claim["Key"], ConsistentRead=True
                    )["Item"]
                    # Every environment up first (they start one at a time).
                    warm = warm_up(emulator.base_url, token, max(concurrency))
                    result: dict[str, Any] = {"warm_up_errors": warm["errors"], "warm_up_types": warm["error_types"]}
                    result |= {"turn_requests": [_describe(op, params) for op, params in turn]}
                    result |= {"concurrent": [], "floor": []}
                    # Each load next to its floor, so both see the same machine (other work comes and goes).
                    cpu = ProcessCpu(emulator.pid)
                    for n in concurrency:
                        before = cpu.sample()
                        load = concurrent_calls(emulator.base_url, token, n, max(n, 2 * n))
                        load["cpu_ms"] = cpu.per_turn(before, cpu.sample(), load["turns"])
                        before = cpu.sample()
                        floor = moto_floor(emulator.moto_url, n, turn, session)
                        floor["cpu_ms"] = cpu.per_turn(before, cpu.sample(), floor["pairs"])
                        result["concurrent"].append(load)
                        result["floor"].append(floor)
                    result["serial"] = serial_calls(emulator.base_url, token, calls, in_process)
                finally:
                    os.dup2(saved, 1)
        result["before"] = before_keep_alive(agent, min(concurrency), turn, session)
    return result


def before_keep_alive(agent: Path, concurrency: int, turn: Requests, session: dict[str, Any]) -> dict[str, Any]:
    """The same load and floor with moto closing every connection, as werkzeug's server did (MOTO_KEEP_ALIVE=0)."""
    from audiocodes_devtools.launcher import emulator_process

    environment = {"EMULATOR_CONCURRENCY": os.environ.get("EMULATOR_CONCURRENCY", "4"), "MOTO_KEEP_ALIVE": "0"}
    with emulator_process(agent, **environment) as emulator:
        token = emulator.tokens["bench"]
        warm_up(emulator.base_url, token, concurrency)
        cpu = ProcessCpu(emulator.pid)
        before = cpu.sample()
        load = concurrent_calls(emulator.base_url, token, concurrency, 2 * concurrency)
        load["cpu_ms"] = cpu.per_turn(before, cpu.sample(), load["turns"])
        floor = moto_floor(emulator.moto_url, concurrency, turn, session)
        return {"concurrent": load, "floor": floor}


def _describe(operation: str, params: dict[str, Any]) -> str:
    """``UpdateItem`` with what shapes its cost (ReturnValues, a condition), for the report."""
    extras = [f"{name}={params[name]}" for name in ("ReturnValues",) if name in params]
    extras += ["conditional"] if "ConditionExpression" in params else []
    return f"{operation} ({', '.join(extras)})" if extras else operation


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
    cpu_rows = []
    for load, floor in zip(result["concurrent"], result["floor"], strict=True):
        mine, base = load.get("cpu_ms"), floor.get("cpu_ms")
        if mine and base:
            cpu_rows.append(
                f"| {load['concurrency']} calls at once | {mine['front']:.2f} | {mine['workers']:.2f} "
                f"| {mine['moto']:.2f} | {mine['client']:.2f} | {sum(mine.values()):.2f} "
                f"| {base['moto']:.2f} | {base['client']:.2f} | {sum(base.values()):.2f} |"
            )
    ceilings = [
        f"{load['concurrency']} calls: {sum(floor['cpu_ms'].values()) / sum(load['cpu_ms'].values()):.2f}x"
        for load, floor in zip(result["concurrent"], result["floor"], strict=True)
        if load.get("cpu_ms") and floor.get("cpu_ms") and sum(load["cpu_ms"].values())
    ]
    cpu = (
        "\nCPU per turn by process (ms; from /proc, a turn's share of its call's create and disconnect included;\n"
        "the machine has 2 cores, so turns/s can at best be 2000 / total):\n\n"
        "| load | front | workers | moto | load client | total | floor: moto | floor: client | floor total |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(cpu_rows) + "\n\n"
        "A turn through the emulator costs the floor's work (moto, and boto3 on the caller's side, now in the\n"
        "workers) plus what the floor has no part of: the handler's own code, the HTTP front, the load\n"
        "client's HTTP (httpx) and the calls' create and disconnect. When both saturate the cores, the\n"
        "emulator reaches at most floor CPU / emulator CPU of the floor's rate: "
        + "; ".join(ceilings)
        + ". The workers' share is\nmostly botocore (serialise, sign, send, parse), which the floor's client pays "
        "the same. The floor's\nthreads share one process (one GIL): with many threads its client's CPU per turn "
        "grows, and then the\nfloor's own client, not the cores, sets its rate (a bound above 1x says so).\n"
        if cpu_rows
        else ""
    )
    before = result.get("before")
    compared = ""
    if before:
        after = next(
            i
            for i, load in enumerate(result["concurrent"])
            if load["concurrency"] == before["concurrent"]["concurrency"]
        )
        lines = []
        for label, load, floor in (
            ("closed after each request (werkzeug's server, before)", before["concurrent"], before["floor"]),
            ("kept alive (now)", result["concurrent"][after], result["floor"][after]),
        ):
            used = load.get("cpu_ms") or {}
            lines.append(
                f"| {label} | {load['p50']:.1f} | {load['p99']:.1f} | {load['turns_per_s']:.0f} "
                f"| {floor['turns_per_s']:.0f} | {load['turns_per_s'] / floor['turns_per_s']:.2f}x "
                f"| {used.get('workers', 0):.2f} | {used.get('moto', 0):.2f} | {sum(used.values()):.2f} |"
            )
        compared = (
            f"\nmoto's connections, before and after, in this run ({before['concurrent']['concurrency']} calls at once;"
            " "
            "the floor is measured against each moto):\n\n"
            "| moto connections | turn p50 (ms) | turn p99 (ms) | turns/s | floor turns/s | emulator / floor "
            "| CPU/turn workers (ms) | CPU/turn moto (ms) | CPU/turn total (ms) |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n"
        )
    worst = result["concurrent"][-1]
    return f"""## The emulator under VAIC's load pattern (`make run`, over real HTTP)

Each call: create, `start`, {TURNS} messages (echo flow, no analytics), disconnect, from the VAIC client
over HTTP keep-alive. A message turn's DynamoDB requests, captured from the handler in this run:
{"; ".join(result["turn_requests"])}. Functions run in the
emulator's execution environments (worker processes, one invocation at a time each, up to
`EMULATOR_CONCURRENCY`); moto runs in its own process. Measured in the same run as moto's floor.

One call at a time ({serial["calls"]} calls, {serial["turns"]} turns, alternating with the handler in-process):

| measure | p50 (ms) | p99 (ms) |
|---|---|---|
| turn through the emulator | {serial["p50"]:.2f} | {serial["p99"]:.2f} |
| the same turn, bot_api handler in-process on the same moto | {local["p50"]:.2f} | {local["p99"]:.2f} |

Hosting adds {gap:.2f} ms per turn at the median (goal ≤ 2 ms: **{"met" if gap <= 2 else "MISSED"}**);
{serial["rps"]:.0f} requests/s with one call at a time.

Concurrent calls (floor: the captured turn's requests replayed from as many threads, each on its own copy of
the call's session item, straight to the same moto):

| load | turn p50 (ms) | turn p99 (ms) | requests/s | turns/s | floor turns/s | emulator / floor | errors |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
{cpu}{compared}
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
