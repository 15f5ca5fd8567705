"""Who is calling: a parent, a child's reading app, or the holder of a stream ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ParentCaller:
    parent_id: int
    # The account's credentials version its token carries (stamped on tickets it mints).
    version: int = 0


@dataclass(frozen=True)
class ChildCaller:
    """A child's reading app: its own stories, from its allowed themes, and nothing else."""

    child_id: int
    parent_id: int
    # The device token's id (stamped on tickets it mints, so revoking it revokes them).
    device_id: str


@dataclass(frozen=True)
class TicketCaller:
    """A stream ticket: one child's streams (child_id) or one run's stream (run_id)."""

    parent_id: int
    child_id: int | None
    run_id: str | None
    # The ticket's own id and expiry: a child ticket that started a story is recorded under it.
    ticket_id: str
    expires_at: datetime
    # A child ticket, or a run ticket minted by the child's own app: the child's limits (allowed
    # themes, the sentence gate, gated and approved runs only).
    for_child_app: bool


Caller = ParentCaller | ChildCaller
StreamCaller = ParentCaller | ChildCaller | TicketCaller
