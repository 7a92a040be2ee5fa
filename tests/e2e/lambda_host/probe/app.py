"""Answers with what it sees of its execution environment; ``?sleep=S`` sleeps, ``?raise=1`` raises,
``?exit=1`` ends the process mid-invocation."""

from __future__ import annotations

import json
import os
import time
from typing import Any

INITIALISED_AT = time.time()  # module state lives as long as the execution environment
invocations = 0
in_flight = 0


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global invocations, in_flight
    invocations += 1
    in_flight += 1
    try:
        parameters = event.get("queryStringParameters") or {}
        time.sleep(float(parameters.get("sleep", "0")))
        if parameters.get("exit"):
            os._exit(3)  # the runtime process dies mid-invocation
        if parameters.get("raise"):
            raise ValueError(f"cannot handle {event.get('body')}")  # the message quotes the caller's body
        report = {
            "pid": os.getpid(),
            "initialised_at": INITIALISED_AT,
            "invocations": invocations,
            "in_flight": in_flight,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "settings": {key: value for key, value in os.environ.items() if key.startswith("PROBE_")},
            "event": event,
        }
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(report)}
    finally:
        in_flight -= 1
