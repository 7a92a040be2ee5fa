import threading

import pytest

from audiocodes_endpoint.channel.audiocodes import InboundActivity
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.core.conversation import ConversationEnded, ConversationNotFound, Conversations
from tests.fakes.flows import EchoFlow
from tests.fakes.session_store import InMemorySessionStore

ENDPOINT = EndpointSettings(name="demo", url_token="demo", flow="main", bot_token="env:X", default_region="DE")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def flow():
    return EchoFlow()


@pytest.fixture
def store():
    return InMemorySessionStore()


@pytest.fixture
def conversations(store, flow, clock):
    return Conversations(store=store, flows=flow, clock=clock, _sleep=lambda _s: None)


def start(caller="+4921154591991", activity_id="start-1"):
    return InboundActivity(
        id=activity_id, type="event", name="start", parameters={"caller": caller, "callee": "+4930123"}
    )


def say(text, activity_id):
    return InboundActivity(id=activity_id, type="message", text=text)


def test_start_gives_the_flow_caller_metadata_and_all_start_parameters(conversations, flow):
    # Given a new conversation
    conversations.create(ENDPOINT, "c1")
    # When the start event arrives
    answer = conversations.handle(ENDPOINT, "c1", [start()])
    # Then the flow saw the metadata and the parameters, and greeted by country
    assert [a["text"] for a in answer] == ["Hello caller from DE"]
    inp = flow.inputs[0]
    assert inp.data["numberMetaData"]["number"] == "+4921154591991"
    assert inp.data["callee"] == "+4930123"
    assert (inp.userId, inp.sessionId, inp.URLToken, inp.execution) == ("+4921154591991", "c1", "demo", 1)


def test_every_activity_in_a_request_is_handled_in_order(conversations):
    conversations.create(ENDPOINT, "c1")
    answer = conversations.handle(ENDPOINT, "c1", [start(), say("one", "m1"), say("two", "m2")])
    assert [a["text"] for a in answer] == ["Hello caller from DE", "You said: one", "You said: two"]


def test_a_resent_activity_gets_the_same_answer_and_does_not_advance(conversations, store, flow):
    # Given a conversation that answered an activity
    conversations.create(ENDPOINT, "c1")
    first = conversations.handle(ENDPOINT, "c1", [start()])
    version = store.get("demo", "c1").version
    # When VAIC resends it
    again = conversations.handle(ENDPOINT, "c1", [start()])
    # Then the answer is identical (same ids) and nothing ran or was written
    assert again == first
    assert len(flow.inputs) == 1
    assert store.get("demo", "c1").version == version


def test_a_failing_flow_fails_closed_with_an_apology_and_a_hangup(conversations, store):
    conversations.create(ENDPOINT, "c1")
    answer = conversations.handle(ENDPOINT, "c1", [say("crash", "m1")])
    assert [a.get("text") or a.get("name") for a in answer] == ["about to fail", ENDPOINT.apology_text, "hangup"]
    assert answer[-1]["activityParams"] == {"hangupReason": "bot error"}
    # And later activities are not run any more (VAIC is hanging up)
    assert conversations.handle(ENDPOINT, "c1", [say("hello", "m2")]) == []


def test_unknown_and_expired_conversations_are_not_found(conversations, clock):
    with pytest.raises(ConversationNotFound):
        conversations.handle(ENDPOINT, "nope", [say("hi", "m1")])
    conversations.create(ENDPOINT, "c1")
    clock.now += ENDPOINT.session.idle_seconds + 1
    with pytest.raises(ConversationNotFound):
        conversations.handle(ENDPOINT, "c1", [say("hi", "m1")])
    with pytest.raises(ConversationNotFound):
        conversations.refresh(ENDPOINT, "c1")


def test_activity_and_refresh_extend_the_idle_expiry(conversations, clock):
    conversations.create(ENDPOINT, "c1")
    for _ in range(3):
        clock.now += ENDPOINT.session.idle_seconds - 5
        assert conversations.refresh(ENDPOINT, "c1") == ENDPOINT.session.expires_seconds
    clock.now += ENDPOINT.session.idle_seconds - 5
    assert conversations.handle(ENDPOINT, "c1", [say("still here", "m1")])


def test_repeated_create_returns_the_same_session_but_an_ended_one_conflicts(conversations):
    first = conversations.create(ENDPOINT, "c1")
    assert conversations.create(ENDPOINT, "c1").created_at == first.created_at
    conversations.disconnect(ENDPOINT, "c1", "client-disconnected", "Client Side")
    with pytest.raises(ConversationEnded):
        conversations.create(ENDPOINT, "c1")


def test_disconnect_runs_the_flow_cleanup_then_ends_the_session(conversations, store, flow):
    conversations.create(ENDPOINT, "c1")
    conversations.handle(ENDPOINT, "c1", [start()])
    # When VAIC disconnects, twice
    conversations.disconnect(ENDPOINT, "c1", "client-disconnected", "Client Side")
    conversations.disconnect(ENDPOINT, "c1", "client-disconnected", "Client Side")
    # Then the flow saw the reason once and the session is over
    assert [i.event for i in flow.inputs] == ["start", "disconnect"]
    session = store.get("demo", "c1")
    assert session.status == "ended"
    assert session.context["disconnected"] == {"reasonCode": "client-disconnected", "reason": "Client Side"}
    with pytest.raises(ConversationNotFound):
        conversations.handle(ENDPOINT, "c1", [say("hello?", "m9")])
    with pytest.raises(ConversationNotFound):
        conversations.refresh(ENDPOINT, "c1")


def test_a_hung_up_flow_answers_nothing_more(conversations):
    conversations.create(ENDPOINT, "c1")
    answer = conversations.handle(ENDPOINT, "c1", [say("goodbye", "m1")])
    assert answer[-1]["name"] == "hangup"
    assert conversations.handle(ENDPOINT, "c1", [InboundActivity(id="n", type="event", name="noUserInput")]) == []


def test_concurrent_activities_on_one_conversation_lose_no_update(store, clock):
    # Given one conversation and many threads posting different activities at once
    conversations = Conversations(store=store, flows=EchoFlow(), clock=clock)
    conversations.create(ENDPOINT, "c1")
    barrier = threading.Barrier(8)

    def post(i: int) -> None:
        barrier.wait()
        conversations.handle(ENDPOINT, "c1", [say(f"m{i}", f"id-{i}")])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every turn is in the session
    session = store.get("demo", "c1")
    assert session.execution == 8 and session.context["turns"] == 8
    assert {f"id-{i}" for i in range(8)} <= set(session.replies)


def test_activities_past_the_deadline_are_not_run_the_call_fails_closed_and_is_saved(store, clock):
    from audiocodes_endpoint.core.deadline import Deadline

    # Given a flow whose every turn takes one second, and a request with 2.5 s to work
    class SlowFlow(EchoFlow):
        def run_turn(self, *args, **kwargs):
            clock.now += 1
            return super().run_turn(*args, **kwargs)

    conversations = Conversations(store=store, flows=SlowFlow(), clock=clock, _sleep=lambda _s: None)
    conversations.create(ENDPOINT, "c1")
    deadline = Deadline(ends_at=clock.now + 3.5, margin=1.0)
    # When five activities arrive in one request
    answer = conversations.handle(ENDPOINT, "c1", [say(f"m{i}", f"id-{i}") for i in range(5)], deadline=deadline)
    # Then those that fit ran, the next one ended the call with an apology, and the rest ran nothing
    assert [a.get("text") or a.get("name") for a in answer] == [
        "You said: m0",
        "You said: m1",
        "You said: m2",
        ENDPOINT.apology_text,
        "hangup",
    ]
    session = store.get("demo", "c1")
    assert session.flow_state["ended"] and session.lease is None and session.execution == 4


def test_requests_that_wait_for_a_call_run_in_the_order_they_arrived(store, clock):
    import time

    # Given a turn that holds the call until it is let go
    let_go = threading.Event()

    class HoldingFlow(EchoFlow):
        def run_turn(self, flow, state, inp, context, emit, options):
            if inp.text == "hold":
                let_go.wait(10)
            return super().run_turn(flow, state, inp, context, emit, options)

    flow = HoldingFlow()
    conversations = Conversations(store=store, flows=flow, clock=clock, _sleep=lambda _s: time.sleep(0.001))
    conversations.create(ENDPOINT, "c1")
    holding = threading.Thread(target=conversations.handle, args=(ENDPOINT, "c1", [say("hold", "h")]))
    holding.start()
    # When five more requests arrive one after another while it runs
    waiters = []
    for i in range(5):
        waiter = threading.Thread(target=conversations.handle, args=(ENDPOINT, "c1", [say(f"m{i}", f"id-{i}")]))
        waiter.start()
        waiters.append(waiter)
        while len(store.get("demo", "c1").waiting) < i + 1:  # it has joined the line
            time.sleep(0.001)
    let_go.set()
    for thread in (holding, *waiters):
        thread.join()
    # Then they ran one at a time, first come first served
    assert [inp.text for inp in flow.inputs] == ["hold", "m0", "m1", "m2", "m3", "m4"]
