"""Per-application request limits (reference §1.4), counted in this process."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from openslot.services.errors import RateLimited


class RateLimiter:
    """Fixed one-second and one-minute windows per application; a limit of 0 is no limit."""

    def __init__(self, per_second: int, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_second = per_second
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int, int], int] = {}

    def hit(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            for size, limit in ((1, self.per_second), (60, self.per_minute)):
                if not limit:
                    continue
                window = int(now // size)
                count = self._windows.get((key, size, window), 0)
                if count >= limit:
                    raise RateLimited(retry_after=max(1, math.ceil((window + 1) * size - now)))
            for size, limit in ((1, self.per_second), (60, self.per_minute)):
                if limit:
                    slot = (key, size, int(now // size))
                    self._windows[slot] = self._windows.get(slot, 0) + 1
            self._forget_old(now)

    def _forget_old(self, now: float) -> None:
        if len(self._windows) < 10_000:
            return
        self._windows = {slot: n for slot, n in self._windows.items() if slot[2] >= int(now // slot[1]) - 1}
