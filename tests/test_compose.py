"""docker-compose.yml stays true to the service: every setting it gives the API exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from backend.settings import ENV_PREFIX, Settings, variable_names

ROOT = Path(__file__).parents[1]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_api_environment_names_only_settings_that_exist() -> None:
    environment = _compose()["services"]["api"]["environment"]
    known = variable_names()
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
    assert settings.llm.ollama_base_url == "http://ollama:11434"
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
    assert f'story_model="${{STORYSTREAM_OLLAMA_MODEL:-{Settings().llm.ollama_model}}}"' in script
    assert "llama-guard3:1b" in script


# --- the optional monitoring profile (issue 16) --------------------------------------------

MONITORING = {"prometheus", "grafana"}


def test_monitoring_services_start_only_with_their_profile() -> None:
    services = _compose()["services"]
    assert set(services) >= MONITORING
    for name, service in services.items():
        expected = ["monitoring"] if name in MONITORING else None
        assert service.get("profiles") == expected, name


def test_the_scrape_config_points_at_the_api_metrics() -> None:
    from backend.observability import METRICS_PATH

    compose = _compose()
    prometheus = compose["services"]["prometheus"]
    assert (
        "./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in (prometheus["volumes"])
    )
    config = yaml.safe_load((ROOT / "ops" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == METRICS_PATH
    container_port = compose["services"]["api"]["ports"][0].rsplit(":", 1)[1]
    assert job["static_configs"] == [{"targets": [f"api:{container_port}"]}]
    # The API's default: metrics on its own port, not a separate one.
    assert "STORYSTREAM_METRICS_PORT" not in compose["services"]["api"]["environment"]


def test_the_dashboard_reads_only_metrics_the_service_exports() -> None:
    from backend.observability.metrics import ServiceMetrics

    exported = {
        sample_name
        for family in ServiceMetrics().registry.collect()
        for sample_name in (
            family.name,
            f"{family.name}_total",
            f"{family.name}_bucket",
            f"{family.name}_sum",
            f"{family.name}_count",
        )
    }
    dashboard = json.loads(
        (ROOT / "ops" / "grafana" / "dashboards" / "storystream.json").read_text()
    )
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"storystream_[a-z_]+", expr)}
    assert used <= exported, used - exported
    # Every metric family has a panel.
    families = {family.name for family in ServiceMetrics().registry.collect()}
    shown = {
        name.removesuffix(suffix)
        for name in used
        for suffix in ("_bucket", "_total")
        if name.endswith(suffix)
    } | used
    assert families <= shown, families - shown


def test_grafana_refuses_to_start_without_its_admin_password() -> None:
    grafana = _compose()["services"]["grafana"]
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert _interpolated(password, {}) == ""
    assert 'test -n "$$GF_SECURITY_ADMIN_PASSWORD"' in grafana["entrypoint"][2]
    assert all(port.startswith("127.0.0.1:") for port in grafana["ports"])
    assert "GRAFANA_ADMIN_PASSWORD=" in (ROOT / ".env.example").read_text()


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)
def test_compose_validates_with_the_monitoring_profile(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    for profile in ([], ["--profile", "monitoring"]):
        result = subprocess.run(
            ["docker-compose", "--env-file", str(env_file), *profile, "config", "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
