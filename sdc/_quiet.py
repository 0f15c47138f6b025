"""Keep native libraries from writing to the process's standard output.

stdout belongs to the caller: with ``--json`` it carries exactly one JSON
document. Some solvers print from C (HiGHS writes a banner when its first model
is made in a process), past ``sys.stdout``, so the file descriptor itself is
pointed at the null device while they run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stdout_silenced() -> Iterator[None]:
    """Discard whatever native code writes to file descriptor 1 inside the block.

    Examples
    --------
    >>> with native_stdout_silenced():
    ...     _ = os.write(1, b"not shown")
    """
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
    except (AttributeError, OSError, ValueError):
        fd = 1
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(fd)
    except OSError:  # no descriptor 1 to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
