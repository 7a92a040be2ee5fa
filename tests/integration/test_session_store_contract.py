"""The session store contract, run against the DynamoDB adapter on moto and the in-memory fake alike,
so the fake the unit tests use behaves as DynamoDB does (leases, the line, what ``save`` keeps)."""

from __future__ import annotations

import pytest

from audiocodes_endpoint.adapters.aws.session_store import DynamoDBSessionStore
from audiocodes_endpoint.core.sessions import ConflictError, Lease, Session, WaitingEntry
from tests.fakes.session_store import InMemorySessionStore

NOW = 1_700_000_000.0


@pytest.fixture(params=["dynamodb", "memory"])
def store(request):
    if request.param == "memory":
        return InMemorySessionStore()
    return DynamoDBSessionStore(request.getfixturevalue("sessions_table"))


def new_session(conversation="c1"):
    return Session(endpoint="demo", conversation=conversation, expires_at=int(NOW) + 180, created_at=NOW)


def lease(holder="a", work=("m1",), until=NOW + 10):
    return Lease(holder=holder, work=work, until=until)


def entry(holder, work=("m9",), until=NOW + 9):
    return WaitingEntry(until=until, holder=holder, work=work).encode()


def test_a_claim_takes_the_lease_and_reads_the_session_in_one_request(store):
    store.create(new_session())
    claimed = store.claim("demo", "c1", lease(), NOW, entry=None, caller="+4921154591991")
    assert claimed.taken and claimed.session.lease == lease() and claimed.session.version == 1
    assert claimed.session.caller == "+4921154591991" and claimed.session.user_id == "+4921154591991"


def test_a_held_lease_refuses_a_claim_and_tells_who_holds_it_until_it_expires(store):
    store.create(new_session())
    store.claim("demo", "c1", lease("a"), NOW, entry=None, caller=None)
    refused = store.claim("demo", "c1", lease("b", ("m2",)), NOW + 1, entry=None, caller=None)
    assert not refused.taken and refused.session.lease == lease("a")
    # A lease left by a crashed holder ends at its deadline
    assert store.claim("demo", "c1", lease("b", ("m2",), NOW + 30), NOW + 10, entry=None, caller=None).taken


def test_missing_and_ended_sessions_cannot_be_claimed(store):
    assert store.claim("demo", "nope", lease(), NOW, entry=None, caller=None).session is None
    store.create(new_session())
    session = store.claim("demo", "c1", lease(), NOW, entry=None, caller=None).session
    session.status = "ended"
    store.save(session)
    refused = store.claim("demo", "c1", lease("b"), NOW, entry=None, caller=None)
    assert not refused.taken and refused.session.status == "ended"


def test_waiters_are_served_first_come_first_served(store):
    store.create(new_session())
    store.claim("demo", "c1", lease("a"), NOW, entry=None, caller=None)
    first, second = entry("b"), entry("c")
    assert store.wait_in_line("demo", "c1", first, limit=2) and store.wait_in_line("demo", "c1", second, limit=2)
    assert not store.wait_in_line("demo", "c1", entry("d"), limit=2)  # the line is full
    session = store.get("demo", "c1")
    store.release(session)
    # Then nobody may jump the line, and the second waits for the first
    assert not store.claim("demo", "c1", lease("x"), NOW, entry=None, caller=None).taken
    assert not store.claim("demo", "c1", lease("c"), NOW, entry=second, caller=None).taken
    taken = store.claim("demo", "c1", lease("b"), NOW, entry=first, caller=None)
    assert taken.taken and taken.session.waiting == [second]


def test_only_the_first_in_line_can_be_removed(store):
    store.create(new_session())
    first, second = entry("b", until=NOW - 1), entry("c")
    store.wait_in_line("demo", "c1", first, limit=5)
    store.wait_in_line("demo", "c1", second, limit=5)
    store.leave_line("demo", "c1", second)
    store.leave_line("demo", "c1", first)
    assert store.get("demo", "c1").waiting == [second]


def test_save_releases_the_lease_and_keeps_what_other_writers_own(store):
    # Given a holder running a turn while others write beside it
    store.create(new_session())
    session = store.claim("demo", "c1", lease("a"), NOW, entry=None, caller=None).session
    store.wait_in_line("demo", "c1", entry("b"), limit=5)
    assert store.bind_connection("demo", "c1", "conn-2", NOW, int(NOW) + 180)
    store.mark_delivered("demo", "c1", "out-1")
    # When it saves its turn
    session.execution = 1
    session.remember_reply("m1", [{"id": "out-1", "type": "message", "text": "hi"}])
    store.save(session)
    # Then its state is written, its lease released, and the line, the socket and the push are kept
    stored = store.get("demo", "c1")
    assert (stored.execution, stored.version, stored.lease) == (1, 2, None)
    assert stored.waiting == [entry("b")] and stored.connection_id == "conn-2" and stored.delivered == {"out-1"}


def test_save_prunes_only_delivered_ids_it_read_and_no_reply_names(store):
    store.create(new_session())
    store.mark_delivered("demo", "c1", "old")
    session = store.claim("demo", "c1", lease("a"), NOW, entry=None, caller=None).session
    store.mark_delivered("demo", "c1", "pushed-meanwhile")  # not read by the holder: kept
    store.save(session)
    assert store.get("demo", "c1").delivered == {"pushed-meanwhile"}


def test_a_save_after_the_lease_was_taken_over_is_refused(store):
    store.create(new_session())
    stale = store.claim("demo", "c1", lease("a"), NOW, entry=None, caller=None).session
    successor = store.claim("demo", "c1", lease("b", until=NOW + 40), NOW + 11, entry=None, caller=None).session
    stale.execution = 99
    with pytest.raises(ConflictError):
        store.save(stale)
    store.release(stale)  # and its release does not free the successor's lease
    assert store.get("demo", "c1").lease == successor.lease


def test_the_socket_binding_is_changed_only_by_its_owner(store):
    store.create(new_session())
    assert store.bind_connection("demo", "c1", "conn-1", NOW, int(NOW) + 180)
    store.unbind_connection("demo", "c1", "conn-0")  # an older socket's $disconnect
    assert store.get("demo", "c1").connection_id == "conn-1"
    store.unbind_connection("demo", "c1", "conn-1")
    assert store.get("demo", "c1").connection_id is None
    assert not store.bind_connection("demo", "missing", "conn-1", NOW, int(NOW) + 180)


def test_the_callers_number_can_be_stored_before_the_start_turn_runs(store):
    store.create(new_session())
    store.remember_caller("demo", "c1", "+4921154591991")
    store.remember_caller("demo", "missing", "+4921154591991")  # nothing to store it on: no error
    assert store.get("demo", "c1").user_id == "+4921154591991"
    assert store.get("demo", "missing") is None
