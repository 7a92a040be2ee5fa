"""The SQS FIFO turn queue: one message group per conversation keeps its work in order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.core.work import Work

if TYPE_CHECKING:
    from botocore.client import BaseClient


@dataclass
class TurnQueue(clients.LazyClient):
    """The SQS FIFO queue: one message group per conversation keeps its work in order, one at a time."""

    queue_url: str
    client: BaseClient | None = None

    def _make_client(self) -> BaseClient:
        return clients.client("sqs", self.client)

    def put(self, work: Work, deduplication: str) -> str:
        """Enqueue; SQS drops a second message with the same ``deduplication`` within 5 minutes."""
        answer = self._client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=work.model_dump_json(),
            MessageGroupId=_digest(f"{work.endpoint}/{work.conversation}"),
            MessageDeduplicationId=_digest(f"{work.endpoint}/{work.conversation}/{work.kind}/{deduplication}"),
        )
        return str(answer["MessageId"])


def _digest(text: str) -> str:
    """SQS ids allow 128 characters; conversation keys may be longer, so hash them."""
    return hashlib.sha256(text.encode()).hexdigest()
