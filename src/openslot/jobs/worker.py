"""The delivery worker: claims due notifications, sends them concurrently, records the outcome."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque

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
    """Runs until stopped: up to ``concurrency`` attempts on the wire, so a slow receiver holds one
    place, never the loop.

    The worker's thread records and claims in batches, one transaction per pass, and keeps as many
    claimed jobs ready as there are places; the sender's event loop starts the next ready job the
    moment an attempt ends, without waiting for the database. An ended attempt's job stays leased
    until its outcome is recorded, so its channel gets nothing more until then.
    """

    def __init__(
        self, ctx: ServiceContext, sender: WebhookSender, concurrency: int = 16, idle_wait: float = 1.0
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.concurrency = concurrency
        self.idle_wait = idle_wait
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards the three below, shared with the sender's loop
        self._on_wire = 0
        self._ready: deque[Outgoing] = deque()
        self._finished: list[tuple[Outgoing, Attempt]] = []
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def release_orphans(self) -> None:
        released = notifications.release_orphaned_leases(self.ctx, socket.gethostname(), _process_alive)
        if released:
            log.info("took back %d notifications leased by a worker that is gone", released)

    def wake(self) -> None:
        self._wake.set()

    # --- on the wire ------------------------------------------------------------------------------

    def _dispatch(self, claimed: list[Outgoing]) -> None:
        """Send what the free places allow; the rest waits, ready, for attempts to end."""
        with self._lock:
            self._ready.extend(claimed)
            starting = []
            while self._ready and self._on_wire < self.concurrency:
                starting.append(self._ready.popleft())
                self._on_wire += 1
        self._start(starting)

    def _start(self, outgoing: list[Outgoing]) -> None:
        if not outgoing:
            return
        try:
            self.sender.start(outgoing, self._ended)
        except Exception:  # a bug here must not lose the jobs: their leases run out, they are sent again
            log.exception("delivery of jobs %s failed unexpectedly", [o.job_id for o in outgoing])
            for each in outgoing:
                self._ended(each, Attempt("error", detail="internal error while sending"))

    def _ended(self, outgoing: Outgoing, attempt: Attempt) -> None:
        """On the sender's loop: the attempt's place goes to the next ready job, if any."""
        with self._lock:
            self._finished.append((outgoing, attempt))
            following = self._ready.popleft() if self._ready else None
            if following is None:
                self._on_wire -= 1
        if following is not None:
            self._start([following])
        self._wake.set()

    # --- on the worker's thread ---------------------------------------------------------------------

    def _pass(self, limit: int) -> tuple[int, int]:
        """Record what ended and claim up to ``limit`` more; how many were recorded and claimed."""
        with self._lock:
            finished, self._finished = self._finished, []
        if not finished and limit <= 0:
            return 0, 0
        try:
            claimed = notifications.record_and_claim(
                self.ctx, finished, limit, self.sender.timeout, self.holder
            )
        except Exception:
            log.exception("a pass over the outbox failed; recording and claiming apart")
            self._record_apart(finished)
            claimed = self._claim(limit)
        self._dispatch(claimed)
        return len(finished), len(claimed)

    def _record_apart(self, finished: list[tuple[Outgoing, Attempt]]) -> None:
        for outgoing, attempt in finished:
            try:
                notifications.record(self.ctx, outgoing, attempt)
            except Exception:
                log.exception("recording delivery of job %s failed; its lease will run out", outgoing.job_id)

    def _claim(self, limit: int) -> list[Outgoing]:
        if limit <= 0:
            return []
        try:
            return notifications.claim(self.ctx, limit, self.sender.timeout, self.holder)
        except Exception:
            log.exception("claiming notification jobs failed")
            return []

    def _room(self) -> tuple[int, bool]:
        """How many more jobs to claim (places on the wire plus as many ready), and whether none
        are out at all.

        No more ready than places: a ready job then waits at most one attempt's timeout for a place
        and its own attempt takes at most another, well within the lease of a claim (the timeout
        plus 45 s), so no other worker can take it meanwhile.
        """
        with self._lock:
            held = self._on_wire + len(self._ready)
        return 2 * self.concurrency - held, held == 0

    def run(self, stop: threading.Event) -> None:
        self.release_orphans()
        # A claim costs about the same for one job as for many: claim once a batch's worth of room
        # opens up, or at once when nothing is out.
        batch = max(1, self.concurrency // 2)
        while not stop.is_set():
            self._wake.clear()
            room, idle = self._room()
            recorded, claimed = self._pass(room if room >= batch or idle else 0)
            if not recorded and not claimed:
                self._wake.wait(self.idle_wait)
        self._stop_sending()

    def _stop_sending(self) -> None:
        """Give back what was claimed but not sent, then wait for the attempts on the wire and record
        them."""
        with self._lock:
            unsent = list(self._ready)
            self._ready.clear()
        try:
            notifications.release(self.ctx, unsent)
        except Exception:
            log.exception("giving back %d unsent jobs failed; their leases will run out", len(unsent))
        self._drain(self.sender.timeout + 5)

    def _drain(self, timeout: float) -> None:
        """Wait for every claimed job to be sent and its outcome recorded."""
        deadline = time.monotonic() + timeout
        while True:
            self._wake.clear()
            self._pass(0)
            with self._lock:
                done = self._on_wire <= 0 and not self._ready and not self._finished
            if done or time.monotonic() >= deadline:
                break
            self._wake.wait(min(self.idle_wait, max(0.0, deadline - time.monotonic())))

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Deliver every job due now, one round at a time, in this thread; returns how many were sent."""
        sent = 0
        for _ in range(max_rounds):
            claimed = self._claim(self.concurrency)
            if not claimed:
                break
            self._dispatch(claimed)
            self._drain(self.sender.timeout + 5)
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
