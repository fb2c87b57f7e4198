"""PostgreSQL LISTEN: wakes a worker in another process when a change queues a notification."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from openslot.store.outbox import WAKE_CHANNEL

log = logging.getLogger("openslot.worker")


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def listen(url: str, wake: Callable[[], None], stop: threading.Event) -> None:
    """Call ``wake`` on every notification until ``stop`` is set; reconnect after failures."""
    while not stop.is_set():
        try:
            with psycopg.connect(libpq_url(url), autocommit=True) as connection:
                connection.execute(f"LISTEN {WAKE_CHANNEL}")
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0):
                        wake()
        except psycopg.Error:
            log.warning("LISTEN connection lost; retrying in 1 s")
            stop.wait(1.0)
