"""Work on large columns spread over the machine's cores with Python threads.

Coding a string column (a Numba kernel that releases the GIL) and hashing a column
for its fingerprint (``hashlib`` releases the GIL on large buffers) run in parallel
this way. Threads are used only from the main thread and for columns long enough
to pay for them: Dask and Spark workers, and small tables, run everything in turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Rows from which a column's work is worth a thread of its own.
MIN_ROWS = 200_000

_pool: ThreadPoolExecutor | None = None
_pool_pid = -1  # the process that made the pool: a forked child has none of its threads
_lock = threading.Lock()


def worth_threads(n_rows: int) -> bool:
    """Whether work over ``n_rows`` rows goes to threads (main thread, enough rows, cores)."""
    return (
        n_rows >= MIN_ROWS
        and threading.current_thread() is threading.main_thread()
        and (os.cpu_count() or 1) > 1
    )


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child makes its own
            workers = max(2, min(os.cpu_count() or 1, 8))
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sdc")
            _pool_pid = os.getpid()
        return _pool


def map_columns(fn: Callable[[T], R], items: Iterable[T], n_rows: int) -> list[R]:
    """``[fn(x) for x in items]``, in threads when :func:`worth_threads` (order kept;
    the first exception is raised as it would be in turn)."""
    items = list(items)
    if len(items) < 2 or not worth_threads(n_rows):
        return [fn(x) for x in items]
    return [f.result() for f in [_executor().submit(fn, x) for x in items]]


class Later:
    """A value computed in a thread while the caller goes on (in turn when threads do
    not pay): ``Later(fn, *args, n_rows=n).result()``."""

    def __init__(self, fn: Callable[..., Any], *args: Any, n_rows: int) -> None:
        self._future: Future[Any] | None = None
        self._value: Any = None
        if worth_threads(n_rows):
            self._future = _executor().submit(fn, *args)
        else:
            self._value = fn(*args)

    def result(self) -> Any:
        return self._value if self._future is None else self._future.result()
