"""A request id on every request, its response and every log line written while serving it.

The id is the proxy's ``X-Request-ID`` when it looks like one (at most 64 letters, digits,
``-``, ``_`` or ``.``), else a new random one, so a log line can be matched with the proxy's
access log and with what a user reports from the response header.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def current_request_id() -> str:
    """The id of the request being served in this context, ``-`` outside one."""
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _VALID.fullmatch(offered) else uuid.uuid4().hex
        token = _REQUEST_ID.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _REQUEST_ID.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request), for the formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
