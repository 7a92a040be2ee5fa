"""Async mode in the conversation core: outputs pushed as produced, kept while no socket, never twice."""

import time
from typing import Any

import pytest

from audiocodes_endpoint.channel.audiocodes import InboundActivity, message
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.core.conversation import Conversations
from audiocodes_endpoint.core.delivery import SocketOutlet
from audiocodes_endpoint.flows.turn import FlowState, TurnResult
from tests.fakes.flows import EchoFlow
from tests.fakes.session_store import InMemorySessionStore
from tests.fakes.sockets import RecordingPusher

ENDPOINT = EndpointSettings(name="a", url_token="a", flow="main", bot_token="env:X", async_mode=True)


class TwoPartFlow:
    """Says something, then (like a slow HTTP node) looks at what has been pushed, then says more."""

    def __init__(self, pusher: RecordingPusher) -> None:
        self.pusher = pusher
        self.frames_seen_midway: list[int] = []

    def run_turn(self, flow, state, inp, context, emit, options) -> TurnResult:
        first = message("Let me check that for you")
        emit(first)
        self.frames_seen_midway.append(len(self.pusher.frames))
        second = message("Your balance is 12 euros")
        emit(second)
        return TurnResult(state=FlowState(), context=context, outputs=[first, second])


class FailingSaveStore(InMemorySessionStore):
    """Dies (like a Lambda timeout) after the flow ran and pushed, before the turn is saved."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next_save = False

    def save(self, session: Any) -> None:
        if self.fail_next_save:
            self.fail_next_save = False
            raise TimeoutError("Lambda timed out")
        super().save(session)


@pytest.fixture
def pusher():
    return RecordingPusher()


@pytest.fixture
def store():
    return FailingSaveStore()


def say(text, activity_id):
    return InboundActivity(id=activity_id, type="message", text=text)


def start():
    return InboundActivity(id="start", type="event", name="start", parameters={"caller": "+4921154591991"})


def make(store, flow, pusher):
    conversations = Conversations(store=store, flows=flow, _sleep=lambda _s: None)
    outlet = SocketOutlet(pusher, store, sleep=lambda _s: None)
    conversations.create(ENDPOINT, "c1")
    return conversations, outlet


def test_outputs_go_out_as_the_flow_produces_them(store, pusher):
    # Given a connected call and a flow that pauses between two outputs
    flow = TwoPartFlow(pusher)
    conversations, outlet = make(store, flow, pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    # When a turn runs
    conversations.handle(ENDPOINT, "c1", [say("balance", "m1")], outlet=outlet)
    # Then the first output was on the socket before the flow went on, one frame per output
    assert flow.frames_seen_midway == [1]
    assert pusher.texts() == ["Let me check that for you", "Your balance is 12 euros"]
    assert all(frame["conversation"] == "c1" and len(frame["activities"]) == 1 for _, frame in pusher.frames)


def test_outputs_before_the_socket_connects_wait_and_are_flushed_in_order(store, pusher):
    conversations, outlet = make(store, EchoFlow(), pusher)
    conversations.handle(ENDPOINT, "c1", [start(), say("one", "m1")], outlet=outlet)
    assert pusher.frames == []
    assert [a["text"] for a in store.get("a", "c1").outbox] == ["Hello caller from DE", "You said: one"]
    # When VAIC connects and the flush runs
    conversations.connect(ENDPOINT, "c1", "conn-1")
    conversations.flush(ENDPOINT, "c1", outlet)
    # Then everything arrives in order and nothing is left waiting
    assert pusher.texts() == ["Hello caller from DE", "You said: one"]
    assert store.get("a", "c1").outbox == []


def test_a_gone_socket_keeps_outputs_until_the_next_connection(store, pusher):
    conversations, outlet = make(store, EchoFlow(), pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    conversations.handle(ENDPOINT, "c1", [start()], outlet=outlet)
    # When the socket drops and the caller speaks twice
    pusher.gone.add("conn-1")
    conversations.handle(ENDPOINT, "c1", [say("one", "m1"), say("two", "m2")], outlet=outlet)
    session = store.get("a", "c1")
    assert session.connection_id is None and [a["text"] for a in session.outbox] == ["You said: one", "You said: two"]
    # And VAIC reconnects
    conversations.connect(ENDPOINT, "c1", "conn-2")
    conversations.flush(ENDPOINT, "c1", outlet)
    # Then the waiting outputs arrive on the new socket, in order, after what the old one got
    assert [(c, f["activities"][0]["text"]) for c, f in pusher.frames] == [
        ("conn-1", "Hello caller from DE"),
        ("conn-2", "You said: one"),
        ("conn-2", "You said: two"),
    ]


def test_a_turn_retried_after_a_crash_does_not_send_a_frame_twice(store, pusher):
    # Given a connected call whose first attempt dies after pushing, before saving
    flow = TwoPartFlow(pusher)
    conversations, outlet = make(store, flow, pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    store.fail_next_save = True
    with pytest.raises(TimeoutError):
        conversations.handle(ENDPOINT, "c1", [say("balance", "m1")], outlet=outlet)
    assert len(pusher.frames) == 2
    # When SQS delivers the same activity again, once the dead run's lease has ended with its
    # invocation (the default budget here: 10 s)
    conversations.clock = lambda: time.time() + 60
    conversations.handle(ENDPOINT, "c1", [say("balance", "m1")], outlet=outlet)
    # Then the flow ran again but no frame went out twice, and the turn is now saved
    assert len(pusher.frames) == 2
    assert "m1" in store.get("a", "c1").replies


def test_a_resent_activity_sends_nothing_again(store, pusher):
    conversations, outlet = make(store, EchoFlow(), pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    conversations.handle(ENDPOINT, "c1", [start()], outlet=outlet)
    conversations.handle(ENDPOINT, "c1", [start()], outlet=outlet)
    assert pusher.texts() == ["Hello caller from DE"]


def test_disconnect_reports_the_socket_to_close_and_ends_the_session(store, pusher):
    conversations, _ = make(store, EchoFlow(), pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    assert conversations.disconnect(ENDPOINT, "c1", "client-disconnected", "Client Side") == "conn-1"
    assert store.get("a", "c1").status == "ended"


def test_a_closed_socket_is_unbound_only_if_it_is_still_the_current_one(store, pusher):
    conversations, _ = make(store, EchoFlow(), pusher)
    conversations.connect(ENDPOINT, "c1", "conn-1")
    conversations.connect(ENDPOINT, "c1", "conn-2")
    conversations.connection_closed(ENDPOINT, "c1", "conn-1")
    assert store.get("a", "c1").connection_id == "conn-2"
    conversations.connection_closed(ENDPOINT, "c1", "conn-2")
    assert store.get("a", "c1").connection_id is None
