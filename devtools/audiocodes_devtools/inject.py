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

from . import local_urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["inject", "notify"])
    parser.add_argument("--session", required=True, help="the conversation id (input.sessionId)")
    parser.add_argument("--text")
    parser.add_argument("--data", type=json.loads, help="a JSON object")
    parser.add_argument("--user", help="input.userId, if you want it checked")
    endpoint = os.environ.get("URL_TOKEN") or os.environ.get("ENDPOINT") or "demo-async"
    parser.add_argument("--endpoint", default=endpoint, help="the URL token (default: $ENDPOINT or demo-async)")
    parser.add_argument("--url", default=None, help="the emulator's URL (default: found as local_urls says)")
    parser.add_argument("--key", default=None, help="X-API-Key (default: the local key of the endpoint)")
    parser.add_argument("--idempotency-key", default=None)
    args = parser.parse_args(argv)
    key = args.key or os.environ.get("INJECT_API_KEY") or f"local-{args.endpoint}-inject-key"
    body = {
        "URLToken": args.endpoint,
        "sessionId": args.session,
        "userId": args.user,
        "text": args.text,
        "data": args.data,
    }
    headers = {"X-API-Key": key, "Idempotency-Key": args.idempotency_key or str(uuid.uuid4())}
    url = args.url or local_urls.api_url()
    try:
        answer = httpx.post(
            f"{url}/v2.0/endpoint/{args.kind}",
            json={k: v for k, v in body.items() if v is not None},
            headers=headers,
            timeout=10,
        )
    except httpx.TransportError:
        print(local_urls.nothing_answers(url), file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text}")
    return 0 if answer.status_code == 202 else 1


if __name__ == "__main__":
    sys.exit(main())
