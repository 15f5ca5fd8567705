"""Chat model providers: Ollama in production, a scripted model for tests and benchmarks."""

from workflows.providers.factory import ProviderConfig, ProviderStatus, build_chat_model, probe

__all__ = ["ProviderConfig", "ProviderStatus", "build_chat_model", "probe"]
