"""Chat model providers: Ollama, the embedded llama.cpp model, and a scripted test double."""

from workflows.providers.factory import (
    BuiltModel,
    ProviderConfig,
    ProviderStatus,
    build_chat_model,
    probe,
    resolve_provider,
)

__all__ = [
    "BuiltModel",
    "ProviderConfig",
    "ProviderStatus",
    "build_chat_model",
    "probe",
    "resolve_provider",
]
