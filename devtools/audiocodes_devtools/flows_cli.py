"""``python -m audiocodes_devtools.flows_cli``: validate an agent, draw a flow, write the JSON Schema."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

DEFAULT_AGENT = Path("agent")
DEFAULT_SCHEMA = Path("schemas/flow.schema.json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audiocodes_devtools.flows_cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check every flow, intent and extension of an agent")
    validate.add_argument("agent_dir", nargs="?", type=Path, default=DEFAULT_AGENT)
    graph = commands.add_parser("graph", help="draw a flow as a Mermaid diagram (PNG/SVG with mmdc)")
    graph.add_argument("flow")
    graph.add_argument("--agent", type=Path, default=DEFAULT_AGENT, help="agent directory (default: agent)")
    graph.add_argument("--out", type=Path, help="file.mmd, file.svg or file.png (default: print Mermaid)")
    schema = commands.add_parser("schema", help="write the flow JSON Schema")
    schema.add_argument("--out", type=Path, default=DEFAULT_SCHEMA)
    args = parser.parse_args(argv)
    if args.command == "validate":
        return _validate(args.agent_dir)
    if args.command == "graph":
        return _graph(args.agent, args.flow, args.out)
    return _schema(args.out)


def _validate(agent_dir: Path) -> int:
    from audiocodes_endpoint.flows.loader import check_agent

    report = check_agent(agent_dir)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if report.errors or report.agent is None:
        print(f"{agent_dir}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", file=sys.stderr)
        return 1
    flows = ", ".join(sorted(report.agent.flows))
    intents = len(report.agent.intents.intents)
    print(f"{agent_dir}: OK ({flows}; {intents} intents; {len(report.warnings)} warning(s))")
    return 0


def _graph(agent_dir: Path, flow: str, out: Path | None) -> int:
    from audiocodes_endpoint.flows.loader import AgentLoadError, load_agent

    from .flow_graph import mermaid

    try:
        agent = load_agent(agent_dir)
    except AgentLoadError as error:
        print(error, file=sys.stderr)
        return 1
    if flow not in agent.flows:
        print(f"no flow {flow!r}; flows: {', '.join(sorted(agent.flows))}", file=sys.stderr)
        return 1
    text = mermaid(flow, agent.flows[flow])
    if out is None:
        sys.stdout.write(text)
        return 0
    if out.suffix.lower() in (".png", ".svg", ".pdf"):
        renderer = shutil.which("mmdc")
        if renderer is None:
            print(
                "mmdc (mermaid-cli) is not on PATH: write a .mmd file instead, or install it with "
                "`npm install -g @mermaid-js/mermaid-cli`",
                file=sys.stderr,
            )
            return 2
        with tempfile.TemporaryDirectory() as temp:
            source = Path(temp) / f"{flow}.mmd"
            source.write_text(text, encoding="utf-8")
            # mmdc found on PATH, with our own file names: no shell, no untrusted input.
            done = subprocess.run([renderer, "-i", str(source), "-o", str(out)], check=False)
        if done.returncode != 0:
            return done.returncode
    else:
        out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


def _schema(out: Path) -> int:
    from audiocodes_endpoint.flows.model import flow_json_schema

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
