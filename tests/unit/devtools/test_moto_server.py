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


@pytest.fixture(scope="module")
def moto_process() -> Iterator[int]:
    """The emulator's moto server in its own process, as `make run` starts it; yields its port."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    process = subprocess.Popen(
        [sys.executable, "-m", "audiocodes_devtools.moto_server", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "devtools")},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("moto ready on "), line
    yield int(line.rsplit(":", 1)[1])
    process.stdin.close()  # type: ignore[union-attr]  (moto ends when its stdin closes)
    process.wait(10)


def _dynamodb(connection: Any, target: str, body: bytes) -> tuple[int, bytes, Any]:
    headers = {
        "X-Amz-Target": f"DynamoDB_20120810.{target}",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261201/eu-central-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    connection.request("POST", "/", body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read(), answer


def test_one_connection_carries_request_after_request(moto_process: int) -> None:
    """werkzeug's server closed every connection: each AWS request paid a connect and a new thread."""
    import http.client
    import json

    connection = http.client.HTTPConnection("127.0.0.1", moto_process, timeout=10)
    table = {
        "TableName": "keep-alive",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    status, _, answer = _dynamodb(connection, "CreateTable", json.dumps(table).encode())
    assert status == 200 and not answer.will_close and answer.getheader("Connection") is None
    first_socket = connection.sock
    assert first_socket is not None  # http.client drops the socket of an answer that closes it

    # A larger body, a conditional write that fails (an error answer), then a read: all on one socket.
    item = {"id": {"S": "call-1"}, "state": {"S": "x" * 50_000}}
    status, _, _ = _dynamodb(connection, "PutItem", json.dumps({"TableName": "keep-alive", "Item": item}).encode())
    assert status == 200
    refused = {"TableName": "keep-alive", "Item": item, "ConditionExpression": "attribute_not_exists(id)"}
    status, body, _ = _dynamodb(connection, "PutItem", json.dumps(refused).encode())
    assert status == 400 and b"ConditionalCheckFailedException" in body
    status, body, answer = _dynamodb(
        connection, "GetItem", json.dumps({"TableName": "keep-alive", "Key": {"id": {"S": "call-1"}}}).encode()
    )
    assert status == 200 and json.loads(body)["Item"] == item
    assert int(answer.getheader("Content-Length")) == len(body)
    assert connection.sock is first_socket
    connection.close()
