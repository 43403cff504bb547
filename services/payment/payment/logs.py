"""Structured JSON logs: one object per line, tagged with the instance and the request being served.

The request id comes from the incoming `X-Request-ID` (nginx sets one per request), so a request can be
followed from the load balancer's access log into this service's log. No Django imports: the gunicorn
arbiter formats its own log lines with the same formatter.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ContextFilter(logging.Filter):
    """Stamps every record with the current request id and this replica's instance id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.instance = os.environ.get("PAYMENT_INSTANCE_ID", "-")
        return True


class JsonFormatter(logging.Formatter):
    """Time, level, logger, message, instance, request id, structured extras and exception text."""

    # Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
    _STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "instance"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "instance": getattr(record, "instance", os.environ.get("PAYMENT_INSTANCE_ID", "-")),
            "request_id": getattr(record, "request_id", "-"),
            "pid": record.process,
        }
        payload.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
