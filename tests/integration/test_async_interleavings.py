"""Async frames go out exactly once in every interleaving hypothesis finds, over the real handlers (moto).

A state machine plays a busy VoiceAI Connect and its neighbours on one async call: the caller's
activities, dispatcher runs (batches of the FIFO queue, with SQS redelivering failed records), pushes
that fail mid-turn, sockets that drop and reconnect (``$connect``, ``$disconnect``), inject and
notify, SQS delivering a message twice, and VAIC's disconnect. Any of these can also happen *while*
a dispatcher's turn runs: just before its first, second or third push (VAIC's disconnect from
another thread, as it would come from another Lambda). After every step no output id has reached VAIC
twice (over a socket, or in an HTTP answer when the socket was gone); at the end, a live call's
remembered outputs have each reached VAIC exactly once and nothing waits in the outbox.

moto's management API accepts posts to any connection, so a dropped socket (API Gateway's 410
``GoneException``) is played at the pusher: the one part moto cannot.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from audiocodes_devtools.events import http_event
from audiocodes_devtools.sqs_poller import SqsPoller
from audiocodes_endpoint.core.delivery import ConnectionGone
from audiocodes_endpoint.core.work import Work
from tests.integration.conftest import FakeLambdaContext, activity, connect, post, start_event

KEY = "inject-key"
TEXTS = ["12345", "67890", "yes", "no", "hello", "payment succeeded"]
DURING = ["nothing", "connect", "socket_drops", "inject", "notify", "vaic_disconnect", "caller_speaks", "crash"]


@pytest.mark.slow
def test_async_frames_go_out_exactly_once_in_every_interleaving(call, handlers, turn_queue, accounts, monkeypatch):
    import importlib

    from audiocodes_endpoint.wiring import runtime

    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString", Overwrite=True
    )
    inject_app = importlib.import_module("functions.inject_notify.app")
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(QueueUrl=turn_queue["url"], Attributes={"VisibilityTimeout": "0"})  # retries at once
    poller = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda event: handlers["dispatcher"].lambda_handler(event, FakeLambdaContext()),
        region="eu-central-1",
    )
    pusher = runtime().pusher
    real_push = pusher.push
    current: list[Call] = []

    def push(connection_id: str, frame: dict[str, Any]) -> None:
        machine = current[0]
        machine.pushes += 1
        if machine.at_next_push is not None and machine.pushes >= machine.at_push:  # while this turn runs
            happen, machine.at_next_push = machine.at_next_push, None
            happen()
        if connection_id in machine.closed:
            raise ConnectionGone(connection_id)
        real_push(connection_id, frame)
        machine.frames.append((connection_id, frame["activities"][0]["id"]))

    monkeypatch.setattr(pusher, "push", push)

    class Call(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            current[:] = [self]
            self.conversation = f"c-{uuid.uuid4().hex[:12]}"
            self.base = f"/demo-async/conversation/{self.conversation}"
            self.sockets = 0
            self.socket: str | None = None
            self.closed: set[str] = set()
            self.frames: list[tuple[str, str]] = []
            self.sent: list[dict[str, Any]] = []
            self.ended = False
            self.at_next_push: Any = None
            self.at_push = 1
            self.pushes = 0
            self.threads: list[threading.Thread] = []
            assert post(call, "/demo-async", {"conversation": self.conversation})[0] == 200
            self._connect()  # as VAIC does right after create
            self._speak(start_event())

        # --- what VAIC and the others do ----------------------------------------------------------

        def _speak(self, sent: dict[str, Any]) -> None:
            self.sent.append(sent)
            _, answer = post(call, f"{self.base}/activities", {"activities": [sent]})  # 404 once the call ended
            for output in (answer or {}).get("activities", []):  # outputs that waited for a gone socket
                self.frames.append(("http", output["id"]))

        def _connect(self) -> None:
            self.sockets += 1
            self.socket = f"{self.conversation}-s{self.sockets}"
            connect(handlers, self.socket, conversation=self.conversation)

        def _socket_drops(self) -> None:
            if self.socket is None:
                return
            self.closed.add(self.socket)
            event = {"requestContext": {"routeKey": "$disconnect", "connectionId": self.socket, "stage": "live"}}
            handlers["websocket"].lambda_handler(event, FakeLambdaContext())
            self.socket = None

        def _inject(self, kind: str, text: str) -> None:
            body = {"URLToken": "demo-async", "sessionId": self.conversation, "text": text}
            event = http_event(
                "POST",
                f"/v2.0/endpoint/{kind}",
                body=json.dumps(body).encode(),
                headers={"content-type": "application/json", "x-api-key": KEY},
            )
            inject_app.lambda_handler(event, FakeLambdaContext())

        def _vaic_disconnect(self) -> None:
            self.ended = True
            post(call, f"{self.base}/disconnect", {"reasonCode": "client-disconnected"})
            if self.socket is not None:
                self.closed.add(self.socket)  # the disconnect closes the socket

        def _crash(self) -> None:
            raise RuntimeError("network blip: the push failed, SQS retries the record")

        def _sqs_duplicate(self, index: int) -> None:
            """SQS is at-least-once: the same work delivered again (another deduplication id)."""
            sent = self.sent[index % len(self.sent)]
            work = Work(
                kind="activity",
                endpoint="demo-async",
                conversation=self.conversation,
                payload={"activity": sent, "source_ip": None},
            )
            runtime().queue.put(work, deduplication=f"again-{uuid.uuid4()}")

        # --- rules ----------------------------------------------------------------------------------

        @rule(text=st.sampled_from(TEXTS))
        def caller_says(self, text: str) -> None:
            self._speak(activity(text=text))

        @rule(
            during=st.sampled_from(DURING), at_push=st.integers(min_value=1, max_value=3), text=st.sampled_from(TEXTS)
        )
        def dispatcher_runs(self, during: str, at_push: int, text: str) -> None:
            """One batch of the queue; ``during`` happens just before its ``at_push``-th push."""
            actions = {
                "nothing": None,
                "connect": self._connect,
                "socket_drops": self._socket_drops,
                "inject": lambda: self._inject("inject", text),
                "notify": lambda: self._inject("notify", text),
                "caller_speaks": lambda: self._speak(activity(text=text)),
                "crash": self._crash,
                "vaic_disconnect": lambda: self._in_thread(self._vaic_disconnect),
            }
            self.at_next_push, self.at_push, self.pushes = actions[during], at_push, 0
            poller.poll_once(sqs)
            self.at_next_push = None
            for thread in self.threads:
                thread.join()
            self.threads.clear()

        def _in_thread(self, action: Any) -> None:
            thread = threading.Thread(target=action)  # another Lambda: it waits for the running turn
            thread.start()
            self.threads.append(thread)

        @rule()
        def vaic_connects(self) -> None:
            self._connect()

        @rule()
        def socket_drops(self) -> None:
            self._socket_drops()

        @rule(text=st.sampled_from(TEXTS), kind=st.sampled_from(["inject", "notify"]))
        def back_office(self, kind: str, text: str) -> None:
            self._inject(kind, text)

        @rule(index=st.integers(min_value=0, max_value=20))
        def sqs_delivers_twice(self, index: int) -> None:
            self._sqs_duplicate(index)

        @rule()
        def vaic_disconnects(self) -> None:
            self._vaic_disconnect()

        # --- what must hold ------------------------------------------------------------------------

        @invariant()
        def no_frame_twice(self) -> None:
            twice = [output for output, n in Counter(output for _, output in self.frames).items() if n > 1]
            assert not twice, f"pushed twice: {twice}"

        def teardown(self) -> None:
            if not self.ended:  # a socket that stays, and the queue drained: everything goes out
                self._connect()
            for _ in range(30):
                if not poller.poll_once(sqs):
                    break
            self.no_frame_twice()
            item = boto3.client("dynamodb").get_item(
                TableName="sessions-test", Key={"id": {"S": f"demo-async/{self.conversation}"}}, ConsistentRead=True
            )["Item"]
            state = json.loads(item["state"]["S"])
            if not self.ended:
                assert "lease_holder" not in item and not item.get("waiting", {}).get("L")
                assert state["outbox"] == []
                pushed = Counter(output for _, output in self.frames)
                remembered = [output["id"] for reply in state["replies"].values() for output in reply]
                assert all(pushed[output] == 1 for output in remembered), "a remembered output never went out"

    run_state_machine_as_test(
        Call,
        settings=settings(
            max_examples=int(os.environ.get("IL_EXAMPLES", "40")),
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
