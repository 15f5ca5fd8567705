"""The providers name their backends' failures in StoryStream's words (issue 15): the backend sees
only `StoryModelError` and its two kinds, never an Ollama, httpx or llama.cpp exception."""

from __future__ import annotations

import json

import httpx
import ollama
import pytest

from backend.runs.failures import classify_backend_error
from workflows.providers.errors import (
    StoryModelError,
    StoryModelMissing,
    StoryModelUnreachable,
    story_model_error,
)
from workflows.providers.local import LocalModelUnavailable
from workflows.providers.ollama_hosts import NoHealthyHost
from workflows.providers.scripted import ScriptedModelError

BACKEND_WORDS = "secret-host.internal:11434 said no"


@pytest.mark.parametrize(
    ("raised", "kind", "message", "code", "retryable"),
    [
        (
            ConnectionError(BACKEND_WORDS),
            StoryModelUnreachable,
            "the story model is not reachable right now; try again soon",
            "LLM_UNAVAILABLE",
            True,
        ),
        (
            httpx.ConnectTimeout(BACKEND_WORDS),
            StoryModelUnreachable,
            "the story model is not reachable right now; try again soon",
            "LLM_UNAVAILABLE",
            True,
        ),
        (
            NoHealthyHost(BACKEND_WORDS),
            StoryModelUnreachable,
            "the story model is not reachable right now; try again soon",
            "LLM_UNAVAILABLE",
            True,
        ),
        (
            LocalModelUnavailable(BACKEND_WORDS),
            StoryModelMissing,
            "the embedded story model cannot run",
            "LLM_UNAVAILABLE",
            False,
        ),
        (
            ollama.ResponseError(BACKEND_WORDS, status_code=404),
            StoryModelMissing,
            "the story model is not installed on the backend",
            "LLM_UNAVAILABLE",
            False,
        ),
        (
            ollama.ResponseError(BACKEND_WORDS, status_code=500),
            StoryModelError,
            "the story model failed while writing",
            "LLM_ERROR",
            True,
        ),
        (
            ScriptedModelError(BACKEND_WORDS),
            StoryModelError,
            "the story model failed while writing",
            "LLM_ERROR",
            True,
        ),
        (
            httpx.ReadError(BACKEND_WORDS),
            StoryModelError,
            "the connection to the story model broke",
            "LLM_ERROR",
            True,
        ),
        (
            json.JSONDecodeError(BACKEND_WORDS, "{", 0),
            StoryModelError,
            "the connection to the story model broke",
            "LLM_ERROR",
            True,
        ),
    ],
)
def test_a_backend_failure_becomes_a_story_model_error_in_storystreams_words(
    raised: BaseException,
    kind: type[StoryModelError],
    message: str,
    code: str,
    retryable: bool,
) -> None:
    failure = story_model_error(raised)
    assert type(failure) is kind
    assert (str(failure), failure.retryable) == (message, retryable)
    classified = classify_backend_error(raised)
    assert (classified.code, classified.message, classified.retryable) == (code, message, retryable)
    assert BACKEND_WORDS not in classified.message


def test_an_exception_from_no_model_backend_is_not_a_story_model_error() -> None:
    assert story_model_error(KeyError("bug")) is None
    classified = classify_backend_error(KeyError("bug"))
    assert (classified.code, classified.message) == ("LLM_ERROR", "the story could not be written")
