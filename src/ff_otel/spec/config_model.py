"""The base of every config DTO: strict, validated on assignment, with the spec's dict methods."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Base of every config DTO: unknown fields are errors, assignment is validated."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        use_enum_values=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The DTO as plain JSON-compatible data (the spec calls this ``to_dict``)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate the DTO from plain data."""
        return cls.model_validate(data)
