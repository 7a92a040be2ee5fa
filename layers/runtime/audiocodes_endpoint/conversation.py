"""A conversation, whatever door its input came through (sync HTTP, async queue, inject, notify).

Every change is read-change-conditional write on the session: one read, one write, and on a
conflict (two requests of a call at once) re-read and run again, so no update is lost. The turn
itself (the endpoint's pipeline and the flow) is :class:`turns.TurnRunner`'s job.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from .flows.turn import FlowInput
from .observability import count, logger
from .protocol import Activity, CallerInput, InboundActivity, activities_in_data, message, to_caller_input
from .sessions import ConflictError, Session, SessionStore
from .settings import EndpointSettings
from .turns import Collector, FlowRunner, Outlet, TurnOutput, TurnRunner, with_number_metadata

if TYPE_CHECKING:
    from .analytics import TurnRecord
    from .services import EndpointServices

MAX_ATTEMPTS = 8


class ConversationNotFound(Exception):
    """No live conversation with that id on that endpoint (unknown, ended or expired)."""


class ConversationEnded(Exception):
    """The conversation exists but is over, so it cannot be created again."""


class ConversationBusy(Exception):
    """Too many concurrent writers on one conversation; the client should retry."""


@dataclass
class Change:
    """What a change to a session answered, whether it needs writing, and what to record once written."""

    answer: list[dict[str, Any]]
    changed: bool
    records: list[TurnRecord] = field(default_factory=list)


def _plain_services(_endpoint: EndpointSettings) -> EndpointServices:
    from .services import EndpointServices

    return EndpointServices.plain()


@dataclass
class Conversations:
    store: SessionStore
    flows: FlowRunner
    services: Callable[[EndpointSettings], EndpointServices] = _plain_services
    clock: Callable[[], float] = time.time
    _sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    turns: TurnRunner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.turns = TurnRunner(self.flows, self.clock)

    # --- lifecycle ---------------------------------------------------------------------------

    def create(self, endpoint: EndpointSettings, conversation: str) -> Session:
        """A new session; the same one again for a repeated create of a live conversation."""
        now = self.clock()
        session = Session(
            endpoint=endpoint.url_token,
            conversation=conversation,
            expires_at=int(now) + endpoint.session.idle_seconds,
            created_at=now,
            agent_version=getattr(self.flows, "version", ""),
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

    def require_live(self, endpoint: EndpointSettings, conversation: str) -> None:
        """Raise :class:`ConversationNotFound` unless the conversation is live (one read)."""
        session = self.store.get(endpoint.url_token, conversation)
        if session is None or not session.is_live(self.clock()):
            raise ConversationNotFound(conversation)

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
            record = self.turns.run_disconnect(endpoint, session, details)
            session.status = "ended"
            session.disconnect = details
            session.connection_id = None
            return Change(answer=[], changed=True, records=[record])

        self._with_session(endpoint, conversation, end, allow_ended=True)
        return connection[0]

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

    # --- inputs ------------------------------------------------------------------------------

    def handle(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        activities: Sequence[InboundActivity],
        outlet: Outlet | None = None,
        source_ip: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run every activity in order; the answer is the bot's activities, as wire JSON.

        With an ``outlet`` (async mode) each output also goes to it the moment the flow produces it.
        """

        def turn(session: Session) -> Change:
            change = Change(answer=[], changed=False)
            for activity in activities:
                if activity.id in session.replies:
                    logger.info("resent activity answered again", extra={"activity_id": activity.id})
                    change.changed |= self._replay(session, activity.id, outlet, change)
                    continue
                caller_input = to_caller_input(activity)
                if caller_input is None:
                    logger.warning("activity ignored", extra={"activity_type": activity.type})
                    output = TurnOutput([])
                else:
                    output = self.turns.run(
                        endpoint, self.services(endpoint), session, activity.id,
                        partial(self._caller_input, endpoint, session, caller_input), outlet,
                        revives=caller_input.event == "transferStatus", source_ip=source_ip,
                    )  # fmt: skip
                self._keep(session, activity.id, output, change)
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
        source_ip: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run text and/or data through the flow as if the caller had said it (``input.type == "inject"``).

        Text is taken like speech (the waiting question gets it, intents match); data alone arrives
        as the event ``inject`` for the flow's ``events.inject`` handler.
        """

        def run(session: Session) -> TurnOutput:
            def make_input() -> FlowInput:
                return FlowInput(
                    text=text, data=with_number_metadata(session, dict(data or {})), userId=session.user_id,
                    sessionId=session.conversation, URLToken=endpoint.url_token, kind="inject",
                    event=None if text else "inject", execution=session.execution, inputId=injection_id,
                )  # fmt: skip

            return self.turns.run(
                endpoint, self.services(endpoint), session, injection_id, make_input, outlet, source_ip=source_ip
            )

        return self._once(endpoint, conversation, injection_id, outlet, run)

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

        def send(session: Session) -> TurnOutput:
            collect = Collector(session, notification_id, outlet)
            for activity in notification_activities(text, data):
                collect(activity)
            return TurnOutput(collect.produced)

        return self._once(endpoint, conversation, notification_id, outlet, send)

    # --- machinery ---------------------------------------------------------------------------

    def _once(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        work_id: str,
        outlet: Outlet | None,
        run: Callable[[Session], TurnOutput],
    ) -> list[dict[str, Any]]:
        """Run a unit of queued work at most once per session (SQS may deliver it twice)."""

        def change(session: Session) -> Change:
            result = Change(answer=[], changed=False)
            if work_id in session.replies:
                result.changed = self._replay(session, work_id, outlet, result)
            else:
                self._keep(session, work_id, run(session), result)
            return result

        return self._with_session(endpoint, conversation, change)

    @staticmethod
    def _keep(session: Session, turn_id: str, output: TurnOutput, change: Change) -> None:
        session.remember_reply(turn_id, output.produced)
        change.answer.extend(output.produced)
        change.records.extend(output.records)
        change.changed = True

    @staticmethod
    def _replay(session: Session, turn_id: str, outlet: Outlet | None, change: Change) -> bool:
        """Answer a repeated input as before; ``True`` if outputs that had not gone out now wait again."""
        remembered = session.replies[turn_id]
        change.answer.extend(remembered)
        if outlet is None:
            return False
        waiting = len(session.outbox)
        for output in remembered:  # whatever did not go out the first time goes now
            outlet.send(session, output)
        return len(session.outbox) != waiting

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
            except ConflictError:
                logger.info("session changed concurrently; retrying", extra={"attempt": attempt + 1})
                self._sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
                continue
            self._record(endpoint, result.records)
            return result.answer
        raise ConversationBusy(conversation)

    def _record(self, endpoint: EndpointSettings, records: list[TurnRecord]) -> None:
        """Analytics, once the turn is saved (a retried turn does not count twice)."""
        analytics = self.services(endpoint).analytics
        if analytics is None:
            return
        for record in records:
            analytics.record_turn(record)

    def _caller_input(self, endpoint: EndpointSettings, session: Session, caller_input: CallerInput) -> FlowInput:
        data: dict[str, Any] = dict(caller_input.parameters)
        if caller_input.is_start:
            from .numbers import number_metadata  # phonenumbers: loaded by the first call, not at import

            metadata = number_metadata(caller_input.caller, endpoint.default_region)
            data["numberMetaData"] = metadata
            session.context["call"] = {**caller_input.parameters, "numberMetaData": metadata}
            # Masked with the endpoint's data_protection.mask_logging (the default).
            logger.info("call started", extra={"caller": caller_input.caller,
                        "callee": caller_input.parameters.get("callee"), "country": metadata["country"]})  # fmt: skip
        else:
            data = with_number_metadata(session, data)
        return FlowInput(
            text=caller_input.text,
            data=data,
            userId=session.user_id,
            sessionId=session.conversation,
            URLToken=endpoint.url_token,
            kind=caller_input.type,
            inputId=caller_input.activity_id,
            event=caller_input.event,
            value=caller_input.value,
            language=caller_input.language,
            confidence=caller_input.confidence,
            execution=session.execution,
        )


def notification_activities(text: str | None, data: dict[str, Any] | None) -> list[Activity]:
    """What a notify sends: the text as speech, then the activities the data carries."""
    activities = [message(text)] if text else []
    return activities + activities_in_data(data or {})
