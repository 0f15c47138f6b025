"""A separate process writing to a registry, for the crash and concurrency tests.

    python registry_worker.py URL interrupt OP AT HOW   die (HOW=exit) or hang (HOW=hang)
                                                         before the AT-th write statement
                                                         of OP (release of 'crash-1', or
                                                         the first decision on 'crash-2')
    python registry_worker.py URL many PREFIX N         N releases PREFIX-0 .. PREFIX-(N-1)
    python registry_worker.py URL race CHECKER ID...    approve and try to release each ID

Prints "done" (and, for race, a JSON line of outcomes) when it finishes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from registry_cases import approve, files_of, record_release, request

from sdc.exceptions import SdcRefusedDecision
from sdc.release.registry import open_registry

WRITES = ("INSERT", "UPDATE", "COMMIT")


class Interrupted:
    """A connection that dies, or hangs, before its AT-th write statement (or COMMIT)."""

    def __init__(self, conn: Any, at: int, how: str):
        self.conn, self.at, self.how, self.writes = conn, at, how, 0

    def execute(self, sql: str, params: Any = None) -> Any:
        if sql.lstrip().upper().startswith(WRITES):
            self.writes += 1
            if self.writes == self.at:
                if self.how == "exit":
                    os._exit(9)
                print("inside", flush=True)
                time.sleep(300)
                os._exit(10)
        return self.conn.execute(sql) if params is None else self.conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def interrupt(url: str, op: str, at: int, how: str) -> None:
    reg = open_registry(url)
    reg._conn = Interrupted(reg._conn, at, how)  # type: ignore[attr-defined]
    if op == "release":
        reg.release("crash-1", files_of(request("crash-1", verdicts=FILES)), actor="bob")
    else:
        reg.decide(request("crash-2", verdicts=FILES), approve("crash-2"))
    reg.close()


#: Outputs of the interrupted requests: several, so that a write has several rows.
FILES = {"visits": "pass", "rates": "pass", "ages": "pass"}


def many(url: str, prefix: str, n: int) -> None:
    with open_registry(url) as reg:
        for i in range(n):
            record_release(reg, f"{prefix}-{i}", checker=f"bob-{prefix}")


def race(url: str, checker: str, ids: list[str]) -> None:
    outcome: dict[str, list[str]] = {}
    with open_registry(url) as reg:
        for rid in ids:
            req = request(rid, required=2)
            done = []
            try:
                reg.decide(req, approve(rid, checker))
                done.append("approved")
            except SdcRefusedDecision:
                pass
            if reg.state(rid).state == "approved":
                try:
                    reg.release(rid, files_of(req), actor=checker)
                    done.append("released")
                except SdcRefusedDecision:
                    pass
            outcome[rid] = done
    print(json.dumps(outcome))


if __name__ == "__main__":
    url, mode, *rest = sys.argv[1:]
    if mode == "interrupt":
        interrupt(url, rest[0], int(rest[1]), rest[2])
    elif mode == "many":
        many(url, rest[0], int(rest[1]))
    else:
        race(url, rest[0], rest[1:])
    print("done", flush=True)
