"""``sdc release`` killed mid-release, on both registry backends.

A separate process runs ``sdc release`` and is stopped before each of its steps in
turn (every write statement of the registry, every file written into the egress
staging folder, the final move into place). After any stop:

- an egress folder exists only if the registry recorded its release, with the
  digest of every file in it (never a folder without a record);
- a release recorded without its folder (a stop between the registry's commit and
  the move) has its complete staging folder, which the next ``sdc release`` into
  that folder moves into place;
- the next run of the same command ends with the folder and the record agreeing.

A SIGTERM during the release removes the staging folder and records no release.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import new_registry_url
from release_cases import request_folder, tree

from sdc.release.registry import open_registry

WORKER = Path(__file__).with_name("release_worker.py")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        open_registry(url).close()  # the schema exists: migrations are not steps
        yield url


def _argv(folder: Path, url: str, out: Path) -> list[str]:
    # The reason names both outputs: a later run releases the same tables of the same data
    # again, which (without --data) the differencing against the registry leaves to review.
    return ["release", str(folder), "--registry", url, "--by", "bob", "--approve", "--reason",
            "checked counts and means", "--out", str(out), "--rules", "default",
            "--trust-unsigned"]  # fmt: skip


def _worker(at: int, how: str, argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(at), how, *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _recorded(url: str, author: str = "alice") -> dict[str, str] | None:
    """``{path: sha256}`` of the one release of ``author``'s request, or None."""
    with open_registry(url, create=False) as reg:
        assert reg.verify().valid
        releases = [r for r in reg.releases() if r.author == author]
        if not releases:
            return None
        rel = reg.request(releases[0].request_id).release
        assert rel is not None and len(releases) == 1
        return {p: s for f in rel.files.values() for p, s in f.items()} | rel.other_files


def _digests(folder: Path) -> dict[str, str]:
    return {p: hashlib.sha256(b).hexdigest() for p, b in tree(folder).items()}


def _partials(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def _kill_and_rerun(url: str, root: Path, at: int, author: str = "alice") -> bool:
    """Stop a release before step ``at``; check the state; run it again; check again.
    True when the release ran to its end without reaching step ``at``."""
    folder, out = request_folder(root, author=author), root / "egress"
    argv = _argv(folder, url, out)
    proc = _worker(at, "exit", argv)
    stdout, err = proc.communicate(timeout=300)
    recorded = _recorded(url, author)
    if proc.returncode == 0:
        assert "steps" in stdout and recorded is not None
        assert _digests(out) == recorded and not _partials(out)
        return True
    assert proc.returncode == 9, err
    if out.exists():  # never a folder without its record
        assert recorded is not None and _digests(out) == recorded
    elif recorded is not None:  # recorded, not moved: the complete staging folder is there
        (partial,) = _partials(out)
        assert _digests(partial) == recorded
    else:
        assert not out.exists()
    # the next run ends with the folder and the record agreeing
    subprocess.run([sys.executable, "-P", "-m", "sdc.cli", *argv], capture_output=True, timeout=300,
                   check=False)  # fmt: skip
    recorded = _recorded(url, author)
    assert recorded is not None and _digests(out) == recorded and not _partials(out)
    return False


#: Steps of a release of the two-table request: 1-9 the decision's writes (9 its commit),
#: 12-14 the files, 15-21 the release's writes (21 its commit), 22 the move into place.
@pytest.mark.parametrize("at", [13, 22])
def test_a_release_killed_mid_way_is_never_half_done(
    registry_url: str, tmp_path: Path, at: int
) -> None:
    assert not _kill_and_rerun(registry_url, tmp_path, at)


@pytest.mark.slow
def test_a_release_killed_at_any_step_is_never_half_done(registry_url: str, tmp_path: Path) -> None:
    for at in range(1, 60):
        root = tmp_path / f"run{at}"
        root.mkdir()
        if _kill_and_rerun(registry_url, root, at, author=f"alice-{at}"):
            break
    else:
        pytest.fail("the release never completed")
    assert at > 20  # every write of the decision and the release, every file, the move


@pytest.mark.parametrize("at", [3, 13])
def test_sigterm_during_a_release_removes_the_staging_folder(
    registry_url: str, tmp_path: Path, at: int
) -> None:
    """Stopped inside the decision (3) or while writing the files (13): nothing released, no
    egress folder, no staging folder (the decision is recorded only if it was committed)."""
    folder, out = request_folder(tmp_path), tmp_path / "egress"
    proc = _worker(at, "hang", _argv(folder, registry_url, out))
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.strip() == "inside", line
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 2  # interrupted
    assert not out.exists() and not _partials(out) and _recorded(registry_url) is None
