"""What a story model's failure means, in StoryStream's words, whatever backend raised it.

    StoryModelError          the model failed while writing                 (retryable)
     ├── StoryModelUnreachable   its server cannot be reached right now     (retryable)
     └── StoryModelMissing       it cannot serve at all: not installed, or
                                 the embedded model cannot run here        (not retryable)

The backends raise their own exceptions (Ollama's client, httpx, llama.cpp, the scripted test
double) from inside the workflow; `story_model_error` turns them into these. The message of each
is StoryStream's wording: the backend's own text never reaches a client (issue 13, finding 12).
"""

from __future__ import annotations

import json

import httpx
import ollama

from workflows.providers.local import LocalModelUnavailable
from workflows.providers.scripted import ScriptedModelError


class StoryModelError(Exception):
    """The story model failed while writing; `str()` is the message a client may see."""

    retryable: bool = True


class StoryModelUnreachable(StoryModelError):
    """The model's server does not answer (refused, timed out connecting, every host down)."""


class StoryModelMissing(StoryModelError):
    """The model cannot serve until someone installs it: asking again will not help."""

    retryable = False


# The ollama client turns refused connections into the builtin ConnectionError (and
# `NoHealthyHost`, every Ollama host marked down, is one too).
_UNREACHABLE = (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout)


def story_model_error(exc: BaseException) -> StoryModelError | None:
    """StoryStream's failure for an exception a story model backend raised; None when `exc`
    does not come from a model backend (a bug, say)."""
    if isinstance(exc, StoryModelError):
        return exc
    if isinstance(exc, _UNREACHABLE):
        return StoryModelUnreachable("the story model is not reachable right now; try again soon")
    if isinstance(exc, LocalModelUnavailable):
        return StoryModelMissing("the embedded story model cannot run")
    if isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
        return StoryModelMissing("the story model is not installed on the backend")
    if isinstance(exc, ollama.ResponseError | ScriptedModelError):
        return StoryModelError("the story model failed while writing")
    if isinstance(exc, httpx.HTTPError | json.JSONDecodeError):
        return StoryModelError("the connection to the story model broke")
    return None
