"""ASGI entry point for process managers: ``uvicorn --factory openslot.asgi:app_from_environment``."""

from __future__ import annotations

from fastapi import FastAPI

from openslot.api.app import create_app
from openslot.settings import Settings


def app_from_environment() -> FastAPI:
    return create_app(Settings().with_secret_key())
