"""Keeps tickets and tokens out of every log line (issue 13, finding 7; issue 16).

`EventSource` cannot send headers, so a stream ticket travels in the URL (`?ticket=`), and
uvicorn's access log writes each request's path with its query string. A filter on that logger
rewrites the ticket's value to `<redacted>` before any handler sees the record; the log
formatter (backend/observability/logging.py) runs `redact_secrets` over every line as well, so a
token that reaches any message or field (a JWT, a bearer header, a ticket) is never written.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "<redacted>"
_TICKET = re.compile(r"([?&]ticket=)[^&#\s\"']*", re.IGNORECASE)
# Every StoryStream token (access, refresh, device token, stream ticket) is a JWT.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(\bbearer\s+)[^\s\"',]+", re.IGNORECASE)
# Fields whose value is a secret whatever it looks like.
SECRET_FIELDS = frozenset(
    {
        "authorization",
        "password",
        "current_password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "ticket",
        "jwt_secret",
        "secret",
    }
)


def redact_tickets(text: str) -> str:
    return _TICKET.sub(rf"\1{REDACTED}", text)


def redact_secrets(text: str) -> str:
    """`text` with every ticket in a query, bearer credential and JWT replaced."""
    if "ticket=" in text or "eyJ" in text or "earer" in text:
        text = _TICKET.sub(rf"\1{REDACTED}", text)
        text = _BEARER.sub(rf"\1{REDACTED}", text)
        text = _JWT.sub(REDACTED, text)
    return text


class TicketRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_tickets(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_tickets(record.msg)
        return True


def install_ticket_redaction() -> None:
    """Attach the filter to uvicorn's access logger once (idempotent: apps may be built often)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, TicketRedaction) for existing in logger.filters):
        logger.addFilter(TicketRedaction())
