"""The delivery worker: claims due notifications, sends them concurrently, records the outcome."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from openslot.integrations.webhooks import Attempt, WebhookSender
from openslot.services import notifications
from openslot.services.context import ServiceContext
from openslot.services.notifications import Outgoing

log = logging.getLogger("openslot.worker")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DeliveryWorker:
    """Runs until stopped. A slow receiver occupies one of ``concurrency`` senders, never the loop."""

    def __init__(
        self, ctx: ServiceContext, sender: WebhookSender, concurrency: int = 16, idle_wait: float = 1.0
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def release_orphans(self) -> None:
        released = notifications.release_orphaned_leases(self.ctx, socket.gethostname(), _process_alive)
        if released:
            log.info("took back %d notifications leased by a worker that is gone", released)

    def wake(self) -> None:
        self._wake.set()

    def _deliver(self, outgoing: Outgoing) -> None:
        try:
            attempt = self.sender.send(
                outgoing.callback_url, outgoing.body, outgoing.secrets, outgoing.webhook_id
            )
        except Exception:  # a bug here must not lose the job: its lease runs out and it is sent again
            log.exception("delivery of job %s failed unexpectedly", outgoing.job_id)
            attempt = Attempt("error", detail="internal error while sending")
        try:
            notifications.record(self.ctx, outgoing, attempt)
        except Exception:
            log.exception("recording delivery of job %s failed; its lease will run out", outgoing.job_id)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def run(self, stop: threading.Event) -> None:
        self.release_orphans()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="openslot-delivery") as pool:
            while not stop.is_set():
                with self._lock:
                    free = self.concurrency - self._in_flight
                claimed: list[Outgoing] = []
                if free > 0:
                    try:
                        claimed = notifications.claim(self.ctx, free, self.sender.timeout, self.holder)
                    except Exception:
                        log.exception("claiming notification jobs failed")
                for outgoing in claimed:
                    with self._lock:
                        self._in_flight += 1
                    pool.submit(self._deliver, outgoing)
                if not claimed:
                    self._wake.wait(self.idle_wait)
                    self._wake.clear()

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Deliver every job due now, one round at a time, in this thread; returns how many were sent."""
        sent = 0
        for _ in range(max_rounds):
            claimed = notifications.claim(self.ctx, self.concurrency, self.sender.timeout, self.holder)
            if not claimed:
                break
            with ThreadPoolExecutor(self.concurrency) as pool:
                for outgoing in claimed:
                    with self._lock:
                        self._in_flight += 1
                    pool.submit(self._deliver, outgoing)
            sent += len(claimed)
        return sent


class BackgroundWorker:
    """A worker on a thread of its own, as ``serve`` embeds it; woken when a change is committed."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run, args=(self._stop,), name="openslot-worker", daemon=True
        )

    def start(self) -> None:
        self.worker.ctx.db.after_outbox_commit.append(self.worker.wake)
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self.worker.wake()
        self._thread.join(timeout)
        self.worker.sender.close()
