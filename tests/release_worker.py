"""``sdc release`` in a separate process, interrupted at a chosen step (the crash tests).

    python release_worker.py AT HOW ARG...   run ``sdc release ARG...``; before its AT-th step
                                             die (HOW=exit), or print "inside" and wait 3 s
                                             (HOW=hang: the parent sends a signal);
                                             HOW=trace prints every step on stderr

A step is a write statement of the registry (INSERT, UPDATE, COMMIT), a file written
into the egress staging folder, or the final move of that folder into place.
Prints "steps N" when the command ends without being stopped, N the steps taken.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from sdc.cli import main
from sdc.release import egress
from sdc.release.registry import store

WRITES = ("INSERT", "UPDATE", "COMMIT")
STEPS = {"n": 0}


def step(at: int, how: str, what: str = "") -> None:
    STEPS["n"] += 1
    if how == "trace":
        print(f"step {STEPS['n']}: {what}", file=sys.stderr, flush=True)
    if STEPS["n"] == at:
        if how == "exit":
            os._exit(9)
        print("inside", file=sys.stderr, flush=True)
        time.sleep(3)


class Counted:
    """A registry connection whose write statements are steps."""

    def __init__(self, conn: Any, at: int, how: str):
        self.conn, self.at, self.how = conn, at, how

    def execute(self, sql: str, params: Any = None) -> Any:
        if sql.lstrip().upper().startswith(WRITES):
            step(self.at, self.how, sql.split("(")[0].strip()[:40])
        return self.conn.execute(sql) if params is None else self.conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def patch(at: int, how: str) -> None:
    init = store.SqlRegistry.__init__

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._conn = Counted(self._conn, at, how)

    store.SqlRegistry.__init__ = counted_init  # type: ignore[method-assign]
    name_of = egress._file_name

    def file_step(path: str) -> str:
        step(at, how, f"file {path}")
        return name_of(path)

    egress._file_name = file_step  # type: ignore[assignment]
    rename = egress._rename_noreplace

    def rename_step(src: str, dst: str, dir_fd: int) -> None:
        step(at, how, "move into place")
        rename(src, dst, dir_fd)

    egress._rename_noreplace = rename_step  # type: ignore[assignment]


if __name__ == "__main__":
    at, how, *argv = sys.argv[1:]
    patch(int(at), how)
    code = main(argv)
    print(f"steps {STEPS['n']}", flush=True)
    sys.exit(code)
