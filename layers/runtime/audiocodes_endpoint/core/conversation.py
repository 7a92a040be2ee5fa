"""A conversation, whatever door its input came through (sync HTTP, async queue, inject, notify).

Every change runs under the session's lease (see ``core.sessions``): claim-and-read in one conditional
write, change, save-and-release in another. So each unit of work runs at most once, however its
copies arrive: a copy that finds its work running (or waiting) waits for that run's answer and
returns it; distinct requests of a call wait in line and run one at a time, first come first served.
Waiting is bounded by the request's deadline and by ``MAX_WAITING`` requests per call; past either
the request is refused with :class:`ConversationBusy`. The turn itself (the endpoint's pipeline and
the flow) is :class:`~audiocodes_endpoint.core.turn_pipeline.TurnRunner`'s job.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.channel.audiocodes import (
    Activity,
    CallerInput,
    InboundActivity,
    activities_in_data,
    message,
    to_caller_input,
)
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.core.deadline import Deadline
from audiocodes_endpoint.core.sessions import MAX_WAITING, ConflictError, Lease, Session, SessionStore, WaitingEntry
from audiocodes_endpoint.core.turn_pipeline import (
    Collector,
    FlowRunner,
    Outlet,
    TurnOutput,
    TurnRunner,
    with_number_metadata,
)
from audiocodes_endpoint.core.work import Work, WorkQueue
from audiocodes_endpoint.features.outbound.flow_context import call_direction
from audiocodes_endpoint.flows.turn import FlowInput
from audiocodes_endpoint.observability import bind_conversation, count, logger

if TYPE_CHECKING:
    from audiocodes_endpoint.features.analytics import TurnRecord
    from audiocodes_endpoint.features.services import EndpointServices

FIRST_POLL_SECONDS = 0.01
POLL_SECONDS_PER_PLACE = 0.05
MAX_POLL_SECONDS = 0.5
"""A waiting request re-reads the session (one consistent GetItem) every 10-40 ms when it is next,
50 ms more per request ahead of it, at most every 500 ms: polls cost reads, not the holder's time."""
RETRY_AFTER_SECONDS = 1


class ConversationNotFound(Exception):
    """No live conversation with that id on that endpoint (unknown, ended or expired)."""


class ConversationEnded(Exception):
    """The conversation exists but is over, so it cannot be created again."""


class ConversationBusy(Exception):
    """The request could not get its turn in time (or too many wait); the client should retry."""


class _Ended(Exception):
    """The session is over; ``session`` is what it holds (a repeated disconnect reads it)."""

    def __init__(self, session: Session) -> None:
        self.session = session


@dataclass
class Change:
    """What a change to a session answered, whether it needs writing, and what to record once written."""

    answer: list[dict[str, Any]]
    changed: bool
    records: list[TurnRecord] = field(default_factory=list)


def _plain_services(_endpoint: EndpointSettings) -> EndpointServices:
    from audiocodes_endpoint.features.services import EndpointServices

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

    def require_live(self, endpoint: EndpointSettings, conversation: str) -> Session:
        """The live session, or :class:`ConversationNotFound` (one read)."""
        session = self.store.get(endpoint.url_token, conversation)
        if session is None or not session.is_live(self.clock()):
            raise ConversationNotFound(conversation)
        return session

    def take_waiting(
        self, endpoint: EndpointSettings, conversation: str, deadline: Deadline | None = None
    ) -> list[dict[str, Any]]:
        """Async fallback: outputs waiting for a WebSocket that is gone, for VAIC's next HTTP answer.

        Taken under the lease, without waiting for it (a turn running now delivers its own outputs,
        and the next answer or a reconnect takes what it leaves). Each is recorded as delivered before
        the outbox is saved without it, so a reconnect's flush, a resend's replay or a re-run turn
        never sends it again.
        """
        deadline = deadline or self._default_deadline()
        lease = Lease(holder=uuid.uuid4().hex, work=("fallback",), until=deadline.ends_at)
        claimed = self.store.claim(endpoint.url_token, conversation, lease, self.clock(), entry=None, caller=None)
        if not claimed.taken or claimed.session is None:
            return []
        session = claimed.session
        if session.connection_id is not None or not session.outbox:
            self.store.release(session)  # a socket is back: its flush sends them
            return []
        taken, session.outbox = session.outbox, []
        for output in taken:
            self.store.mark_delivered(endpoint.url_token, conversation, output["id"])
            session.delivered.add(output["id"])
        session.expires_at = int(self.clock()) + endpoint.session.idle_seconds
        self.store.save(session)
        logger.info("outputs that waited for a WebSocket go in the HTTP answer", extra={"count": len(taken)})
        return taken

    def disconnect(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        reason_code: str | None,
        reason: str | None,
        deadline: Deadline | None = None,
    ) -> str | None:
        """End the session once the turn running (if any) is saved; the flow's disconnect path runs
        (it may not send anything).

        Returns the id of the WebSocket bound to the call (async mode), for the caller to close.
        """
        details = {"reasonCode": reason_code, "reason": reason}
        connection: list[str | None] = [None]

        def end(session: Session) -> Change:
            connection[0] = session.connection_id
            record = self.turns.run_disconnect(endpoint, session, details)
            session.status = "ended"
            session.disconnect = details
            return Change(answer=[], changed=True, records=[record])

        try:
            self._with_session(endpoint, conversation, ("disconnect",), end, deadline=deadline, allow_ended=True)
        except _Ended as ended:  # a repeated disconnect is fine, and free
            return ended.session.connection_id
        return connection[0]

    # --- async mode: the WebSocket side-channel ----------------------------------------------

    def connect(self, endpoint: EndpointSettings, conversation: str, connection_id: str) -> None:
        """Bind the WebSocket VAIC opened to the call; waiting outputs go out on the next flush.

        One write of the binding alone, no lease: a reconnect never waits for a running turn, and
        never rewrites what that turn owns.
        """
        now = self.clock()
        expires_at = int(now) + endpoint.session.idle_seconds
        if not self.store.bind_connection(endpoint.url_token, conversation, connection_id, now, expires_at):
            raise ConversationNotFound(conversation)

    def connection_closed(self, endpoint: EndpointSettings, conversation: str, connection_id: str) -> None:
        """Unbind the WebSocket, unless a newer one is bound already."""
        self.store.unbind_connection(endpoint.url_token, conversation, connection_id)

    def socket_opened(
        self, endpoint: EndpointSettings, conversation: str, connection_id: str, queue: WorkQueue
    ) -> None:
        """``$connect``: bind the socket to the call (:class:`ConversationNotFound` if it is not live),
        remember whose socket it is until the session would expire, and queue the flush of what waited."""
        self.connect(endpoint, conversation, connection_id)
        expires_at = int(self.clock()) + endpoint.session.idle_seconds
        self.store.remember_connection(connection_id, endpoint.url_token, conversation, expires_at)
        # Outputs that waited can only go out once $connect has returned: queue their flush behind it.
        queue.put(
            Work(kind="flush", endpoint=endpoint.url_token, conversation=conversation, payload={}),
            deduplication=connection_id,
        )

    def socket_closed(self, connection_id: str, endpoint_for: Callable[[str], EndpointSettings | None]) -> None:
        """``$disconnect``: unbind the socket from its call, if the call and its endpoint still exist."""
        owner = self.store.connection_owner(connection_id)
        endpoint = endpoint_for(owner[0]) if owner else None
        if owner is None or endpoint is None:
            return
        bind_conversation(owner[0], owner[1])
        with contextlib.suppress(ConversationNotFound):  # the call is already over
            self.connection_closed(endpoint, owner[1], connection_id)

    def enqueue(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        activities: Sequence[InboundActivity],
        queue: WorkQueue,
        *,
        source_ip: str | None = None,
        deadline: Deadline | None = None,
    ) -> list[dict[str, Any]]:
        """Async mode: queue each activity for the dispatcher (which runs the turn and pushes its outputs
        over the WebSocket); outputs that waited for a socket that is gone come back for this answer."""
        session = self.require_live(endpoint, conversation)
        for activity in activities:
            payload = {"activity": activity.model_dump(mode="json"), "source_ip": source_ip}
            queue.put(
                Work(kind="activity", endpoint=endpoint.url_token, conversation=conversation, payload=payload),
                deduplication=activity.id,
            )
        self.queued(endpoint, conversation, activities)
        if session.outbox and session.connection_id is None:  # the socket is gone: this answer carries them
            return self.take_waiting(endpoint, conversation, deadline)
        return []

    def flush(
        self, endpoint: EndpointSettings, conversation: str, outlet: Outlet, deadline: Deadline | None = None
    ) -> None:
        """Send the outputs that waited for a (re)connected WebSocket, in order."""

        def send_waiting(session: Session) -> Change:
            waiting = len(session.outbox)
            outlet.flush(session)
            return Change(answer=[], changed=len(session.outbox) != waiting)

        self._with_session(endpoint, conversation, ("flush",), send_waiting, deadline=deadline)

    # --- inputs ------------------------------------------------------------------------------

    def handle(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        activities: Sequence[InboundActivity],
        outlet: Outlet | None = None,
        source_ip: str | None = None,
        deadline: Deadline | None = None,
    ) -> list[dict[str, Any]]:
        """Run every activity in order; the answer is the bot's activities, as wire JSON.

        With an ``outlet`` (async mode) each output also goes to it the moment the flow produces it.
        Past the deadline the call fails closed: an apology and a hang-up, the state saved.
        """
        deadline = deadline or self._default_deadline()
        caller_inputs = {activity.id: to_caller_input(activity) for activity in activities}
        metadata = self._start_metadata(endpoint, caller_inputs)
        known = [m["number"] for m in metadata.values() if m.get("valid") and m.get("number")]

        def turn(session: Session) -> Change:
            change = Change(answer=[], changed=False)
            for activity in activities:
                if activity.id in session.replies:
                    logger.info("resent activity answered again", extra={"activity_id": activity.id})
                    change.changed |= self._replay(session, activity.id, outlet, change)
                    continue
                caller_input = caller_inputs[activity.id]
                if caller_input is None:
                    logger.warning("activity ignored", extra={"activity_type": activity.type})
                    output = TurnOutput([])
                elif self.clock() >= deadline.stop_at:
                    output = self.turns.fail_closed(
                        endpoint, self.services(endpoint), session, activity.id, outlet, "deadline"
                    )
                else:
                    make_input = partial(self._caller_input, endpoint, session, caller_input, metadata.get(activity.id))
                    output = self.turns.run(
                        endpoint, self.services(endpoint), session, activity.id, make_input, outlet,
                        revives=caller_input.event == "transferStatus", source_ip=source_ip, deadline=deadline,
                    )  # fmt: skip
                self._keep(session, activity.id, output, change)
            return change

        def answered(session: Session) -> list[dict[str, Any]] | None:
            """A copy's answer, once the first run of every activity in it has been saved."""
            if not all(activity.id in session.replies for activity in activities):
                return None
            return [output for activity in activities for output in session.replies[activity.id]]

        work = tuple(dict.fromkeys(activity.id for activity in activities))
        return self._with_session(
            endpoint,
            conversation,
            work,
            turn,
            deadline=deadline,
            caller=known[0] if known else None,
            answered=answered if outlet is None else None,
        )

    def inject(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        injection_id: str,
        text: str | None,
        data: dict[str, Any] | None,
        outlet: Outlet | None,
        source_ip: str | None = None,
        deadline: Deadline | None = None,
    ) -> list[dict[str, Any]]:
        """Run text and/or data through the flow as if the caller had said it (``input.type == "inject"``).

        Text is taken like speech (the waiting question gets it, intents match); data alone arrives
        as the event ``inject`` for the flow's ``events.inject`` handler.
        """
        deadline = deadline or self._default_deadline()

        def run(session: Session) -> TurnOutput:
            def make_input() -> FlowInput:
                return FlowInput(
                    text=text,
                    data=with_number_metadata(session, dict(data or {})),
                    userId=session.user_id,
                    sessionId=session.conversation,
                    URLToken=endpoint.url_token,
                    kind="inject",
                    event=None if text else "inject",
                    execution=session.execution,
                    inputId=injection_id,
                )

            return self.turns.run(
                endpoint,
                self.services(endpoint),
                session,
                injection_id,
                make_input,
                outlet,
                source_ip=source_ip,
                deadline=deadline,
            )

        return self._once(endpoint, conversation, injection_id, outlet, run, deadline)

    def notify(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        notification_id: str,
        text: str | None,
        data: dict[str, Any] | None,
        outlet: Outlet | None,
        deadline: Deadline | None = None,
    ) -> list[dict[str, Any]]:
        """Send text (spoken) and the activities in ``data`` straight to the caller, bypassing the flow."""

        def send(session: Session) -> TurnOutput:
            collect = Collector(session, notification_id, outlet)
            for activity in notification_activities(text, data):
                collect(activity)
            return TurnOutput(collect.produced)

        return self._once(endpoint, conversation, notification_id, outlet, send, deadline)

    # --- machinery ---------------------------------------------------------------------------

    def _once(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        work_id: str,
        outlet: Outlet | None,
        run: Callable[[Session], TurnOutput],
        deadline: Deadline | None,
    ) -> list[dict[str, Any]]:
        """Run a unit of queued work at most once per session (SQS may deliver it twice)."""

        def change(session: Session) -> Change:
            result = Change(answer=[], changed=False)
            if work_id in session.replies:
                result.changed = self._replay(session, work_id, outlet, result)
            else:
                self._keep(session, work_id, run(session), result)
            return result

        return self._with_session(endpoint, conversation, (work_id,), change, deadline=deadline)

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

    def _default_deadline(self) -> Deadline:
        return Deadline.from_context(None, self.clock())

    def _with_session(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        work: tuple[str, ...],
        change: Callable[[Session], Change],
        *,
        deadline: Deadline | None = None,
        caller: str | None = None,
        answered: Callable[[Session], list[dict[str, Any]] | None] | None = None,
        allow_ended: bool = False,
    ) -> list[dict[str, Any]]:
        """Take the session's lease, change the session, save it and release the lease.

        ``answered`` (sync mode) gives a copy of running work its first run's answer without a turn.
        """
        deadline = deadline or self._default_deadline()
        try:
            claimed = self._acquire(endpoint, conversation, work, deadline, caller, answered)
        except _Ended:
            if not allow_ended:
                raise ConversationNotFound(conversation) from None
            raise
        if not isinstance(claimed, Session):
            return claimed
        session = claimed
        try:
            result = change(session)
        except BaseException:
            self.store.release(session)  # whoever waits goes on now, not when the lease expires
            raise
        if not result.changed:
            self.store.release(session)  # a resend, or nothing to do: one more small write
            return result.answer
        if session.status == "active":
            session.expires_at = int(self.clock()) + endpoint.session.idle_seconds
        try:
            self.store.save(session)
        except ConflictError:
            # Only if the lease expired under us (we ran past the invocation's end): not saved.
            logger.error("the session's lease was lost before the save; the turn is not saved")
            raise ConversationBusy(conversation) from None
        except Exception:
            with contextlib.suppress(Exception):  # best effort: waiters go on now, not at the lease's end
                self.store.release(session)
            raise
        self._record(endpoint, result.records)
        return result.answer

    def _acquire(
        self,
        endpoint: EndpointSettings,
        conversation: str,
        work: tuple[str, ...],
        deadline: Deadline,
        caller: str | None,
        answered: Callable[[Session], list[dict[str, Any]] | None] | None,
    ) -> Session | list[dict[str, Any]]:
        """The session with our lease on it, or (a copy, sync mode) the answer of the run it waited for.

        Uncontended: one request. Contended: wait in line, re-reading the session with backoff, and
        claim when first in line and the lease is free. Raises :class:`ConversationNotFound`,
        :class:`_Ended` or :class:`ConversationBusy`.
        """
        store, token = self.store, endpoint.url_token
        holder = uuid.uuid4().hex
        entry: str | None = None
        polls, claim = 0, True
        while True:
            now = self.clock()
            if claim:
                lease = Lease(holder=holder, work=work, until=deadline.ends_at)
                result = store.claim(token, conversation, lease, now, entry=entry, caller=caller)
                if result.taken:
                    assert result.session is not None
                    return result.session
                seen = result.session
            else:
                seen = store.get(token, conversation)
            claim = False
            seen = _still_live(seen, conversation, now)
            if answered is not None and (answer := answered(seen)) is not None:
                return answer
            copy_running = answered is not None and _running_elsewhere(seen, work, holder, now)
            if (entry is None and not copy_running) or (entry is not None and entry not in seen.waiting):
                entry = WaitingEntry(until=deadline.stop_at, holder=holder, work=work).encode()
                if not store.wait_in_line(token, conversation, entry, MAX_WAITING):
                    logger.warning("too many requests wait for this call; refused", extra={"limit": MAX_WAITING})
                    raise ConversationBusy(conversation)
                claim = True
                continue
            lease_free = seen.lease is None or not seen.lease.live(now)
            first = seen.waiting[0] if seen.waiting else None
            if lease_free and first is not None and first == entry:
                claim = True
                continue
            if lease_free and first is not None and WaitingEntry.decode(first).until <= now:
                store.leave_line(token, conversation, first)  # its request gave up or died
                continue
            if now >= deadline.stop_at:
                logger.warning("gave up waiting for the call's turn", extra={"work": list(work)})
                raise ConversationBusy(conversation)
            ahead = seen.waiting.index(entry) if entry in seen.waiting else 0
            pause = FIRST_POLL_SECONDS * 2 ** min(polls, 2) + POLL_SECONDS_PER_PLACE * ahead
            self._sleep(min(pause, MAX_POLL_SECONDS, max(0.0, deadline.stop_at - now)))
            polls += 1

    def _record(self, endpoint: EndpointSettings, records: list[TurnRecord]) -> None:
        """Analytics, once the turn is saved (a retried turn does not count twice)."""
        analytics = self.services(endpoint).analytics
        if analytics is None:
            return
        for record in records:
            analytics.record_turn(record)

    def queued(self, endpoint: EndpointSettings, conversation: str, activities: Sequence[InboundActivity]) -> None:
        """Async mode: activities were queued. A ``start`` among them names the caller at once, so
        inject and notify accept the caller's number before the dispatcher has run the turn."""
        inputs = {activity.id: to_caller_input(activity) for activity in activities}
        for found in self._start_metadata(endpoint, inputs).values():
            if found.get("valid") and found.get("number"):
                self.store.remember_caller(endpoint.url_token, conversation, str(found["number"]))

    @staticmethod
    def _start_metadata(
        endpoint: EndpointSettings, caller_inputs: dict[str, CallerInput | None]
    ) -> dict[str, dict[str, Any]]:
        """Caller number metadata of the ``start`` activities, by activity id."""
        starts = {key: found for key, found in caller_inputs.items() if found is not None and found.is_start}
        if not starts:
            return {}
        from audiocodes_endpoint.features.caller_numbers import (
            number_metadata,
        )  # phonenumbers: loaded by the first start, not at import

        return {key: number_metadata(found.caller, endpoint.default_region) for key, found in starts.items()}

    def _caller_input(
        self,
        endpoint: EndpointSettings,
        session: Session,
        caller_input: CallerInput,
        metadata: dict[str, Any] | None,
    ) -> FlowInput:
        data: dict[str, Any] = dict(caller_input.parameters)
        if metadata is not None:
            data["numberMetaData"] = metadata
            session.context["call"] = {
                **caller_input.parameters,
                "numberMetaData": metadata,
                "direction": call_direction(caller_input.parameters),
            }
            # Masked with the endpoint's data_protection.mask_logging (the default).
            logger.info(
                "call started",
                extra={
                    "caller": caller_input.caller,
                    "callee": caller_input.parameters.get("callee"),
                    "country": metadata["country"],
                },
            )
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


def _still_live(seen: Session | None, conversation: str, now: float) -> Session:
    """``seen``, if the call it is can still take work; else :class:`ConversationNotFound` or :class:`_Ended`."""
    if seen is None or now >= seen.expires_at:
        raise ConversationNotFound(conversation)
    if seen.status == "ended":
        raise _Ended(seen)
    return seen


def _running_elsewhere(session: Session, work: tuple[str, ...], holder: str, now: float) -> bool:
    """Is some of ``work`` being run (or waiting to run) by another request: are we its copy?"""
    mine = set(work)
    if session.lease is not None and session.lease.live(now) and mine & set(session.lease.work):
        return True
    return any(e.holder != holder and e.until > now and mine & set(e.work) for e in session.waiting_entries())


def notification_activities(text: str | None, data: dict[str, Any] | None) -> list[Activity]:
    """What a notify sends: the text as speech, then the activities the data carries."""
    activities = [message(text)] if text else []
    return activities + activities_in_data(data or {})
