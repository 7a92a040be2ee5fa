"""Lambda's SQS event source mapping, locally: poll, invoke with a batch, delete what succeeded.

Pollers long-poll (20 s): the emulator's moto (see moto_server) wakes a long poll when a message
arrives or a FIFO group unlocks, so an idle emulator sleeps instead of polling 20 times a second.

Batch size and partial-failure reporting come from the template. Records the function reports as
failed (or all, if it raises) stay in the queue and come back after the visibility timeout, and
moto moves them to the dead-letter queue after ``maxReceiveCount`` receives, as SQS would.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

LONG_POLL_SECONDS = 20
ERROR_BACKOFF_SECONDS = 1.0
Invoke = Callable[[dict[str, Any]], dict[str, Any] | None]


class SqsPoller:
    def __init__(
        self, *, queue_url: str, queue_arn: str, batch_size: int, reports_failures: bool, invoke: Invoke, region: str
    ) -> None:
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self.batch_size = batch_size
        self.reports_failures = reports_failures
        self._invoke = invoke
        self._stopped = threading.Event()

    def start(self, pollers: int = 2) -> SqsPoller:
        for index in range(pollers):
            threading.Thread(target=self._run, name=f"sqs-poller-{index}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        import boto3

        client = boto3.session.Session().client("sqs")  # a session per thread: boto3's default is not thread-safe
        while not self._stopped.is_set():
            try:
                self.poll_once(client, wait_seconds=LONG_POLL_SECONDS)
            except Exception as error:  # keep polling, as the real event source would
                if not self._stopped.is_set():
                    print(f"  ! SQS poller: {type(error).__name__}", file=sys.stderr)
                self._stopped.wait(ERROR_BACKOFF_SECONDS)

    def poll_once(self, client: Any, wait_seconds: int = 0) -> int:
        """One receive/invoke/delete round; returns how many records were delivered."""
        answer = client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        try:
            result = self._invoke(self.event(messages)) or {}
        except Exception as error:  # the whole batch failed: everything is retried
            print(f"  ! {type(error).__name__} {error}; the batch will be retried", file=sys.stderr)
            return len(messages)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        if not self.reports_failures:
            failed = set()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The SQS event Lambda builds from received messages."""
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": self.region,
                }
                for message in messages
            ]
        }
