"""A progress line on standard error, for the command line only.

Drawn only when stderr is a terminal, so logs and pipes stay clean and stdout
(which carries the JSON report) is never touched.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """A callable ``(done, total, stage)`` that redraws one line at most ten times a second.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressLine(out, force=True)
    >>> bar(50, 100, "rows"); bar.close()
    >>> "50%" in out.getvalue()
    True
    """

    def __init__(self, stream: TextIO | None = None, *, force: bool = False) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int | None, stage: str) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and (total is None or done < total)):
            return
        self._last = now
        if total:
            share = min(done / total, 1.0)
            bar = "#" * int(30 * share)
            text = f"\r{stage}: [{bar:<30}] {share:4.0%} ({done:,} of {total:,})"
        else:
            text = f"\r{stage}: {done:,}"
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
