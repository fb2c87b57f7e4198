from openslot.services import scopes


def test_shorthands_expand() -> None:
    assert scopes.expand("read_write") == scopes.ALL_SCOPES
    assert "create_event" not in scopes.expand("read_only")
    assert scopes.expand("read_events") == {"read_events", "read_free_busy"}


def test_unknown_scopes_are_reported_and_grant_nothing() -> None:
    assert scopes.unknown("read_events bogus") == ["bogus"]
    assert scopes.expand("bogus") == frozenset()
