"""Read the analytics table from a terminal.

    python -m audiocodes_devtools.analytics_cli transcript <endpoint> <conversation> [--json]
    python -m audiocodes_devtools.analytics_cli summary <endpoint> [--days N] [--json]

The table is ``--table`` or ``$ANALYTICS_TABLE``; boto3 finds AWS the usual way. ``--local`` reads the
running ``make run``'s moto instead (found as every helper finds it: see ``local_urls``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore
from audiocodes_endpoint.features.analytics import AnalyticsStore, Summary, TurnRecord, summarize


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, store: AnalyticsStore | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    table = args.table or os.environ.get("ANALYTICS_TABLE")
    if store is None and not table:
        parser.error("the analytics table: pass --table or set ANALYTICS_TABLE")
    if args.local:
        from . import local_urls

        local_urls.use_local_moto()
        if not local_urls.answers(local_urls.moto_url()):
            print(local_urls.nothing_answers(local_urls.moto_url(), "MOTO_PORT= / MOTO_URL="), file=sys.stderr)
            return 1
    reader: AnalyticsStore = store if store is not None else DynamoDBAnalyticsStore(str(table))
    if args.command == "transcript":
        records = reader.transcript(args.endpoint, args.conversation)
        if not records:
            print(f"no records for conversation {args.conversation} on endpoint {args.endpoint}", file=sys.stderr)
            return 1
        if args.json:
            json.dump([dataclasses.asdict(r) for r in records], out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            out.write(format_transcript(records))
        return 0
    since = time.time() - args.days * 86_400 if args.days else None
    summary = summarize(args.endpoint, reader.endpoint_turns(args.endpoint, since))
    if args.json:
        json.dump(dataclasses.asdict(summary), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(format_summary(summary, args.days))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audiocodes_devtools.analytics_cli", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--table", help="analytics table name (default: $ANALYTICS_TABLE)")
    parser.add_argument("--local", action="store_true", help="read the local emulator's moto (make run)")
    commands = parser.add_subparsers(dest="command", required=True)
    transcript = commands.add_parser("transcript", help="what was said in one call, turn by turn")
    transcript.add_argument("endpoint", help="the endpoint's URL token")
    transcript.add_argument("conversation", help="the VAIC conversation id")
    transcript.add_argument("--json", action="store_true")
    summary = commands.add_parser("summary", help="calls, transfers, hang-ups, turns and intents of an endpoint")
    summary.add_argument("endpoint", help="the endpoint's URL token")
    summary.add_argument("--days", type=float, default=0, help="only the last N days (default: all retained)")
    summary.add_argument("--json", action="store_true")
    return parser


def format_transcript(records: Sequence[TurnRecord]) -> str:
    first = records[0]
    lines = [f"conversation {first.conversation} on endpoint {first.endpoint}, started {_when(first.started_at)}"]
    for record in records:
        heard = _heard(record)
        lines.append(f"#{record.turn:<3} {_when(record.started_at)[11:]}  {heard}")
        if record.bot_text:
            lines.extend(f"      bot: {line}" for line in record.bot_text.splitlines())
        details = [f"intent {record.intent} ({record.intent_score or 0:.2f})" if record.intent else ""]
        if record.outcome not in ("message", "silent"):
            details.append(record.outcome + (f": {record.outcome_detail}" if record.outcome_detail else ""))
        if record.latency_ms:
            details.append(f"{record.latency_ms} ms")
        if any(details):
            lines.append("      -> " + ", ".join(d for d in details if d))
    return "\n".join(lines) + "\n"


def format_summary(summary: Summary, days: float) -> str:
    rows = [
        ("period", f"last {days:g} days" if days else "all retained records"),
        ("calls", summary.calls),
        ("turns", summary.turns),
        ("average turns", summary.average_turns),
        ("transfers", summary.transfers),
        ("bot hang-ups", summary.hangups),
        ("caller hang-ups", summary.caller_hangups),
        ("flow errors", summary.errors),
        ("average latency", f"{summary.average_latency_ms} ms"),
        ("top intents", ", ".join(f"{name} {n}" for name, n in summary.top_intents) or "-"),
        ("disconnect reasons", ", ".join(f"{name} {n}" for name, n in summary.disconnect_reasons) or "-"),
    ]
    return f"endpoint {summary.endpoint}\n" + "".join(f"  {name:<20}{value}\n" for name, value in rows)


def _heard(record: TurnRecord) -> str:
    """What the caller did: said something, keyed DTMF digits (the DTMF event carries them as text), or an event."""
    if record.caller_text is None:
        return _what(record)
    if record.input_type == "event" and (record.event or "").upper() == "DTMF":
        return f"caller DTMF: {record.caller_text}"
    return f"caller: {record.caller_text}"


def _what(record: TurnRecord) -> str:
    if record.input_type == "event":
        return f"[{record.event or 'event'}]"
    return f"[{record.input_type}]"


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


if __name__ == "__main__":
    sys.exit(main())
