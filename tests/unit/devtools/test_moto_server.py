"""The emulator's moto: long polls that wake on work and never take a busy FIFO group's messages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from audiocodes_devtools.moto_server import make_sqs_long_polls_wake_on_work


@pytest.fixture
def fifo(aws: None) -> Iterator[tuple[Any, str]]:
    make_sqs_long_polls_wake_on_work()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="turns.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    yield sqs, url


def _send(sqs: Any, url: str, body: str, group: str = "call-1") -> None:
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)


def test_a_long_poll_skips_a_group_in_flight_and_wakes_when_it_is_done(
    fifo: tuple[Any, str],
) -> None:
    sqs, url = fifo
    # Given two turns of one call queued, and a poller that took the first
    _send(sqs, url, "turn 1")
    _send(sqs, url, "turn 2")
    (first,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]

    # When a second poller long-polls while the first turn runs
    got: list[dict[str, Any]] = []
    started = threading.Event()

    def poll() -> None:
        started.set()
        got.extend(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=20).get("Messages", []))

    second = threading.Thread(target=poll)
    second.start()
    started.wait()
    assert not got  # the group is busy: nothing for the second poller yet

    # Then deleting the first turn wakes it, and it gets the second turn (and only that)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    second.join(timeout=30)
    assert [message["Body"] for message in got] == ["turn 2"]


def test_other_groups_are_not_held_up_by_a_busy_one(fifo: tuple[Any, str]) -> None:
    sqs, url = fifo
    _send(sqs, url, "a1", group="call-a")
    _send(sqs, url, "a2", group="call-a")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    _send(sqs, url, "b1", group="call-b")
    later = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=20)["Messages"]
    assert [message["Body"] for message in later] == ["b1"]
