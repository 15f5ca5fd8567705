"""StoryStream fails closed when misconfigured (issue 13, finding 10): it will not serve beyond
this machine with the public development secret, the container image is production, and the
compose file keeps PostgreSQL, Redis and Ollama off the host's ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.settings import Settings, SettingsError, refuse_public_bind

ROOT = Path(__file__).parents[2]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """STORYSTREAM_ENV and the secret left unset, as on a fresh machine."""
    monkeypatch.delenv("STORYSTREAM_ENV", raising=False)
    monkeypatch.delenv("STORYSTREAM_JWT_SECRET", raising=False)


@pytest.mark.usefixtures("no_env")
def test_serving_beyond_loopback_with_env_unset_and_no_secret_is_refused() -> None:
    settings = Settings()
    with pytest.raises(SettingsError, match=r"refusing to serve on 0\.0\.0\.0"):
        refuse_public_bind(settings, "0.0.0.0")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        refuse_public_bind(settings, host)
    # A chosen environment, or a secret of one's own, is a decision someone made.
    refuse_public_bind(Settings(env="development"), "0.0.0.0")
    refuse_public_bind(Settings(jwt_secret="x" * 40), "0.0.0.0")


@pytest.mark.usefixtures("no_env")
def test_the_serve_command_refuses_a_public_address_before_it_starts() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to serve on 0.0.0.0" in result.output


def test_the_image_runs_in_production() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert "ENV STORYSTREAM_ENV=production" in lines


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_compose_publishes_the_api_alone_and_on_loopback() -> None:
    services = _compose()["services"]
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    # The optional monitoring profile (issue 16) publishes its UIs, on loopback only too.
    monitoring = {name for name, service in services.items() if service.get("profiles")}
    assert {name: ports for name, ports in published.items() if name not in monitoring} == {
        "api": ["127.0.0.1:8000:8000"]
    }
    for name in monitoring:
        assert all(port.startswith("127.0.0.1:") for port in published.get(name, [])), name
    assert _compose()["networks"]["data"] == {"internal": True}
    assert services["postgres"]["networks"] == ["data"]
    assert services["redis"]["networks"] == ["data"]
    assert services["api"]["environment"]["STORYSTREAM_ENV"] == "production"


def test_compose_takes_every_password_from_the_env_file() -> None:
    services = _compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-}"
    assert "--requirepass" in services["redis"]["command"][-1]
    api = services["api"]["environment"]
    assert api["STORYSTREAM_JWT_SECRET"] == "${STORYSTREAM_JWT_SECRET:-}"
    assert "${POSTGRES_PASSWORD:-}@postgres" in api["STORYSTREAM_DATABASE_URL"]
    assert "${REDIS_PASSWORD:-}@redis" in api["STORYSTREAM_REDIS_URL"]
    example = (ROOT / ".env.example").read_text()
    for name in ("STORYSTREAM_JWT_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert f"\n{name}=replace-me\n" in example
