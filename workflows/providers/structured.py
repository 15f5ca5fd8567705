"""`with_structured_output` for the chat models StoryStream defines itself, the way ChatOllama
does it (`method="json_schema"`): the JSON schema is bound as the call's `format`, and the reply's
text is parsed into the pydantic model. Each model turns `format` into what its backend takes
(llama.cpp: a JSON-schema grammar; the scripted model: a JSON answer)."""

from __future__ import annotations

from functools import cache
from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from pydantic import BaseModel


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
