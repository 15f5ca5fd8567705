"""Writes the service's OpenAPI schema as JSON, for the frontend's generated client types:
`python -m backend.api.openapi_export frontend/openapi.json` (what `make api-types` runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from backend.app import create_app
from backend.settings import Settings


def openapi_schema() -> dict[str, Any]:
    """The schema every deployment serves (it does not depend on the settings' values)."""
    return create_app(Settings(env="test", llm_provider="scripted", api_docs=True)).openapi()


def openapi_text() -> str:
    return json.dumps(openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m backend.api.openapi_export FILE", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(openapi_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
