"""Logger, Metrics and Tracer: one instance each per process, configured from the environment.

``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL`` and
``POWERTOOLS_TRACE_DISABLED`` come from the template (or the emulator, which reads the template).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from audiocodes_endpoint.observability.masking import log_masking, mask_log_record, masked_traceback, set_log_masking


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, masking caller data while ``masking.log_masking()`` is on: each
    line as it is serialized, and every message in a traceback (frames are kept: they say where).

    Given to the Logger when it is built (Powertools' "bring your own formatter"): a serializer
    alone (``Logger(json_serializer=...)``) sees a traceback only as text, too late to drop its
    messages and keep its frames.
    """

    def serialize(self, log: Any) -> str:
        return super().serialize(mask_log_record(log) if log_masking() else log)

    def formatException(self, exc_info: Any) -> str:
        if log_masking() and isinstance(exc_info, tuple) and isinstance(exc_info[1], BaseException):
            return masked_traceback(exc_info[1])
        return str(super().formatException(exc_info))


# Masked until the endpoint (and its data-protection settings) is known: set_log_masking's default.
logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def count(metric: str, value: int = 1) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


def measure(metric: str, milliseconds: float) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Milliseconds, value=milliseconds)


def bind_conversation(endpoint: str, conversation: str | None) -> None:
    """Every log line of this request carries the endpoint and the conversation id."""
    logger.append_keys(endpoint=endpoint, conversation=conversation)


def mask_logs(enabled: bool) -> None:
    """Follow the endpoint's ``data_protection.mask_logging`` for the rest of this request."""
    set_log_masking(enabled)


def per_invocation(handler: Handler) -> Handler:
    """The outermost wrapper of every handler: masking is on when an invocation starts, before any
    line is logged, whatever the previous invocation of this process set; the handler turns it off
    only for an endpoint that does not mask, once that endpoint is known."""

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        set_log_masking(True)
        try:
            return handler(event, context)
        finally:
            set_log_masking(True)

    return cast(Handler, invoke)


def traced(handler: Handler) -> Handler:
    """``Tracer.capture_lambda_handler``, with the Tracer made when the handler module is imported:
    Lambda's init phase, not the first request, pays for the X-Ray SDK, its sampler and its clients."""
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer().capture_lambda_handler(handler, capture_response=False))
