"""Crash safety and concurrency: real processes, killed mid-write or writing together.

A release or a decision is one transaction: a process that dies before any of its
write statements, or before COMMIT, leaves nothing of it, and the registry still
verifies and takes the same write afterwards. Several processes writing into one
registry (a SQLite file, a PostgreSQL schema) lose and duplicate nothing, and
their audit entries form one valid chain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import new_registry_url
from registry_cases import approve, files_of, request

from sdc.release.registry import open_registry

WORKER = Path(__file__).with_name("registry_worker.py")
FILES = {"visits": "pass", "rates": "pass", "ages": "pass"}


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        yield url


def _worker(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _snapshot(url: str) -> tuple:
    """Everything the tests compare before and after an interrupted write."""
    with open_registry(url, create=False) as reg:
        entries = [(e.seq, e.hash) for e in reg.audit_entries()]
        releases = [r.request_id for r in reg.releases()]
        assert reg.verify().valid
        known = {}
        for rid in ("crash-1", "crash-2"):
            try:
                known[rid] = reg.request(rid).to_dict()
            except ValueError:
                known[rid] = None
        return entries, releases, known


@pytest.mark.parametrize("op", ["release", "decide"])
def test_a_write_killed_at_any_statement_leaves_nothing(registry_url: str, op: str) -> None:
    with open_registry(registry_url) as reg:
        reg.decide(request("crash-1", verdicts=FILES), approve("crash-1"))
    before = _snapshot(registry_url)
    killed = 0
    for at in range(1, 40):
        proc = _worker(registry_url, "interrupt", op, str(at), "exit")
        out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            assert "done" in out
            break
        assert proc.returncode == 9, err
        killed += 1
        assert _snapshot(registry_url) == before, f"killed before write {at}"
    else:
        pytest.fail("the write never completed")
    assert killed >= 5  # every INSERT and UPDATE of the write, and its COMMIT
    entries, releases, known = _snapshot(registry_url)  # the complete write is all there
    with open_registry(registry_url, create=False) as reg:
        if op == "release":
            assert releases == ["crash-1"]
            assert reg.request("crash-1").release.files == files_of(
                request("crash-1", verdicts=FILES)
            )
        else:
            assert known["crash-2"]["state"] == "approved"
            assert [o["name"] for o in known["crash-2"]["outputs"]] == list(FILES)
        assert len(entries) == len(before[0]) + (1 if op == "release" else 2)


def test_a_process_killed_by_sigkill_inside_a_release_leaves_nothing(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        reg.decide(request("crash-1", verdicts=FILES), approve("crash-1"))
    before = _snapshot(registry_url)
    proc = _worker(registry_url, "interrupt", "release", "4", "hang")  # rows already written
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(registry_url) == before
    with open_registry(registry_url) as reg:  # the lock is free again and the write goes through
        reg.release("crash-1", files_of(request("crash-1", verdicts=FILES)), actor="bob")
        assert [r.request_id for r in reg.releases()] == ["crash-1"]
        assert reg.verify().valid


def test_concurrent_processes_lose_and_duplicate_nothing(registry_url: str) -> None:
    open_registry(registry_url).close()
    n_proc, n_each = 4, 15
    procs = [_worker(registry_url, "many", f"p{p}", str(n_each)) for p in range(n_proc)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and "done" in out, err
    with open_registry(registry_url, create=False) as reg:
        released = [r.request_id for r in reg.releases()]
        expected = {f"p{p}-{i}" for p in range(n_proc) for i in range(n_each)}
        assert sorted(released) == sorted(expected)
        entries = reg.audit_entries()
        assert [e.seq for e in entries] == list(range(1, 3 * len(expected) + 1))
        for rid in expected:  # each request's entries are in order, none lost or doubled
            mine = [e.action for e in entries if f'"{rid}"' in e.payload]
            assert mine == ["request", "decision", "release"], rid
        assert reg.verify().valid


def test_processes_racing_on_the_same_requests_release_each_once(registry_url: str) -> None:
    open_registry(registry_url).close()
    ids = [f"shared-{i}" for i in range(10)]
    procs = [_worker(registry_url, "race", f"checker-{p}", *ids) for p in range(4)]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        outcomes.append(json.loads(out.splitlines()[0]))
    for rid in ids:
        approvals = sum("approved" in o[rid] for o in outcomes)
        releases = sum("released" in o[rid] for o in outcomes)
        assert (approvals, releases) == (2, 1), rid
    with open_registry(registry_url, create=False) as reg:
        assert sorted(r.request_id for r in reg.releases()) == ids
        for rid in ids:
            state = reg.state(rid)
            assert state.state == "released" and len(set(state.approvers)) == 2
        assert len(reg.audit_entries()) == 4 * len(ids)
        assert reg.verify().valid
