"""Read models built from database rows with `model_validate(..., from_attributes=True)`, for
read models with fields the row does not have (a count, a URL, what the caller may see)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


class _Attributes:
    """`source`'s attributes, with `fields` added to them or in place of them."""

    def __init__(self, source: object, fields: dict[str, Any]) -> None:
        self._source = source
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        if name in self._fields:
            return self._fields[name]
        return getattr(self._source, name)


def read_model(model: type[Model], source: object, **fields: Any) -> Model:
    """`model` validated from `source`'s attributes and `fields` (which win)."""
    return model.model_validate(_Attributes(source, fields), from_attributes=True)
