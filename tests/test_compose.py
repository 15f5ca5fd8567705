"""docker-compose.yml stays true to the service: every setting it gives the API exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backend.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).parents[1]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_api_environment_names_only_settings_that_exist() -> None:
    environment = _compose()["services"]["api"]["environment"]
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert set(environment) <= known, set(environment) - known
    assert environment["STORYSTREAM_LLM_PROVIDER"] == "ollama"
    assert environment["STORYSTREAM_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_api_values_pass_settings_validation() -> None:
    environment = _compose()["services"]["api"]["environment"]
    values: dict[str, Any] = {
        name.removeprefix(ENV_PREFIX).lower(): str(value)
        .replace("${STORYSTREAM_OLLAMA_MODEL:-", "")
        .rstrip("}")
        for name, value in environment.items()
    }
    settings = Settings.model_validate(values)
    assert settings.ollama_base_url == "http://ollama:11434"


def test_every_service_has_a_health_check_or_runs_once() -> None:
    services = _compose()["services"]
    assert set(services) >= {"api", "ollama", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service or name == "ollama-models", name


def test_model_pull_script_defaults_match_the_settings() -> None:
    script = (ROOT / "ollama" / "pull-models.sh").read_text()
    assert f'story_model="${{STORYSTREAM_OLLAMA_MODEL:-{Settings().ollama_model}}}"' in script
    assert "llama-guard3:1b" in script
