"""Server-rendered pages: sign-up, sign-in and the OAuth consent page (the booking page will follow).

The composition root (``openslot.asgi``) installs them into the app the API built; the API never
imports this package. Templates and the stylesheet ship inside the package: nothing to build.
"""

from __future__ import annotations

import jinja2
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from openslot.services.context import ServiceContext
from openslot.web.pages import router
from openslot.web.security import WebState

__all__ = ["install"]


def install(app: FastAPI, ctx: ServiceContext, base_url: str) -> None:
    """Add the pages and their stylesheet to ``app``; cookies are Secure when ``base_url`` is https."""
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("openslot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.state.web = WebState(ctx=ctx, templates=templates, secure=base_url.startswith("https://"))
    app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("openslot.web", "static")]), name="static")
