"""Verdicts: pass, review or fail, and how they combine."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Status(str, Enum):
    """The decision on an output.

    ``PASS`` may leave; ``REVIEW`` needs a person (the reasons say what to look
    at); ``FAIL`` must not leave as it is. Ordered by severity, so the verdict of
    several findings is the most severe one.

    Examples
    --------
    >>> Status.worst([Status.PASS, Status.REVIEW])
    <Status.REVIEW: 'review'>
    >>> Status.worst([])
    <Status.PASS: 'pass'>
    >>> Status.FAIL.exit_code
    1
    """

    PASS = "pass"
    REVIEW = "review"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 pass, 1 fail, 3 review (2 is kept for invalid input)."""
        return _EXIT[self]

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        result = cls.PASS
        for s in statuses:
            if _SEVERITY[s] > _SEVERITY[result]:
                result = s
        return result

    def __str__(self) -> str:
        return self.value


_SEVERITY = {Status.PASS: 0, Status.REVIEW: 1, Status.FAIL: 2}
_EXIT = {Status.PASS: 0, Status.FAIL: 1, Status.REVIEW: 3}
