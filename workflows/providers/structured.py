"""`with_structured_output` for the chat models StoryStream defines itself, the way ChatOllama
does it (`method="json_schema"`): the JSON schema is bound as the call's `format`, and the reply's
text is parsed into the pydantic model. Each model turns `format` into what its backend takes
(llama.cpp: a JSON-schema grammar; the scripted model: a JSON answer)."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from pydantic import BaseModel


def json_schema_output(
    model: BaseChatModel,
    schema: type[BaseModel],
    *,
    include_raw: bool = False,
    **call_options: Any,
) -> Runnable[LanguageModelInput, Any]:
    """`call_options` are bound with the schema (the embedded model's `max_tokens`)."""
    bound = model.bind(format=schema.model_json_schema(), **call_options)
    parser: PydanticOutputParser[BaseModel] = PydanticOutputParser(pydantic_object=schema)
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
