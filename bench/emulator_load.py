"""The local emulator under VAIC's load pattern, against moto's own floor, measured in one run.

    python bench/emulator_load.py [--calls 20] [--concurrent 10,50] [--rounds 5] [--json]

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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.vaic_load import LoadClient

ROOT = Path(__file__).resolve().parents[1]
Requests = list[tuple[str, dict[str, Any]]]  # (operation, parameters) as botocore got them
InProcessCall = Callable[..., None]  # call(turn_seconds, turn_requests=None)
SESSIONS_TABLE = "audiocodes-endpoint-local-SessionsTable"


def _agent(target: Path) -> Path:
    shutil.copytree(ROOT / "agent", target, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests" / "e2e" / "agent", target, dirs_exist_ok=True)
    shutil.copytree(ROOT / "bench" / "agent", target, dirs_exist_ok=True)
    return target


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


def warm_up(client: LoadClient, concurrency: int) -> dict[str, Any]:
    """Every environment up (they start one at a time), so no INIT falls in a measured window.

    Returns the first round (its errors are what a cold emulator does to a burst); a round with
    errors (a client timing out while environments start on a loaded machine) is followed by another.
    """
    first = concurrent_calls(client, concurrency, concurrency)
    for _ in range(3):
        if not concurrent_calls(client, concurrency, concurrency)["errors"]:
            break
    return first


def concurrent_calls(client: LoadClient, concurrency: int, calls: int) -> dict[str, Any]:
    """``calls`` VAIC calls, ``concurrency`` at a time: each turn's seconds, requests, errors, elapsed."""
    turns: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def call(_: int) -> int:
        mine: list[float] = []
        try:
            made = client.call("bench", mine)
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
        "turn_seconds": turns,
        "requests": requests,
        "elapsed": elapsed,
        "errors": len(errors),
        "error_types": errors,
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


def moto_floor(moto_url: str, threads: int, calls: int, call: list[Requests]) -> dict[str, Any]:
    """The same calls without the emulator: ``calls`` replays of one call's DynamoDB requests, ``threads`` at a time.

    ``call`` is what the handler sent for each HTTP request of one call (captured in this run): the
    create's ``PutItem``, each turn's lease claim and save (two ``UpdateItem``), the disconnect's claim
    and save. Each replay runs them in order on its own session item (a new key), so every condition
    passes as it did for the handler; what moto allows this way is the load's floor. Returns each
    turn's seconds (its requests, timed as the load client times a turn) and the elapsed time.
    """
    from botocore import xform_name  # UpdateItem -> update_item

    original = next(params["Key"] for requests in call for op, params in requests if "Key" in params)
    turns: list[float] = []
    lock = threading.Lock()
    window: dict[str, float] = {}
    ready = threading.Barrier(threads, action=lambda: window.update(start=time.perf_counter()))

    def replay(client: Any, key: dict[str, Any]) -> list[float]:
        seconds = []
        for number, requests in enumerate(call):
            started = time.perf_counter()
            for operation, params in requests:
                mine = dict(params)
                if mine.get("Key") == original:
                    mine["Key"] = key
                if operation == "PutItem" and all(mine["Item"].get(k) == v for k, v in original.items()):
                    mine["Item"] = {**mine["Item"], **key}
                getattr(client, xform_name(operation))(**mine)
            if 0 < number < len(call) - 1:  # a turn: not the create, not the disconnect
                seconds.append(time.perf_counter() - started)
        return seconds

    def worker(index: int) -> None:
        client = _client(moto_url)
        mine: list[float] = []
        ready.wait()
        for replayed in range(index, calls, threads):
            mine += replay(client, {name: {"S": f"floor-{replayed}-{uuid.uuid4()}"} for name in original})
        with lock:
            turns.extend(mine)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return {"turn_seconds": turns, "elapsed": time.perf_counter() - window["start"]}


def in_process_caller(moto_url: str, agent: Path, token: str, recorder: TurnRequests) -> InProcessCall:
    """The bot_api handler loaded in this process, on the emulator's moto: handler time + moto, no hosting.

    Returns ``call(turn_seconds)``, one VAIC call (create, start, 10 messages) straight into the handler.
    ``recorder`` sees every DynamoDB request the handler makes.
    """
    import warnings

    import boto3

    from audiocodes_devtools.events import http_event
    from audiocodes_devtools.vaic import stamp
    from bench.vaic_load import call_activities, disconnect_body

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

    def call(turn_seconds: list[float], call_requests: list[Requests] | None = None) -> None:
        """One call as the load client makes it (create, `start`, 10 messages, disconnect).

        With ``call_requests``, the DynamoDB requests of each of its 13 HTTP requests are appended there.
        """
        conversation = str(uuid.uuid4())
        path = f"/bench/conversation/{conversation}"
        turns = call_activities(conversation)
        requests = [("/bench", {"conversation": conversation})]
        requests += [(f"{path}/activities", {"conversation": conversation, "activities": [stamp(t)]}) for t in turns]
        requests += [(f"{path}/disconnect", disconnect_body(conversation))]
        for number, (url, body) in enumerate(requests):
            recorder.take()
            started = time.perf_counter()
            post(url, body)
            if 0 < number <= len(turns):
                turn_seconds.append(time.perf_counter() - started)
            if call_requests is not None:
                call_requests.append(recorder.take())

    for _ in range(2):  # warm: the agent, boto3 and the flow load on the first call
        call([])
    return call


def serial_calls(client: LoadClient, calls: int, in_process: InProcessCall) -> dict[str, Any]:
    """One call at a time, alternating the emulator and the in-process handler (same load for both)."""
    from bench.run import summary_ms

    emulated: list[float] = []
    local: list[float] = []
    seconds = 0.0
    requests = 0
    for _ in range(calls):
        started = time.perf_counter()
        requests += client.call("bench", emulated)
        seconds += time.perf_counter() - started
        in_process(local)
    return {
        "calls": calls,
        "turns": len(emulated),
        **summary_ms(emulated),
        "rps": requests / seconds,
        "in_process": {"turns": len(local), **summary_ms(local)},
    }


def load_against_floor(
    client: LoadClient, moto_url: str, n: int, call: list[Requests], cpu: ProcessCpu, rounds: int
) -> dict[str, Any]:
    """``rounds`` rounds of (2n calls, n at a time, through the emulator; then the same calls' floor).

    This machine's speed drifts by tens of percent within a minute (a shared host), so one window of
    each says little: the rounds alternate, each round's ratio compares two neighbouring windows, and
    the median of the ratios is the figure. Totals (turns/s, p50/p99, CPU per turn) pool all rounds.
    """
    from bench.run import summary_ms

    load = {"turn_seconds": [], "requests": 0, "elapsed": 0.0, "errors": 0, "error_types": []}
    floor = {"turn_seconds": [], "elapsed": 0.0}
    load_cpu = dict.fromkeys(("front", "workers", "moto", "client"), 0.0)
    floor_cpu = dict(load_cpu)
    ratios = []
    for _ in range(rounds):
        before = cpu.sample()
        this_load = concurrent_calls(client, n, 2 * n)
        middle = cpu.sample()
        this_floor = moto_floor(moto_url, n, 2 * n, call)
        after = cpu.sample()
        for role in load_cpu:
            load_cpu[role] += middle[role] - before[role]
            floor_cpu[role] += after[role] - middle[role]
        for total, part in ((load, this_load), (floor, this_floor)):
            for key, value in part.items():
                total[key] += value
        floor_rate = len(this_floor["turn_seconds"]) / this_floor["elapsed"]
        ratios.append(len(this_load["turn_seconds"]) / this_load["elapsed"] / floor_rate)

    def summary(part: dict[str, Any], spent: dict[str, float]) -> dict[str, Any]:
        turns = len(part["turn_seconds"])
        return {
            "turns": turns,
            **summary_ms(part["turn_seconds"] or [0.0]),
            "turns_per_s": turns / part["elapsed"],
            "cpu_ms": {role: seconds * 1000 / max(turns, 1) for role, seconds in spent.items()},
        }

    return {
        "concurrency": n,
        "load": summary(load, load_cpu) | {"rps": load["requests"] / load["elapsed"], "errors": load["errors"]},
        "error_types": sorted(set(load["error_types"])),
        "floor": summary(floor, floor_cpu),
        "ratios": ratios,
        "ratio": statistics.median(ratios),
    }


def measure(calls: int = 20, concurrency: Sequence[int] = (10, 50), rounds: int = 5) -> dict[str, Any]:
    sys.path[:0] = [str(ROOT / "layers" / "runtime"), str(ROOT / "devtools"), str(ROOT)]
    from audiocodes_devtools.launcher import emulator_process
    from bench.vaic_load import LoadClient

    with tempfile.TemporaryDirectory() as directory:
        agent = _agent(Path(directory))
        with emulator_process(agent, EMULATOR_CONCURRENCY=os.environ.get("EMULATOR_CONCURRENCY", "4")) as emulator:
            client = LoadClient(emulator.base_url, emulator.tokens["bench"])
            # The handler, loaded in this process on the emulator's moto, first: a message turn's own
            # DynamoDB requests are what the floor replays. Its log lines go to /dev/null.
            sys.stdout.flush()
            saved = os.dup(1)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                try:
                    recorder = TurnRequests()
                    in_process = in_process_caller(emulator.moto_url, agent, emulator.tokens["bench"], recorder)
                    call: list[Requests] = []  # a call's DynamoDB requests, per HTTP request
                    in_process([], call)
                    # Every environment up first (they start one at a time).
                    warm = warm_up(client, max(concurrency))
                    result: dict[str, Any] = {"warm_up_errors": warm["errors"], "warm_up_types": warm["error_types"]}
                    result |= {
                        "call_requests": [[_describe(op, params) for op, params in r] for r in call],
                        "rounds": rounds,
                    }
                    cpu = ProcessCpu(emulator.pid)
                    result["concurrent"] = [
                        load_against_floor(client, emulator.moto_url, n, call, cpu, rounds) for n in concurrency
                    ]
                    result["serial"] = serial_calls(client, calls, in_process)
                finally:
                    os.dup2(saved, 1)
        result["before"] = before_keep_alive(agent, min(concurrency), call, max(3, rounds // 2 + 1))
    return result


def before_keep_alive(agent: Path, concurrency: int, call: list[Requests], rounds: int) -> dict[str, Any]:
    """The same load and floor with moto closing every connection, as werkzeug's server did (MOTO_KEEP_ALIVE=0)."""
    from audiocodes_devtools.launcher import emulator_process
    from bench.vaic_load import LoadClient

    environment = {"EMULATOR_CONCURRENCY": os.environ.get("EMULATOR_CONCURRENCY", "4"), "MOTO_KEEP_ALIVE": "0"}
    with emulator_process(agent, **environment) as emulator:
        client = LoadClient(emulator.base_url, emulator.tokens["bench"])
        warm_up(client, concurrency)
        return load_against_floor(client, emulator.moto_url, concurrency, call, ProcessCpu(emulator.pid), rounds)


def _describe(operation: str, params: dict[str, Any]) -> str:
    """``UpdateItem`` with what shapes its cost (ReturnValues, a condition), for the report."""
    extras = [f"{name}={params[name]}" for name in ("ReturnValues",) if name in params]
    extras += ["conditional"] if "ConditionExpression" in params else []
    return f"{operation} ({', '.join(extras)})" if extras else operation


COMPARED_HEADER = (
    "| moto connections | turn p50 (ms) | turn p99 (ms) | turns/s | floor turns/s | emulator / floor "
    "| CPU/turn workers (ms) | CPU/turn moto (ms) | CPU/turn total (ms) |\n|---|---|---|---|---|---|---|---|---|"
)


def render(result: dict[str, Any]) -> str:
    serial = result["serial"]
    local = serial["in_process"]
    gap = serial["median"] - local["median"]
    rows, cpu_rows, ceilings = [], [], []
    for measured in result["concurrent"]:
        load, floor, n = measured["load"], measured["floor"], measured["concurrency"]
        spread = f"{min(measured['ratios']):.2f}-{max(measured['ratios']):.2f}"
        rows.append(
            f"| {n} calls at once | {load['median']:.1f} | {load['p99']:.1f} | {load['rps']:.0f} "
            f"| {load['turns_per_s']:.0f} | {floor['turns_per_s']:.0f} | **{measured['ratio']:.2f}x** ({spread}) "
            f"| {load['errors']} |"
        )
        mine, base = load["cpu_ms"], floor["cpu_ms"]
        cpu_rows.append(
            f"| {n} calls at once | {mine['front']:.2f} | {mine['workers']:.2f} | {mine['moto']:.2f} "
            f"| {mine['client']:.2f} | {sum(mine.values()):.2f} | {base['moto']:.2f} | {base['client']:.2f} "
            f"| {sum(base.values()):.2f} |"
        )
        if sum(mine.values()):
            ceilings.append(f"{n} calls: {sum(base.values()) / sum(mine.values()):.2f}x")
    before = result["before"]
    after = next(m for m in result["concurrent"] if m["concurrency"] == before["concurrency"])
    compared = []
    for label, measured in (
        ("closed after each request (werkzeug's server, before)", before),
        ("kept alive (now)", after),
    ):
        load, used = measured["load"], measured["load"]["cpu_ms"]
        compared.append(
            f"| {label} | {load['median']:.1f} | {load['p99']:.1f} | {load['turns_per_s']:.0f} "
            f"| {measured['floor']['turns_per_s']:.0f} | {measured['ratio']:.2f}x "
            f"| {used['workers']:.2f} | {used['moto']:.2f} | {sum(used.values()):.2f} |"
        )
    worst = result["concurrent"][-1]
    ratio_met = all(m["ratio"] >= 0.8 for m in result["concurrent"])
    requests = result["call_requests"]
    return f"""## The emulator under VAIC's load pattern (`make run`, over real HTTP)

Each call: create, `start`, {len(requests) - 3} messages (echo flow, no analytics), disconnect, over HTTP keep-alive
from a lean load client (`bench/vaic_load.py`: `http.client`, about 0.6 ms of CPU per turn where httpx
took 3.7 ms; VAIC runs on its own machines, and here the client shares the two cores with what it
measures). A call's DynamoDB requests, captured from the handler in this run: create {"; ".join(requests[0])};
each turn {"; ".join(requests[1])}; disconnect {"; ".join(requests[-1])}.
Functions run in the emulator's execution environments (worker processes, one invocation at a time
each, up to `EMULATOR_CONCURRENCY`); moto runs in its own process.

One call at a time ({serial["calls"]} calls, {serial["turns"]} turns, alternating with the handler in-process):

| measure | p50 (ms) | p99 (ms) |
|---|---|---|
| turn through the emulator | {serial["median"]:.2f} | {serial["p99"]:.2f} |
| the same turn, bot_api handler in-process on the same moto | {local["median"]:.2f} | {local["p99"]:.2f} |

Hosting adds {gap:.2f} ms per turn at the median (goal ≤ 2 ms: **{"met" if gap <= 2 else "MISSED"}**);
{serial["rps"]:.0f} requests/s with one call at a time.

Concurrent calls: {result["rounds"]} alternating rounds per load, each 2N calls through the emulator, N at a
time, then moto's floor: the same 2N calls without the emulator, their captured DynamoDB requests
replayed in order from N threads straight to the same moto (each call on its own session item, so
every condition passes as it did). A turn is counted and timed alike on both sides. This machine's
speed drifts by tens of percent within a minute, so each round compares two neighbouring windows;
the ratio is the median of the rounds' ratios (their range in brackets); the other figures pool all
rounds.

| load | turn p50 (ms) | turn p99 (ms) | requests/s | turns/s | floor turns/s | emulator / floor | errors |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

CPU per turn by process (ms; from /proc, a turn's share of its call's create and disconnect included;
the machine has 2 cores, so turns/s can at best be 2000 / total):

| load | front | workers | moto | load client | total | floor: moto | floor: client | floor total |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(cpu_rows)}

The emulator's turn costs the floor's work (moto, and boto3 on the caller's side, which is in the
workers) plus what the floor has no part of: the handler's own code, the HTTP front and the load
client. moto is one process (one GIL), and the floor keeps it busy; when both saturate the cores,
the emulator reaches at most floor CPU / emulator CPU of the floor's rate: {"; ".join(ceilings)}.
The workers' share is mostly botocore (serialise, sign, send, parse), which the floor's client pays
the same. The floor's threads share one process (one GIL): with many threads its client's CPU per
turn grows, and then the floor's own client, not the cores, sets its rate (a bound above 1x says so).

moto's connections, before and after, in this run ({before["concurrency"]} calls at once, {len(before["ratios"])} rounds
against the moto closing connections; the floor is measured against each moto):

{COMPARED_HEADER}
{chr(10).join(compared)}

Goals: 0.8x the floor or better (**{"met" if ratio_met else "MISSED"}**), zero errors at
{worst["concurrency"]} calls at once (**{"met" if worst["load"]["errors"] == 0 else "MISSED"}**:
{worst["load"]["errors"]} errors {worst["error_types"]}). Warm-up (cold emulator, environments starting one at a
time): {result["warm_up_errors"]} errors {sorted(set(result["warm_up_types"]))}.
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--concurrent", default="10,50")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.calls, [int(n) for n in args.concurrent.split(",")], args.rounds)
    print(json.dumps(result) if args.json else render(result))


if __name__ == "__main__":
    main()
