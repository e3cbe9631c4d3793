"""Bounded field types shared by the event, alert and dead-letter models.

Every string that becomes a dictionary key or a metric label downstream (ids, features, tiers) is
bounded, so one malformed producer cannot blow up detector state or Prometheus cardinality. Free text
shown to people (ticket subjects, release notes) is truncated instead of rejected: a ticket with a long
subject is still a ticket.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_COUNT",
    "MAX_ID_LENGTH",
    "MAX_LABEL_LENGTH",
    "Count",
    "Id",
    "Label",
    "Money",
    "SchemaVersion1",
    "text",
]

MAX_ID_LENGTH = 256
MAX_LABEL_LENGTH = 64


def _not_blank(value: str) -> str:
    if value.isspace():
        raise PydanticCustomError("blank_string", "String should contain a non-whitespace character")
    return value


def _not_bool(value: Any) -> Any:
    # Literal[1] accepts True (True == 1 in Python); JSON Schema "const": 1 does not.
    if isinstance(value, bool):
        raise PydanticCustomError("literal_error", "Input should be 1")
    return value


def _json_number(value: Any) -> Any:
    # Lax pydantic ints accept true and "5"; a JSON Schema "integer" accepts neither (5.0 it does).
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# JSON Schema "pattern" searches: "\S" means "contains a non-whitespace character", as _not_blank does.
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": r"\S"}),
]
"""A non-blank identifier of at most 256 characters (ticket, account, release version, owner)."""

Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": r"\S"}),
]
"""A non-blank short name of at most 64 characters (feature, tier, channel)."""

MAX_COUNT = 2**53 - 1  # the largest integer every JSON parser reads exactly

SchemaVersion1 = Annotated[Literal[1], BeforeValidator(_not_bool)]
"""``schema_version`` of the version-1 contracts: exactly the number 1."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT), BeforeValidator(_json_number)]
"""A non-negative integer up to 2**53 - 1; JSON ``5.0`` is accepted, ``true`` and ``"5"`` are not."""

Money = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
"""A finite non-negative amount (JSON integers accepted)."""


def text(max_length: int) -> Any:
    """Free text truncated to ``max_length`` characters.

    Examples
    --------
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(text(5)).validate_python("release notes")
    'relea'
    """
    return Annotated[str, AfterValidator(lambda value: value[:max_length])]
