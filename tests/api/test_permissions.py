"""``POST /v1/permissions``: asking for extended permissions, and what approving them changes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from openslot.services import permissions
from openslot.store.models import PermissionRequest
from tests.conftest import Api, User

REDIRECT_URI = "https://app.example.com/callback"


def _levels(user: User) -> dict[str, str]:
    return {c["calendar_id"]: c["permission_level"] for c in user.get("/v1/calendars").json()["calendars"]}


def _request(user: User, **body: object) -> object:
    payload = {"permissions": [{"calendar_id": user.calendar_id, "permission_level": "unrestricted"}]}
    return user.post("/v1/permissions", json=payload | body)


def _token(url: str) -> str:
    path = urlsplit(url).path
    assert path.startswith("/permissions/")
    return path.removeprefix("/permissions/")


def test_request_answers_a_page_url_and_changes_nothing_yet(api: Api) -> None:
    user = api.user()
    response = _request(user, redirect_uri=REDIRECT_URI)
    assert response.status_code == 200, response.text
    url = response.json()["permissions_request"]["url"]
    assert url.startswith("https://openslot.test/permissions/")
    assert len(_token(url)) >= 32
    assert set(_levels(user).values()) == {"sandbox"}


def test_the_token_is_stored_hashed_and_expires_in_an_hour(api: Api) -> None:
    user = api.user()
    token = _token(_request(user).json()["permissions_request"]["url"])
    with api.ctx.db.read() as session:
        rows = session.query(PermissionRequest).all()
    assert len(rows) == 1
    assert rows[0].token_hash != token and token not in rows[0].token_hash
    assert rows[0].expires_at - rows[0].created_at == timedelta(hours=1)
    assert rows[0].redirect_uri is None


def test_approval_sets_the_level_and_is_single_use(api: Api) -> None:
    user = api.user()
    token = _token(_request(user, redirect_uri=REDIRECT_URI).json()["permissions_request"]["url"])
    pending = permissions.pending(api.ctx, token)
    assert pending is not None and pending.account_id == user.tokens["sub"]
    assert permissions.decide(api.ctx, token, user.tokens["sub"], allow=True) == REDIRECT_URI
    assert set(_levels(user).values()) == {"unrestricted"}
    assert permissions.pending(api.ctx, token) is None
    with pytest.raises(permissions.NotFound):
        permissions.decide(api.ctx, token, user.tokens["sub"], allow=True)


def test_refusal_leaves_the_calendars(api: Api) -> None:
    user = api.user()
    token = _token(_request(user).json()["permissions_request"]["url"])
    assert permissions.decide(api.ctx, token, user.tokens["sub"], allow=False) is None
    assert set(_levels(user).values()) == {"sandbox"}
    assert permissions.pending(api.ctx, token) is None


def test_another_account_cannot_decide(api: Api) -> None:
    one = api.user(api.new_application("One"), "one")
    two = api.user(api.new_application("Two"), "two")
    token = _token(_request(one).json()["permissions_request"]["url"])
    with pytest.raises(permissions.NotFound):
        permissions.decide(api.ctx, token, two.tokens["sub"], allow=True)
    assert permissions.pending(api.ctx, token) is not None  # still open for its own person


def test_an_expired_request_is_gone(api: Api) -> None:
    user = api.user()
    token = _token(_request(user).json()["permissions_request"]["url"])
    api.clock.advance(3601)
    assert permissions.pending(api.ctx, token) is None
    with pytest.raises(permissions.NotFound):
        permissions.decide(api.ctx, token, user.tokens["sub"], allow=True)


def test_sandbox_is_accepted_too(api: Api) -> None:
    user = api.user()
    body = {"permissions": [{"calendar_id": user.calendar_id, "permission_level": "sandbox"}]}
    assert user.post("/v1/permissions", json=body).status_code == 200


def test_another_accounts_calendar_is_the_same_404_as_an_unknown_one(api: Api) -> None:
    one = api.user(api.new_application("One"), "one")
    two = api.user(api.new_application("Two"), "two")
    foreign = one.post(
        "/v1/permissions",
        json={"permissions": [{"calendar_id": two.calendar_id, "permission_level": "unrestricted"}]},
    )
    unknown = one.post(
        "/v1/permissions",
        json={"permissions": [{"calendar_id": "cal_nope", "permission_level": "unrestricted"}]},
    )
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    with api.ctx.db.read() as session:
        assert session.query(PermissionRequest).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": []}, "permissions"),
        ({"permissions": None}, "permissions"),
        ({"permissions": "unrestricted"}, "permissions"),
        ({"permissions": [{"permission_level": "unrestricted"}]}, "permissions"),
        ({"permissions": [{"calendar_id": "CAL", "permission_level": "everything"}]}, "permissions"),
        ({"redirect_uri": "ftp://app.example.com/callback"}, "redirect_uri"),
        ({"redirect_uri": "/callback"}, "redirect_uri"),
        ({"redirect_uri": "https://app.example.com/callback/"}, "redirect_uri"),
        ({"redirect_uri": "https://evil.example.com/callback"}, "redirect_uri"),
    ],
)
def test_invalid_requests_are_422(api: Api, body: dict, field: str) -> None:
    user = api.user()
    base = {"permissions": [{"calendar_id": user.calendar_id, "permission_level": "unrestricted"}]}
    payload = base | body
    if payload["permissions"] and isinstance(payload["permissions"], list):
        payload["permissions"] = [
            {k: (user.calendar_id if v == "CAL" else v) for k, v in p.items()} for p in payload["permissions"]
        ]
    response = user.post("/v1/permissions", json=payload)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_an_application_without_redirect_uris_may_name_any_http_url(api: Api) -> None:
    user = api.user(api.new_application("No URIs", redirect_uris=[]))
    response = _request(user, redirect_uri="http://127.0.0.1:9/done?x=1")
    assert response.status_code == 200, response.text


def test_needs_a_user_access_token(api: Api) -> None:
    response = api.client.post("/v1/permissions", json={"permissions": []})
    assert response.status_code == 401
