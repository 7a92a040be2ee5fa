"""The executor: decide where an input goes, then run nodes until one waits or the flow ends.

Session state (``FlowState``, JSON in the session item):

* ``waiting``: ``{"flow", "node", "kind", ...}`` where the conversation waits: a ``question``
  (with its retry counters), a ``transfer`` (for a failed ``transferStatus``) or ``idle`` (a path
  ran out of nodes: the next input starts at ``events.message`` or ``start``);
* ``stack``: return points of ``call`` nodes, ``{"flow", "node"}``, outermost first;
* ``ended``: an ``end``, ``hangup`` or ``transfer`` node ran;
* ``events``: the opt-in VAIC events asked for so far (``sendEventsToBot``, see :mod:`.events`):
  the call's first answer asks for the entry flow's and the endpoint's, entering another flow
  asks for what it adds.

Where an input goes (first match wins):

1. ``disconnect``: the endpoint's ``call_events`` action for ``disconnect:<reasonCode>`` (or
   ``disconnect``), else the ``events.disconnect`` handler, runs silently (nothing is sent), then
   ended;
2. a new session (empty state): the entry flow's ``start`` node;
2a. an event the endpoint's ``call_events`` map: that action (inject, flow, transfer, nothing);
3. a message whose intent has a global handler (``intents:``), unless the waiting question
   expects that intent or reads the message as a valid answer ("one two three four" to a digits
   question is digits, whatever an intent matcher thinks);
4. the waiting node, if it takes this input (a question takes messages, ``DTMF`` and
   ``noUserInput``; a transfer takes a failed ``transferStatus`` when it has ``on_failure``);
5. the handler in ``events:`` for the event (``DTMF`` falls back to ``message``; other events to
   ``any_event``); handlers are looked up from the innermost called flow outwards;
6. when idle, a message (or digits) starts at ``events.message`` or the entry flow's ``start``;
7. otherwise the input is ignored: nothing is sent and the conversation keeps waiting.

A handler that interrupted a waiting question and runs out of nodes puts the conversation back
where it waited, without repeating the prompt.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audiocodes_endpoint.channel.audiocodes import Activity, event
from audiocodes_endpoint.flows.events import OPT_IN_EVENTS, flow_events
from audiocodes_endpoint.flows.loader import Agent
from audiocodes_endpoint.flows.model import Flow
from audiocodes_endpoint.flows.nodes.base import NodeBase
from audiocodes_endpoint.flows.runtime import EmitFailed, Turn
from audiocodes_endpoint.flows.steps import Call, End, Jump, Next, Step, Wait
from audiocodes_endpoint.flows.turn import Emit, EventAction, FlowError, FlowInput, FlowState, TurnOptions, TurnResult

MAX_CALL_DEPTH = 16


def _no_emit(activity: Activity) -> None:
    """Used for the disconnect path, which must send nothing."""


@dataclass
class _Start:
    flow: str
    step: Step
    base: int = 0  # stack depth of the handler; a dead end at this depth resumes the snapshot
    snapshot: tuple[dict[str, Any], list[dict[str, Any]]] | None = None


def _guarded(flow: str, node_id: str, node: NodeBase, action: Callable[[], Step]) -> Step:
    """Run a node's action; any failure becomes a FlowError that says where it happened."""
    where = f"flow {flow!r}, node {node_id!r} ({node.kind})"
    try:
        return action()
    except EmitFailed as failed:
        raise failed.original from None
    except FlowError as error:
        raise FlowError(f"{where}: {error}", log_safe=f"{where}: {error.log_safe or 'FlowError'}") from error
    except Exception as error:  # a bug or an unexpected value: still fail the turn closed
        kind = type(error).__name__
        raise FlowError(f"{where}: {kind}: {error}", log_safe=f"{where}: {kind}") from error


class FlowEngine:
    """Runs turns of an agent's flows. One per process; ``run_turn`` keeps no state between calls."""

    def __init__(self, agent: Agent, version: str = "") -> None:
        self.agent = agent
        self._events = {name: flow_events(flow) for name, flow in agent.flows.items()}
        self.version = version  # the agent's digest (runtime.agent_version); sessions record theirs at start

    def run_turn(
        self,
        flow_name: str,
        state: FlowState,
        inp: FlowInput,
        context: dict[str, Any],
        emit: Emit,
        options: TurnOptions | None = None,
    ) -> TurnResult:
        """Run one input through the flow. Raises :class:`FlowError` if the flow fails."""
        options = options or TurnOptions()
        self._flow(flow_name)
        state = state.model_copy(deep=True)
        disconnect = inp.event == "disconnect"
        turn = Turn(
            templates=self.agent.templates,
            extensions=self.agent.extensions,
            input=inp,
            context=copy.deepcopy(context),
            options=options,
            emit=_no_emit if disconnect else emit,
            silent=disconnect,
            requested_events=list(state.events),
        )
        recovered_from = None
        if disconnect:
            self._disconnect(turn, state, flow_name)
        else:
            # The call's first answer asks VAIC for every event the entry flow (and the endpoint's
            # call_events) handles, with the endpoint's own call settings; a call saved before it
            # was asked (an older version) is asked on its next turn. Otherwise this sends nothing.
            wanted = self._events[flow_name] | OPT_IN_EVENTS.intersection(options.call_events)
            if state.waiting is None and not state.stack and not state.ended:
                turn.ask_for(wanted, **options.call_setup)
            elif not state.ended:
                turn.ask_for(wanted)
            # Only an input the wait was for (speech, digits, no input) takes the recovery path; other
            # events pass by and leave the stale wait for the next one.
            recovered_from = self._stale_wait(state) if inp.event in (None, "DTMF", "noUserInput") else None
            start = self._recover(state, flow_name, recovered_from) if recovered_from else None
            start = start or self._route(turn, state, flow_name)
            if start is not None:
                self._execute(turn, state, start)
        state.events = turn.requested_events
        return TurnResult(
            state=state,
            context=turn.context,
            outputs=list(turn.outputs),
            path=turn.path,
            recovered_from=recovered_from,
            metrics=turn.metrics,
        )

    # --- routing ---------------------------------------------------------------------------------

    def _route(self, turn: Turn, state: FlowState, entry: str) -> _Start | None:
        inp = turn.input
        waiting = state.waiting
        if waiting is None and not state.stack and not state.ended:
            return _Start(entry, Next(self._flow(entry).start))

        node = self._waiting_node(waiting)
        action = turn.options.call_events.get(inp.event) if inp.event is not None else None
        if action is not None:  # the endpoint's call_events win over the flow's handlers
            return self._apply(turn, state, entry, node, action)
        is_message = inp.event is None

        if is_message and inp.intent and not state.ended and not (node and waiting and node.claims(turn, waiting)):
            found = self._handler(state, waiting, entry, "intents", inp.intent)
            if found is not None:
                return self._interrupt(state, waiting, node, found)

        if node is not None and waiting is not None and node.accepts(turn, waiting):
            state.waiting = None
            state.ended = False
            flow, node_id = str(waiting["flow"]), str(waiting["node"])
            turn.flow, turn.node_id = flow, node_id
            turn.path.append(f"{flow}:{node_id}")
            return _Start(flow, _guarded(flow, node_id, node, lambda: node.resume(turn, waiting)))

        for key in self._event_keys(inp, state.ended):
            found = self._handler(state, waiting, entry, "events", key)
            if found is not None:
                return self._interrupt(state, waiting, node, found)

        idle = waiting.get("kind") == "idle" if waiting is not None else not state.ended
        if idle and (is_message or inp.event == "DTMF"):
            state.waiting, state.stack = None, []
            return _Start(entry, Next(self._flow(entry).start))
        return None

    def _apply(
        self, turn: Turn, state: FlowState, entry: str, node: NodeBase | None, action: EventAction
    ) -> _Start | None:
        """One of the endpoint's ``call_events`` actions for the event in ``turn.input``."""
        if action.action == "flow" and action.flow is not None:
            flow = self._flow(action.flow)
            target = action.node or flow.start
            if target not in flow.nodes:
                raise FlowError(f"call_events: flow {action.flow!r} has no node {target!r}")
            return self._interrupt(state, state.waiting, node, (action.flow, target, 0))
        if action.action == "transfer" and action.transfer is not None:
            turn.send(event("transfer", activity_params=dict(action.transfer)))
            state.waiting, state.stack, state.ended = None, [], True
            return None
        if action.action == "inject":
            self._inject(turn, action)
            return self._route(turn, state, entry)
        return None  # nothing: the event is dropped, even if the flow has a handler for it

    @staticmethod
    def _inject(turn: Turn, action: EventAction) -> None:
        """Replace the event by an inject input carrying the action's text/data (and the event)."""
        original = turn.input
        data = {**dict(action.data or {}), "event": original.event, "value": original.value}
        if "numberMetaData" in original.data:
            data["numberMetaData"] = original.data["numberMetaData"]
        turn.input = original.model_copy(
            update={
                "kind": "inject",
                "text": action.text,
                "data": data,
                "event": None if action.text else "inject",
                "value": None,
                "intent": None,
                "intentScore": None,
                "slots": {},
            }
        )
        turn.__post_init__()

    @staticmethod
    def _event_keys(inp: FlowInput, ended: bool) -> list[str]:
        if inp.event is None:
            return [] if ended else ["message"]
        if ended:
            return [inp.event]  # e.g. transferStatus after a transfer; nothing else revives the flow
        if inp.event == "DTMF":
            return ["DTMF", "message"]
        return [inp.event, "any_event"]

    def _handler(
        self, state: FlowState, waiting: dict[str, Any] | None, entry: str, table: str, key: str
    ) -> tuple[str, str, int] | None:
        """(flow, node, stack depth) of the handler for ``key``, innermost flow first."""
        levels = [(str(waiting["flow"]) if waiting and "flow" in waiting else entry, len(state.stack))]
        levels += [(str(frame["flow"]), depth) for depth, frame in reversed(list(enumerate(state.stack)))]
        for flow_name, depth in levels:
            flow = self.agent.flows.get(flow_name)
            target = getattr(flow, table).get(key) if flow else None
            if target:
                return flow_name, target, depth
        return None

    def _interrupt(
        self,
        state: FlowState,
        waiting: dict[str, Any] | None,
        node: NodeBase | None,
        found: tuple[str, str, int],
    ) -> _Start:
        flow, target, depth = found
        resumable = waiting is not None and waiting.get("kind") == "question" and node is not None
        snapshot = (dict(waiting), copy.deepcopy(state.stack)) if resumable and waiting is not None else None
        state.stack = state.stack[:depth]
        state.waiting = None
        state.ended = False
        return _Start(flow, Next(target), base=depth, snapshot=snapshot)

    # --- a deploy during a live call --------------------------------------------------------------

    def _stale_wait(self, state: FlowState) -> dict[str, Any] | None:
        """The wait a live call is in, when its node no longer exists or is no longer of that kind."""
        waiting = state.waiting
        if state.ended or not waiting or waiting.get("kind") == "idle":
            return None
        node = self._waiting_node(waiting)
        if node is not None and node.kind == waiting.get("kind"):
            return None
        return {
            "flow": waiting.get("flow"),
            "node": waiting.get("node"),
            "kind": waiting.get("kind"),
            "now": node.kind if node is not None else None,
        }

    def _recover(self, state: FlowState, entry: str, stale: dict[str, Any]) -> _Start:
        """The documented recovery (README, "Deploys during live calls"): the waiting flow's own
        ``flow_changed`` handler if it has one, else the start of the endpoint's flow. The caller's
        input is not lost: it reaches whatever the recovery path asks next."""
        state.waiting, state.stack, state.ended = None, [], False
        flow_name = str(stale.get("flow") or entry)
        flow = self.agent.flows.get(flow_name)
        handler = flow.events.get("flow_changed") if flow is not None else None
        if handler:
            return _Start(flow_name, Next(handler))
        return _Start(entry, Next(self._flow(entry).start))

    def _waiting_node(self, waiting: dict[str, Any] | None) -> NodeBase | None:
        if not waiting or waiting.get("kind") == "idle":
            return None
        flow = self.agent.flows.get(str(waiting.get("flow")))
        node = flow.nodes.get(str(waiting.get("node"))) if flow else None
        return node

    def _disconnect(self, turn: Turn, state: FlowState, entry: str) -> None:
        value = turn.input.value if isinstance(turn.input.value, dict) else {}
        actions = turn.options.call_events
        action = actions.get(f"disconnect:{value.get('reasonCode')}") or actions.get("disconnect")
        if action is not None:  # the endpoint's mapping for this reason, instead of events.disconnect
            start = self._apply(turn, state, entry, self._waiting_node(state.waiting), action)
            if start is not None:
                self._execute(turn, state, start)
            state.waiting, state.stack, state.ended = None, [], True
            return
        found = self._handler(state, state.waiting, entry, "events", "disconnect")
        state.waiting, state.stack = None, []
        if found is not None:
            flow, target, _ = found
            state.ended = False
            self._execute(turn, state, _Start(flow, Next(target)))
        state.waiting, state.stack, state.ended = None, [], True

    # --- execution -------------------------------------------------------------------------------

    def _execute(self, turn: Turn, state: FlowState, start: _Start) -> None:
        flow_name, step, steps = start.flow, start.step, 0
        while True:
            if isinstance(step, Next) and step.node is None:
                resumed = self._out_of_nodes(state, start)
                if resumed is None:
                    return
                flow_name, step = resumed
            elif isinstance(step, Next):
                steps += 1
                step = self._next_node(turn, flow_name, str(step.node), steps)
            else:
                moved = self._move(turn, state, flow_name, step)
                if moved is None:
                    return
                flow_name, step = moved

    def _out_of_nodes(self, state: FlowState, start: _Start) -> tuple[str, Step] | None:
        """Where a flow that ran out of nodes goes on: back into the flow that called it; else the turn
        ends idle, or (a handler that ran dry) where the conversation was before the handler."""
        if start.snapshot is not None and len(state.stack) <= start.base:
            state.waiting, state.stack = start.snapshot
            return None
        if state.stack:
            frame = state.stack.pop()
            return str(frame["flow"]), Next(frame.get("node"))
        state.waiting = {"kind": "idle"}
        return None

    def _next_node(self, turn: Turn, flow_name: str, node_id: str, steps: int) -> Step:
        turn.options.remaining()  # no node starts past the request's deadline
        if steps > turn.options.max_steps:
            message = (
                f"flow {flow_name!r}: more than {turn.options.max_steps} steps in one turn "
                f"(a loop without a question?), last at node {node_id!r}"
            )
            raise FlowError(message, log_safe=message)
        return self._run_node(turn, flow_name, node_id)

    def _move(
        self, turn: Turn, state: FlowState, flow_name: str, step: Jump | Call | Wait | End
    ) -> tuple[str, Step] | None:
        """Follow a step that leaves the node sequence: into another flow, or out of the turn (None)."""
        if isinstance(step, Jump):
            turn.ask_for(self._events.get(step.flow, ()))  # entering a flow that handles more events
            return step.flow, Next(step.node or self._flow(step.flow).start)
        if isinstance(step, Call):
            if len(state.stack) >= MAX_CALL_DEPTH:
                message = f"flow {flow_name!r}: calls nested deeper than {MAX_CALL_DEPTH}"
                raise FlowError(message, log_safe=message)
            state.stack.append({"flow": flow_name, "node": step.returns_to})
            turn.ask_for(self._events.get(step.flow, ()))
            return step.flow, Next(self._flow(step.flow).start)
        if isinstance(step, Wait):
            state.waiting = {**step.data, "flow": flow_name, "node": turn.node_id}
            return None
        state.ended, state.stack = True, []
        state.waiting = {**step.waiting, "flow": flow_name, "node": turn.node_id} if step.waiting else None
        return None

    def _run_node(self, turn: Turn, flow_name: str, node_id: str) -> Step:
        node = self._flow(flow_name).nodes.get(node_id)
        if node is None:
            raise FlowError(f"flow {flow_name!r} has no node {node_id!r}", log_safe=f"flow {flow_name!r}: no such node")
        turn.flow, turn.node_id = flow_name, node_id
        turn.path.append(f"{flow_name}:{node_id}")
        return _guarded(flow_name, node_id, node, lambda: node.run(turn))

    def _flow(self, name: str) -> Flow:
        flow = self.agent.flows.get(name)
        if flow is None:
            message = f"no flow named {name!r} (flows: {', '.join(sorted(self.agent.flows))})"
            raise FlowError(message, log_safe=message)
        return flow
