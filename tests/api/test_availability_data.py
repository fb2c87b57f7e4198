"""Availability rules and available periods (reference §6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, User

RULE = {
    "availability_rule_id": "default",
    "tzid": "America/Chicago",
    "weekly_periods": [
        {"day": "monday", "start_time": "09:30", "end_time": "12:30"},
        {"day": "monday", "start_time": "14:00", "end_time": "17:00"},
        {"day": "wednesday", "start_time": "09:30", "end_time": "24:00"},
    ],
}


def test_rule_upsert_list_get_delete(api: Api) -> None:
    user = api.user()
    response = user.post("/v1/availability_rules", json=RULE | {"calendar_ids": [user.calendar_id]})
    assert response.status_code == 200, response.text
    rule = response.json()["availability_rule"]
    assert rule == RULE | {"calendar_ids": [user.calendar_id]}
    changed = RULE | {"tzid": "Europe/London", "weekly_periods": RULE["weekly_periods"][:1]}
    assert user.post("/v1/availability_rules", json=changed).json()["availability_rule"] == changed
    user.post("/v1/availability_rules", json=RULE | {"availability_rule_id": "another"})
    listed = user.get("/v1/availability_rules").json()["availability_rules"]
    assert [r["availability_rule_id"] for r in listed] == ["another", "default"]
    assert user.get("/v1/availability_rules/default").json() == {"availability_rule": changed}
    assert user.delete("/v1/availability_rules/default").status_code == 202
    assert user.get("/v1/availability_rules/default").status_code == 404
    assert user.delete("/v1/availability_rules/default").status_code == 404


def test_rules_belong_to_their_account(api: Api) -> None:
    app = api.new_application()
    one, two = api.user(app, "one"), api.user(app, "two")
    one.post("/v1/availability_rules", json=RULE)
    assert two.get("/v1/availability_rules").json() == {"availability_rules": []}
    denied, never = two.get("/v1/availability_rules/default"), two.get("/v1/availability_rules/never")
    assert denied.status_code == never.status_code == 404
    assert denied.json() == never.json()
    assert two.delete("/v1/availability_rules/default").status_code == 404
    assert one.get("/v1/availability_rules/default").status_code == 200
    response = one.post("/v1/availability_rules", json=RULE | {"calendar_ids": [two.calendar_id]})
    assert response.status_code == 422
    assert response.json()["errors"]["calendar_ids"][0]["key"] == "errors.not_found"


@pytest.mark.parametrize(
    ("change", "field", "key"),
    [
        ({"availability_rule_id": None}, "availability_rule_id", "errors.required"),
        ({"availability_rule_id": "x" * 65}, "availability_rule_id", "errors.too_long"),
        ({"availability_rule_id": "has space"}, "availability_rule_id", "errors.invalid"),
        ({"availability_rule_id": "ünïcode"}, "availability_rule_id", "errors.invalid"),
        ({"tzid": None}, "tzid", "errors.required"),
        ({"tzid": "Not/AZone"}, "tzid", "errors.unknown_tzid"),
        ({"weekly_periods": None}, "weekly_periods", "errors.required"),
        (
            {"weekly_periods": [{"day": "funday", "start_time": "09:00", "end_time": "10:00"}]},
            "weekly_periods",
            "errors.invalid",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "9:00", "end_time": "10:00"}]},
            "weekly_periods",
            "errors.invalid",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "10:00", "end_time": "09:00"}]},
            "weekly_periods",
            "errors.invalid",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "24:00", "end_time": "24:00"}]},
            "weekly_periods",
            "errors.invalid",
        ),
        ({"weekly_periods": [{"day": "monday", "start_time": "09:00"}]}, "weekly_periods", "errors.required"),
        ({"calendar_ids": []}, "calendar_ids", "errors.required"),
    ],
)
def test_rule_validation(api: Api, change: dict[str, Any], field: str, key: str) -> None:
    user = api.user()
    body = {k: v for k, v in (RULE | change).items() if v is not None}
    response = user.post("/v1/availability_rules", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][field][0]["key"] == key
    assert user.get("/v1/availability_rules").json() == {"availability_rules": []}


def _periods(user: User, **params: Any) -> dict[str, Any]:
    response = user.get("/v1/available_periods", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_available_period_upsert_read_delete(api: Api) -> None:
    user = api.user()
    body = {"available_period_id": "p1", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T12:00:00Z"}
    assert user.post("/v1/available_periods", json=body).status_code == 202
    assert (
        user.post(
            "/v1/available_periods",
            json={
                "available_period_id": "p2",
                "start": {"time": "2026-03-03 09:00:00Z", "tzid": "Europe/London"},
                "end": {"time": "2026-03-03T12:00:00Z", "tzid": "Europe/London"},
            },
        ).status_code
        == 202
    )
    listed = _periods(user)
    assert listed["pages"] == {"current": 1, "total": 1}
    assert listed["available_periods"] == [
        {"available_period_id": "p1", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T12:00:00Z"},
        {"available_period_id": "p2", "start": "2026-03-03T09:00:00Z", "end": "2026-03-03T12:00:00Z"},
    ]
    localized = _periods(user, localized_times="true")["available_periods"][1]
    assert localized["start"] == {"time": "2026-03-03T09:00:00+00:00", "tzid": "Europe/London"}
    # An upsert with the same id moves the period.
    user.post("/v1/available_periods", json=body | {"start": "2026-03-02T10:00:00Z"})
    assert _periods(user)["available_periods"][0]["start"] == "2026-03-02T10:00:00Z"
    window = _periods(user, tzid="Etc/UTC", **{"from": "2026-03-03", "to": "2026-03-04"})
    assert [p["available_period_id"] for p in window["available_periods"]] == ["p2"]
    assert user.delete("/v1/available_periods", json={"available_period_id": "p1"}).status_code == 202
    assert [p["available_period_id"] for p in _periods(user)["available_periods"]] == ["p2"]
    assert user.delete("/v1/available_periods/", json={"delete_all": True}).status_code == 202
    assert _periods(user)["available_periods"] == []


def test_available_periods_page(api: Api) -> None:
    user = api.user()
    for i in range(130):
        day = 1 + i // 10
        body = {
            "available_period_id": f"p{i:03d}",
            "start": f"2026-04-{day:02d}T{i % 10:02d}:00:00Z",
            "end": f"2026-04-{day:02d}T{i % 10:02d}:30:00Z",
        }
        assert user.post("/v1/available_periods", json=body).status_code == 202
    first = _periods(user)
    assert (len(first["available_periods"]), first["pages"]["total"]) == (100, 2)
    path = first["pages"]["next_page"].removeprefix("https://openslot.test")
    assert path.startswith("/v1/available_periods/pages/")
    second = user.get(path).json()
    ids = [p["available_period_id"] for p in first["available_periods"] + second["available_periods"]]
    assert ids == [f"p{i:03d}" for i in range(130)]
    assert "next_page" not in second["pages"]
    other = api.user(user.app, "other")
    assert other.get(path).status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "key"),
    [
        ({"available_period_id": None}, "available_period_id", "errors.required"),
        ({"available_period_id": "x" * 65}, "available_period_id", "errors.too_long"),
        ({"start": None}, "start", "errors.required"),
        ({"start": "2026-03-02"}, "start", "errors.invalid"),
        ({"start": "2026-03-02T13:00:00Z"}, "end", "errors.invalid"),
        ({"end": "2028-03-02T13:00:00Z"}, "end", "errors.out_of_range"),
        ({"tzid": "Bad/Zone"}, "tzid", "errors.unknown_tzid"),
    ],
)
def test_available_period_validation(api: Api, change: dict[str, Any], field: str, key: str) -> None:
    user = api.user()
    body = {"available_period_id": "p", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T12:00:00Z"}
    body = {k: v for k, v in (body | change).items() if v is not None}
    response = user.post("/v1/available_periods", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][field][0]["key"] == key
    assert _periods(user)["available_periods"] == []


def test_available_period_read_and_delete_errors(api: Api) -> None:
    user = api.user()
    response = user.get("/v1/available_periods", params={"from": "2026-03-01"})
    assert (response.status_code, response.json()["errors"]["tzid"][0]["key"]) == (422, "errors.required")
    for body, field in (({}, "available_period_id"), ({"delete_all": False}, "available_period_id")):
        response = user.delete("/v1/available_periods", json=body)
        assert response.status_code == 422
        assert field in response.json()["errors"]


def test_available_periods_belong_to_their_account(api: Api) -> None:
    app = api.new_application()
    one, two = api.user(app, "one"), api.user(app, "two")
    body = {"available_period_id": "p", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T12:00:00Z"}
    one.post("/v1/available_periods", json=body)
    two.post("/v1/available_periods", json=body | {"start": "2026-03-02T08:00:00Z"})
    two.delete("/v1/available_periods", json={"delete_all": True})
    assert _periods(one)["available_periods"][0]["start"] == "2026-03-02T09:00:00Z"
