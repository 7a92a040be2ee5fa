"""Demo transformers: enable them per endpoint in ``agent/endpoints/<name>.yaml``::

    transformers:
      module: transformers_demo
      input: true
      output: true
      inject: true

Each hook declares only the keyword arguments it needs (see ``audiocodes_endpoint/features/transformers.py``
for all of them). Raise or return something invalid and the endpoint logs it and keeps the original.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any

# Politeness words carry no intent; removing them helps short commands ("balance please") match.
_POLITE = re.compile(r"[,\s]*\b(?:please|pls|kindly|bitte)\b[,.!]?", re.IGNORECASE)
_PAYMENT_EVENTS = {"payment.succeeded": "succeeded", "payment.failed": "failed"}


def handle_input(*, payload: dict[str, Any], storage: dict[str, Any]) -> dict[str, Any]:
    """Strip politeness words and count the caller's inputs in the call's storage."""
    storage["inputs"] = storage.get("inputs", 0) + 1
    text = payload.get("text")
    if not text:
        return {}  # an empty dict keeps everything as it is
    cleaned = " ".join(_POLITE.sub(" ", text).split())
    return {"text": cleaned or text}  # "please" alone stays "please"


def handle_output(*, output: dict[str, Any]) -> dict[str, Any] | None:
    """Drop messages that rendered to blank text: VAIC would otherwise wait on silence."""
    if output.get("type") == "message" and not (output.get("text") or "").strip():
        return None
    return output


def handle_inject(*, body: Any, headers: dict[str, str], raw_body: str | None = None) -> dict[str, Any] | None:
    """Turn a payment provider's webhook into an inject for the call that started the payment.

    The flow put the VAIC conversation id into the payment's metadata when it created the payment
    link (``metadata.conversation``); that id is this endpoint's ``sessionId``. Any other event is
    ignored (``None``). When ``PAYMENT_WEBHOOK_SECRET`` is set, the body must carry the provider's
    HMAC-SHA256 signature in ``X-Payment-Signature``.
    """
    if not _signed(headers, raw_body):
        raise PermissionError("payment webhook signature missing or wrong")
    if not isinstance(body, dict) or body.get("event") not in _PAYMENT_EVENTS:
        return None
    metadata = body.get("metadata")
    conversation = metadata.get("conversation") if isinstance(metadata, dict) else None
    if not isinstance(conversation, str) or not conversation:
        return None
    status = _PAYMENT_EVENTS[body["event"]]
    return {
        "sessionId": conversation,
        "text": f"payment {status}",
        "data": {
            "payment": {
                "status": status,
                "id": body.get("id"),
                "amount": body.get("amount"),
                "currency": body.get("currency"),
            }
        },
    }


def handle_notify(*, body: Any) -> dict[str, Any] | None:
    """``{"conversation": "...", "say": "..."}`` from a back-office tool becomes words for the caller."""
    if not isinstance(body, dict) or not isinstance(body.get("conversation"), str) or not body.get("say"):
        return None
    return {"sessionId": body["conversation"], "text": str(body["say"])}


def _signed(headers: dict[str, str], raw_body: str | None) -> bool:
    secret = os.environ.get("PAYMENT_WEBHOOK_SECRET")
    if not secret:
        return True  # the demo runs unsigned; production sets the secret
    given = {k.lower(): v for k, v in headers.items()}.get("x-payment-signature", "")
    expected = hmac.new(secret.encode(), (raw_body or "").encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.removeprefix("sha256="), expected)
