"""One conversation turn, whatever door it came through (sync HTTP, async queue, inject).

load the session (1 read) -> skip activities already answered -> map each activity to a flow
input (caller metadata on ``start``, intents on text) -> run the flow -> save the session
(1 conditional write; on a conflict re-read and run again, so concurrent requests never lose an
update). A flow that fails answers with an apology and a hang-up instead of an HTTP error.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .flows.turn import Emit, FlowInput, FlowState, TurnOptions, TurnResult
from .numbers import number_metadata
from .observability import count, logger
from .protocol import Activity, CallerInput, InboundActivity, activities_in_data, event, message, to_caller_input
from .sessions import ConflictError, Session, SessionStore
from .settings import EndpointSettings

MAX_ATTEMPTS = 8
_OUTPUT_IDS = uuid.UUID("6f1c1a52-58a4-4b8e-9a57-5d3c2f0e9b11")


class ConversationNotFound(Exception):
    """No live conversation with that id on that endpoint (unknown, ended or expired)."""


class ConversationEnded(Exception):
    """The conversation exists but is over, so it cannot be created again."""


class ConversationBusy(Exception):
    """Too many concurrent writers on one conversation; the client should retry."""


@dataclass
class Change:
    """What a change to a session answered, and whether it needs writing."""

    answer: list[dict[str, Any]]
    changed: bool


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


class IntentRecognizer(Protocol):
    def recognize(self, text: str, language: str | None) -> Any:
        """An object with ``intent``, ``score`` and ``slots``."""


@dataclass
class Conversations:
    store: SessionStore
    flows: FlowRunner
    nlu: IntentRecognizer | None = None
    clock: Callable[[], float] = time.time
    _sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    # --- lifecycle ---------------------------------------------------------------------------

    def create(self, endpoint: EndpointSettings, conversation: str) -> Session:
        """A new session; the same one again for a repeated create of a live conversation."""
        now = self.clock()
        session = Session(
            endpoint=endpoint.url_token,
            conversation=conversation,
            expires_at=int(now) + endpoint.session.idle_seconds,
            created_at=now,
        )
        if self.store.create(session) is not None:
            count("Calls")
            return session
        existing = self.store.get(endpoint.url_token, conversation)
        if existing is not None and existing.is_live(now):
            return existing
        raise ConversationEnded(conversation)

    def refresh(self, endpoint: EndpointSettings, conversation: str) -> int:
        now = self.clock()
        if not self.store.extend(endpoint.url_token, conversation, int(now) + endpoint.session.idle_seconds, now):
            raise ConversationNotFound(conversation)
        return endpoint.session.expires_seconds

    def disconnect(
        self, endpoint: EndpointSettings, conversation: str, reason_code: str | None, reason: str | None
    ) -> str | None:
        """End the session; the flow's disconnect path runs (it may not send anything).

        Returns the id of the WebSocket bound to the call (async mode), for the caller to close.
        """
        details = {"reasonCode": reason_code, "reason": reason}
        connection: list[str | None] = [None]

        def end(session: Session) -> Change:
            connection[0] = session.connection_id
            if session.status == "ended":
                return Change(answer=[], changed=False)  # a repeated disconnect is fine, and free
            self._run_disconnect(endpoint, session, details)
            session.status = "ended"
            session.disconnect = details
            session.connection_id = None
            return Change(answer=[], changed=True)

        self._with_session(endpoint, conversation, end, allow_ended=True)
        return connection[0]

    def require_live(self, endpoint: EndpointSettings, conversation: str) -> None:
        """Raise :class:`ConversationNotFound` unless the conversation is live (one read)."""
        session = self.store.get(endpoint.url_token, conversation)
        if session is None or not session.is_live(self.clock()):
            raise ConversationNotFound(conversation)

    # --- async mode: the WebSocket side-channel ----------------------------------------------

    def connect(self, endpoint: EndpointSettings, conversation: str, connection_id: str) -> None:
        """Bind the WebSocket VAIC opened to the call; waiting outputs go out on the next flush."""

        def bind(session: Session) -> Change:
            session.connection_id = connection_id
            session.connected_at = self.clock()
            return Change(answer=[], changed=True)

        self._with_session(endpoint, conversation, bind)

    def connection_closed(self, endpoint: EndpointSettings, conversation: str, connection_id: str) -> None:
        def unbind(session: Session) -> Change:
            if session.connection_id != connection_id:
                return Change(answer=[], changed=False)  # a newer socket is bound already
            session.connection_id = None
            return Change(answer=[], changed=True)

        self._with_session(endpoint, conversation, unbind, allow_ended=True)

    def flush(self, endpoint: EndpointSettings, conversation: str, outlet: Outlet) -> None:
        """Send the outputs that waited for a (re)connected WebSocket, in order."""

        def send_waiting(session: Session) -> Change:
            waiting = len(session.outbox)
            outlet.flush(session)
            return Change(answer=[], changed=len(session.outbox) != waiting)

        self._with_session(endpoint, conversation, send_waiting)

    # --- turns -------------------------------------------------------------------------------

    def handle(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        activities: Sequence[InboundActivity],
        outlet: Outlet | None = None,
    ) -> list[dict[str, Any]]:
        """Run every activity in order; the answer is the bot's activities, as wire JSON.

        With an ``outlet`` (async mode) each output also goes to it the moment the flow produces it.
        """

        def turn(session: Session) -> Change:
            change = Change(answer=[], changed=False)
            for activity in activities:
                remembered = session.replies.get(activity.id)
                if remembered is not None:
                    logger.info("resent activity answered again", extra={"activity_id": activity.id})
                    change.answer.extend(remembered)
                    if outlet is not None:  # whatever did not go out the first time goes now
                        waiting = len(session.outbox)
                        for output in remembered:
                            outlet.send(session, output)
                        change.changed |= len(session.outbox) != waiting
                    continue
                produced = self._run_activity(endpoint, session, activity, outlet)
                session.remember_reply(activity.id, produced)
                change.answer.extend(produced)
                change.changed = True
            return change

        return self._with_session(endpoint, conversation, turn)

    def inject(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        injection_id: str,
        text: str | None,
        data: dict[str, Any] | None,
        outlet: Outlet | None,
    ) -> list[dict[str, Any]]:
        """Run text and/or data through the flow as if the caller had said it (``input.type == "inject"``).

        Text is taken like speech (the waiting question gets it, intents match); data alone arrives
        as the event ``inject`` for the flow's ``events.inject`` handler.
        """

        def make_input(session: Session) -> FlowInput:
            inp = FlowInput(
                text=text, data=dict(data or {}), userId=user_id_of(session), sessionId=session.conversation,
                URLToken=endpoint.url_token, type="inject", event=None if text else "inject",
                execution=session.execution,
            )  # fmt: skip
            if self.nlu is not None and text:
                result = self.nlu.recognize(text, None)
                inp.intent, inp.intentScore, inp.slots = result.intent, result.score, dict(result.slots or {})
            return inp

        return self._once(
            endpoint, conversation, injection_id, outlet,
            lambda session: self._run_flow(endpoint, session, injection_id, lambda: make_input(session), outlet),
        )  # fmt: skip

    def notify(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        notification_id: str,
        text: str | None,
        data: dict[str, Any] | None,
        outlet: Outlet | None,
    ) -> list[dict[str, Any]]:
        """Send text (spoken) and the activities in ``data`` straight to the caller, bypassing the flow."""

        def send(session: Session) -> list[dict[str, Any]]:
            collect = Collector(session, notification_id, outlet)
            for activity in notification_activities(text, data):
                collect(activity)
            return collect.produced

        return self._once(endpoint, conversation, notification_id, outlet, send)

    def _once(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        work_id: str,
        outlet: Outlet | None,
        run: Callable[[Session], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Run a unit of queued work at most once per session (SQS may deliver it twice)."""

        def change(session: Session) -> Change:
            remembered = session.replies.get(work_id)
            if remembered is not None:
                waiting = len(session.outbox)
                if outlet is not None:  # whatever did not go out the first time goes now
                    for output in remembered:
                        outlet.send(session, output)
                return Change(answer=remembered, changed=len(session.outbox) != waiting)
            produced = run(session)
            session.remember_reply(work_id, produced)
            return Change(answer=produced, changed=True)

        return self._with_session(endpoint, conversation, change)

    def _with_session(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        change: Callable[[Session], Change],
        *,
        allow_ended: bool = False,
    ) -> list[dict[str, Any]]:
        """Read, change and conditionally write the session, retrying on a concurrent write."""
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock()
            session = self.store.get(endpoint.url_token, conversation)
            if session is None or now >= session.expires_at or (session.status == "ended" and not allow_ended):
                raise ConversationNotFound(conversation)
            result = change(session)
            if not result.changed:
                return result.answer  # a resend or a repeated disconnect: nothing to write
            if session.status == "active":
                session.expires_at = int(now) + endpoint.session.idle_seconds
            session.forget_old_deliveries()
            try:
                self.store.save(session)
                return result.answer
            except ConflictError:
                logger.info("session changed concurrently; retrying", extra={"attempt": attempt + 1})
                self._sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise ConversationBusy(conversation)

    def _run_activity(
        self, endpoint: EndpointSettings, session: Session, activity: InboundActivity, outlet: Outlet | None
    ) -> list[dict[str, Any]]:
        caller_input = to_caller_input(activity)
        if caller_input is None:
            logger.warning("activity ignored", extra={"activity_type": activity.type, "activity_id": activity.id})
            return []
        return self._run_flow(
            endpoint, session, activity.id, lambda: self._flow_input(endpoint, session, caller_input), outlet
        )

    def _run_flow(
        self,
        endpoint: EndpointSettings,
        session: Session,
        turn_id: str,
        make_input: Callable[[], FlowInput],
        outlet: Outlet | None,
    ) -> list[dict[str, Any]]:
        """One input through the flow; a flow that fails ends the call with an apology."""
        if session.flow_state.get("ended"):
            return []  # the flow hung up or transferred; VAIC is about to disconnect
        session.execution += 1
        count("Turns")
        inp = make_input()
        collect = Collector(session, turn_id, outlet)
        try:
            result = self.flows.run_turn(
                endpoint.flow, FlowState.model_validate(session.flow_state), inp, session.context, collect,
                _turn_options(endpoint),
            )  # fmt: skip
        except Exception:
            if collect.delivery_failures:  # our infrastructure failed, not the flow: let the queue retry
                raise collect.delivery_failures[0] from None
            logger.exception("flow failed; the call is ended with an apology", extra={"turn_id": turn_id})
            count("FlowErrors")
            collect(message(endpoint.apology_text))
            collect(event("hangup", activity_params={"hangupReason": "bot error"}))
            session.flow_state = {**session.flow_state, "ended": True}
            return collect.produced
        session.flow_state = result.state.model_dump(mode="json")
        session.context = result.context
        return collect.produced

    def _flow_input(self, endpoint: EndpointSettings, session: Session, caller_input: CallerInput) -> FlowInput:
        data: dict[str, Any] = dict(caller_input.parameters)
        if caller_input.is_start:
            metadata = number_metadata(caller_input.caller, endpoint.default_region)
            data["numberMetaData"] = metadata
            session.context["call"] = {**caller_input.parameters, "numberMetaData": metadata}
        inp = FlowInput(
            text=caller_input.text,
            data=data,
            userId=user_id_of(session),
            sessionId=session.conversation,
            URLToken=endpoint.url_token,
            type=caller_input.type,
            event=caller_input.event,
            value=caller_input.value,
            language=caller_input.language,
            confidence=caller_input.confidence,
            execution=session.execution,
        )
        if self.nlu is not None and caller_input.type == "message" and caller_input.text:
            result = self.nlu.recognize(caller_input.text, caller_input.language)
            inp.intent, inp.intentScore, inp.slots = result.intent, result.score, dict(result.slots or {})
        return inp

    def _run_disconnect(self, endpoint: EndpointSettings, session: Session, details: dict[str, Any]) -> None:
        session.execution += 1
        inp = FlowInput(
            type="event",
            event="disconnect",
            value=details,
            data=dict(details),
            userId=user_id_of(session),
            sessionId=session.conversation,
            URLToken=endpoint.url_token,
            execution=session.execution,
        )
        try:
            result = self.flows.run_turn(
                endpoint.flow, FlowState.model_validate(session.flow_state), inp, session.context,
                lambda _activity: None, _turn_options(endpoint),
            )  # fmt: skip
        except Exception:
            logger.exception("disconnect path of the flow failed; the session ends anyway")
            return
        session.flow_state = result.state.model_dump(mode="json")
        session.context = result.context


class Collector:
    """Takes a turn's outputs as they are produced: names them, keeps them, hands them to the outlet.

    Ids derive from the session, the turn and the output's position, so a turn re-run after a crash
    names its outputs the same and the outlet can skip those already delivered.
    """

    def __init__(self, session: Session, turn_id: str, outlet: Outlet | None) -> None:
        self.session, self.turn_id, self.outlet = session, turn_id, outlet
        self.produced: list[dict[str, Any]] = []
        self.delivery_failures: list[Exception] = []

    def __call__(self, output: Activity) -> None:
        output.id = str(uuid.uuid5(_OUTPUT_IDS, f"{self.session.key}/{self.turn_id}/{len(self.produced)}"))
        wire = output.to_wire()
        self.produced.append(wire)
        if self.outlet is not None:
            try:
                self.outlet.send(self.session, wire)
            except Exception as error:
                self.delivery_failures.append(error)
                raise


def user_id_of(session: Session) -> str:
    """The caller's E.164 number when known (Cognigy keyed users by it), else the conversation id."""
    metadata = session.context.get("call", {}).get("numberMetaData", {})
    number = metadata.get("number") if metadata.get("valid") else None
    return number or session.conversation


def notification_activities(text: str | None, data: dict[str, Any] | None) -> list[Activity]:
    """What a notify sends: the text as speech, then the activities the data carries."""
    activities = [message(text)] if text else []
    return activities + activities_in_data(data or {})


def _turn_options(endpoint: EndpointSettings) -> TurnOptions:
    limits = endpoint.limits
    return TurnOptions(
        max_steps=limits.max_steps,
        code_timeout_seconds=limits.code_timeout_seconds,
        http_timeout_seconds=limits.http_timeout_seconds,
        allow_private_network=limits.allow_private_network,
        variables=endpoint.variables,
    )
