import threading

import boto3
import pytest

from audiocodes_endpoint.adapters.aws.session_store import DynamoDBSessionStore
from audiocodes_endpoint.core.sessions import ConflictError, Session

NOW = 1_700_000_000.0


def new_session(conversation="c1", expires_at=int(NOW) + 180):
    return Session(endpoint="demo", conversation=conversation, expires_at=expires_at, created_at=NOW)


@pytest.fixture
def store(sessions_table):
    return DynamoDBSessionStore(sessions_table)


def test_a_session_round_trips_with_its_state(store):
    session = new_session()
    session.context = {"call": {"caller": "+49"}, "amount": 12.5, "nested": [1, {"a": None}]}
    session.flow_state = {"stack": [{"flow": "main", "node": "menu"}], "waiting": None, "ended": False}
    session.remember_reply("a1", [{"type": "message", "text": "Hallo ü"}])
    assert store.create(session) is not None
    loaded = store.get("demo", "c1")
    assert loaded == session
    assert loaded.version == 1


def test_create_refuses_an_existing_conversation(store):
    assert store.create(new_session()) is not None
    assert store.create(new_session()) is None


def test_save_is_conditional_on_the_version_read(store):
    # Given two readers of the same session
    store.create(new_session())
    first, second = store.get("demo", "c1"), store.get("demo", "c1")
    # When both write
    first.execution = 1
    store.save(first)
    second.execution = 99
    # Then the second, stale write is refused and the first survives
    with pytest.raises(ConflictError):
        store.save(second)
    assert store.get("demo", "c1").execution == 1 and store.get("demo", "c1").version == 2


def test_extend_moves_the_expiry_of_live_sessions_only(store):
    store.create(new_session())
    assert store.extend("demo", "c1", int(NOW) + 500, NOW) is True
    assert store.get("demo", "c1").expires_at == int(NOW) + 500
    assert store.extend("demo", "c1", int(NOW) + 900, NOW + 600) is False  # already expired
    assert store.extend("demo", "missing", int(NOW) + 500, NOW) is False


def test_the_item_has_the_documented_shape(store, sessions_table):
    store.create(new_session())
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": "demo/c1"}})["Item"]
    assert set(item) == {"id", "endpoint", "conversation", "version", "status", "expires_at", "created_at",
                         "execution", "state"}  # fmt: skip
    assert item["expires_at"] == {"N": str(int(NOW) + 180)}


def test_expired_items_are_still_returned_so_callers_must_check(store):
    # DynamoDB (and moto) keep expired items until TTL cleanup: the store returns them as they are
    store.create(new_session(expires_at=int(NOW) - 1000))
    session = store.get("demo", "c1")
    assert session is not None and not session.is_live(NOW)


def test_threads_with_optimistic_retries_lose_no_update(store):
    # Given a session and 6 threads each adding 5 increments with read-modify-conditional-write
    store.create(new_session())

    def add(times: int) -> None:
        for _ in range(times):
            while True:
                session = store.get("demo", "c1")
                session.execution += 1
                try:
                    store.save(session)
                    break
                except ConflictError:
                    continue

    threads = [threading.Thread(target=add, args=(5,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then all 30 increments landed
    assert store.get("demo", "c1").execution == 30
