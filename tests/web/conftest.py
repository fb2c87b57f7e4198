from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.web.helpers import Browser

EMAIL = "ada@example.com"


@pytest.fixture
def browser(api: Api) -> Browser:
    return Browser(api.browser())


@pytest.fixture
def person(browser: Browser) -> Browser:
    """A browser whose person has just signed up (and so is signed in)."""
    response = browser.sign_up(EMAIL)
    assert response.status_code == 303, response.text
    return browser
