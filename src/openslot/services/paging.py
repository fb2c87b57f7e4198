"""Page tokens: the whole query and a keyset cursor, signed and bound to the caller.

The token is opaque to clients; a token altered, or presented by another account or application,
answers the same 404 as a page that never existed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openslot.services.context import Caller
from openslot.services.credentials import SecretBox
from openslot.services.errors import NotFound

PAGE_SIZE = 100


@dataclass(frozen=True)
class PageState:
    query: dict[str, Any]
    page: int
    total: int
    cursor: tuple[str, str]


def encode(box: SecretBox, caller: Caller, kind: str, state: PageState) -> str:
    payload = {
        "k": kind,
        "a": caller.account_id,
        "g": caller.grant_id,
        "q": state.query,
        "p": state.page,
        "t": state.total,
        "c": list(state.cursor),
    }
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{box.sign(raw)}"


def decode(box: SecretBox, caller: Caller, kind: str, token: str) -> PageState:
    body, _, signature = token.partition(".")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise NotFound("no such page") from exc
    if not signature or not box.verify(raw, signature):
        raise NotFound("no such page")
    payload = json.loads(raw)
    if payload["k"] != kind or payload["a"] != caller.account_id or payload["g"] != caller.grant_id:
        raise NotFound("no such page")
    return PageState(
        query=payload["q"], page=payload["p"], total=payload["t"], cursor=(payload["c"][0], payload["c"][1])
    )


def total_pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def cut(
    box: SecretBox,
    caller: Caller,
    kind: str,
    rows: list[Any],
    query: dict[str, Any],
    current: int,
    total: int,
    cursor: Callable[[Any], tuple[str, str]],
) -> tuple[list[Any], str | None, int]:
    """One page of ``rows`` (fetched one past the page size), the next page's token and the total.

    ``cursor`` gives the keyset position of a row, from which the next page continues.
    """
    if len(rows) <= PAGE_SIZE:
        return rows, None, current
    rows = rows[:PAGE_SIZE]
    total = max(total, current + 1)
    token = encode(
        box, caller, kind, PageState(query=query, page=current, total=total, cursor=cursor(rows[-1]))
    )
    return rows, token, total
