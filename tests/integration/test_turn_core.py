"""The turn core under resends, concurrent activities and deadlines: real handlers, real threads, moto.

A resent activity runs its flow at most once (the lookups the accounts API counts), distinct
activities of one call wait in line instead of being refused, and a request that would run past its
Lambda invocation fails closed with its state saved.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from tests.integration.conftest import CONVERSATION, Context, activity, start_event

BASE = f"/demo/conversation/{CONVERSATION}"


def post(call, *activities, **options):
    return call("POST", f"{BASE}/activities", {"activities": list(activities)}, **options)


def stored(sessions_table: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(
        TableName=sessions_table, Key={"id": {"S": f"demo/{CONVERSATION}"}}, ConsistentRead=True
    )["Item"]


def at_the_account_question(call) -> None:
    """start -> recording consent "no" -> menu DTMF 1 -> "Please say or key in your account number"."""
    assert call("POST", "/demo", {"conversation": CONVERSATION})[0] == 200
    for step in (start_event(), activity(text="no"), activity("event", name="DTMF", value="1")):
        status, body = post(call, step)
        assert status == 200, body
    assert "account number" in body["activities"][-1]["text"]


def in_parallel(count: int, send) -> list[Any]:
    barrier, results = threading.Barrier(count), [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- 1. each activity runs at most once ------------------------------------------------------------


def test_a_resend_while_the_turn_runs_waits_for_its_answer_and_runs_nothing(call, accounts):
    # Given a caller at the account question, whose account number starts a lookup that is held open
    at_the_account_question(call)
    number = activity(text="12345")
    accounts.hold()
    first: list[Any] = []
    running = threading.Thread(target=lambda: first.append(post(call, number)))
    running.start()
    assert accounts.arrived.wait(20)
    # When VAIC resends the activity while the lookup runs, and the lookup then answers
    releaser = threading.Timer(0.3, accounts.release)
    releaser.start()
    again = post(call, number)
    running.join()
    # Then both got the same answer, and the lookup ran once
    assert first[0][0] == again[0] == 200
    assert again[1] == first[0][1] and "1,234 euros" in json.dumps(again[1])
    assert accounts.lookups == 1


def test_twenty_parallel_copies_of_an_activity_run_it_once(call, accounts, sessions_table):
    at_the_account_question(call)
    version = int(stored(sessions_table)["version"]["N"])
    number = activity(text="12345")
    # When 20 copies of one activity arrive at once
    answers = in_parallel(20, lambda _i: post(call, number, context=Context(60_000)))
    # Then all answer the same, the lookup ran once, and one turn was saved
    assert {status for status, _ in answers} == {200}
    assert all(body == answers[0][1] for _, body in answers)
    assert accounts.lookups == 1
    assert int(stored(sessions_table)["version"]["N"]) == version + 1


# --- 2. distinct activities wait in line --------------------------------------------------------


@pytest.mark.slow
def test_fifty_distinct_activities_at_once_all_run_one_at_a_time(lookup_call, accounts, sessions_table):
    # Given a live call whose every turn makes a (20 ms) HTTP lookup
    call, base = lookup_call, f"/lookup/conversation/{CONVERSATION}/activities"
    assert call("POST", "/lookup", {"conversation": CONVERSATION})[0] == 200
    assert call("POST", base, {"activities": [start_event()]})[0] == 200
    accounts.delay = 0.02
    key = {"id": {"S": f"lookup/{CONVERSATION}"}}
    before = int(boto3.client("dynamodb").get_item(TableName=sessions_table, Key=key)["Item"]["execution"]["N"])
    sent = [activity(text=f"number {i}") for i in range(50)]
    # When 50 different activities of that call arrive at the same moment (a long budget: they queue)
    answers = in_parallel(50, lambda i: call("POST", base, {"activities": [sent[i]]}, context=Context(120_000)))
    # Then none was refused and every one of them ran once, one at a time
    assert [status for status, _ in answers] == [200] * 50, [b for s, b in answers if s != 200][:1]
    assert all(body["activities"][0]["text"] == f"You said number {i}" for i, (_, body) in enumerate(answers))
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key=key, ConsistentRead=True)["Item"]
    assert int(item["execution"]["N"]) == before + 50 and accounts.lookups == 50
    remembered = set(json.loads(item["state"]["S"])["replies"])
    assert len(remembered & {a["id"] for a in sent}) == 16  # the last 16 answers are kept for resends
    assert item.get("waiting", {"L": []})["L"] == [] and "lease_holder" not in item


def test_past_the_line_limit_a_request_is_refused_with_503_and_retry_after(call, accounts, sessions_table, monkeypatch):
    import audiocodes_endpoint.core.conversation as conversation

    monkeypatch.setattr(conversation, "MAX_WAITING", 2)
    # Given a turn that holds the call (its lookup is held open)
    at_the_account_question(call)
    accounts.hold()
    running = threading.Thread(target=lambda: post(call, activity(text="12345")))
    running.start()
    assert accounts.arrived.wait(20)
    # When three more activities arrive while two may wait
    answers: list[Any] = []

    def send(n: int) -> None:
        headers: dict[str, str] = {}
        status, body = post(
            call,
            activity("event", name="playFinished", value={"n": n}),
            answer_headers=headers,
            context=Context(60_000),
        )
        answers.append((status, body, headers))

    waiters = [threading.Thread(target=send, args=(n,)) for n in range(3)]
    for waiter in waiters:
        waiter.start()
    refused = _wait_for(lambda: [a for a in answers if a[0] != 200])
    accounts.release()
    for thread in (running, *waiters):
        thread.join()
    # Then the third is refused at once with 503 and Retry-After; the two in line ran
    assert refused and refused[0][0] == 503 and refused[0][1]["error"] == "conversation_busy"
    assert refused[0][2].get("Retry-After") == "1"
    assert sorted(a[0] for a in answers) == [200, 200, 503]


def _wait_for(check, seconds: float = 20.0):
    import time

    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    return check()


# --- 6. a deadline from the invocation's remaining time -------------------------------------------


def test_a_turn_that_would_outlive_its_invocation_fails_closed_and_is_saved(call, accounts, sessions_table):
    # Given a caller at the account question, and an accounts API that does not answer
    at_the_account_question(call)
    version = int(stored(sessions_table)["version"]["N"])
    accounts.hold()
    # When the lookup runs in an invocation with 3 s left
    context = Context(3_000)
    status, body = post(call, activity(text="12345"), context=context)
    # Then the call fails closed as the endpoint's on_error says (the demo's: a failover transfer)
    # before Lambda would stop it, and that is saved
    assert status == 200
    assert [a.get("text") or a.get("name") for a in body["activities"]][-2:] == [
        "Sorry, something went wrong on our side. Let me put you through to one of our team.",
        "transfer",
    ]
    assert context.get_remaining_time_in_millis() > 0
    item = stored(sessions_table)
    assert int(item["version"]["N"]) == version + 1 and json.loads(item["state"]["S"])["flow_state"]["ended"]
    assert post(call, activity(text="hello?"))[1]["activities"] == []
