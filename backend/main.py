"""The ASGI entry point: `uvicorn backend.main:app` serves StoryStream with settings from the
environment. Invalid settings stop start-up with a message that names the setting.

Logging is set up here, once uvicorn has configured its own loggers: every line of the process
(uvicorn's included) is then a JSON object outside development (STORYSTREAM_LOG_FORMAT).
"""

from __future__ import annotations

from backend.app import create_app
from backend.observability.logging import configure_logging
from backend.settings import SettingsError, load_settings

try:
    settings = load_settings()
except SettingsError as exc:
    configure_logging()
    raise SystemExit(f"StoryStream cannot start: {exc}") from None
configure_logging(settings.log_format, settings.env, settings.log_level)
app = create_app(settings)
