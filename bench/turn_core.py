"""The turn core's cost: DynamoDB requests and time per uncontended sync turn, and what contention
costs (copies of one activity waiting for its first run, distinct activities waiting in line).

Through the bot_api handler in-process on moto, with real threads for the concurrent cases. The
requests are counted with botocore's ``before-call`` hook, by operation.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

MESSAGES = ["hello", "no", "12345", "thanks", "can you repeat that", "yes", "ok", "what", "fine", "bye"]


class Operations:
    """DynamoDB requests by operation name, from any thread."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def before(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.counts[model.name if model is not None else "?"] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counts = self.counts, Counter()
        return taken


def measure(conversations: int = 20) -> dict[str, Any]:

    from audiocodes_devtools.moto_atomic import make_dynamodb_writes_atomic
    from bench.run import activity, moto_handler, summary_ms

    make_dynamodb_writes_atomic()  # conditional writes are atomic on DynamoDB; threads need it on moto

    operations = Operations()
    # The handler makes its clients at import (runtime.prepare): the hook must be on the session first.
    with moto_handler(hooks=[("before-call.dynamodb", operations.before)]) as (request, _meter):

        def turn(conversation: str, *sent: dict[str, Any]) -> tuple[int, float]:
            started = time.perf_counter()
            answer = request(f"/demo/conversation/{conversation}/activities", {"activities": list(sent)})
            return answer["statusCode"], time.perf_counter() - started

        def new_call() -> str:
            conversation = f"core-{uuid.uuid4()}"
            assert request("/demo", {"conversation": conversation})["statusCode"] == 200
            assert (
                turn(conversation, activity(type="event", name="start", parameters={"caller": "+4921154591991"}))[0]
                == 200
            )
            operations.take()
            return conversation

        # Uncontended: one request at a time, each a new activity; then resends of answered ones
        seconds, per_turn, kinds = [], [], Counter()
        resend_seconds, per_resend = [], []
        for _ in range(conversations):
            conversation = new_call()
            for text in MESSAGES:
                sent = activity(type="message", text=text)
                status, elapsed = turn(conversation, sent)
                assert status == 200
                taken = operations.take()
                seconds.append(elapsed)
                per_turn.append(sum(taken.values()))
                kinds += taken
                status, elapsed = turn(conversation, sent)  # VAIC resends it after it was answered
                resend_seconds.append(elapsed)
                per_resend.append(sum(operations.take().values()))
        uncontended = {
            "turns": len(per_turn),
            "time": summary_ms(seconds),
            "requests": Counter(per_turn),
            "operations": {name: n / len(per_turn) for name, n in kinds.items()},
            "resend_time": summary_ms(resend_seconds),
            "resend_requests": Counter(per_resend),
        }

        def at_once(count: int, send: Callable[[int], tuple[int, float]]) -> dict[str, Any]:
            barrier, results = threading.Barrier(count), [(0, 0.0)] * count

            def run(i: int) -> None:
                barrier.wait()
                results[i] = send(i)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            taken = operations.take()
            return {
                "count": count,
                "ok": sum(status == 200 for status, _ in results),
                "wall_ms": wall * 1000,
                "time": summary_ms([elapsed for _, elapsed in results]),
                "requests": sum(taken.values()) / count,
                "operations": dict(taken),
            }

        copies, queued = [], []
        for count in (5, 20):
            conversation = new_call()
            sent = activity(type="message", text="hello")
            copies.append(at_once(count, lambda _i, c=conversation, s=sent: turn(c, s)))
        for count in (10, 50):
            conversation = new_call()
            distinct = [activity(type="event", name="playFinished", value={"n": i}) for i in range(count)]
            queued.append(at_once(count, lambda i, c=conversation, d=distinct: turn(c, d[i])))
    return {"uncontended": uncontended, "copies": copies, "queued": queued}


def render(result: dict[str, Any]) -> str:
    quiet = result["uncontended"]
    requests = ", ".join(f"{n} requests: {k} turns" for n, k in sorted(quiet["requests"].items()))
    resends = ", ".join(f"{n} requests: {k}" for n, k in sorted(quiet["resend_requests"].items()))
    operations = ", ".join(f"`{name}` {n:.2f}" for name, n in sorted(quiet["operations"].items()))
    goal = "met" if set(quiet["requests"]) == {2} else "MISSED"

    def rows(cases: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"| {c['count']} | {c['ok']}/{c['count']} | {c['requests']:.1f} | {c['time']['median']:.1f} | "
            f"{c['time']['p99']:.1f} | {c['wall_ms']:.0f} |"
            for c in cases
        )

    return f"""## Turn core: the session lease (uncontended and contended turns)

Each unit of work takes the call's lease with its read (`UpdateItem`, `ReturnValues=ALL_NEW`) and
releases it with its save (`UpdateItem`); requests that find it taken wait in line, re-reading the
session (`GetItem`) with backoff. Through the bot_api handler in-process on moto; DynamoDB requests
counted per operation with botocore's `before-call` hook.

**Uncontended** ({quiet["turns"]} turns of the demo agent, one request at a time):

| measure | median (ms) | p99 (ms) |
|---|---|---|
| handler time per turn | {quiet["time"]["median"]:.2f} | {quiet["time"]["p99"]:.2f} |
| a resend of an answered activity | {quiet["resend_time"]["median"]:.2f} | {quiet["resend_time"]["p99"]:.2f} |

- DynamoDB requests per turn: {requests}. Per turn by operation: {operations}. Goal 2: **{goal}**.
- A resend of an answered activity: {resends} (the claim that reads the answer, and the release).

**Copies of one activity arriving at once** (they wait for the first run's answer; the flow runs once):

| copies | answered 200 | DynamoDB requests per copy | median (ms) | p99 (ms) | all answered after (ms) |
|---|---|---|---|---|---|
{rows(result["copies"])}

**Distinct activities of one call arriving at once** (they wait in line and run one at a time):

| activities | answered 200 | DynamoDB requests per activity | median (ms) | p99 (ms) | all answered after (ms) |
|---|---|---|---|---|---|
{rows(result["queued"])}

A waiting request costs one consistent `GetItem` per poll (every 10-40 ms when it is next in line, 50 ms
more per request ahead of it, at most every 500 ms), plus one `UpdateItem` to join the line and one to
claim; at most 64 wait per call (the next gets 503). All threads share one process here (and the GIL),
so the contended times are pessimistic: on Lambda each waiter is its own invocation.
"""
