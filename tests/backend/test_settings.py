from __future__ import annotations

import pytest

from backend.services import provider_config
from backend.settings import Settings, SettingsError, load_settings


def test_defaults_use_a_sqlite_file_under_var_and_pick_the_model_automatically() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///var/storystream.db"
    assert settings.llm.llm_provider == "auto"
    assert settings.llm.ollama_base_url == "http://127.0.0.1:11434"
    assert settings.ping_seconds == 15


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYSTREAM_PING_SECONDS", "2.5")
    monkeypatch.setenv("STORYSTREAM_OLLAMA_MODEL", "llama3.2:1b")
    settings = load_settings()
    assert settings.ping_seconds == 2.5
    assert settings.llm.ollama_model == "llama3.2:1b"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("STORYSTREAM_PING_SECONDS", "0", "STORYSTREAM_PING_SECONDS"),
        ("STORYSTREAM_IDLE_TIMEOUT_SECONDS", "-1", "STORYSTREAM_IDLE_TIMEOUT_SECONDS"),
        ("STORYSTREAM_IDLE_TIMEOUT_SECONDS", "9999", "STORYSTREAM_RUN_TIMEOUT_SECONDS"),
        ("STORYSTREAM_DATABASE_URL", "sqlite:///blocking.db", "STORYSTREAM_DATABASE_URL"),
        ("STORYSTREAM_OLLAMA_BASE_URL", "ftp://ollama", "STORYSTREAM_OLLAMA_BASE_URL"),
        ("STORYSTREAM_LLM_PROVIDER", "openai", "STORYSTREAM_LLM_PROVIDER"),
        ("STORYSTREAM_LOCAL_MODEL_PATH", "/nowhere/model.gguf", "STORYSTREAM_LOCAL_MODEL_PATH"),
        ("STORYSTREAM_LOCAL_CAPACITY", "0", "STORYSTREAM_LOCAL_CAPACITY"),
        ("STORYSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS", "9999", "STORYSTREAM_RUN_TIMEOUT_SECONDS"),
        ("STORYSTREAM_REDIS_URL", "http://redis:6379", "STORYSTREAM_REDIS_URL"),
        ("STORYSTREAM_REDIS_NAMESPACE", "story stream:*", "STORYSTREAM_REDIS_NAMESPACE"),
        ("STORYSTREAM_CORS_ORIGINS", "https://*.example.com", "STORYSTREAM_CORS_ORIGINS"),
    ],
)
def test_unsafe_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_scripted_provider_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYSTREAM_ENV", "production")
    monkeypatch.setenv("STORYSTREAM_LLM_PROVIDER", "scripted")
    with pytest.raises(SettingsError, match="STORYSTREAM_LLM_PROVIDER=scripted"):
        load_settings()


def test_production_refuses_to_start_without_a_real_jwt_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STORYSTREAM_ENV", "production")
    with pytest.raises(SettingsError, match="STORYSTREAM_JWT_SECRET must be set"):
        load_settings()
    monkeypatch.setenv("STORYSTREAM_JWT_SECRET", "short")
    with pytest.raises(SettingsError, match="STORYSTREAM_JWT_SECRET"):
        load_settings()
    monkeypatch.setenv("STORYSTREAM_JWT_SECRET", "s" * 40)
    assert load_settings().signing_key == "s" * 40


def test_the_story_models_configuration_comes_from_the_documented_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable, value in {
        "STORYSTREAM_LLM_PROVIDER": "scripted",
        "STORYSTREAM_LLM_TEMPERATURE": "0.5",
        "STORYSTREAM_MAX_STORY_TOKENS": "300",
        "STORYSTREAM_LOCAL_CAPACITY": "2",
        "STORYSTREAM_SCRIPTED_TEXT": "Once.",
        "STORYSTREAM_SCRIPTED_TOKENS_PER_SECOND": "7",
    }.items():
        monkeypatch.setenv(variable, value)
    config = provider_config(load_settings())
    assert (config.name, config.temperature, config.max_tokens) == ("scripted", 0.5, 300)
    assert (config.local_capacity, config.scripted_text) == (2, "Once.")
    assert config.scripted_tokens_per_second == 7
    assert config.chosen_because == "configured"
