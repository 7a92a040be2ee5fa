"""The callback Lambda: runs queued turns (async mode) and pushes outputs over VAIC's WebSocket.

The queue is FIFO with one message group per conversation, so a conversation's work runs in order
and never concurrently; other conversations in the same batch go on when one fails.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from audiocodes_endpoint.core.deadline import Deadline
from audiocodes_endpoint.core.work import Work
from audiocodes_endpoint.core.worker import perform
from audiocodes_endpoint.observability import logger, mask_logs, metrics, per_invocation, traced
from audiocodes_endpoint.wiring import prepare, runtime

# Lambda's init phase builds the agent, its compiled templates, every endpoint's services and the
# AWS clients, so the first request of a fresh environment does not (wiring.prepare).
prepare()


class TurnQueueRecord(SqsRecordModel):
    """An SQS record of the turn queue: its body is the :class:`Work` the Bot API, the WebSocket
    handler or Inject & Notify queued (a body that is not one fails that record, and its group)."""

    body: Json[Work]  # Powertools' documented way to type an SQS body as a model


processor = SqsFifoPartialProcessor(skip_group_on_error=True, model=TurnQueueRecord)


def record_handler(record: TurnQueueRecord, lambda_context: LambdaContext | None = None) -> None:
    """Powertools passes the invocation's context: its remaining time bounds the turn's wait."""
    mask_logs(True)  # a batch mixes endpoints: each record starts masked, as each invocation does
    rt = runtime()
    perform(record.body, rt, Deadline.from_context(lambda_context, rt.conversations.clock()))


@per_invocation
@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
