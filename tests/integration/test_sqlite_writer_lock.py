"""SQLite writers of several processes queue on the writer lock, not on SQLite's busy handler."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from openslot.store.db import create_db_engine
from openslot.store.uow import Database
from openslot.store.write_lock import WriterLock, lock_path_of

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

HOLD_SECONDS = 0.6

# Takes the lock, says so, holds it for a while, and says when it lets go.
HOLDER = textwrap.dedent(
    f"""
    import sys, time
    from openslot.store.write_lock import WriterLock
    lock = WriterLock(sys.argv[1])
    with lock:
        print("held", flush=True)
        time.sleep({HOLD_SECONDS})
        print("released", time.monotonic(), flush=True)
    """
)


def test_a_lock_held_by_another_process_is_waited_for_and_then_taken_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "openslot.db-writer")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        lock = WriterLock(path)
        asked = time.monotonic()
        with lock:
            taken = time.monotonic()
        lock.close()
        _, released = holder.stdout.readline().split()
        assert holder.wait(timeout=10) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert taken - asked >= HOLD_SECONDS / 2  # it waited for the other process
    # ... and was woken when the other let go (with room for a busy machine)
    assert taken - float(released) < 0.25


def test_two_locks_on_one_file_exclude_each_other_across_threads(tmp_path: Path) -> None:
    path = str(tmp_path / "openslot.db-writer")
    first, second = WriterLock(path), WriterLock(path)
    inside: list[str] = []
    overlaps: list[bool] = []

    def write(lock: WriterLock, name: str) -> None:
        for _ in range(200):
            with lock:
                overlaps.append(bool(inside))
                inside.append(name)
                time.sleep(0)
                inside.remove(name)

    threads = [
        threading.Thread(target=write, args=(lock, name)) for lock, name in ((first, "a"), (second, "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    first.close()
    second.close()
    assert len(overlaps) == 400
    assert not any(overlaps)


def test_writers_of_two_databases_on_one_file_all_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'openslot.db'}"
    databases = [Database(create_db_engine(url, pool_size=4)) for _ in range(2)]
    with databases[0].transaction() as session:
        session.execute(text("CREATE TABLE counted (n INTEGER NOT NULL)"))

    def write(database: Database) -> None:
        for n in range(100):
            with database.transaction() as session:
                session.execute(text("INSERT INTO counted (n) VALUES (:n)"), {"n": n})

    threads = [threading.Thread(target=write, args=(database,)) for database in databases for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with databases[1].read() as session:
        assert session.execute(text("SELECT count(*) FROM counted")).scalar_one() == 600
    assert (tmp_path / "openslot.db-writer").exists()
    for database in databases:
        database.dispose()


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("/srv/openslot/openslot.db", "/srv/openslot/openslot.db-writer"),
        ("openslot-data/openslot.db", "openslot-data/openslot.db-writer"),
        (":memory:", None),
        ("", None),
        (None, None),
    ],
)
def test_the_lock_file_lies_beside_the_database_file(database: str | None, expected: str | None) -> None:
    assert lock_path_of(database) == expected
