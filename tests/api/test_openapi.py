"""The event endpoints (answered by ``EventRoutes``, not FastAPI's routing) in the app's OpenAPI schema."""

from __future__ import annotations

from openslot.api.routes.events import ROUTES, compiled, path_parameters
from tests.conftest import Api


def test_openapi_lists_every_event_route_with_its_path_parameters(api: Api) -> None:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for template, _pattern, handlers in ROUTES:
        for method in handlers:
            operation = paths[template][method.lower()]
            assert operation["tags"] == ["events"]
            declared = [(p["name"], p["in"], p["required"]) for p in operation.get("parameters", [])]
            assert declared == [(name, "path", True) for name in path_parameters(template)]
    upsert = paths["/v1/calendars/{calendar_id}/events"]["post"]
    assert upsert["summary"] == "Upsert Event"
    assert upsert["operationId"] == "upsert_event_v1_calendars__calendar_id__events_post"
    assert upsert["parameters"][0]["name"] == "calendar_id"
    assert set(upsert["responses"]) == {"202"}
    assert "§4.1" in upsert["description"]
    assert set(paths["/v1/free_busy"]["get"]["responses"]) == {"200"}
    # The FastAPI routes are there as before.
    assert "post" in paths["/v1/available_periods"]


def test_openapi_schema_is_generated_once(api: Api) -> None:
    assert api.app.openapi() is api.app.openapi()


def test_a_path_template_compiles_to_one_segment_per_parameter() -> None:
    events = compiled("/v1/calendars/{calendar_id}/events")
    match = events.fullmatch("/v1/calendars/cal_1/events")
    assert match is not None and match.groups() == ("cal_1",)
    assert events.fullmatch("/v1/calendars/a/b/events") is None
    assert events.fullmatch("/v1/calendars//events") is None
    assert compiled("/v1/free_busy").fullmatch("/v1/free_busyx") is None
    assert compiled("/v1/events/pages/{token}").fullmatch("/v1/events/pages/abc").groups() == ("abc",)


def test_every_route_pattern_is_compiled_from_its_template() -> None:
    for template, pattern, _handlers in ROUTES:
        assert pattern == compiled(template)
        example = template.replace("{", "").replace("}", "")  # each parameter stands for its own name
        assert pattern.fullmatch(example) is not None
