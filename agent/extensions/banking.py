"""Code-node functions for the demo agent (called by `type: code` nodes in agent/flows/*.yaml).

Each function declares only the keyword arguments it needs (`input`, `context`, `variables`, `args`)
and returns `{"context": {...}, "outputs": [...]}` (either key optional), or outputs directly.
"""

from __future__ import annotations

from typing import Any

CURRENCY_NAMES = {"EUR": ("euro", "euros"), "USD": ("dollar", "dollars"), "GBP": ("pound", "pounds")}


def describe_balance(args: dict[str, Any]) -> dict[str, Any]:
    """Turn an account record from the accounts API into a sentence that reads well aloud."""
    account = args.get("account") or {}
    amount = float(account.get("balance", 0))
    code = str(account.get("currency", "")).upper()
    singular, plural = CURRENCY_NAMES.get(code, (code, code))
    whole, cents = divmod(round(abs(amount) * 100), 100)
    unit = singular if whole == 1 and cents == 0 else plural
    spoken = f"{whole:,} {unit}" + (f" and {cents} cents" if cents else "")
    if amount < 0:
        spoken = f"minus {spoken}"
    name = account.get("name") or "there"
    return {"context": {"balance_text": f"Thanks, {name}. Your balance is {spoken}."}}


def call_ended(input: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Cleanup on disconnect: remember why the call ended (a real agent might write a CRM note)."""
    value = input.get("value")
    if not isinstance(value, dict):
        value = {}
    return {"context": {"ended": {"reason": value.get("reason"), "reasonCode": value.get("reasonCode")}}}
