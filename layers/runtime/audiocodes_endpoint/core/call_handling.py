"""How an endpoint handles a call around its flow: bot delay, call failover, call events.

* ``bot_delay``: VAIC's bot-delay parameters (AudioCodes: Handling bot delay,
  https://techdocs.audiocodes.com/voice-ai-connect/Content/VAIG_Combined/handle-bot-delay.htm),
  sent in the first answer of every call; a flow's ``bot_delay`` node overrides them.
* ``on_error``: what the caller gets when the flow fails: an apology and a hang-up (default), or a
  transfer to a human (call failover, as Cognigy's Voice Gateway endpoint offered it).
* ``call_events``: VAIC events (controlling_events_to_bot.htm and the other events a bot receives)
  and disconnect reasons (call-disconnect.htm ``reasonCode``) mapped to an action, Cognigy Voice
  Gateway style: inject text/data into the flow, run a flow (at a node), transfer, or nothing.
  The endpoint's mapping wins over the flow's own handlers; opt-in events are asked for with
  ``sendEventsToBot`` automatically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audiocodes_endpoint.channel.audiocodes import Activity, event, message
from audiocodes_endpoint.config.call_handling import CallEventSettings, OnErrorSettings
from audiocodes_endpoint.flows.turn import EventAction


def event_actions(default_region: str, events: dict[str, CallEventSettings]) -> dict[str, EventAction]:
    """``call_events`` as the flow engine takes them."""
    return {
        key: EventAction(
            action=setting.action,
            text=setting.text,
            data=setting.data,
            flow=setting.flow,
            node=setting.node,
            transfer=setting.transfer.activity_params(default_region) if setting.transfer else None,
        )
        for key, setting in events.items()
    }


def failure_activities(on_error: OnErrorSettings, apology_text: str, default_region: str) -> list[Activity]:
    """What a failed flow sends instead of its outputs: apology + hang-up, or (failover) a transfer."""
    if on_error.action == "transfer" and on_error.transfer is not None:
        said = [message(on_error.say)] if on_error.say else []
        return [*said, event("transfer", activity_params=on_error.transfer.activity_params(default_region))]
    return [message(apology_text), event("hangup", activity_params={"hangupReason": "bot error"})]


def flow_problems(
    flows: Mapping[str, Any], endpoint_name: str, default_region: str, events: Mapping[str, CallEventSettings]
) -> list[str]:
    """What an endpoint's settings and its region make wrong in the agent's flows: static national
    transfer targets that cannot be read in ``default_region``, ``call_events`` flows/nodes that
    do not exist. Checked when the Lambda loads the agent and by ``make validate``."""
    from audiocodes_endpoint.config.transfer_targets import transfer_uri  # phonenumbers: not at cold import

    problems: list[str] = []
    for flow_name, flow in flows.items():
        for node_id, node in flow.nodes.items():
            target = node.national_target() if hasattr(node, "national_target") else None
            if target is None:
                continue
            try:
                transfer_uri(target, default_region)
            except ValueError as error:
                problems.append(f"{endpoint_name}: flow {flow_name!r}, node {node_id!r}: transferTarget: {error}")
    for key, setting in events.items():
        if setting.action != "flow" or setting.flow is None:
            continue
        flow = flows.get(setting.flow)
        if flow is None:
            problems.append(f"{endpoint_name}: call_events.{key}.flow: no flow {setting.flow!r}")
        elif setting.node is not None and setting.node not in flow.nodes:
            problems.append(
                f"{endpoint_name}: call_events.{key}.node: flow {setting.flow!r} has no node {setting.node!r}"
            )
    return problems
