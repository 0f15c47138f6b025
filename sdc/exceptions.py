"""The exceptions sdc raises, in one place.

``SdcInputError`` subclasses ``ValueError`` so that existing ``except ValueError``
handlers keep working; the CLI turns any ``SdcInputError`` into exit code 2 with
its one-line message.
"""

from __future__ import annotations


class SdcError(Exception):
    """Base class of every error raised by sdc."""


class SdcInputError(SdcError, ValueError):
    """A user input (argument, data, file, rule set) the engine cannot accept."""


class SdcRuleSetError(SdcInputError):
    """A rule set (TOML file or preset) that is malformed or inconsistent."""


class SdcEvidenceError(SdcInputError):
    """Evidence that is inconsistent with itself or with the table it describes."""


class SdcRefusedFile(SdcInputError):
    """A file refused as unsafe to read: it would run code, or break a size or path limit.

    Distinct from a malformed input so that a gate can report it as ``fail``
    (the file must not leave) rather than as a usage error.
    """


class SdcRefusedDecision(SdcInputError):
    """A decision or release the registry refuses, and records nothing of.

    The author of a request approving it, a checker approving twice, a decision on
    a closed request, a release before its approvals are complete, or of an output
    that may not leave.
    """


class SdcRegistryError(SdcError):
    """A release registry that cannot be opened, read or written.

    A database that cannot be reached, a schema newer than this version of sdc
    knows, or a write the database refused. Not raised for a broken audit chain:
    ``verify()`` reports that as its result.
    """


class SdcReleaseWarning(UserWarning):
    """``finalise`` wrote outputs that do not pass as they are (they fail, or need review)."""
