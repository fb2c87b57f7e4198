"""Racing requests on one code or one refresh token: no 5xx, one winner at most, no second family."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from openslot.store.models import Grant
from tests.api.test_oauth_code_exchange import _exchange, _public_tokens, _refresh
from tests.conftest import Api
from tests.web.helpers import Browser, authorize_params

RACERS = 10


def _race(call: Any) -> list[int]:
    with ThreadPoolExecutor(RACERS) as pool:
        return [response.status_code for response in pool.map(lambda _: call(), range(RACERS))]


def _grants(api: Api) -> int:
    with api.ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Grant)) or 0


def test_racing_exchanges_of_one_code(api: Api) -> None:
    person = Browser(api.browser())
    assert person.sign_up("ada@example.com").status_code == 303
    app = api.new_application()
    code = person.code_for(authorize_params(app))
    statuses = _race(lambda: _exchange(api, app, code))
    assert set(statuses) <= {200, 400}, statuses
    assert statuses.count(200) <= 1
    assert _grants(api) <= 1


def test_racing_refreshes_of_one_public_refresh_token(api: Api) -> None:
    person = Browser(api.browser())
    assert person.sign_up("ada@example.com").status_code == 303
    app = api.new_application("Phone app", public=True)
    tokens = _public_tokens(api, person, app)
    statuses = _race(lambda: _refresh(api, app, tokens["refresh_token"]))
    assert set(statuses) <= {200, 400}, statuses
    assert statuses.count(200) <= 1
    assert _grants(api) == 1  # the same family, never a new one
