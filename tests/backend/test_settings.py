from __future__ import annotations

import pytest

from backend.settings import Settings, SettingsError, load_settings


def test_defaults_use_a_sqlite_file_under_var_and_pick_the_model_automatically() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///var/storystream.db"
    assert settings.llm_provider == "auto"
    assert settings.ollama_base_url == "http://127.0.0.1:11434"
    assert settings.ping_seconds == 15


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYSTREAM_PING_SECONDS", "2.5")
    monkeypatch.setenv("STORYSTREAM_OLLAMA_MODEL", "llama3.2:1b")
    settings = load_settings()
    assert settings.ping_seconds == 2.5
    assert settings.ollama_model == "llama3.2:1b"


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
