"""Hostile request folders for the gate's tests, built programmatically.

Each attack starts from a request that ``finalise`` wrote and edits it as a
researcher who can write every file of the folder could (issue "The gate: a pass
that cannot be forged"), recomputing the manifest's digests where that helps the
attacker. The builders return nothing: they change the folder in place.

The base request (:func:`visits`, :func:`base_session`): visits by region and sex,
with the Isles small (one patient with three visits among the women, two
patients among the men), a count table and a mean cost table (per patient), both
with the Isles suppressed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import sdc
from sdc.release.signing import generate_keys

#: A file of row-level data: what must never get through.
PATIENTS = (
    "patient_id,date_of_birth,postcode,diagnosis\n"
    "1001,1961-03-14,AB1 2CD,C34.1\n"
    "1002,1970-11-02,EF3 4GH,I21.0\n"
)
#: Sessions and attacks use these outputs.
COUNTS, MEANS = "counts", "means"


def visits() -> pd.DataFrame:
    """Visits: 15 patients with two visits in each (region, sex) of North, South and East;
    in the Isles one woman with three visits and two men with two each."""
    rng = np.random.default_rng(17)
    region, sex, patient = [], [], []
    pid = 0
    for r in ("North", "South", "East"):
        for s in "FM":
            for _ in range(15):
                pid += 1
                region += [r, r]
                sex += [s, s]
                patient += [f"P{pid:03d}"] * 2
    for s, people, n_visits in (("F", 1, 3), ("M", 2, 2)):
        for _ in range(people):
            pid += 1
            region += ["Isles"] * n_visits
            sex += [s] * n_visits
            patient += [f"P{pid:03d}"] * n_visits
    cost = np.round(rng.uniform(20, 400, len(region)), 2)
    return pd.DataFrame({"region": region, "sex": sex, "patient": patient, "cost": cost})


def base_session(rules: str = "default") -> sdc.Session:
    df = visits()
    s = sdc.Session(rules=rules, suppress=True)
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name=COUNTS)
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", name=MEANS)  # fmt: skip
    return s


def keypair(folder: Path, name: str = "runner") -> tuple[Path, Path]:
    """A new Ed25519 key pair in ``folder``: (private, public)."""
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    generate_keys(private, public)
    return private, public


def finalise(folder: Path, key: Path | None = None, session: sdc.Session | None = None) -> Path:
    """The base request (or ``session``'s), signed with ``key`` when given."""
    return (session or base_session()).finalise(folder, signing_key=key)


# ------------------------------------------------------------------ editing a request


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    manifest = read_manifest(folder)
    change(manifest)
    write_manifest(folder, manifest)


def redigest(folder: Path, rel: str) -> None:
    """Record a file's new digest and size, as someone who also rewrites the manifest would."""
    data = (folder / rel).read_bytes()

    def change(m: dict[str, Any]) -> None:
        (entry,) = [f for f in m["files"] if f["path"] == rel]
        entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))

    edit_manifest(folder, change)


def list_file(folder: Path, rel: str, kind: str, output: str | None) -> None:
    """Name a file in the manifest, with a kind and the right digest."""
    data = (folder / rel).read_bytes()
    edit_manifest(folder, lambda m: m["files"].append({
        "path": rel, "kind": kind, "output": output,
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
    }))  # fmt: skip


def write(folder: Path, rel: str, data: bytes | str, digest: bool = True) -> None:
    """Replace a file of the request (and its digest, unless ``digest`` is False)."""
    path = folder / rel
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    if digest:
        redigest(folder, rel)


def evidence(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / "evidence" / f"{name}.json").read_text(encoding="utf-8"))


def write_evidence(folder: Path, name: str, ev: dict[str, Any]) -> None:
    write(folder, f"evidence/{name}.json", json.dumps(ev))


# ------------------------------------------------------------------ the attacks


def add_patient_file(folder: Path, rel: str = "patients.csv", kind: str | None = "table",
                     output: str | None = None) -> None:  # fmt: skip
    """Patient ids and dates of birth in a new file, named in the manifest (``kind`` None:
    not named)."""
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_text(PATIENTS, encoding="utf-8")
    if kind is not None:
        list_file(folder, rel, kind, output)


def overwrite_report(folder: Path, rel: str) -> None:
    """Patient data written over the session's report.txt or report.json."""
    write(folder, rel, PATIENTS)


def relabel(folder: Path, name: str, statistic: str, kind: str | None = None) -> None:
    """A count table relabelled as another statistic, with arbitrary numbers in its cells."""
    text = (folder / f"{name}.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].rsplit(",", 1)[0] + ",cost"
    rows = [line.rsplit(",", 1)[0] + f",{17.5 + i}" for i, line in enumerate(text[1:])]
    write(folder, f"{name}.csv", "\n".join([header, *rows]) + "\n")

    def change(m: dict[str, Any]) -> None:
        (entry,) = [o for o in m["outputs"] if o["name"] == name]
        entry.update(statistic=statistic, value_name="cost")
        if kind is not None:
            entry["kind"] = kind

    edit_manifest(folder, change)


def patient_terms(folder: Path, name: str) -> None:
    """A coefficient table whose term column holds patients' details."""
    lines = (folder / f"{name}.csv").read_text(encoding="utf-8").splitlines()
    rows = [
        f"patient {1001 + i} DOB 1961-03-{14 + i:02d}," + line.split(",", 1)[1]
        for i, line in enumerate(lines[1:])
    ]
    write(folder, f"{name}.csv", "\n".join([lines[0], *rows]) + "\n")


def fill_suppressed(folder: Path, name: str, value: bytes) -> None:
    """The first suppressed cell of a table (an empty last field) given ``value`` instead."""
    path = folder / f"{name}.csv"
    lines = path.read_bytes().split(b"\n")
    i = next(i for i, line in enumerate(lines) if line.endswith(b",") and i > 0)
    lines[i] += value
    write(folder, f"{name}.csv", b"\n".join(lines))


def respell_value(folder: Path, name: str, spelling: Callable[[str], str]) -> None:
    """The first published value of a table written in another spelling."""
    path = folder / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    i = next(i for i, line in enumerate(lines) if i > 0 and line and not line.endswith(","))
    head, value = lines[i].rsplit(",", 1)
    lines[i] = f"{head},{spelling(value)}"
    write(folder, f"{name}.csv", "\n".join(lines))


#: Other spellings of a count: each is the same number, or next to it, but not its one
#: spelling (the issue's examples; ``value`` is the count as finalise wrote it).
RESPELLINGS: dict[str, Callable[[str], str]] = {
    "plus and exponent": lambda v: f"+{float(v) / 100:.4g}e2",
    "nearly the count": lambda v: f"{v}.0000002",
    "underscores": lambda v: "_".join(v),
    "full-width digits": lambda v: "".join(chr(0xFF10 + int(c)) for c in v),
    "trailing space": lambda v: v + " ",
    "leading zero": lambda v: "0" + v,
    "decimal point": lambda v: v + ".0",
}

#: What a suppressed cell can be made to hold instead of nothing.
PAYLOADS: dict[str, bytes] = {
    "two spaces": b"  ",
    "tab pattern": b"\t \t\t",
    "the count": b"3",
    "a quoted count": b'"3"',
}


def datashield_request(folder: Path, key: Path | None = None) -> Path:
    """A request made under the unmodified ``datashield`` preset (threshold 3): a cell of 4
    records is published."""
    df = pd.DataFrame({"region": ["North"] * 40 + ["Isles"] * 4})
    s = sdc.Session(rules="datashield")
    s.pivot_table(df, index="region", aggfunc="count", name=COUNTS)
    assert s.outputs[COUNTS].status is sdc.Status.PASS
    return s.finalise(folder, signing_key=key)


def link_table(folder: Path, name: str, target: Path, hard: bool = False) -> None:
    """The released table replaced by a link to a file outside the folder (digest recomputed
    from the target's bytes)."""
    path = folder / f"{name}.csv"
    path.unlink()
    if hard:
        os.link(target, path)
    else:
        path.symlink_to(target)
    data = target.read_bytes()

    def change(m: dict[str, Any]) -> None:
        (entry,) = [f for f in m["files"] if f["path"] == f"{name}.csv"]
        entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))

    edit_manifest(folder, change)


def link_evidence_folder(folder: Path, outside: Path) -> None:
    """The evidence folder moved outside and replaced by a symbolic link to it."""
    shutil.move(str(folder / "evidence"), str(outside))
    (folder / "evidence").symlink_to(outside)


def absolute_path(folder: Path, path: str = "/etc/passwd") -> None:
    """A file entry naming an absolute path outside the folder."""
    edit_manifest(folder, lambda m: m["files"].append({
        "path": path, "kind": "report", "output": None, "sha256": "0" * 64, "bytes": 0,
    }))  # fmt: skip


def forge_isles(folder: Path, contributors: int = 20, digest: bool = True) -> None:
    """The Isles' true mean costs published, and their evidence rewritten to agree: each
    given ``contributors`` contributors of the same size, so the threshold and dominance
    rules pass (the digests recomputed, unless ``digest`` is False)."""
    df = visits()
    means = df[df.region == "Isles"].groupby("sex")["cost"].mean()
    ev = evidence(folder, MEANS)
    levels = ev["levels"]
    lines = (folder / f"{MEANS}.csv").read_text(encoding="utf-8").split("\n")
    n_sex = len(levels[1]) + (1 if ev["margins"] else 0)
    for sex, mean in means.items():
        r, c = levels[0].index("Isles"), levels[1].index(sex)
        cell = r * (len(levels[1]) + 1) + c
        total = mean * contributors
        ev["records"][cell] = ev["nonmissing"][cell] = ev["contributors"][cell] = contributors
        ev["missing"][cell] = ev["negatives"][cell] = 0
        ev["sum"][cell] = ev["abs_sum"][cell] = total
        ev["top"][cell] = [mean] * len(ev["top"][cell])
        ev["min"][cell] = ev["max"][cell] = mean
        row = 1 + r * n_sex + c
        lines[row] = lines[row].rsplit(",", 1)[0] + "," + repr(total / contributors)
    _margins(ev)
    write(folder, f"evidence/{MEANS}.json", json.dumps(ev), digest)
    write(folder, f"{MEANS}.csv", "\n".join(lines), digest)


def _margins(ev: dict[str, Any]) -> None:
    """Every margin of a two-dimensional evidence made the sum of its cells again."""
    shape = (len(ev["levels"][0]) + 1, len(ev["levels"][1]) + 1)
    for name in ("records", "nonmissing", "missing", "negatives", "contributors", "sum",
                 "abs_sum"):  # fmt: skip
        cube = np.asarray(ev[name], dtype=np.float64).reshape(shape)
        cube[:-1, -1] = cube[:-1, :-1].sum(axis=1)
        cube[-1, :] = cube[:-1, :].sum(axis=0)
        values = cube.ravel().tolist()
        ev[name] = values if name in ("sum", "abs_sum") else [int(v) for v in values]


def fifo_evidence(folder: Path, name: str) -> None:
    """A FIFO (named pipe, with no writer) in place of an evidence file."""
    path = folder / "evidence" / f"{name}.json"
    path.unlink()
    os.mkfifo(path)


def dev_zero_evidence(folder: Path, name: str) -> None:
    """``/dev/zero`` (endless) behind an evidence path, through a symbolic link."""
    path = folder / "evidence" / f"{name}.json"
    path.unlink()
    path.symlink_to("/dev/zero")


def nested_evidence(folder: Path, name: str, depth: int = 100_000) -> None:
    """Evidence of deeply nested arrays (a parser that recurses runs out of stack)."""
    write(folder, f"evidence/{name}.json", "[" * depth + "]" * depth)


def list_labels(folder: Path, name: str) -> None:
    """Evidence whose labels are lists instead of texts."""
    ev = evidence(folder, name)
    ev["levels"][0] = [[label] for label in ev["levels"][0]]
    write_evidence(folder, name, ev)


def injected_label(folder: Path, name: str, label: str) -> None:
    """A label of a table (in its evidence and its released file) replaced by ``label``."""
    ev = evidence(folder, name)
    old = ev["levels"][0][0]
    ev["levels"][0][0] = label
    write_evidence(folder, name, ev)
    text = (folder / f"{name}.csv").read_text(encoding="utf-8")
    lines = [label + line[len(old):] if line.startswith(old + ",") else line
             for line in text.split("\n")]  # fmt: skip
    write(folder, f"{name}.csv", "\n".join(lines))


def injected_name(folder: Path, name: str, new: str) -> None:
    """An output renamed (its files too) to ``new``, e.g. with a line break in it."""

    def change(m: dict[str, Any]) -> None:
        for o in m["outputs"]:
            if o["name"] == name:
                o["name"] = new
        for f in m["files"]:
            if f["output"] == name:
                f["output"] = new
                f["path"] = f["path"].replace(name, new)

    edit_manifest(folder, change)
