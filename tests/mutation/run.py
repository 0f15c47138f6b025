"""Mutation testing of the modules that decide verdicts, with a floor on the score.

cosmic-ray (PyPI) finds the mutants: every place where one of its operators changes a
target module (``cosmic-ray init``), less the operators ``targets.toml`` excludes
(``cr-filter-operators``) and the lines marked ``# pragma: no mutate`` with a reason
(``cr-filter-pragma``). Each mutant is then tested here rather than by cosmic-ray's own
executor, which starts an interpreter per mutant and rewrites the file on disk; here no
file is ever written, so nothing needs restoring whatever stops the run, and a mutant
costs about what its tests cost:

- this process imports the heavy libraries once (``preload``: numpy, pandas, scipy, the
  Numba kernels) and forks a child per mutant, up to ``--jobs`` at a time;
- a mutant inside a function body is tested in a child of a *target server*, a fork
  that has collected the target's tests (so imported the target modules and everything
  the tests use): the child swaps the code of the changed function for the mutated one,
  in place, so every reference to the function sees it, then runs the tests with pytest;
- any other mutant (a module-level constant, a class body, a default value) is tested
  in a child of this process, where an import hook serves the mutated module's source
  under its name and the tests import everything afresh.

A mutant the tests fail on (or that runs past its timeout) is *caught*; one they pass
is *survived*. A mutant that compiles to the same code as the original cannot change
anything and is counted apart ("same code"). The score is caught / (caught + survived),
per target and in total; below ``floor`` the run fails. Survivors that cannot change any
result are listed in ``targets.toml`` (``[[equivalent]]``, each with its reason): they
are reported apart and left out of the score, and a listed mutant that no longer
survives (or no longer exists) fails the run, so the list stays true. Outcomes are also
written to each target's cosmic-ray session (``--keep DIR`` keeps them, for ``cr-report``).

Before any mutant, the unmutated tests run once in each way: they must pass, and
must import every target module from this source tree; otherwise the run stops.

    python tests/mutation/run.py [--target NAME ...] [--floor PCT] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import difflib
import functools
import hashlib
import importlib
import importlib.abc
import json
import os
import pkgutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

#: A child's exit status: pytest's (0: every test passed, 1: some failed), or one of these.
PASSED, TESTS_FAILED, NOT_IMPORTED, SAME_CODE, CRASHED = 0, 1, 97, 98, 70
OUTCOMES = {PASSED: "survived", TESTS_FAILED: "killed", NOT_IMPORTED: "not imported",
            SAME_CODE: "same code"}  # fmt: skip
SURVIVED = ("survived", "not imported")


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@functools.cache
def module_name(path: str) -> str:
    """The import name of a source file, from the package layout in ``pyproject.toml``.

    >>> module_name("rules/dominance.py"), module_name("sdc/tables/statistics.py")
    ('sdc.rules.dominance', 'sdc.tables.statistics')
    """
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = setup["tool"]["setuptools"]["package-dir"]
    parts = Path(path).with_suffix("").parts
    best, rest = "", parts
    for package, folder in package_dir.items():
        prefix = Path(folder).parts
        if parts[: len(prefix)] == prefix and len(package) > len(best):
            best, rest = package, parts[len(prefix) :]
    if not best:
        raise SystemExit(f"{path} is in no package of pyproject.toml")
    rest = rest[:-1] if rest and rest[-1] == "__init__" else rest
    return ".".join([best, *rest])


def in_functions(source: str, line: int, names: Sequence[str]) -> bool:
    """Whether ``line`` lies in a ``def`` named one of ``names`` (at any depth).

    >>> src = "def f():\n    return 1\ndef g():\n    return 2\n"
    >>> [in_functions(src, n, ["g"]) for n in (1, 2, 3, 4)]
    [False, False, True, True]
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line <= (node.end_lineno or 0):
                return True
    return False


def in_function_body(source: str, line: int) -> bool:
    """Whether ``line`` lies in the body of a ``def`` (not its decorators or defaults).

    >>> src = "X = 1\\n@dec(2)\\ndef f(a=3):\\n    return a + 4\\n"
    >>> [in_function_body(src, n) for n in (1, 2, 3, 4)]
    [False, False, False, True]
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.body[0].lineno <= line <= (node.end_lineno or 0):
                return True
    return False


# --------------------------------------------------------------------------- in a child


class _Mutant(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module's (mutated) source from memory, under the module's name.

    With ``source=None`` it only records that the module was imported, and from where.
    """

    def __init__(self, name: str, path: Path, source: str | None) -> None:
        self.name, self.path, self.source = name, path, source
        self.imported_from: str | None = None

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                self.imported_from = spec.origin
                if self.source is not None:
                    spec.loader = self
                    spec.origin = str(self.path)
                return spec
        return None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        assert self.source is not None
        module.__file__ = str(self.path)
        exec(compile(self.source, str(self.path), "exec", dont_inherit=True), module.__dict__)


def _functions(namespace: dict[str, Any], module: str) -> Iterator[tuple[str, Any]]:
    """(qualified name, function) of every function defined in ``module``'s namespace,
    methods of its classes included (decorators unwrapped)."""
    seen: set[int] = set()

    def walk(items: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for key, obj in items.items():
            if isinstance(obj, staticmethod | classmethod):
                obj = obj.__func__
            if isinstance(obj, property):
                for part in ("fget", "fset", "fdel"):
                    if getattr(obj, part) is not None:
                        yield f"{prefix}{key}.{part}", getattr(obj, part)
                continue
            while hasattr(obj, "__wrapped__") and not isinstance(obj, type):
                obj = obj.__wrapped__
            if getattr(obj, "__module__", None) != module or id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, types.FunctionType):
                yield prefix + key, obj
            elif isinstance(obj, type):
                yield from walk(dict(vars(obj)), f"{prefix}{key}.")

    yield from walk(dict(namespace), "")


def patch_functions(name: str, path: Path, source: str) -> int:
    """Give the functions of the imported module ``name`` the code they have in
    ``source``, in place; return how many changed."""
    module = sys.modules[name]
    scratch = types.ModuleType(name)
    scratch.__dict__.update(__file__=str(path), __package__=module.__package__,
                            __spec__=module.__spec__)  # fmt: skip
    sys.modules[name] = scratch
    try:
        exec(compile(source, str(path), "exec", dont_inherit=True), scratch.__dict__)
    finally:
        sys.modules[name] = module
    new = dict(_functions(scratch.__dict__, name))
    changed = 0
    for qualname, old in _functions(module.__dict__, name):
        mutated = new.get(qualname)
        if mutated is not None and mutated.__code__ != old.__code__:
            old.__code__ = mutated.__code__
            changed += 1
    for obj in vars(module).values():
        if callable(getattr(obj, "cache_clear", None)):
            obj.cache_clear()
    return changed


def _die_with_parent() -> None:
    """Linux: this process is killed when its parent dies (no mutant outlives the run)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover (not Linux)
        pass


def _pytest_args(tests: Sequence[str]) -> list[str]:
    return ["-x", "-q", "--no-header", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
            *(str(ROOT / t) for t in tests)]  # fmt: skip


def _quiet(log: Path) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _child(job: Job, tests: Sequence[str], log: Path) -> None:
    """Test one mutant; exit with the outcome. Never returns (``os._exit``: a forked
    child must not run its parent's clean-up)."""
    code = CRASHED
    try:
        os.setpgrp()  # a timeout kills the child and whatever it started
        _die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _quiet(log)
        name, path = module_name(job.module), ROOT / job.module
        hook = None
        if job.patch:
            if job.source is not None and not patch_functions(name, path, job.source):
                os._exit(SAME_CODE)
        else:
            hook = _Mutant(name, path, job.source)
            sys.meta_path.insert(0, hook)
        import pytest

        code = int(pytest.main(_pytest_args(tests)))
        if hook is not None and hook.imported_from is None:
            code = NOT_IMPORTED
        elif hook is not None and job.source is None:
            if Path(hook.imported_from or "").resolve() != path.resolve():
                print(f"\n{name} was imported from {hook.imported_from}, not {path}")
                code = NOT_IMPORTED
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


# --------------------------------------------------------------------------- the runner


@dataclass
class Job:
    """One mutant (or an unmutated baseline: ``source`` None) of one module."""

    job_id: str
    module: str
    operator: str
    line: int
    source: str | None
    patch: bool
    changed: str = ""
    outcome: str = ""
    seconds: float = 0.0


class Runner:
    """Runs jobs as forked children, ``jobs`` at a time, each within ``timeout`` seconds."""

    def __init__(self, jobs: int, work: Path, warm: Sequence[str] = ()) -> None:
        self.jobs, self.work, self.warm = jobs, work, warm
        self.running: dict[int, tuple[Job | None, float, float]] = {}
        signal.signal(signal.SIGTERM, self._terminate)
        signal.signal(signal.SIGINT, self._terminate)

    def _terminate(self, signum: int, _frame: Any) -> None:
        self.kill_all()
        sys.exit(128 + signum)

    def kill_all(self) -> None:
        """Stop every child: the target server on SIGTERM (it stops its own children),
        mutants at once."""
        for pid, (job, _, _) in list(self.running.items()):
            try:
                os.killpg(pid, signal.SIGTERM if job is None else signal.SIGKILL)
            except OSError:
                pass
        for pid in list(self.running):
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
        self.running.clear()

    def _start(self, job: Job, tests: Sequence[str], timeout: float) -> None:
        pid = os.fork()
        if pid == 0:
            _child(job, tests, self.work / f"{job.job_id}.log")
        self.running[pid] = (job, time.monotonic(), timeout)

    def _reap(self) -> Iterator[Job]:
        while True:
            done = False
            for pid, (job, start, timeout) in list(self.running.items()):
                assert job is not None
                got, status = os.waitpid(pid, os.WNOHANG)
                if got == 0:
                    if time.monotonic() - start <= timeout:
                        continue
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                    os.waitpid(pid, 0)
                    job.outcome = "timeout"
                elif os.WIFEXITED(status):
                    code = os.WEXITSTATUS(status)
                    job.outcome = OUTCOMES.get(code, f"exit {code}")
                else:
                    job.outcome = f"signal {os.WTERMSIG(status)}"
                job.seconds = time.monotonic() - start
                del self.running[pid]
                done = True
                yield job
            if done or not self.running:
                return
            time.sleep(0.01)

    def run(self, jobs: Sequence[Job], tests: Sequence[str], timeout: float) -> Iterator[Job]:
        queue = list(jobs)
        while queue or self.running:
            while queue and len(self.running) < self.jobs:
                self._start(queue.pop(0), tests, timeout)
            yield from self._reap()

    def baseline(self, target: dict, patch: bool) -> float:
        """Run the target's tests unmutated: they must pass (and, importing afresh, import
        every target module from this tree). Returns the slowest run's seconds."""
        base = [Job(f"baseline-{patch}-{i}", m, "", 0, None, patch)
                for i, m in enumerate(target["modules"])]  # fmt: skip
        slowest = 0.0
        for job in self.run(base[:1] if patch else base, target["tests"], timeout=1800):
            if job.outcome != "survived":
                log = (self.work / f"{job.job_id}.log").read_text(errors="replace")
                print(log[-20000:], file=sys.stderr)
                raise SystemExit(
                    f"mutation {target['name']}: the unmutated tests give '{job.outcome}' "
                    f"for {job.module} (they must pass, and import it from {ROOT})"
                )
            slowest = max(slowest, job.seconds)
        return slowest

    def mutants(self, target: dict, jobs: Sequence[Job]) -> tuple[float, list[Job]]:
        """Test ``jobs`` (each as its ``patch`` says); (slowest baseline s, jobs done)."""
        fresh = [j for j in jobs if not j.patch]
        patched = [j for j in jobs if j.patch]
        start = time.monotonic()
        slowest = self.baseline(target, patch=False)
        done = list(self.run(fresh, target["tests"], max(30.0, 10 * slowest)))
        print(f"   {len(fresh)} mutants imported afresh ({time.monotonic() - start:.0f} s, "
              f"unmutated tests {slowest:.1f} s)", flush=True)  # fmt: skip
        if patched:
            start = time.monotonic()
            seconds, results = self.serve(target, patched)
            print(f"   {len(patched)} mutants patched in ({time.monotonic() - start:.0f} s, "
                  f"unmutated tests {seconds:.1f} s)", flush=True)  # fmt: skip
            done += results
        return slowest, done

    def serve(self, target: dict, jobs: Sequence[Job]) -> tuple[float, list[Job]]:
        """Fork the target server: it collects the tests, then runs ``jobs``."""
        out, log = self.work / "server.json", self.work / "server.log"
        pid = os.fork()
        if pid == 0:
            code = CRASHED
            try:
                os.setpgrp()
                _die_with_parent()
                _quiet(log)
                self.running.clear()
                import pytest

                _preload(self.warm, set())
                # The unmutated tests, in the server itself: Numba's kernels load, and
                # every module the tests use is imported, once for all children.
                if int(pytest.main(_pytest_args(target["tests"]))) != 0:
                    raise SystemExit(f"mutation {target['name']}: the unmutated tests fail")
                for m in target["modules"]:
                    loaded = getattr(importlib.import_module(module_name(m)), "__file__", None)
                    if loaded is None or Path(loaded).resolve() != (ROOT / m).resolve():
                        raise SystemExit(f"{m} is not the module the tests import ({loaded})")
                slowest = self.baseline(target, patch=True)
                timeout = max(30.0, 10 * slowest)
                done = {j.job_id: j.outcome for j in self.run(jobs, target["tests"], timeout)}
                seconds = {j.job_id: j.seconds for j in jobs}
                out.write_text(json.dumps([slowest, done, seconds]), encoding="utf-8")
                code = 0
            except SystemExit as exc:
                print(exc, flush=True)
            finally:
                self.kill_all()
                os._exit(code)
        self.running[pid] = (None, time.monotonic(), 0.0)
        _, status = os.waitpid(pid, 0)
        del self.running[pid]
        if status != 0 or not out.exists():
            print(log.read_text(errors="replace")[-20000:], file=sys.stderr)
            raise SystemExit(f"mutation {target['name']}: the target server failed")
        slowest, outcomes, seconds = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        for j in jobs:
            j.outcome, j.seconds = outcomes[j.job_id], seconds[j.job_id]
        return slowest, list(jobs)


# --------------------------------------------------------------------------- cosmic-ray


def _config(target: dict, exclude: list[str], path: Path) -> None:
    text = (
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(target['modules'])}\n"
        "timeout = 60.0\n"
        "excluded-modules = []\n"
        "test-command = 'python -m pytest'\n\n"  # unused: mutants are run by this module
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(exclude)}\n"
    )
    path.write_text(text, encoding="utf-8")


def _changed_line(before: str, after: str) -> str:
    """The first changed line of a mutant, as it reads after the change."""
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""):
        if line.startswith("+") and not line.startswith("+++"):
            return line[1:].strip()
    return ""


def mutants(target: dict, exclude: list[str], session: Path) -> list[Job]:
    """The target's mutants, as cosmic-ray generates and filters them."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db

    config = session.with_suffix(".toml")
    _config(target, exclude, config)
    for command in (["cosmic-ray", "init", str(config), str(session)],
                    ["cr-filter-operators", str(session), str(config)],
                    ["cr-filter-pragma", str(session)]):  # fmt: skip
        subprocess.run([_bin(command[0]), *command[1:]], check=True, cwd=ROOT)
    sources = {m: (ROOT / m).read_text(encoding="utf-8") for m in target["modules"]}
    jobs = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            (spec,) = item.mutations
            module = Path(spec.module_path).as_posix()
            operator = get_operator(spec.operator_name)(**(spec.operator_args or {}))
            source = mutate_code(sources[module], operator, spec.occurrence)
            if source is None:
                continue
            line = spec.start_pos[0]
            only = target.get("functions", {}).get(module)
            if only is not None and not in_functions(sources[module], line, only):
                continue
            patch = in_function_body(sources[module], line)
            job = Job(item.job_id, module, spec.operator_name, line, source, patch)
            job.changed = _changed_line(sources[module], source)
            jobs.append(job)
    jobs.sort(key=lambda j: (j.module, j.line, j.operator))
    return jobs


def _record(session: Path, jobs: Sequence[Job]) -> None:
    """Write outcomes to the cosmic-ray session (for ``cr-report``)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        for job in jobs:
            db.set_result(job.job_id, WorkResult(
                worker_outcome=WorkerOutcome.NORMAL, output=job.outcome,
                test_outcome=TestOutcome.SURVIVED if job.outcome in SURVIVED
                else TestOutcome.KILLED, diff=job.changed,
            ))  # fmt: skip


# --------------------------------------------------------------------------- the report


@dataclass
class Outcome:
    """What one target's run found."""

    name: str
    mutants: int = 0
    caught: int = 0
    timeouts: int = 0
    same_code: int = 0
    survivors: list[Job] = field(default_factory=list)
    equivalent: list[Job] = field(default_factory=list)
    baseline: float = 0.0
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return 100.0 * self.caught / max(self.caught + len(self.survivors), 1)


def _key(job: Job) -> tuple[str, str, str]:
    return (job.module, job.operator.removeprefix("core/"), job.changed)


def _listed(spec: dict) -> set[tuple[str, str, str]]:
    return {(e["module"], e["operator"], e["mutant"]) for e in spec.get("equivalent", [])}


def run_target(runner: Runner, target: dict, spec: dict, session: Path) -> Outcome:
    start = time.monotonic()
    out = Outcome(target["name"])
    jobs = mutants(target, spec["exclude-operators"], session)
    out.mutants = len(jobs)
    out.baseline, done = runner.mutants(target, jobs)
    equivalent = _listed(spec)
    for job in done:
        if job.outcome in SURVIVED:
            (out.equivalent if _key(job) in equivalent else out.survivors).append(job)
        elif job.outcome == "same code":
            out.same_code += 1
        else:
            out.caught += 1
            out.timeouts += job.outcome == "timeout"
    _record(session, done)
    out.survivors.sort(key=lambda j: (j.module, j.line, j.operator))
    out.seconds = time.monotonic() - start
    return out


def _print_outcome(o: Outcome) -> None:
    print(f"== mutation {o.name}: {o.mutants} mutants, {o.caught} caught ({o.timeouts} by "
          f"timeout), {len(o.survivors)} survived, {len(o.equivalent)} listed as equivalent, "
          f"{o.same_code} same code; score {o.score:.1f}% ({o.seconds:.0f} s; unmutated "
          f"tests {o.baseline:.1f} s)", flush=True)  # fmt: skip
    for j in o.survivors:
        how = "" if j.outcome == "survived" else f" [{j.outcome}]"
        print(f"   survived {j.module}:{j.line} {j.operator.removeprefix('core/')}{how}: "
              f"{j.changed}", flush=True)  # fmt: skip


def _preload(names: Sequence[str], forbidden: set[str]) -> None:
    """Import ``names`` and none of ``forbidden``."""
    for name in names:
        if name.endswith(".**"):  # the package and every module under it
            package = importlib.import_module(name[:-3])
            for info in pkgutil.walk_packages(package.__path__, f"{name[:-3]}."):
                importlib.import_module(info.name)
        elif name.endswith(".*"):  # the package and its modules
            package = importlib.import_module(name[:-2])
            for info in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{name[:-2]}.{info.name}")
        else:
            importlib.import_module(name)
    loaded = forbidden & set(sys.modules)
    if loaded:
        raise SystemExit(f"preloading imported target module(s) {sorted(loaded)}: remove them")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def _digest(files: Sequence[str]) -> dict[str, str]:
    return {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--target", action="append", help="run only these targets (by name)")
    ap.add_argument("--floor", type=float, default=None, help="minimum score in percent")
    ap.add_argument("--jobs", type=int, default=_cpus(), help="mutants tested at once")
    ap.add_argument("--keep", type=Path, help="keep the cosmic-ray sessions in this folder")
    ap.add_argument("--list", action="store_true", help="count the mutants; test none")
    args = ap.parse_args(argv)
    spec = tomllib.loads((HERE / "targets.toml").read_text(encoding="utf-8"))
    floor = spec["floor"] if args.floor is None else args.floor
    targets = [t for t in spec["target"] if not args.target or t["name"] in args.target]
    unknown = set(args.target or ()) - {t["name"] for t in spec["target"]}
    if unknown or not targets:
        raise SystemExit(f"unknown target(s) {sorted(unknown)}")
    files = sorted({m for t in targets for m in t["modules"]})
    if args.list:
        with tempfile.TemporaryDirectory() as tmp:
            for target in targets:
                jobs = mutants(target, spec["exclude-operators"], Path(tmp) / "s.sqlite")
                for m in target["modules"]:
                    n = sum(j.module == m for j in jobs)
                    print(f"{target['name']}: {m}: {n} mutants")
                print(f"{target['name']}: {len(jobs)} mutants", flush=True)
                (Path(tmp) / "s.sqlite").unlink()
        return 0
    before = _digest(files)
    os.chdir(ROOT)
    # Unmutated modules are read from (and written to) their bytecode caches, whatever
    # PYTHONDONTWRITEBYTECODE says: a mutant is compiled from memory, never cached.
    sys.dont_write_bytecode = False
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # GNU OpenMP (Numba's default layer where present) aborts a forked child.
    os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
    sys.path.insert(0, str(ROOT / "tests"))
    _preload(spec.get("preload", []), {module_name(f) for f in files})
    outcomes: list[Outcome] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(max(1, args.jobs), Path(tmp), spec.get("server-preload", []))
        try:
            for target in targets:
                folder = args.keep or Path(tmp)
                folder.mkdir(parents=True, exist_ok=True)
                session = folder / f"{target['name'].replace(' ', '-')}.sqlite"
                session.unlink(missing_ok=True)
                outcomes.append(run_target(runner, target, spec, session))
                _print_outcome(outcomes[-1])
        finally:
            runner.kill_all()
    if _digest(files) != before:  # never expected: mutants live in memory only
        raise SystemExit("a target file changed during the run: check `git status`")
    seen = {_key(j) for o in outcomes for j in o.equivalent}
    stale = [
        e
        for e in spec.get("equivalent", [])
        if e["module"] in files and (e["module"], e["operator"], e["mutant"]) not in seen
    ]
    for e in stale:
        print(f"   listed as equivalent but did not survive (or is gone): {e['module']} "
              f"{e['operator']}: {e['mutant']}")  # fmt: skip
    caught = sum(o.caught for o in outcomes)
    survived = sum(len(o.survivors) for o in outcomes)
    equivalent = sum(len(o.equivalent) for o in outcomes)
    total = 100.0 * caught / max(caught + survived, 1)
    print(f"== mutation score: {total:.1f}% ({caught} of {caught + survived} caught; "
          f"{equivalent} listed as equivalent; {args.jobs} at once, "
          f"{time.monotonic() - started:.0f} s); floor {floor}%")  # fmt: skip
    return 0 if total >= floor and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
