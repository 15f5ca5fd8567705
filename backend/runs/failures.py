"""How a run can fail, and how each failure is reported to clients.

    RunFailure
     ├── RunTimeout        first token, idle gap or whole-run deadline passed   -> TIMEOUT
     └── PersistFailed     the finished chapter could not be stored            -> PERSIST_FAILED

A story model's own failures arrive as `workflows.providers.errors.StoryModelError` (the
providers classify their backends' exceptions): `StoryModelUnreachable` and `StoryModelMissing`
are LLM_UNAVAILABLE, any other LLM_ERROR. The message of a failure (in the `error` event and the
run's record) is StoryStream's own wording, never the backend's text, which goes to the log
only; a child's app is told only the fixed `CHILD_ERROR_MESSAGES` of its code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from backend.runs.events import ErrorCode, ErrorEvent
from workflows.providers.errors import (
    StoryModelMissing,
    StoryModelUnreachable,
    story_model_error,
)

logger = logging.getLogger(__name__)

# What a child's app is told about a failed run: no model error text, no draft text.
# Keyed by every ErrorCode (a test checks).
CHILD_ERROR_MESSAGES: dict[str, str] = {
    "LLM_UNAVAILABLE": "The story model could not be reached.",
    "LLM_ERROR": "The story model ran into a problem while writing.",
    "TIMEOUT": "The story took too long to write.",
    "CANCELLED": "The story was stopped before it was finished.",
    "SAFETY_REJECTED": "The story did not pass the safety check.",
    "INTERRUPTED": "The service stopped before the story was finished.",
    "PERSIST_FAILED": "The finished story could not be saved.",
    "OVERLOADED": "StoryStream was too busy to write the story.",
}
UNKNOWN_FAILURE_MESSAGE = "The story could not be written."


def child_error_message(code: str | None) -> str | None:
    """The fixed message a child's app gets for a run that ended with `code`."""
    if code is None:
        return None
    return CHILD_ERROR_MESSAGES.get(code, UNKNOWN_FAILURE_MESSAGE)


class RunFailure(Exception):
    code: ErrorCode = "LLM_ERROR"
    retryable: bool = True


class RunTimeout(RunFailure):
    code = "TIMEOUT"


class PersistFailed(RunFailure):
    code = "PERSIST_FAILED"


@dataclass(frozen=True)
class Classified:
    code: ErrorCode
    retryable: bool
    message: str

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(message=self.message, error_code=self.code, retryable=self.retryable)


def classify_backend_error(exc: BaseException) -> Classified:
    """Map an exception raised while the story was being written to an error code and the fixed
    wire message of that case. The exception's own text (a driver's or a server's words) never
    goes into the message: the executor logs it with the run id (issue 13, finding 12)."""
    if isinstance(exc, RunFailure):
        return Classified(exc.code, exc.retryable, str(exc))
    model_error = story_model_error(exc)
    if model_error is not None:
        unavailable = isinstance(model_error, StoryModelUnreachable | StoryModelMissing)
        code: ErrorCode = "LLM_UNAVAILABLE" if unavailable else "LLM_ERROR"
        return Classified(code, model_error.retryable, str(model_error))
    logger.error("run failed with an unexpected error", exc_info=exc)
    return Classified("LLM_ERROR", True, "the story could not be written")


INTERRUPTED_MESSAGE = "the service stopped before the story was finished"


def interrupted_event() -> ErrorEvent:
    """How a run ends when its process stops (shutdown, or a replica that died): retryable."""
    return ErrorEvent(message=INTERRUPTED_MESSAGE, error_code="INTERRUPTED", retryable=True)


def cancelled_event() -> ErrorEvent:
    """How a run ends when a client cancels it."""
    return ErrorEvent(message="the run was cancelled", error_code="CANCELLED", retryable=False)
