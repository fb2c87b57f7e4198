"""The official pycronofy client against a real ``openslot serve`` process over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pycronofy
import pytest
from pycronofy.exceptions import PyCronofyRequestError

if TYPE_CHECKING:
    from tests.e2e.conftest import Server

Cronofy = Callable[..., pycronofy.Client]

pytestmark = pytest.mark.e2e


def _status_of(call: Callable[[], object]) -> int:
    with pytest.raises(PyCronofyRequestError) as info:
        call()
    return info.value.response.status_code


def _calendar_names(client: pycronofy.Client) -> list[str]:
    return [calendar["calendar_name"] for calendar in client.list_calendars()]


def test_application_calendar_issues_tokens(app_client: pycronofy.Client) -> None:
    tokens = app_client.application_calendar("e2e-cal")

    assert tokens["access_token"]
    assert tokens["refresh_token"]
    assert tokens["access_token"] != tokens["refresh_token"]
    assert tokens["sub"].startswith("apc_")
    assert tokens["token_expiration"]
    assert not app_client.is_authorization_expired()


def test_application_calendar_is_idempotent_per_id(app_client: pycronofy.Client) -> None:
    first = app_client.application_calendar("e2e-same")
    second = app_client.application_calendar("e2e-same")
    other = app_client.application_calendar("e2e-other")

    assert second["sub"] == first["sub"]
    assert other["sub"] != first["sub"]


def test_identity_profiles_and_calendars(app_client: pycronofy.Client) -> None:
    sub = app_client.application_calendar("e2e-identity")["sub"]

    account = app_client.account()
    assert account["account_id"] == sub

    userinfo = app_client.userinfo()
    assert userinfo["sub"] == sub

    profiles = app_client.list_profiles()
    assert len(profiles) == 1
    assert profiles[0]["provider_name"] == "cronofy"

    calendars = app_client.list_calendars()
    assert [c["calendar_name"] for c in calendars] == ["e2e-identity"]
    assert calendars[0]["profile_id"] == profiles[0]["profile_id"]


def test_create_calendar_and_duplicate(app_client: pycronofy.Client) -> None:
    app_client.application_calendar("e2e-create")
    profile_id = app_client.list_profiles()[0]["profile_id"]

    created = app_client.create_calendar(profile_id, "Second")["calendar"]
    assert created["calendar_name"] == "Second"
    assert created["profile_id"] == profile_id
    assert "Second" in _calendar_names(app_client)

    # pycronofy turns the duplicate-name 422 into "give me the existing calendar" on request ...
    existing = app_client.create_calendar(profile_id, "Second", error_on_duplicate=False)
    assert existing is not None
    assert existing["calendar_id"] == created["calendar_id"]
    assert _calendar_names(app_client).count("Second") == 1

    # ... and re-raises it by default.
    with pytest.raises(PyCronofyRequestError) as info:
        app_client.create_calendar(profile_id, "Second")
    assert info.value.response.status_code == 422
    assert info.value.response.json()["errors"]["name"][0]["key"] == "errors.duplicate_calendar_name"


def test_refresh_issues_new_token_and_keeps_the_old_one(
    server: Server, app_client: pycronofy.Client, cronofy: Cronofy
) -> None:
    tokens = app_client.application_calendar("e2e-refresh")
    old_access = tokens["access_token"]

    refreshed = app_client.refresh_authorization()

    assert refreshed["access_token"] != old_access
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert app_client.account()["account_id"] == tokens["sub"]
    old_client = cronofy(server.base_url, access_token=old_access)
    assert old_client.account()["account_id"] == tokens["sub"]


def test_revoke_makes_every_token_401(server: Server, app_client: pycronofy.Client, cronofy: Cronofy) -> None:
    tokens = app_client.application_calendar("e2e-revoke")
    refreshed = app_client.refresh_authorization()

    app_client.revoke_authorization()

    assert app_client.auth.access_token is None
    for access_token in (tokens["access_token"], refreshed["access_token"]):
        revoked = cronofy(server.base_url, access_token=access_token)
        assert _status_of(revoked.account) == 401
        assert _status_of(revoked.list_calendars) == 401
    # The refresh token went with the grant: the OAuth endpoint answers invalid_grant.
    stale = cronofy(
        server.base_url,
        client_id=server.client_id,
        client_secret=server.client_secret,
        refresh_token=tokens["refresh_token"],
    )
    with pytest.raises(PyCronofyRequestError) as info:
        stale.refresh_authorization()
    assert info.value.response.status_code == 400
    assert info.value.response.json()["error"] == "invalid_grant"


def test_unknown_token_is_401(server: Server, cronofy: Cronofy) -> None:
    stranger = cronofy(server.base_url, access_token="not-a-token")
    assert _status_of(stranger.account) == 401


def test_revocation_survives_a_second_server_process(
    server: Server,
    app_client: pycronofy.Client,
    cronofy: Cronofy,
    extra_server: Callable[[Path], Server],
) -> None:
    revoked_tokens = app_client.application_calendar("e2e-restart-revoked")
    app_client.revoke_authorization()
    kept_tokens = app_client.application_calendar("e2e-restart-kept")

    second = extra_server(server.data_dir)

    assert second.pid != server.pid
    assert second.client_id == server.client_id
    revoked = cronofy(second.base_url, access_token=revoked_tokens["access_token"])
    assert _status_of(revoked.account) == 401
    assert _status_of(revoked.list_calendars) == 401
    # A token issued by the first process still works on the second: they share the data.
    kept = cronofy(second.base_url, access_token=kept_tokens["access_token"])
    assert kept.account()["account_id"] == kept_tokens["sub"]
