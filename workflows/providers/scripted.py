"""A scripted chat model for tests and benchmarks: real LangChain streaming, predictable text.

It is never a production default (settings refuse it when `STORYSTREAM_ENV=production`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, PrivateAttr

from workflows.ending import SUMMARY_FORBIDDEN
from workflows.providers.structured import json_schema_output, require_json_schema_method

_TOKEN = re.compile(r"\s*\S+|\s+")
_NAME = re.compile(r'named "([^"]{1,60})"')
_THEME = re.compile(r'Theme: "([^"]{1,80})"')
_WORDS = re.compile(r"about (\d{2,4}) words")
_CHOSEN = re.compile(r'the reader chose: "([^"]{1,200})"')
# A gullible model: it obeys instructions smuggled into the story's data, and what it writes
# then is not fit for a child. Tests use it to prove such text never reaches one.
_INJECTION = re.compile(r"ignore (?:all |any )?(?:previous |prior )?(?:instructions|rules)", re.I)
OBEYED_INJECTION = "The guard pulled out a knife and stabbed the dragon until it bled."

_SENTENCES = (
    "{name} looked up and saw something wonderful.",
    "A soft breeze carried the smell of fresh flowers.",
    "{name} counted three bright stars and smiled.",
    "A friendly owl said hello from a tall green tree.",
    "Together they made a plan and shared their snacks.",
    "{name} felt brave and curious and very happy.",
    "The path curled past a little blue pond.",
    "Everyone laughed when the rabbit did a funny hop.",
)


# The chapter between these lines is what prompts/ending_user.txt asks the model to end.
_CHAPTER = re.compile(r"^#{8}\n(.*?)\n#{8}$", re.S | re.M)
# What the ending's summary may not hold (its schema's pattern): quotes and markup.
_NOT_IN_SUMMARY = re.compile(f"[{SUMMARY_FORBIDDEN}]")
_SCRIPT_QUESTION = re.compile(r"^\W*question:\W*(.+)$", re.I | re.M)
_SCRIPT_CHOICE = re.compile(r"^\W*choice \d:\s*(.+)$", re.I | re.M)
# The ending of a script that does not write one itself.
DEFAULT_QUESTION = "What should happen next?"
DEFAULT_CHOICES = ("Look behind the old tree", "Ask a friend for help", "Go home for a rest")

# Words of prompts/story_retry.txt: the prompt of a regenerated draft contains them.
RETRY_MARKER = "could not be shown to the child"
# Words of prompts/story_repair.txt: the model is asked to continue after a held-back sentence.
REPAIR_MARKER = "Continue the chapter from exactly where it stops"


def read_scripts(path: Path | None) -> tuple[str, ...]:
    """The scripts of a JSON Lines file of `{"text": ...}` rows, in file order (none: no file)."""
    if path is None:
        return ()
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return tuple(str(row["text"]) for row in rows)


class ScriptedModelError(RuntimeError):
    """The failure a scripted model was asked to raise at a given token."""


def tokenize(text: str) -> list[str]:
    """Split text the way LLM tokens usually arrive: words with their leading whitespace."""
    return _TOKEN.findall(text)


def compose_story(prompt: str) -> str:
    """A deterministic story in the format the prompts ask for, as long as the prompt asks."""
    name_match = _NAME.search(prompt)
    theme_match = _THEME.search(prompt)
    words_match = _WORDS.search(prompt)
    name = name_match.group(1) if name_match else "Sam"
    theme = theme_match.group(1) if theme_match else "adventure"
    chosen_match = _CHOSEN.search(prompt)
    target_words = int(words_match.group(1)) if words_match else 120
    if _INJECTION.search(prompt):
        opening = f"{name} did exactly what the request said. {OBEYED_INJECTION}"
    elif chosen_match:
        # A continued chapter starts from the reader's choice, as the prompt asks.
        opening = f"{name} chose to {chosen_match.group(1).lower()}, and the {theme} went on."
    else:
        opening = f"Once upon a time, {name} set off on a {theme} journey."
    paragraphs = [opening]
    words = len(paragraphs[0].split())
    index = 0
    while words < target_words:
        sentence = _SENTENCES[index % len(_SENTENCES)].format(name=name)
        if index % 4 == 3:
            paragraphs.append(sentence)
        else:
            paragraphs[-1] += " " + sentence
        words += len(sentence.split())
        index += 1
    body = "\n\n".join(paragraphs)
    return (
        f"{body}\n\n"
        "QUESTION: What should happen next?\n"
        "CHOICE 1: Follow the owl into the forest\n"
        "CHOICE 2: Go back home for lunch\n"
        "CHOICE 3: Build a little boat"
    )


def compose_ending(script: str, prompt: str) -> str:
    """The JSON a structured-output call gets: the question and choices the script itself ends
    with (or a default), and the first sentence of the chapter in the prompt as its summary,
    written as the schema asks (as a model decoding under it would: no quotes, no markup)."""
    question = _SCRIPT_QUESTION.search(script)
    choices = [match.strip() for match in _SCRIPT_CHOICE.findall(script)]
    chapter = _CHAPTER.search(prompt)
    first = chapter.group(1).strip().split(". ")[0].strip().rstrip(".") if chapter else ""
    first = " ".join(_NOT_IN_SUMMARY.sub(" ", first).split())
    summary = f"In this chapter: {first or 'the story began'}."
    return json.dumps(
        {
            "question": question.group(1).strip() if question else DEFAULT_QUESTION,
            "choices": choices[:3] if len(choices) >= 2 else list(DEFAULT_CHOICES),
            "summary": summary[:400],
        }
    )


def _last_prompt_text(messages: list[BaseMessage]) -> str:
    return "\n".join(message.text for message in messages)


class ScriptedChatModel(BaseChatModel):
    """Streams `text` (or a story composed from the prompt) token by token at a set rate."""

    text: str | None = None
    # Several scripts, one per chapter in turn (then `text` is not used for chapters): a
    # benchmark's chapters differ, as real ones do, so no cache serves one from another.
    texts: tuple[str, ...] = ()
    # Streamed instead of `text` when the prompt asks for a new draft after a rejected one.
    retry_text: str | None = None
    # Streamed instead when the prompt asks to continue after a held-back sentence.
    repair_text: str | None = None
    # The answer to a structured-output call (a `format` schema), instead of `compose_ending`'s.
    ending_text: str | None = None
    tokens_per_second: float = 0.0
    fail_at_token: int | None = None
    _turn: int = PrivateAttr(default=0)
    _script: str | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "storystream-scripted"

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        model, options = require_json_schema_method(schema, kwargs)
        return json_schema_output(self, model, include_raw=include_raw, **options)

    def _tokens_for(self, messages: list[BaseMessage], call: dict[str, Any]) -> list[str]:
        prompt = _last_prompt_text(messages)
        if "format" in call:
            if self.ending_text is not None:
                return tokenize(self.ending_text)
            script = self._script or self.text
            return tokenize(compose_ending(script or compose_story(prompt), prompt))
        if self.repair_text is not None and REPAIR_MARKER in messages[-1].text:
            return tokenize(self.repair_text)
        if self.retry_text is not None and RETRY_MARKER in prompt:
            return tokenize(self.retry_text)
        if self.texts:
            # The ending call that follows reads the question and choices of this script.
            self._script = self.texts[self._turn % len(self.texts)]
            self._turn += 1
            return tokenize(self._script)
        return tokenize(self.text if self.text is not None else compose_story(prompt))

    def _usage(self, messages: list[BaseMessage], tokens: list[str]) -> UsageMetadata:
        prompt_tokens = len(tokenize(_last_prompt_text(messages)))
        return UsageMetadata(
            input_tokens=prompt_tokens,
            output_tokens=len(tokens),
            total_tokens=prompt_tokens + len(tokens),
        )

    def _check_failure(self, position: int) -> None:
        if self.fail_at_token is not None and position == self.fail_at_token:
            raise ScriptedModelError(f"scripted failure at token {position}")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tokens = self._tokens_for(messages, kwargs)
        for position in range(1, len(tokens) + 1):
            self._check_failure(position)
        message = AIMessage(content="".join(tokens), usage_metadata=self._usage(messages, tokens))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tokens = self._tokens_for(messages, kwargs)
        for position, token in enumerate(tokens, start=1):
            self._check_failure(position)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield self._final_chunk(messages, tokens)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        tokens = self._tokens_for(messages, kwargs)
        delay = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        for position, token in enumerate(tokens, start=1):
            await asyncio.sleep(delay)
            self._check_failure(position)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield self._final_chunk(messages, tokens)

    def _final_chunk(self, messages: list[BaseMessage], tokens: list[str]) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=self._usage(messages, tokens),
                response_metadata={"done": True, "done_reason": "stop"},
            )
        )
