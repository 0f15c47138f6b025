"""The operator's settings of the gate: caps on what it reads (``[gate]``) and the
approvals a release needs (``[release]``).

The gate reads files a researcher could have written, so every read is bounded:
bytes per file and in total, files in a request, folder depth, fields per CSV
file and nesting of JSON documents. A file over a cap is refused (its output
fails), never read to the end. The defaults suit requests of tables up to
about a million cells; an operator with larger outputs raises them in the rule
set, e.g. ``[gate]`` ``max_file_bytes = 536870912``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_MiB = 1 << 20


@dataclass(frozen=True)
class GateParams:
    """The gate's caps; every read of a request stays within them.

    Examples
    --------
    >>> GateParams().max_json_depth
    32
    """

    #: Bytes of any one file of the request (manifest, evidence, table, plot).
    max_file_bytes: int = field(default=256 * _MiB, metadata={"min": 1024})
    #: Bytes read from the whole request.
    max_total_bytes: int = field(default=2048 * _MiB, metadata={"min": 1024})
    #: Files (and links, folders, special files) in the request folder.
    max_files: int = field(default=10_000, metadata={"min": 1})
    #: Folders below the request folder.
    max_folder_depth: int = field(default=4, metadata={"min": 1, "max": 64})
    #: Fields of one CSV file (rows times columns).
    max_cells: int = field(default=20_000_000, metadata={"min": 1})
    #: Nesting of arrays and objects in a JSON document.
    max_json_depth: int = field(default=32, metadata={"min": 4, "max": 512})


@dataclass(frozen=True)
class ReleaseParams:
    """What a release needs: ``approvers`` distinct checkers must approve a request before
    anything of it leaves (1 or 2; the request's author is never one of them).

    Examples
    --------
    >>> ReleaseParams().approvers
    1
    """

    #: Distinct checkers who must approve a request (``sdc release``) before it leaves.
    approvers: int = field(default=1, metadata={"min": 1, "max": 2})
