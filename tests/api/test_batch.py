"""POST /v1/batch (reference §9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from openslot.store.models import Grant
from tests.conftest import Api, User


def _event(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "summary": "Batch",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
    } | fields


def _managed(user: User) -> list[str]:
    params = {"tzid": "Etc/UTC", "only_managed": "true", "include_deleted": "true"}
    return sorted(
        f"{e['event_id']}{'-' if e['deleted'] else ''}"
        for e in user.get("/v1/events", params=params).json()["events"]
    )


def test_batch_runs_each_entry_and_reports_in_order(api: Api) -> None:
    user = api.user()
    path = f"/v1/calendars/{user.calendar_id}/events"
    batch = [
        {"method": "POST", "relative_url": path, "data": _event("a")},
        {"method": "POST", "relative_url": path, "data": _event("b", summary=None)},
        {"method": "POST", "relative_url": path, "data": _event("c")},
        {"method": "DELETE", "relative_url": path, "data": {"event_id": "c"}},
        {
            "method": "POST",
            "relative_url": "/v1/available_periods",
            "data": {
                "available_period_id": "p",
                "start": "2026-03-02T09:00:00Z",
                "end": "2026-03-02T10:00:00Z",
            },
        },
        {"method": "DELETE", "relative_url": "/v1/available_periods", "data": {"available_period_id": "p"}},
        {"method": "POST", "relative_url": "/v1/calendars/cal_unknown/events", "data": _event("d")},
        {"method": "POST", "relative_url": "/v1/channels", "data": {}},
        {"method": "PATCH", "relative_url": path, "data": _event("e")},
    ]
    response = user.post("/v1/batch", json={"batch": batch})
    assert response.status_code == 207, response.text
    entries = response.json()["batch"]
    assert [e["status"] for e in entries] == [202, 422, 202, 202, 202, 202, 404, 404, 422]
    assert entries[1]["data"] == {
        "errors": {"summary": [{"key": "errors.required", "description": "summary must be specified"}]}
    }
    assert "data" not in entries[0]
    assert _managed(user) == ["a", "c-"]


def test_batch_entry_scopes(api: Api) -> None:
    user = api.user()
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope="create_event read_events"))
    path = f"/v1/calendars/{user.calendar_id}/events"
    batch = [
        {"method": "POST", "relative_url": path, "data": _event("a")},
        {"method": "DELETE", "relative_url": path, "data": {"event_id": "a"}},
    ]
    entries = user.post("/v1/batch", json={"batch": batch}).json()["batch"]
    assert [e["status"] for e in entries] == [202, 403]


def test_batch_of_fifty_is_accepted_and_fifty_one_refused(api: Api) -> None:
    user = api.user()
    path = f"/v1/calendars/{user.calendar_id}/events"
    fifty = [{"method": "POST", "relative_url": path, "data": _event(f"e{i}")} for i in range(50)]
    response = user.post("/v1/batch", json={"batch": fifty})
    assert [e["status"] for e in response.json()["batch"]] == [202] * 50
    response = user.post("/v1/batch", json={"batch": [*fifty, fifty[0]]})
    assert response.status_code == 422
    assert response.json()["errors"]["batch"][0]["key"] == "errors.too_many"


def test_malformed_batches(api: Api) -> None:
    user = api.user()
    for body, key in (
        ({}, "errors.required"),
        ({"batch": []}, "errors.required"),
        ({"batch": "no"}, "errors.invalid"),
    ):
        response = user.post("/v1/batch", json=body)
        assert response.status_code == 422
        assert response.json()["errors"]["batch"][0]["key"] == key
    entries = user.post("/v1/batch", json={"batch": [{"method": "POST"}, {"relative_url": "/v1/x"}]}).json()[
        "batch"
    ]
    assert [e["status"] for e in entries] == [422, 422]
    assert "relative_url" in entries[0]["data"]["errors"]


def test_batch_needs_a_token(api: Api) -> None:
    assert api.client.post("/v1/batch", json={"batch": []}).status_code == 401
