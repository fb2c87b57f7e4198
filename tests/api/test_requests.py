"""Errors and requests as clients really send them (reference §1.1, §1.3, §11)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy import func, select

from openslot.store.models import Calendar
from tests.conftest import Api

EVENT = {"event_id": "e1", "summary": "S", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"}


def test_trailing_slashes_are_ignored(api: Api) -> None:
    user = api.user()
    assert user.get("/v1/calendars/").status_code == 200
    assert user.get("/v1/account/").json()["sub"] == user.tokens["sub"]
    profile_id = user.tokens["linking_profile"]["profile_id"]
    assert user.post("/v1/calendars/", json={"profile_id": profile_id, "name": "S"}).status_code == 200


def test_unknown_path_is_404_in_the_error_format(api: Api) -> None:
    response = api.client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["errors"]["base"][0]["key"] == "errors.not_found"


def test_wrong_method_is_405(api: Api) -> None:
    response = api.client.delete("/v1/account")
    assert response.status_code == 405
    assert response.json()["errors"]["base"][0]["key"] == "errors.method_not_allowed"


def test_body_over_one_mebibyte_is_413_and_changes_nothing(api: Api) -> None:
    user = api.user()
    profile_id = user.tokens["linking_profile"]["profile_id"]
    body = json.dumps({"profile_id": profile_id, "name": "big", "padding": "x" * (1024 * 1024)})
    response = user.post(
        "/v1/calendars", content=body, headers=user.headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"]["base"][0]["key"] == "errors.too_large"


def test_streamed_body_over_the_limit_is_413(api: Api) -> None:
    user = api.user()

    def chunks():  # no Content-Length: the limit applies as the body streams in
        for _ in range(40):
            yield b"x" * 32768

    response = user.post("/v1/calendars", content=chunks(), headers=user.headers)
    assert response.status_code == 413


def test_body_just_under_the_limit_is_read(api: Api) -> None:
    user = api.user()
    profile_id = user.tokens["linking_profile"]["profile_id"]
    prefix = json.dumps({"profile_id": profile_id, "name": "big", "padding": ""})[:-2]
    body = prefix + "x" * (1024 * 1024 - len(prefix) - 2) + '"}'
    assert len(body) == 1024 * 1024
    response = user.post(
        "/v1/calendars", content=body, headers=user.headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 200


def test_malformed_json_is_422(api: Api) -> None:
    user = api.user()
    for raw in (b"{not json", b'"a string"', b"[1, 2]", b"\xff\xfe"):
        response = user.post(
            "/v1/calendars", content=raw, headers=user.headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
        assert response.json()["errors"]["body"][0]["key"] == "errors.invalid"


def test_empty_bodies_are_empty_parameters(api: Api) -> None:
    user = api.user()
    for raw in (b"", b"{}", b"[]"):
        response = user.post(
            "/v1/calendars", content=raw, headers=user.headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"profile_id", "name"}


def test_json_body_without_a_content_type(api: Api) -> None:
    user = api.user()
    profile_id = user.tokens["linking_profile"]["profile_id"]
    raw = json.dumps({"profile_id": profile_id, "name": "plain"}).encode()
    response = user.post("/v1/calendars", content=raw, headers=user.headers)
    assert response.status_code == 200


def test_null_is_treated_as_absent(api: Api) -> None:
    user = api.user()
    profile_id = user.tokens["linking_profile"]["profile_id"]
    response = user.post("/v1/calendars", json={"profile_id": profile_id, "name": "N", "color": None})
    assert response.status_code == 200
    assert "calendar_color" not in response.json()["calendar"]


def test_errors_report_every_bad_field_at_once(api: Api) -> None:
    user = api.user()
    response = user.post("/v1/calendars", json={"color": "nope"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"profile_id", "name", "color"}


def test_a_500_never_shows_internals(api: Api) -> None:
    router = APIRouter()

    @router.get("/v1/explode")
    def explode() -> None:
        raise RuntimeError("secret internal detail: /etc/passwd")

    api.client.app.include_router(router)  # type: ignore[attr-defined]
    response = api.client.get("/v1/explode")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["errors"]["base"][0]["key"] == "errors.internal"


def test_rate_limit_is_per_application_and_answers_429(api: Api, tmp_path) -> None:
    from starlette.testclient import TestClient

    from openslot.api.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, api.settings.database_url, rate_limit_per_minute=5)
    client = TestClient(create_app(settings, api.ctx), raise_server_exceptions=False)
    one, two = api.user(api.new_application("One"), "a"), api.user(api.new_application("Two"), "b")
    statuses = [client.get("/v1/account", headers=one.headers).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.get("/v1/account", headers=one.headers)
    assert limited.json()["errors"]["base"][0]["key"] == "errors.rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/v1/account", headers=two.headers).status_code == 200
    # A request with an unknown token is not counted against anyone.
    assert client.get("/v1/account", headers={"Authorization": "Bearer bad"}).status_code == 401


def test_failed_validation_changes_nothing(api: Api) -> None:
    user = api.user()
    with api.ctx.db.read() as session:
        before = session.scalar(select(func.count()).select_from(Calendar))
    user.post(
        "/v1/calendars", json={"profile_id": user.tokens["linking_profile"]["profile_id"], "color": "x"}
    )
    with api.ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Calendar)) == before


def test_event_endpoints_answer_405_with_allow(api: Api) -> None:
    user = api.user()
    response = user.client.put("/v1/events", headers=user.headers)
    assert response.status_code == 405
    assert response.json()["errors"]["base"][0]["key"] == "errors.method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "DELETE"}
    assert (
        user.client.get(f"/v1/calendars/{user.calendar_id}/events", headers=user.headers).status_code == 405
    )


def test_event_endpoints_take_head_and_trailing_slashes(api: Api) -> None:
    user = api.user()
    calendar_id = user.calendar_id
    assert user.post(f"/v1/calendars/{calendar_id}/events/", json=EVENT).status_code == 202
    window = {"tzid": "Etc/UTC", "from": "2026-03-01", "to": "2026-03-10", "include_managed": "true"}
    assert len(user.get("/v1/events/", params=window).json()["events"]) == 1
    head = user.client.head("/v1/events", params=window, headers=user.headers)
    assert head.status_code == 200 and head.content == b""


def test_event_write_without_a_token_is_401_whatever_the_body(api: Api) -> None:
    calendar_id = api.user().calendar_id
    response = api.client.post(
        f"/v1/calendars/{calendar_id}/events",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_event_write_with_a_bad_body_is_422_and_over_the_limit_413(api: Api) -> None:
    user = api.user()
    path = f"/v1/calendars/{user.calendar_id}/events"
    bad = user.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 422
    assert bad.json()["errors"]["body"][0]["key"] == "errors.invalid"
    big = user.post(path, json=EVENT | {"description": "x" * (1024 * 1024)})
    assert big.status_code == 413
    assert big.json()["errors"]["base"][0]["key"] == "errors.too_large"


def test_an_unexpected_error_in_an_event_endpoint_is_500_in_the_api_format(api: Api, monkeypatch) -> None:
    from openslot.services import event_reads

    def broken(*_args: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(event_reads, "free_busy", broken)
    response = api.user().get("/v1/free_busy")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert response.json()["errors"]["base"][0]["key"] == "errors.internal"
