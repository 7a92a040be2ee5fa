"""``make validate`` (agent_check): the endpoint settings and the flows checked together."""

from __future__ import annotations

from pathlib import Path

from audiocodes_devtools.agent_check import check
from tests.unit.flows.support import DEMO_AGENT, write_agent

ENDPOINT = """
name: t
url_token: t
flow: main
bot_token: env:T
default_region: {region}
{extra}
"""


def agent(tmp_path: Path, region: str, extra: str = "") -> Path:
    root = write_agent(tmp_path, {"main": "start: t\nnodes:\n  t: {type: transfer, transferTarget: '030 1234567'}\n"})
    (root / "endpoints").mkdir()
    (root / "endpoints" / "t.yaml").write_text(ENDPOINT.format(region=region, extra=extra), encoding="utf-8")
    return root


def test_the_demo_agent_is_valid() -> None:
    assert check(DEMO_AGENT) == ([], [])


def test_a_national_transfer_target_is_read_in_the_endpoints_region(tmp_path: Path) -> None:
    assert check(agent(tmp_path, "DE"))[0] == []
    errors, _ = check(agent(tmp_path / "us", "US"))
    assert (
        len(errors) == 1
        and "node 't': transferTarget: '030 1234567' is not a valid phone number in region US" in errors[0]
    )


def test_call_events_must_name_existing_flows_and_targets_must_dial(tmp_path: Path) -> None:
    extra = "call_events:\n  playFinished: {action: flow, flow: nowhere}\n"
    errors, _ = check(agent(tmp_path, "DE", extra))
    assert any("call_events.playFinished.flow: no flow 'nowhere'" in e for e in errors)
    extra = "on_error: {action: transfer, transfer: {target: '+1 2'}}\n"
    errors, _ = check(agent(tmp_path / "bad", "DE", extra))
    assert any("on_error.transfer.target" in e for e in errors)
