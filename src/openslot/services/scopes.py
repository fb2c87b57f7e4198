"""OAuth scopes, the aggregate shorthands and what each endpoint needs."""

from __future__ import annotations

import functools

READ_ACCOUNT = "read_account"
LIST_CALENDARS = "list_calendars"
READ_EVENTS = "read_events"
CREATE_EVENT = "create_event"
DELETE_EVENT = "delete_event"
READ_FREE_BUSY = "read_free_busy"
CREATE_CALENDAR = "create_calendar"
CHANGE_PARTICIPATION_STATUS = "change_participation_status"

ALL_SCOPES = frozenset(
    {
        READ_ACCOUNT,
        LIST_CALENDARS,
        READ_EVENTS,
        CREATE_EVENT,
        DELETE_EVENT,
        READ_FREE_BUSY,
        CREATE_CALENDAR,
        CHANGE_PARTICIPATION_STATUS,
    }
)

# Aggregate scopes name sets of the scopes above.
SHORTHANDS: dict[str, frozenset[str]] = {
    "read_write": ALL_SCOPES,
    "read_only": frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_EVENTS, READ_FREE_BUSY}),
    "write_only": frozenset({READ_ACCOUNT, LIST_CALENDARS, CREATE_EVENT, DELETE_EVENT}),
    "free_busy": frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_FREE_BUSY}),
    "free_busy_write": frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_FREE_BUSY, CREATE_EVENT, DELETE_EVENT}),
}

# Having the key implies having each scope of the value.
IMPLIED: dict[str, frozenset[str]] = {READ_EVENTS: frozenset({READ_FREE_BUSY})}

KNOWN_SCOPE_NAMES = ALL_SCOPES | SHORTHANDS.keys()


@functools.lru_cache(maxsize=1024)  # every checked token expands its grant's scope string
def expand(scope: str) -> frozenset[str]:
    """The individual scopes that a space-separated scope string grants."""
    granted: set[str] = set()
    for name in scope.split():
        granted |= SHORTHANDS.get(name, {name} if name in ALL_SCOPES else set())
    for name in list(granted):
        granted |= IMPLIED.get(name, frozenset())
    return frozenset(granted)


@functools.lru_cache(maxsize=64)
def granting(needed: tuple[str, ...]) -> tuple[str, ...]:
    """The scope names (individual or aggregate) that grant at least one of ``needed``: a scope
    string grants one of them exactly when one of its names is in this list."""
    wanted = set(needed)
    return tuple(sorted(name for name in KNOWN_SCOPE_NAMES if expand(name) & wanted))


def unknown(scope: str) -> list[str]:
    return [name for name in scope.split() if name not in KNOWN_SCOPE_NAMES]


# What each scope lets an application do, in the words of the consent page.
DESCRIPTIONS: dict[str, str] = {
    READ_ACCOUNT: "See your account's name, email address and time zone",
    LIST_CALENDARS: "See the list of your calendars",
    READ_EVENTS: "Read the events in your calendars",
    READ_FREE_BUSY: "See when you are free or busy",
    CREATE_EVENT: "Create and change events in your calendars",
    DELETE_EVENT: "Delete events from your calendars",
    CREATE_CALENDAR: "Create new calendars",
    CHANGE_PARTICIPATION_STATUS: "Accept or decline invitations for you",
}
DESCRIPTION_ORDER = [
    READ_ACCOUNT,
    LIST_CALENDARS,
    READ_EVENTS,
    READ_FREE_BUSY,
    CREATE_EVENT,
    DELETE_EVENT,
    CREATE_CALENDAR,
    CHANGE_PARTICIPATION_STATUS,
]


def narrow(requested: str, allowed: str) -> str:
    """The part of ``requested`` that ``allowed`` permits, as a scope string ("" when nothing is).

    Names the application may have in full are kept as it wrote them (``read_only`` stays
    ``read_only``); a shorthand it may have only in part becomes the individual scopes it may have.
    """
    permitted = expand(allowed)
    kept: list[str] = []
    for name in dict.fromkeys(requested.split()):
        granted = expand(name)
        if granted <= permitted:
            kept.append(name)
        else:
            kept.extend(s for s in DESCRIPTION_ORDER if s in granted & permitted and s not in kept)
    return " ".join(dict.fromkeys(kept))


def describe(scope: str) -> list[str]:
    """The consent page's sentences for a scope string, without implied repetitions."""
    granted = expand(scope)
    shown = [name for name in DESCRIPTION_ORDER if name in granted]
    if READ_EVENTS in granted:
        shown.remove(READ_FREE_BUSY)
    return [DESCRIPTIONS[name] for name in shown]
