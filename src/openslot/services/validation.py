"""Shared pieces of request validation: the lenient model base, zone ids, and Cronofy 422s."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from openslot.engine import times
from openslot.services.errors import validation_failed_from_pydantic


class Lenient(BaseModel):
    """Unknown fields are ignored, as Cronofy does."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _known_zone(value: str) -> str:
    times.zone(value)  # raises InvalidValue(errors.unknown_tzid), which becomes that 422 key
    return value


TzId = Annotated[str, AfterValidator(_known_zone)]

Model = TypeVar("Model", bound=BaseModel)


def validate(model: type[Model], params: dict[str, Any]) -> Model:
    """The model, or ``ValidationFailed`` with every bad field in Cronofy's terms."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_failed_from_pydantic(list(exc.errors())) from exc
