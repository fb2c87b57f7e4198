"""POST /v1/sequenced_availability (reference §5.2)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, User


def _body(first: str, second: str, **extra: Any) -> dict[str, Any]:
    return {
        "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T13:00:00Z"}],
        "sequence": [
            {
                "sequence_id": "interview",
                "ordinal": 1,
                "participants": [{"members": [{"sub": first}], "required": "all"}],
                "required_duration": {"minutes": 60},
            },
            {
                "sequence_id": 2,
                "ordinal": 2,
                "participants": [{"members": [second]}],
                "required_duration": {"minutes": 30},
            },
        ],
    } | extra


def _people(api: Api) -> tuple[User, User]:
    app = api.new_application()
    first, second = api.user(app, "first"), api.user(app, "second")
    first.upsert(event_id="busy", start="2026-11-25T10:00:00Z", end="2026-11-25T11:00:00Z")
    second.upsert(event_id="busy", start="2026-11-25T11:00:00Z", end="2026-11-25T12:30:00Z")
    return first, second


def test_sequences_are_in_order_and_respect_everyones_time(api: Api) -> None:
    first, second = _people(api)
    body = _body(first.tokens["sub"], second.tokens["sub"])
    response = api.client.post(
        "/v1/sequenced_availability",
        headers={"Authorization": f"Bearer {first.app.client_secret}"},
        json=body,
    )
    assert response.status_code == 200, response.text
    sequences = [
        [(step["sequence_id"], step["start"][11:16], step["end"][11:16]) for step in item["sequence"]]
        for item in response.json()["sequences"]
    ]
    assert sequences == [
        [("interview", "09:00", "10:00"), ("2", "10:00", "10:30")],
        [("interview", "11:00", "12:00"), ("2", "12:30", "13:00")],
    ]
    step = response.json()["sequences"][0]["sequence"][0]
    assert step["participants"] == [{"sub": first.tokens["sub"]}]


def test_ordinal_decides_the_order_and_max_results_caps(api: Api) -> None:
    first, second = _people(api)
    body = _body(first.tokens["sub"], second.tokens["sub"], max_results=1)
    body["sequence"][0]["ordinal"], body["sequence"][1]["ordinal"] = 2, 1
    response = first.post("/v1/sequenced_availability", json=body)
    [only] = response.json()["sequences"]
    assert [s["sequence_id"] for s in only["sequence"]] == ["2", "interview"]
    assert only["sequence"][0]["start"] == "2026-11-25T09:00:00Z"
    assert only["sequence"][1]["start"] == "2026-11-25T11:00:00Z"


def test_step_available_periods_narrow_the_step(api: Api) -> None:
    first, second = _people(api)
    body = _body(first.tokens["sub"], second.tokens["sub"])
    body["sequence"][0]["available_periods"] = [
        {"start": "2026-11-25T11:00:00Z", "end": "2026-11-25T13:00:00Z"}
    ]
    sequences = first.post("/v1/sequenced_availability", json=body).json()["sequences"]
    assert [item["sequence"][0]["start"] for item in sequences] == ["2026-11-25T11:00:00Z"]


def test_sequenced_validation(api: Api) -> None:
    first, second = _people(api)
    base = _body(first.tokens["sub"], second.tokens["sub"])
    cases = [
        ({k: v for k, v in base.items() if k != "query_periods"}, "query_periods", "errors.required"),
        (base | {"sequence": []}, "sequence", "errors.required"),
        (base | {"sequence": [base["sequence"][0], base["sequence"][0]]}, "sequence", "errors.invalid"),
        (base | {"sequence": [base["sequence"][0]] * 11}, "sequence", "errors.too_many"),
    ]
    for body, field, key in cases:
        response = first.post("/v1/sequenced_availability", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][field][0]["key"] == key
    assert api.client.post("/v1/sequenced_availability", json=base).status_code == 401
