"""The ASGI application, built from settings."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio
from fastapi import FastAPI

from openslot import __version__
from openslot.api import errors
from openslot.api.middleware import LimitBody, StripTrailingSlash
from openslot.api.ratelimit import RateLimiter
from openslot.api.responses import JSONResponse
from openslot.api.routes import (
    application_calendars,
    availability,
    availability_data,
    batch,
    calendars,
    channels,
    identity,
    oauth,
    permissions,
)
from openslot.api.routes.events import EventRoutes, openapi_paths
from openslot.integrations.callbacks import CallbackGuard
from openslot.integrations.clock import Clock, SystemClock
from openslot.services.context import ServiceContext
from openslot.services.credentials import SecretBox
from openslot.settings import Settings
from openslot.store.db import create_db_engine, create_loop_engine
from openslot.store.uow import Database


def build_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    settings = settings.with_secret_key()
    engine = create_db_engine(settings.effective_database_url, pool_size=settings.db_pool_size)
    return ServiceContext(
        db=Database(engine),
        secrets=SecretBox(settings.secret_key.get_secret_value()),
        clock=clock or SystemClock(),
        access_token_ttl=settings.access_token_ttl,
        authorization_code_ttl=settings.authorization_code_ttl,
        session_ttl=settings.session_ttl,
        callbacks=CallbackGuard(settings.allowed_callback_subnets),
        webhook_failure_horizon=settings.webhook_failure_horizon_hours * 3600,
    )


def _settle_garbage_collector() -> None:
    """Keep what start-up built out of every later full collection.

    The modules, mappers, compiled statements and routes of a started server are hundreds of
    thousands of objects that live as long as the process. Left in the collector's oldest
    generation, each full collection walks them all, stalling every request in flight for tens of
    milliseconds; frozen, a full collection only walks what requests left behind.
    """
    gc.collect()
    gc.freeze()


def _include_event_routes_in_openapi(app: FastAPI) -> None:
    """``app.openapi`` gives FastAPI's schema with the event endpoints' entries, which it cannot generate:
    its routing never sees those requests (``EventRoutes``)."""

    def openapi() -> dict[str, Any]:
        # Generated once and kept, as FastAPI does.
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            # A path in both would be answered by EventRoutes, so its entry is the one to show.
            schema["paths"] = schema.get("paths", {}) | openapi_paths()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class Background(Protocol):
    """Work that lives as long as the app, such as the embedded delivery worker."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    settings: Settings, ctx: ServiceContext | None = None, background: Sequence[Background] = ()
) -> FastAPI:
    """The app; ``ctx`` lets tests share a context (and its clock) with the app they drive, and then
    stays theirs to dispose of."""
    owns_ctx = ctx is None
    ctx = ctx or build_context(settings)
    loop_engine = create_loop_engine(ctx.db.engine, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # One request thread per pooled connection: more threads would only wait for a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        for task in background:
            task.start()
        if loop_engine is not None:
            app.state.loop = asyncio.get_running_loop()
        _settle_garbage_collector()
        yield
        for task in background:
            await anyio.to_thread.run_sync(task.stop)
        if loop_engine is not None:
            app.state.loop = None
            await loop_engine.dispose()
        if owns_ctx:
            ctx.db.dispose()

    app = FastAPI(
        title="Openslot",
        version=__version__,
        description="A self-hostable calendar and scheduling API server that speaks the Cronofy API.",
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.loop_ctx = (
        dataclasses.replace(ctx, db=ctx.db.twin(loop_engine.sync_engine)) if loop_engine is not None else None
    )
    app.state.loop = None  # the event loop the loop engine's connections belong to, once started
    app.state.base_url = settings.effective_base_url
    limited = settings.rate_limit_per_second or settings.rate_limit_per_minute
    app.state.rate_limiter = (
        RateLimiter(settings.rate_limit_per_second, settings.rate_limit_per_minute, time.monotonic)
        if limited
        else None
    )
    errors.install(app)
    # Routes are matched in order: the busiest endpoints first (the event endpoints are EventRoutes).
    for module in (
        availability,
        oauth,
        application_calendars,
        identity,
        calendars,
        availability_data,
        batch,
        channels,
        permissions,
    ):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    app.add_middleware(EventRoutes)
    _include_event_routes_in_openapi(app)
    app.add_middleware(LimitBody, max_bytes=settings.max_body_bytes)
    app.add_middleware(StripTrailingSlash)
    return app
