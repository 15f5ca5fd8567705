"""Token usage of model calls, added up over a chapter's calls."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage

from workflows.state import TokenUsage


def usage_of(message: BaseMessage | None) -> TokenUsage | None:
    if not isinstance(message, AIMessage) or message.usage_metadata is None:
        return None
    usage = message.usage_metadata
    return TokenUsage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        total_tokens=usage["total_tokens"],
    )


def add_usage(total: TokenUsage | None, more: TokenUsage | None) -> TokenUsage | None:
    if total is None or more is None:
        return total or more
    return TokenUsage(
        input_tokens=total["input_tokens"] + more["input_tokens"],
        output_tokens=total["output_tokens"] + more["output_tokens"],
        total_tokens=total["total_tokens"] + more["total_tokens"],
    )
