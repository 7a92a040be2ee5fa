"""What the dispatcher does with each unit of work taken from the turn queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audiocodes_endpoint.channel.audiocodes import InboundActivity
from audiocodes_endpoint.core.conversation import ConversationNotFound
from audiocodes_endpoint.core.deadline import Deadline
from audiocodes_endpoint.core.work import Work
from audiocodes_endpoint.observability import bind_conversation, logger, mask_logs

if TYPE_CHECKING:
    from audiocodes_endpoint.wiring import Runtime


def perform(work: Work, runtime: Runtime, deadline: Deadline | None = None) -> None:
    """Run one unit of work; an exception makes SQS retry it (and then dead-letter it).

    ``deadline``: the invocation's (a turn waits for the call's lease at most until then).
    """
    bind_conversation(work.endpoint, work.conversation)
    endpoint = runtime.endpoint(work.endpoint)
    if endpoint is None:
        logger.warning("work for an unknown or disabled endpoint dropped", extra={"kind": work.kind})
        return
    mask_logs(endpoint.data_protection.mask_logging)
    conversations = runtime.conversations
    try:
        if work.kind == "activity":
            activity = InboundActivity.model_validate(work.payload["activity"])
            conversations.handle(
                endpoint,
                work.conversation,
                [activity],
                outlet=runtime.outlet,
                source_ip=work.payload.get("source_ip"),
                deadline=deadline,
            )
        elif work.kind == "flush":
            conversations.flush(endpoint, work.conversation, runtime.outlet, deadline)
        elif work.kind == "inject":
            payload = work.payload
            conversations.inject(endpoint, work.conversation, payload["id"], payload.get("text"), payload.get("data"),
                                 runtime.outlet, source_ip=payload.get("source_ip"), deadline=deadline)  # fmt: skip
        elif work.kind == "notify":
            payload = work.payload
            conversations.notify(endpoint, work.conversation, payload["id"], payload.get("text"), payload.get("data"),
                                 runtime.outlet, deadline)  # fmt: skip
        else:
            raise ValueError(f"unknown work kind {work.kind!r}")
    except ConversationNotFound:
        # The call ended (or expired) while this waited in the queue: nothing is left to do.
        logger.info("work for an ended conversation dropped", extra={"kind": work.kind})
