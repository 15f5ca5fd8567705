"""Puts the SSE wire events (backend.runs.events) into the OpenAPI components, so clients
generate their event types from the same schema as their request and response bodies.

`WireEvent` is the discriminated union of every event's `data:` (by `type`); each event model
is a component of its own (`NodeEvent`, `ContentEvent`, ...).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from backend.runs.events import WireEvent

REF_TEMPLATE = "#/components/schemas/{model}"


def wire_event_schemas() -> dict[str, Any]:
    """The component schemas of the wire events, `WireEvent` (the union) among them."""
    union = TypeAdapter(WireEvent).json_schema(mode="serialization", ref_template=REF_TEMPLATE)
    definitions: dict[str, Any] = union.pop("$defs")
    for name in union["discriminator"]["mapping"].values():
        event = definitions[name.rsplit("/", 1)[-1]]
        # `type` always goes on the wire; a node event omits its null fields (events.event_json),
        # so those are optional and have no default for generators to fill in.
        event["required"] = sorted({"type", *event.get("required", [])})
        if name.endswith("/NodeEvent"):
            for field in event["properties"].values():
                if field.get("default", ...) is None:
                    del field["default"]
    union["description"] = (
        "The JSON `data:` of one SSE frame of a run's stream; its `type` equals the frame's "
        "`event:`. Clients ignore event types and fields they do not know."
    )
    return {**definitions, "WireEvent": union}


def install_wire_event_schemas(app: FastAPI) -> None:
    """Extend `app.openapi()` with the wire event components (computed once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in wire_event_schemas().items():
            if name in components and components[name] != definition:
                raise RuntimeError(f"OpenAPI component {name!r} is defined twice, differently")
            components[name] = definition
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
