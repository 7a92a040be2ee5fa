"""Async mode through the real handlers on moto: bot_api queues, $connect binds, the dispatcher pushes."""

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from audiocodes_devtools.sqs_poller import SqsPoller
from audiocodes_endpoint.core.delivery import ConnectionGone
from tests.integration.conftest import (
    ASYNC_TOKEN,
    FakeLambdaContext,
    activity,
    connect,
    drain,
    post,
    pushed,
    start_event,
)
from tests.integration.conftest import (
    CONVERSATION_ASYNC as CONVERSATION,
)


def test_create_offers_an_absolute_websocket_url(handlers, call):
    status, body = post(call, "/demo-async", {"conversation": CONVERSATION})
    assert status == 200
    assert body["websocketURL"] == "wss://ws.example.com/live?endpoint=demo-async&conversation=c-async"


def test_activities_are_queued_and_answered_at_once(handlers, call, turn_queue):
    post(call, "/demo-async", {"conversation": CONVERSATION})
    start = start_event()
    assert post(call, f"/demo-async/conversation/{CONVERSATION}/activities", {"activities": [start]}) == (200, {})
    # A resent activity is dropped by the queue's deduplication
    post(call, f"/demo-async/conversation/{CONVERSATION}/activities", {"activities": [start]})
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=turn_queue["url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_connect_binds_the_socket_and_the_dispatcher_flushes_waiting_outputs(handlers, call, turn_queue):
    post(call, "/demo-async", {"conversation": CONVERSATION})
    post(call, f"/demo-async/conversation/{CONVERSATION}/activities", {"activities": [start_event()]})
    drain(handlers, turn_queue)  # the greeting is produced with no socket: it waits in the session
    assert connect(handlers, "conn-1") == {"statusCode": 200}
    drain(handlers, turn_queue)  # the flush queued by $connect
    frames = pushed("conn-1")
    assert frames and all(f["conversation"] == CONVERSATION and len(f["activities"]) == 1 for f in frames)
    assert any("account number" in (f["activities"][0].get("text") or "") for f in frames)


@pytest.mark.parametrize(
    ("token", "conversation", "status"), [("wrong", CONVERSATION, 401), (ASYNC_TOKEN, "unknown", 404)]
)
def test_connect_refuses_a_bad_token_or_an_unknown_conversation(handlers, call, token, conversation, status):
    post(call, "/demo-async", {"conversation": CONVERSATION})
    assert connect(handlers, "conn-x", token=token, conversation=conversation)["statusCode"] == status


def test_a_dispatcher_that_crashes_mid_batch_is_retried_without_sending_a_frame_twice(
    handlers, call, turn_queue, monkeypatch
):
    # Given a connected async call with three activities queued
    post(call, "/demo-async", {"conversation": CONVERSATION})
    connect(handlers, "conn-1")
    drain(handlers, turn_queue)
    path = f"/demo-async/conversation/{CONVERSATION}/activities"
    post(call, path, {"activities": [start_event()]})
    post(call, path, {"activities": [activity(text="1234")]})
    post(call, path, {"activities": [activity(text="goodbye")]})
    # When the WebSocket push fails once, in the middle of the batch
    from audiocodes_endpoint.wiring import runtime

    real_push, failures = runtime().pusher.push, []

    def flaky_push(connection_id, frame):
        if len(pushed_so_far()) == 2 and not failures:
            failures.append(frame)
            raise RuntimeError("network blip")
        real_push(connection_id, frame)

    def pushed_so_far():
        try:
            return pushed("conn-1")
        except KeyError:
            return []

    monkeypatch.setattr(runtime().pusher, "push", flaky_push)
    client = boto3.client("sqs")
    poller = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda e: handlers["dispatcher"].lambda_handler(e, FakeLambdaContext()),
        region="eu-central-1",
    )
    # received as Lambda's event source mapping receives: with SQS's system attributes
    received = client.receive_message(
        QueueUrl=turn_queue["url"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    first = poller.event(received["Messages"])
    # Then the record that crashed fails, and the call's later records (its one message group) are
    # skipped, not run out of order: every record failed, so the invocation fails and Lambda delivers
    # the batch again. (Events without SQS's MessageGroupId hid this: nothing was skipped.)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        handlers["dispatcher"].lambda_handler(first, FakeLambdaContext())
    assert failures and len({r["attributes"]["MessageGroupId"] for r in first["Records"]}) == 1
    # And when SQS delivers them again, every output went out exactly once
    assert handlers["dispatcher"].lambda_handler(first, FakeLambdaContext()) == {"batchItemFailures": []}
    ids = [f["activities"][0]["id"] for f in pushed("conn-1")]
    assert len(ids) == len(set(ids))
    assert pushed("conn-1")[-1]["activities"][0]["name"] == "hangup"


def test_a_poison_message_ends_in_the_dead_letter_queue(handlers, turn_queue):
    # Given a message the dispatcher cannot handle
    client = boto3.client("sqs")
    client.send_message(
        QueueUrl=turn_queue["url"], MessageBody="not json", MessageGroupId="g", MessageDeduplicationId="d"
    )
    queue = client.get_queue_attributes(QueueUrl=turn_queue["url"], AttributeNames=["RedrivePolicy"])
    max_receives = json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"]
    poller = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda e: handlers["dispatcher"].lambda_handler(e, FakeLambdaContext()),
        region="eu-central-1",
    )
    # When it fails maxReceiveCount times (visibility made 0 so each retry comes at once)
    client.set_queue_attributes(QueueUrl=turn_queue["url"], Attributes={"VisibilityTimeout": "0"})
    deliveries = sum(poller.poll_once(client) for _ in range(max_receives + 2))
    # Then it sits in the dead-letter queue
    dead = client.receive_message(QueueUrl=turn_queue["dlq_url"]).get("Messages", [])
    assert [m["Body"] for m in dead] == ["not json"]
    assert deliveries == max_receives


def test_the_websocket_push_maps_gone_to_connection_gone(handlers):
    from audiocodes_endpoint.adapters.aws.websocket_pusher import WebSocketPusher

    class GoneClient:
        class exceptions:
            GoneException = type("GoneException", (Exception,), {})

        def post_to_connection(self, **kwargs):
            raise self.exceptions.GoneException()

    with pytest.raises(ConnectionGone):
        WebSocketPusher("https://x", client=GoneClient()).push("conn", {"activities": []})


def test_a_request_does_not_log_with_the_previous_requests_conversation(handlers, call, log_output):
    # Given a connect that bound its conversation to the log lines
    post(call, "/demo-async", {"conversation": CONVERSATION})
    connect(handlers, "conn-1")
    # When the next invocation is a $disconnect of a connection nobody knows
    event = {"requestContext": {"routeKey": "$disconnect", "connectionId": "unknown", "stage": "live"}}
    handlers["websocket"].lambda_handler(event, FakeLambdaContext())
    # Then its log line carries no conversation from the invocation before
    last = json.loads(log_output.getvalue().strip().splitlines()[-1])
    assert last["message"] == "WebSocket disconnected" and "conversation" not in last
