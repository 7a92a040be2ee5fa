"""``make dial TARGET=+49...``: place one outbound call through `make run`, print its statuses as they come.

Exits 0 once the call has completed, 1 if it failed or was refused, 2 if it did not end in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx

from .dialout_standin import local_dialout_key

FINAL = ("completed", "failed")


def dial(base_url: str, endpoint: str, key: str, target: str, metadata: dict[str, object], timeout: float,
         out: object = sys.stdout) -> int:  # fmt: skip
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=15) as client:
        placed = client.post(f"/outbound/{endpoint}/calls", json={"target": target, "metadata": metadata})
        if placed.status_code != 202:
            print(f"refused: HTTP {placed.status_code} {placed.text}", file=out)  # type: ignore[call-overload]
            return 1
        call_id = placed.json()["id"]
        print(f"call {call_id} to {target}", file=out, flush=True)  # type: ignore[call-overload]
        shown, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            call = client.get(f"/outbound/{endpoint}/calls/{call_id}").json()
            for entry in call["history"][shown:]:
                details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("status", "at"))
                print(f"  {entry['status']}" + (f" ({details})" if details else ""), file=out, flush=True)  # type: ignore[call-overload]
            shown = len(call["history"])
            if call["status"] in FINAL:
                return 0 if call["status"] == "completed" else 1
            time.sleep(0.2)
    print("the call did not end in time", file=out)  # type: ignore[call-overload]
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", help="the number to call, E.164 (+49...)")
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the emulator (make run)")
    parser.add_argument("--endpoint", default="demo")
    parser.add_argument("--key", help="the endpoint's dialout.api_key (default: the one make run stores)")
    parser.add_argument("--metadata", default="{}", help="JSON object the flow gets as dialoutMetadata")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    key = args.key or local_dialout_key(args.endpoint)
    return dial(args.url, args.endpoint, key, args.target, json.loads(args.metadata), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
