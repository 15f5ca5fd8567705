"""What every log line and span about a run carries, kept in context variables.

A run's task is created by the request that starts it, and asyncio copies the context into it,
so binding the run's ids in that request makes every line the run logs carry them.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import structlog

_replica = f"{socket.gethostname()[:48]}-{os.getpid()}"


def replica() -> str:
    """This process, as an operator would find it: the host and the pid."""
    return _replica


def set_replica(name: str) -> None:
    """Name this process as its runs record it (the run manager's runner id)."""
    global _replica
    _replica = name


def bind_run_owner(*, child_id: int, family_id: int) -> None:
    """The child and family of the run about to start (never a name)."""
    structlog.contextvars.bind_contextvars(child_id=child_id, family_id=family_id)


def bind_run(run_id: str) -> None:
    structlog.contextvars.bind_contextvars(run_id=run_id)


def bind_node(node: str) -> None:
    structlog.contextvars.bind_contextvars(node=node)


def bound() -> dict[str, Any]:
    return structlog.contextvars.get_contextvars()
