"""Keeps stream tickets out of the access log (issue 13, finding 7).

`EventSource` cannot send headers, so a stream ticket travels in the URL (`?ticket=`), and
uvicorn's access log writes each request's path with its query string. A filter on that logger
rewrites the ticket's value to `<redacted>` before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_TICKET = re.compile(r"([?&]ticket=)[^&#\s]*", re.IGNORECASE)


def redact_tickets(text: str) -> str:
    return _TICKET.sub(r"\1<redacted>", text)


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
