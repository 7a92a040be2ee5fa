"""Inject into or notify a live call from a second terminal (`make inject` / `make notify`).

    python -m audiocodes_devtools.inject inject --session <conversation id> --text "payment received"
    python -m audiocodes_devtools.inject notify --session <id> --text "Your agent is on the way"

The phone (`make call`) prints the conversation id when the call starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["inject", "notify"])
    parser.add_argument("--session", required=True, help="the conversation id (input.sessionId)")
    parser.add_argument("--text")
    parser.add_argument("--data", type=json.loads, help="a JSON object")
    parser.add_argument("--user", help="input.userId, if you want it checked")
    parser.add_argument("--endpoint", default=os.environ.get("URL_TOKEN", "demo-async"), help="the URL token")
    parser.add_argument("--url", default=os.environ.get("API_URL", "http://127.0.0.1:3000"))
    parser.add_argument("--key", default=None, help="X-API-Key (default: the local key of the endpoint)")
    parser.add_argument("--idempotency-key", default=None)
    args = parser.parse_args(argv)
    key = args.key or os.environ.get("INJECT_API_KEY") or f"local-{args.endpoint}-inject-key"
    body = {"URLToken": args.endpoint, "sessionId": args.session, "userId": args.user, "text": args.text,
            "data": args.data}  # fmt: skip
    headers = {"X-API-Key": key, "Idempotency-Key": args.idempotency_key or str(uuid.uuid4())}
    answer = httpx.post(f"{args.url}/v2.0/endpoint/{args.kind}", json={k: v for k, v in body.items() if v is not None},
                        headers=headers, timeout=10)  # fmt: skip
    print(f"{answer.status_code} {answer.text}")
    return 0 if answer.status_code == 202 else 1


if __name__ == "__main__":
    sys.exit(main())
