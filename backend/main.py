"""The ASGI entry point: `uvicorn backend.main:app` serves StoryStream with settings from the
environment. Invalid settings stop start-up with a message that names the setting."""

from __future__ import annotations

import logging

from backend.app import create_app
from backend.settings import SettingsError, load_settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

try:
    app = create_app(load_settings())
except SettingsError as exc:
    raise SystemExit(f"StoryStream cannot start: {exc}") from None
