"""How a run can fail, and how each failure is reported to clients.

    RunFailure
     ├── RunTimeout        first token, idle gap or whole-run deadline passed   -> TIMEOUT
     ├── SafetyRejected    the chapter failed the whole-story check            -> SAFETY_REJECTED
     └── PersistFailed     the finished chapter could not be stored            -> PERSIST_FAILED

Exceptions from the model backend are classified by `classify_backend_error`. The message of
a failure (in the `error` event and the run's record) is StoryStream's own wording, never the
backend's text, which goes to the log only; a child's app is told only the fixed
`CHILD_ERROR_MESSAGES` of its code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx
import ollama

from backend.runs.events import ErrorCode, ErrorEvent
from workflows.providers.local import LocalModelUnavailable
from workflows.providers.scripted import ScriptedModelError

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

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(message=str(self), error_code=self.code, retryable=self.retryable)


class RunTimeout(RunFailure):
    code = "TIMEOUT"


class SafetyRejected(RunFailure):
    code = "SAFETY_REJECTED"


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
    # The ollama client turns refused connections into the builtin ConnectionError.
    if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
        return Classified(
            "LLM_UNAVAILABLE", True, "the story model is not reachable right now; try again soon"
        )
    if isinstance(exc, LocalModelUnavailable):
        return Classified("LLM_UNAVAILABLE", False, "the embedded story model cannot run")
    if isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
        return Classified(
            "LLM_UNAVAILABLE", False, "the story model is not installed on the backend"
        )
    if isinstance(exc, ollama.ResponseError | ScriptedModelError):
        return Classified("LLM_ERROR", True, "the story model failed while writing")
    if isinstance(exc, httpx.HTTPError | json.JSONDecodeError):
        return Classified("LLM_ERROR", True, "the connection to the story model broke")
    logger.error("run failed with an unexpected error", exc_info=exc)
    return Classified("LLM_ERROR", True, "the story could not be written")
