"""The lock that SQLite writers queue on."""

from __future__ import annotations

import os
import threading
from types import TracebackType

try:
    import fcntl
except ImportError:  # not on POSIX: processes fall back on SQLite's busy handler
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """Admits one writer at a time to a SQLite database: the threads of this process queue on a
    mutex, and the processes sharing the file on an advisory lock of a file beside it.

    SQLite itself admits one writer, and one that finds the database locked waits in SQLite's busy
    handler, which sleeps in growing steps of up to 100 ms and tries again. Between server
    processes that turns contention into waits of hundreds of milliseconds for some writes while
    others pass. A process blocked on ``flock`` is woken as soon as the holder lets go.
    """

    def __init__(self, lock_path: str | None) -> None:
        self._mutex = threading.Lock()
        self._fd = (
            os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if lock_path is not None and fcntl is not None
            else None
        )

    def __enter__(self) -> None:
        self._mutex.acquire()
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def lock_path_of(database: str | None) -> str | None:
    """The lock file of a SQLite database file (beside it, as SQLite keeps its ``-wal`` and ``-shm``
    files); None for an in-memory database, which one process alone can open."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return f"{database}-writer"
