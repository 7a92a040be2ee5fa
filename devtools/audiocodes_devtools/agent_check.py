"""``make validate``: check a whole agent before it is deployed.

Flows (via the flow loader), endpoint settings (file and key of every problem), that each endpoint's
flow exists, that national transfer targets read in its ``default_region`` and its ``call_events``
flows exist, and that its transformer hooks and NLU connector load. Exit status 1 on any error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audiocodes_endpoint.adapters.aws.lex import LexConnector
from audiocodes_endpoint.config.endpoint import SettingsError, load_endpoints
from audiocodes_endpoint.core.call_handling import flow_problems
from audiocodes_endpoint.features.external_nlu import NluSetupError, connector_for
from audiocodes_endpoint.features.transformers import TransformerError, Transformers, endpoint_object
from audiocodes_endpoint.flows import check_agent


def check(agent_dir: Path) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for the agent in ``agent_dir``."""
    report = check_agent(agent_dir)
    errors, warnings = [str(e) for e in report.errors], [str(w) for w in report.warnings]
    try:
        endpoints = load_endpoints(agent_dir)
    except SettingsError as error:
        return [*errors, str(error)], warnings
    flows = report.agent.flows if report.agent is not None else {}
    builtin = report.agent.nlu if report.agent is not None else None
    for endpoint in endpoints.values():
        where = f"agent/endpoints ({endpoint.url_token})"
        if report.agent is not None and endpoint.flow not in flows:
            errors.append(f"{where}: flow: no flow '{endpoint.flow}' in agent/flows")
        if report.agent is not None:
            errors.extend(flow_problems(flows, where, endpoint.default_region, endpoint.call_events))
        try:
            Transformers.load(endpoint.transformers, agent_dir, endpoint_object(endpoint))
        except TransformerError as error:
            errors.append(f"{where}: transformers: {error}")
        try:
            if not (endpoint.nlu.connector == "builtin" and builtin is None):
                connector_for(endpoint.nlu, builtin, agent_dir, lex=LexConnector)
        except NluSetupError as error:
            errors.append(f"{where}: nlu: {error}")
    return errors, warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("agent_dir", nargs="?", default="agent", type=Path)
    args = parser.parse_args(argv)
    errors, warnings = check(args.agent_dir)
    for warning in warnings:
        print(f"warning: {warning}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{args.agent_dir}: {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
