"""`with_structured_output` for the chat models StoryStream defines itself, the way ChatOllama
does it (`method="json_schema"`): the JSON schema is bound as the call's `format`, and the reply's
text is parsed into the pydantic model. Each model turns `format` into what its backend takes
(llama.cpp: a JSON-schema grammar; the scripted model: a JSON answer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.outputs import ChatGeneration
from langchain_core.runnables import Runnable, RunnableConfig, RunnableMap, RunnablePassthrough
from pydantic import BaseModel

from workflows.event_stream import off_event_stream

Schema = TypeVar("Schema", bound=BaseModel)


@cache
def _schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    # Building a model's JSON schema costs about 0.7 ms, and every chapter's ending asks for the
    # same one: built once per process. Shared, so never mutated (the models only serialise it).
    return schema.model_json_schema()


@cache
def _parser_of(schema: type[BaseModel]) -> PydanticOutputParser[BaseModel]:
    return PydanticOutputParser(pydantic_object=schema)


def json_schema_output(
    model: BaseChatModel,
    schema: type[BaseModel],
    *,
    include_raw: bool = False,
    **call_options: Any,
) -> Runnable[LanguageModelInput, Any]:
    """`call_options` are bound with the schema (the embedded model's `max_tokens`)."""
    bound = model.bind(format=_schema_of(schema), **call_options)
    parser = _parser_of(schema)
    if not include_raw:
        return bound | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")


@dataclass(frozen=True)
class StructuredAnswer(Generic[Schema]):
    """What `with_structured_output(..., include_raw=True)` returns, as a typed value."""

    raw: AIMessage
    parsed: Schema | None
    parsing_error: Exception | None


async def ask_structured(
    model: BaseChatModel,
    schema: type[Schema],
    messages: Sequence[BaseMessage],
    config: RunnableConfig | None = None,
    **call_options: Any,
) -> StructuredAnswer[Schema]:
    """One structured-output call, the same request as `with_structured_output(schema,
    method="json_schema", include_raw=True)` (the schema as `format`, the reply parsed by
    pydantic), made as a single model run: the composed runnable adds eight child runs whose
    events every callback handler (the `astream_events` tracer among them) is sent, and runs
    its two lambdas on a thread pool, for every chapter's ending. The call is kept off the run's
    event stream; the options go to the model directly, since a `bind` would merge the node's
    callbacks (and the stream's tracer) back in."""
    raw = await model.ainvoke(
        list(messages), off_event_stream(config), format=_schema_of(schema), **call_options
    )
    if not isinstance(raw, AIMessage):  # a chat model answers with an AIMessage
        raise TypeError(f"expected an AIMessage from {type(model).__name__}, got {type(raw)}")
    try:
        parsed = _parser_of(schema).parse_result([ChatGeneration(message=raw)])
    except Exception as exc:  # as include_raw's fallback: any parsing error
        return StructuredAnswer(raw=raw, parsed=None, parsing_error=exc)
    if not isinstance(parsed, schema):
        return StructuredAnswer(raw=raw, parsed=None, parsing_error=TypeError(type(parsed)))
    return StructuredAnswer(raw=raw, parsed=parsed, parsing_error=None)


def require_json_schema_method(
    schema: object, options: dict[str, Any]
) -> tuple[type[BaseModel], dict[str, Any]]:
    """Our models support the one method StoryStream uses, with a pydantic schema; the other
    options are call options."""
    options = dict(options)
    method = options.pop("method", "json_schema")
    if method != "json_schema" or not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise NotImplementedError("only method='json_schema' with a pydantic model is supported")
    return schema, options
