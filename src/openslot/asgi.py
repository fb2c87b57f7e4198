"""Composition of the server: the API with the pages and, where configured, the webhook worker inside it.

``uvicorn --factory openslot.asgi:app_from_environment`` serves it under a process manager.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from openslot import web
from openslot.api.app import Background, build_context, create_app
from openslot.integrations.webhooks import WebhookSender
from openslot.jobs.worker import BackgroundWorker, DeliveryWorker
from openslot.services.context import ServiceContext
from openslot.settings import Settings


def delivery_worker(settings: Settings, ctx: ServiceContext) -> DeliveryWorker:
    return DeliveryWorker(ctx, WebhookSender(ctx.callbacks, timeout=settings.webhook_timeout))


def compose_app(settings: Settings, ctx: ServiceContext, background: Sequence[Background] = ()) -> FastAPI:
    """The JSON API and the pages in one app; tests drive this without background work."""
    app = create_app(settings, ctx, background)
    web.install(app, ctx, settings.effective_base_url)
    return app


def server_app(settings: Settings, ctx: ServiceContext | None = None) -> FastAPI:
    ctx = ctx or build_context(settings)
    background = [BackgroundWorker(delivery_worker(settings, ctx))] if settings.embedded_worker else []
    return compose_app(settings, ctx, background)


def app_from_environment() -> FastAPI:
    return server_app(Settings().with_secret_key())
