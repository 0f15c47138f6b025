"""Requests and decisions for the registry tests (plain builders, no registry code run)."""

from __future__ import annotations

import hashlib
from typing import Any

from sdc.release.registry import Decision, OutputRecord, RequestRecord


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def request(
    rid: str,
    author: str = "alice",
    *,
    verdicts: dict[str, str] | None = None,
    dataset: str = "ds-1",
    required: int = 1,
) -> RequestRecord:
    """A request with one output per entry of ``verdicts`` (default: one passing table)."""
    verdicts = verdicts or {"visits": "pass"}
    outputs = [
        OutputRecord(name, "table", v, definition(name, dataset), dataset)
        for name, v in verdicts.items()
    ]
    return RequestRecord(
        rid,
        author,
        sha(f"manifest {rid}"),
        True,
        True,
        "default",
        sha("rules default"),
        outputs,
        required,
    )


def definition(name: str, dataset: str) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "population": {"filter": "age < 90"},
        "grouping": {"region": {"N": ["N"], "S": ["S"]}},
        "statistic": "count",
        "cells": [["N", 12], ["S", None]],
        "output": name,
    }


def approve(rid: str, checker: str = "bob", covers: tuple[str, ...] = ()) -> Decision:
    return Decision(rid, checker, "approve", f"{checker} checked every cell", covers)


def files_of(req: RequestRecord, *names: str) -> dict[str, dict[str, str]]:
    """Released files of the named outputs (default: every passing one)."""
    names = names or tuple(o.name for o in req.outputs if o.verdict == "pass")
    return {n: {f"{n}.csv": sha(f"{req.request_id}/{n}.csv")} for n in names}


def record_release(
    reg: Any, rid: str, author: str = "alice", checker: str = "bob", **kw: Any
) -> RequestRecord:
    """Approve and release a one-output request; returns its record."""
    req = request(rid, author, **kw)
    reg.decide(req, approve(rid, checker))
    reg.release(rid, files_of(req), actor=checker)
    return req
