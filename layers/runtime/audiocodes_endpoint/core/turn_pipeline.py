"""One input through the endpoint's pipeline and its flow.

call limit -> input transformer -> translation to the flow's language -> intents -> flow
-> each output: translation to the caller's language -> output transformer -> named, kept, delivered
-> (sync mode) execution-finished transformer -> an analytics record, written after the session is saved.

A flow that fails answers with an apology and a hang-up; an infrastructure failure (a push that
could not be made) is raised instead, so the queue retries the turn.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.core.call_handling import event_actions, failure_activities
from audiocodes_endpoint.core.call_limits import check_call_limit
from audiocodes_endpoint.core.deadline import Deadline
from audiocodes_endpoint.core.sessions import Session
from audiocodes_endpoint.features.llm.turn_metrics import llm_metrics, llm_runtime
from audiocodes_endpoint.features.transformers import TransformerInput
from audiocodes_endpoint.features.translation import detection_session_params
from audiocodes_endpoint.flows.turn import Emit, FlowInput, FlowState, TurnOptions, TurnResult
from audiocodes_endpoint.observability import count, logger, measure

if TYPE_CHECKING:
    from audiocodes_endpoint.features.analytics import TurnRecord
    from audiocodes_endpoint.features.services import EndpointServices

_OUTPUT_IDS = uuid.UUID("6f1c1a52-58a4-4b8e-9a57-5d3c2f0e9b11")


class Outlet(Protocol):
    """Where async-mode outputs go as they are produced (the WebSocket, or the session's outbox)."""

    def send(self, session: Session, activity: dict[str, Any]) -> None: ...

    def flush(self, session: Session) -> None: ...


class FlowRunner(Protocol):
    def run_turn(
        self,
        flow: str,
        state: FlowState,
        inp: FlowInput,
        context: dict[str, Any],
        emit: Emit,
        options: TurnOptions,
    ) -> TurnResult: ...


@dataclass
class TurnOutput:
    produced: list[dict[str, Any]]
    records: list[TurnRecord] = field(default_factory=list)


class Collector:
    """Takes a turn's outputs as they are produced: shapes them, names them, keeps them, delivers them.

    Ids derive from the session, the turn and the output's position among everything the turn
    produced (dropped outputs included), so a turn re-run after a crash names its outputs the same
    and the outlet can skip those already delivered.
    """

    def __init__(
        self,
        session: Session,
        turn_id: str,
        outlet: Outlet | None,
        shape: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda wire: wire,
    ) -> None:
        self.session, self.turn_id, self.outlet, self.shape = session, turn_id, outlet, shape
        self.produced: list[dict[str, Any]] = []
        self.delivery_failures: list[Exception] = []
        self._position = 0

    def __call__(self, output: Activity) -> None:
        output.id = str(uuid.uuid5(_OUTPUT_IDS, f"{self.session.key}/{self.turn_id}/{self._position}"))
        self._position += 1
        wire = self.shape(output.to_wire())
        if wire is None:
            return
        self.produced.append(wire)
        if self.outlet is not None:
            try:
                self.outlet.send(self.session, wire)
            except Exception as error:
                self.delivery_failures.append(error)
                raise


@dataclass
class TurnRunner:
    """Runs one input through an endpoint's pipeline and flow, changing the session in place."""

    flows: FlowRunner
    clock: Callable[[], float] = time.time

    def run(
        self,
        endpoint: EndpointSettings,
        services: EndpointServices,
        session: Session,
        turn_id: str,
        make_input: Callable[[], FlowInput],
        outlet: Outlet | None,
        *,
        revives: bool = False,
        source_ip: str | None = None,
        deadline: Deadline | None = None,
    ) -> TurnOutput:
        """``revives``: the input may bring an ended flow back (a failed transfer's ``transferStatus``).

        ``deadline``: no flow step starts past it (the turn then fails closed).
        """
        if session.flow_state.get("ended") and not revives:
            return TurnOutput([])  # the flow hung up or transferred; VAIC is about to disconnect
        started = self.clock()
        # The engine measures on the monotonic clock; the conversation's clock may be a test's.
        stop_at = None if deadline is None else time.monotonic() + (deadline.stop_at - started)
        collect = Collector(session, turn_id, outlet, lambda wire: self._shape(services, session, wire))
        records: list[TurnRecord] = []
        limit = check_call_limit(endpoint.session, created_at=session.created_at, now=started, state=session.call_limit)
        session.call_limit = limit.state
        if limit.action == "hangup":
            for closing in limit.activities:
                collect(closing)
            session.flow_state = {**session.flow_state, "ended": True}
            records.append(self._record(endpoint, session, None, started, collect.produced))
            return self._finish(services, session, collect, outlet, records, source_ip)
        if limit.flow_event is not None:  # the flow is told first (no transformer: not a request)
            session.execution += 1
            told = _event_input(endpoint, session, limit.flow_event["event"], limit.flow_event["value"])
            records.append(self._flow(endpoint, services, session, told, collect, started, stop_at))
            if session.flow_state.get("ended"):  # it ended the call itself
                return self._finish(services, session, collect, outlet, records, source_ip)
        inp = self._input(endpoint, services, session, make_input)
        if inp is None:
            records.append(self._record(endpoint, session, None, started, collect.produced, outcome="dropped"))
            return self._finish(services, session, collect, outlet, records, source_ip)
        records.append(self._flow(endpoint, services, session, inp, collect, started, stop_at))
        return self._finish(services, session, collect, outlet, records, source_ip)

    def fail_closed(
        self,
        endpoint: EndpointSettings,
        services: EndpointServices,
        session: Session,
        turn_id: str,
        outlet: Outlet | None,
        cause: str,
    ) -> TurnOutput:
        """End the call as ``on_error`` says (apology + hang-up by default) without running the flow
        (e.g. no time left)."""
        if session.flow_state.get("ended"):
            return TurnOutput([])
        logger.error("the call fails closed; on_error takes over", extra={"turn_id": turn_id, "cause": cause})
        started = self.clock()
        session.execution += 1
        collect = Collector(session, turn_id, outlet, lambda wire: self._shape(services, session, wire))
        self._fail(endpoint, session, collect)
        record = self._record(endpoint, session, None, started, collect.produced, outcome="error")
        return self._finish(services, session, collect, outlet, [record], None)

    def run_disconnect(self, endpoint: EndpointSettings, session: Session, details: dict[str, Any]) -> TurnRecord:
        """The flow's disconnect path: it may change context and call code or HTTP, but sends nothing."""
        started = self.clock()
        session.execution += 1
        inp = _event_input(endpoint, session, "disconnect", details)
        try:
            self._advance(endpoint, session, inp, lambda _activity: None)
        except Exception:
            logger.exception("disconnect path of the flow failed; the session ends anyway")
        record = self._record(endpoint, session, inp, started, [], outcome="disconnect")
        return replace(record, input_type="disconnect", outcome_detail=details.get("reasonCode"), caller_text=None)

    # --- the stages ----------------------------------------------------------------------------

    def _input(
        self,
        endpoint: EndpointSettings,
        services: EndpointServices,
        session: Session,
        make_input: Callable[[], FlowInput],
    ) -> FlowInput | None:
        """The flow's input after the input transformer (``None``: dropped), translation and intents."""
        session.execution += 1
        inp = make_input()
        original = TransformerInput(userId=inp.userId, sessionId=inp.sessionId, text=inp.text, data=inp.data)
        changed = services.transformers.handle_input(original, session.storage)
        if changed is None:
            return None
        inp.userId, inp.sessionId = changed.userId or inp.userId, changed.sessionId
        inp.text, inp.data = changed.text, changed.data
        if inp.event == "paramChanged" and services.translator.settings.enabled:  # VAIC detected the language
            session.translation = services.translator.follow_vaic(inp.value, inp.data, session.translation)
        if inp.event is None and inp.text:  # what the caller said (or an inject said for them)
            if services.translator.settings.enabled:
                inp.text, session.translation = services.translator.to_flow(inp.text, session.translation)
            if services.nlu is not None:
                result = services.nlu.recognize(inp.text, inp.language)
                inp.intent, inp.intentScore, inp.slots = result.intent, result.score, dict(result.slots or {})
        return inp

    def _flow(
        self,
        endpoint: EndpointSettings,
        services: EndpointServices,
        session: Session,
        inp: FlowInput,
        collect: Collector,
        started: float,
        stop_at: float | None = None,
    ) -> TurnRecord:
        count("Turns")
        already = len(collect.produced)
        try:
            result = self._advance(endpoint, session, inp, collect, stop_at)
        except Exception:
            if collect.delivery_failures:  # our infrastructure failed, not the flow: let the queue retry
                raise collect.delivery_failures[0] from None
            logger.exception("flow failed; on_error takes over", extra={"turn_id": collect.turn_id})
            self._fail(endpoint, session, collect)
            return self._record(endpoint, session, inp, started, collect.produced[already:], outcome="error")
        record = self._record(endpoint, session, inp, started, collect.produced[already:])
        return replace(record, node_path=tuple(result.path), **llm_metrics(result.metrics))

    @staticmethod
    def _fail(endpoint: EndpointSettings, session: Session, collect: Collector) -> None:
        """The call fails closed as the endpoint says (``on_error``): apology + hang-up, or a failover transfer."""
        count("FlowErrors")
        for activity in failure_activities(endpoint.on_error, endpoint.apology_text, endpoint.default_region):
            collect(activity)
        session.flow_state = {**session.flow_state, "ended": True}

    def _advance(
        self, endpoint: EndpointSettings, session: Session, inp: FlowInput, emit: Emit, stop_at: float | None = None
    ) -> TurnResult:
        """Run the endpoint's flow on the session's state and keep the state and context it leaves."""
        result = self.flows.run_turn(
            endpoint.flow,
            FlowState.model_validate(session.flow_state),
            inp,
            session.context,
            emit,
            replace(turn_options(endpoint), deadline=stop_at),
        )
        session.flow_state = result.state.model_dump(mode="json")
        session.context = result.context
        if result.recovered_from is not None:
            logger.warning(
                "the node this call waited on changed in a deploy; the call took the recovery path",
                extra={
                    "waited_on": result.recovered_from,
                    "agent_version_at_start": session.agent_version,
                    "agent_version": getattr(self.flows, "version", ""),
                },
            )
            count("FlowRecoveries")
        return result

    def _shape(self, services: EndpointServices, session: Session, wire: dict[str, Any]) -> dict[str, Any] | None:
        """An output on its way to the caller: their language, then the output transformer."""
        if services.translator.settings.enabled:
            wire = services.translator.to_caller(wire, session.translation)
        return services.transformers.handle_output(
            wire, userId=session.user_id, sessionId=session.conversation, storage=session.storage
        )

    def _finish(
        self,
        services: EndpointServices,
        session: Session,
        collect: Collector,
        outlet: Outlet | None,
        records: list[TurnRecord],
        source_ip: str | None,
    ) -> TurnOutput:
        produced = collect.produced
        # Analytics masks the address unless data_protection.mask_ip is off.
        records = [replace(record, source_ip=source_ip) for record in records]
        if outlet is None:  # sync mode: the answer is built once the flow has finished
            finished = services.transformers.handle_execution_finished(
                produced, userId=session.user_id, sessionId=session.conversation, storage=session.storage
            )
            produced = finished or []
        return TurnOutput(produced, records)

    def _record(
        self,
        endpoint: EndpointSettings,
        session: Session,
        inp: FlowInput | None,
        started: float,
        produced: list[dict[str, Any]],
        outcome: str | None = None,
    ) -> TurnRecord:
        from audiocodes_endpoint.features.analytics import (
            TurnRecord,
            bot_text_of,
            outcome_of,
        )  # with the first turn, not at cold import

        found_outcome, detail = outcome_of(produced)
        latency_ms = int((self.clock() - started) * 1000)
        measure("TurnLatency", latency_ms)  # the dashboard's p50/p99
        return TurnRecord(
            endpoint=endpoint.url_token,
            conversation=session.conversation,
            turn=session.execution,
            started_at=started,
            latency_ms=latency_ms,
            flow=endpoint.flow,
            input_type=inp.kind if inp is not None else "message",
            event=inp.event if inp is not None else None,
            intent=inp.intent if inp is not None else None,
            intent_score=inp.intentScore if inp is not None else None,
            outcome=outcome or found_outcome,  # type: ignore[arg-type]
            outcome_detail=detail,
            language=inp.language if inp is not None else None,
            caller_text=inp.text if inp is not None else None,
            bot_text=bot_text_of(produced),
        )


def _event_input(endpoint: EndpointSettings, session: Session, event: str, value: dict[str, Any]) -> FlowInput:
    """An event the endpoint raises itself (disconnect, maxCallDuration), its value also as data."""
    return FlowInput(
        kind="event",
        event=event,
        value=value,
        data=with_number_metadata(session, dict(value)),
        userId=session.user_id,
        sessionId=session.conversation,
        URLToken=endpoint.url_token,
        execution=session.execution,
    )


def with_number_metadata(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """``input.data.numberMetaData`` on every turn, as Cognigy's tokens read it (from the call's start)."""
    call = session.context.get("call")
    metadata = call.get("numberMetaData") if isinstance(call, dict) else None
    if metadata is not None and "numberMetaData" not in data:
        data = {**data, "numberMetaData": metadata}
    return data


def turn_options(endpoint: EndpointSettings) -> TurnOptions:
    limits = endpoint.limits
    return TurnOptions(
        max_steps=limits.max_steps,
        code_timeout_seconds=limits.code_timeout_seconds,
        http_timeout_seconds=limits.http_timeout_seconds,
        allow_private_network=limits.allow_private_network,
        variables=endpoint.variables,
        call_events=event_actions(endpoint.default_region, endpoint.call_events),
        # The call's first answer: the bot-delay filler and VAIC's language detection, in one config.
        call_setup={
            **(endpoint.bot_delay.session_params() if endpoint.bot_delay else {}),
            **detection_session_params(endpoint.translation),
        },
        default_region=endpoint.default_region,
        llm=llm_runtime(endpoint),
    )
