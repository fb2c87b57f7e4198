"""Sampling a running server with py-spy, and reading where its time went.

``record`` attaches py-spy to a server process and its children (the ``--workers`` processes) for a
few seconds without stopping them (``--nonblocking``), and reads the samples (``-f raw``: one line
per distinct stack, ``frame;frame;...;frame count``). Only the thread holding the GIL is sampled
(``--gil``), so the shares are of the Python CPU time of the server (C code that keeps the GIL, such
as psycopg turning rows into objects, included), not of the time spent waiting for the database.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def py_spy() -> str | None:
    """py-spy beside the running interpreter (the virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    """Stacks of function names (``name (file)``, innermost last), with their sample counts."""

    stacks: list[tuple[tuple[str, ...], int]] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(count for _, count in self.stacks)

    def share(self, *functions: str, within: Sequence[str] = ()) -> float:
        """Fraction of the samples whose stack holds a frame starting with one of ``functions`` (and,
        given ``within``, also a frame starting with one of those)."""
        total = self.samples
        if not total:
            return 0.0
        hits = sum(
            count
            for frames, count in self.stacks
            if any(f.startswith(functions) for f in frames)
            and (not within or any(f.startswith(tuple(within)) for f in frames))
        )
        return hits / total

    def own(self, top: int) -> list[tuple[str, float]]:
        """The functions with the most samples of their own (innermost frame), and their share."""
        counts: collections.Counter[str] = collections.Counter()
        for frames, count in self.stacks:
            counts[frames[-1]] += count
        total = self.samples
        return [(name, count / total) for name, count in counts.most_common(top)] if total else []


def parse_raw(text: str, keep: Sequence[str] = ()) -> Profile:
    """py-spy's raw output; the process frames (``process 123:"..."``) are dropped, and with ``keep``
    only stacks holding a frame that starts with one of those names are kept."""
    profile = Profile()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = tuple(_LINE.sub(")", f) for f in stack.split(";") if not f.startswith("process "))
        if not frames or (keep and not any(f.startswith(tuple(keep)) for f in frames)):
            continue
        profile.stacks.append((frames, int(count)))
    return profile


def record(pid: int, seconds: int, out: Path, keep: Sequence[str] = ()) -> Profile | None:
    """Sample process ``pid`` and its children for ``seconds``; None when py-spy is missing or failed."""
    executable = py_spy()
    if executable is None:
        return None
    argv = [executable, "record", "-p", str(pid), "--subprocesses", "--nonblocking", "--gil"]
    argv += ["-d", str(seconds), "-f", "raw", "-o", str(out)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if completed.returncode != 0 or not out.exists():
        return None
    return parse_raw(out.read_text(encoding="utf-8", errors="replace"), keep)
