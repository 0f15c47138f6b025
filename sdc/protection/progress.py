"""Progress of long protection work, for whoever asked to see it (the command line).

Library calls are silent: nothing is reported unless a caller wraps the work in
:func:`reporting` with a callable ``(done, total, stage)``. Reports start only
after ``delay`` seconds, so quick protections never draw anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Callback = Callable[[int, "int | None", str], None]

_CURRENT: ContextVar[tuple[Callback, float] | None] = ContextVar("sdc_protection_progress",
                                                                  default=None)  # fmt: skip


@contextmanager
def reporting(callback: Callback, delay: float = 1.5) -> Iterator[None]:
    """Send progress of protection work done inside the block to ``callback``.

    Examples
    --------
    >>> seen = []
    >>> with reporting(lambda done, total, stage: seen.append((done, total, stage)), 0.0):
    ...     report(1, 2, "audit")
    >>> seen
    [(1, 2, 'audit')]
    >>> report(2, 2, "audit")           # outside the block: silent
    >>> len(seen)
    1
    """
    token = _CURRENT.set((callback, time.monotonic() + delay))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def report(done: int, total: int | None, stage: str) -> None:
    """Tell the caller (if any asked, and once its delay has passed) how far ``stage`` is."""
    current = _CURRENT.get()
    if current is not None and time.monotonic() >= current[1]:
        current[0](done, total, stage)
