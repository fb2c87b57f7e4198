from openslot.services import scopes


def test_shorthands_expand() -> None:
    assert scopes.expand("read_write") == scopes.ALL_SCOPES
    assert "create_event" not in scopes.expand("read_only")
    assert scopes.expand("read_events") == {"read_events", "read_free_busy"}


def test_unknown_scopes_are_reported_and_grant_nothing() -> None:
    assert scopes.unknown("read_events bogus") == ["bogus"]
    assert scopes.expand("bogus") == frozenset()


def test_narrow_keeps_what_is_both_requested_and_allowed() -> None:
    assert scopes.narrow("read_only", "read_write") == "read_only"
    assert (
        scopes.narrow("read_write", "read_only") == "read_account list_calendars read_events read_free_busy"
    )
    assert scopes.narrow("read_events", "read_free_busy") == "read_free_busy"
    assert scopes.narrow("create_event", "read_only") == ""
    assert scopes.narrow("read_account read_account", "read_write") == "read_account"


def test_narrow_never_exceeds_either_side() -> None:
    names = sorted(scopes.KNOWN_SCOPE_NAMES)
    for requested in names:
        for allowed in names:
            granted = scopes.narrow(requested, allowed)
            assert scopes.expand(granted) <= scopes.expand(requested) & scopes.expand(allowed)
            assert scopes.expand(granted) == scopes.expand(requested) & scopes.expand(allowed)


def test_describe_in_plain_words_without_repeating_implied_scopes() -> None:
    lines = scopes.describe("read_only")
    assert "Read the events in your calendars" in lines
    assert "See when you are free or busy" not in lines
    assert scopes.describe("free_busy")[-1] == "See when you are free or busy"
    assert len(scopes.describe("read_write")) == len(scopes.ALL_SCOPES) - 1


def test_granting_lists_exactly_the_names_that_grant_a_needed_scope() -> None:
    for needed in [
        (scopes.CREATE_EVENT,),
        (scopes.READ_FREE_BUSY,),
        (scopes.READ_EVENTS, scopes.DELETE_EVENT),
    ]:
        granting = scopes.granting(needed)
        for name in scopes.KNOWN_SCOPE_NAMES:
            assert (name in granting) == bool(scopes.expand(name) & set(needed)), (needed, name)
    assert "read_events" in scopes.granting((scopes.READ_FREE_BUSY,))  # by implication
