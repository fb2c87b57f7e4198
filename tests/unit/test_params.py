"""Parameter normalisation: bracketed arrays, nulls and booleans as the SDKs send them."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from pydantic import BaseModel

from openslot.api.params import drop_nulls, normalise_pairs
from openslot.services.errors import ValidationFailed
from openslot.services.validation import validate as parse


class Query(BaseModel):
    calendar_ids: list[str] = []
    include_deleted: bool = False


@pytest.mark.parametrize(
    "query",
    [
        "calendar_ids[]=a&calendar_ids[]=b",
        "calendar_ids%5B%5D=a&calendar_ids%5B%5D=b",
        "calendar_ids%5b%5d=a&calendar_ids[]=b",
    ],
)
def test_bracketed_arrays_encoded_or_plain(query: str) -> None:
    assert normalise_pairs(parse_qsl(query))["calendar_ids"] == ["a", "b"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("True", True), ("false", False), ("False", False)]
)
def test_booleans_in_any_case(raw: str, expected: bool) -> None:
    assert parse(Query, normalise_pairs(parse_qsl(f"include_deleted={raw}"))).include_deleted is expected


def test_bad_boolean_is_a_422_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(Query, {"include_deleted": "perhaps"})
    assert caught.value.errors["include_deleted"][0][0] == "errors.invalid"


def test_nulls_are_dropped_at_every_depth() -> None:
    assert drop_nulls({"a": None, "b": {"c": None, "d": 1}, "e": [{"f": None}]}) == {"b": {"d": 1}, "e": [{}]}
