"""The frontend's client types are generated from frontend/openapi.json; that file must be the
service's current schema (issue 14). Regenerate both with `make api-types`."""

from __future__ import annotations

import json
from pathlib import Path

from backend.api.openapi_export import openapi_schema, openapi_text

OPENAPI_FILE = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"


def test_frontend_openapi_file_is_the_current_schema() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi_text(), (
        "frontend/openapi.json is stale: run `make api-types` and commit the result"
    )


def test_wire_events_are_openapi_components() -> None:
    schemas = openapi_schema()["components"]["schemas"]
    union = schemas["WireEvent"]
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == {
        "node",
        "content",
        "reset",
        "safety",
        "metadata",
        "complete",
        "error",
    }
    assert "type" in schemas["ContentEvent"]["required"]
    # A node event omits its null fields on the wire: optional, and no default to fill in.
    assert "position" not in schemas["NodeEvent"]["required"]
    assert "default" not in schemas["NodeEvent"]["properties"]["position"]
    assert json.dumps(schemas["CompletedStory"])  # nested models are components too
