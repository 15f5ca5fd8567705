"""docker-compose.yml stays true to the service: every setting it gives the API exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

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


def _interpolated(value: object, dotenv: dict[str, str]) -> str:
    """`${NAME:-default}` as Compose reads it: NAME from `.env`, else the default."""
    return re.sub(
        r"\$\{([A-Z_]+):-([^}]*)\}",
        lambda match: dotenv.get(match.group(1), match.group(2)),
        str(value),
    )


def _api_settings(dotenv: dict[str, str]) -> dict[str, Any]:
    environment = _compose()["services"]["api"]["environment"]
    return {
        name.removeprefix(ENV_PREFIX).lower(): _interpolated(value, dotenv)
        for name, value in environment.items()
    }


def test_api_values_pass_settings_validation() -> None:
    # What a filled-in .env (see .env.example) gives.
    dotenv = {
        "STORYSTREAM_JWT_SECRET": "a-random-secret-of-at-least-32-characters",
        "POSTGRES_PASSWORD": "pg-secret",
        "REDIS_PASSWORD": "redis-secret",
    }
    settings = Settings.model_validate(_api_settings(dotenv))
    assert settings.ollama_base_url == "http://ollama:11434"
    assert settings.env == "production"


def test_without_a_dotenv_the_api_refuses_to_start() -> None:
    # Fail closed (issue 13): no secret, no service.
    with pytest.raises(ValidationError, match="STORYSTREAM_JWT_SECRET must be set"):
        Settings.model_validate(_api_settings({}))


def test_every_service_has_a_health_check_or_runs_once() -> None:
    services = _compose()["services"]
    assert set(services) >= {"api", "ollama", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service or name == "ollama-models", name


def test_model_pull_script_defaults_match_the_settings() -> None:
    script = (ROOT / "ollama" / "pull-models.sh").read_text()
    assert f'story_model="${{STORYSTREAM_OLLAMA_MODEL:-{Settings().ollama_model}}}"' in script
    assert "llama-guard3:1b" in script
