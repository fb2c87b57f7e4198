"""Running a use case from an async route.

On PostgreSQL the use case runs in a greenlet on the event loop, over connections that wait on the
loop: its code stays synchronous, and the request is spared two hand-overs between threads and the
contention for the interpreter lock that a pool of busy threads brings. On SQLite it runs in a
worker thread. Only use cases whose work is database statements and computation go this way;
anything that blocks otherwise (password hashing, network calls) stays in a thread.

The loop engine's connections belong to the event loop the app was started on (its lifespan). A
request on any other loop (an app driven without its lifespan, as some tests do) runs in a thread
like SQLite's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from openslot.services.context import ServiceContext

P = ParamSpec("P")
T = TypeVar("T")


async def run_use_case(
    request: Request,
    use_case: Callable[Concatenate[ServiceContext, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    return await run_use_case_of(request.app.state, use_case, *args, **kwargs)


async def run_use_case_of(
    state: Any,
    use_case: Callable[Concatenate[ServiceContext, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``run_use_case`` given the app's ``state`` rather than a request."""
    loop_ctx: ServiceContext | None = state.loop_ctx
    if loop_ctx is None or state.loop is not asyncio.get_running_loop():
        return await run_in_threadpool(use_case, state.ctx, *args, **kwargs)
    return await loop_ctx.db.call_on_loop(use_case, loop_ctx, *args, **kwargs)
