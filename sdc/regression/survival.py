"""Kaplan-Meier survival tables: the estimate, its coarsening for release, rules and verdict.

A Kaplan-Meier curve drops at every event time, so an unpooled curve publishes
the time of each event and, where one person had the event, that person's
follow-up. What leaves is a coarsened curve, on a *time grid* of width ``u``:
the researcher's ``time_unit``, or by default a round width (1, 2, 2.5 or 5 times a
power of ten) of about a twentieth of the longest follow-up (:func:`default_grid`):

- the grid intervals ``[k u, (k + 1) u)`` of each group are pooled into released
  *steps*, in time order (:func:`pool_steps`): a step after the first may start only
  at an interval that holds at least ``t`` events itself (``t`` is the rule set's
  ``[threshold] t``), and the first step needs ``t`` events too. So every boundary
  ``k u`` is the event time, on the grid, of at least ``t`` people: none is anyone's
  own day of death, whatever the grid (a finer ``time_unit`` gives fewer boundaries,
  never weaker ones);
- each released step is an interval ``[start, end)``; the first starts at 0 and the
  last is open (``end`` is missing). If the last step would start in the grid interval
  of the group's largest follow-up time (all its events there, nobody followed much
  longer), it joins the step before it;
- a step reports the records at risk at its start, the events and censored records
  in its interval, and the survival at its end: the unpooled estimate just before the
  next boundary, which is exact (the estimate only changes at event times);
- a group with fewer than ``t`` events (none included) cannot be pooled into even
  one step: its curve is left out and the output fails (rule ``threshold``);
- when the rule set applies ``zeros`` to count tables, a released curve that
  falls to 0 (the records followed longest had the event, none is event-free at the
  end) is a zero: "review" or "fail" as ``[zeros] outcome`` says.

Standard errors and confidence intervals are not released: Greenwood's variance
sums over every unpooled event time, so the change between two released values
would tell how the events are spread inside a step. They are in :attr:`raw`, the
unpooled estimate of the follow-up times as they are. Censored counts are not
thresholded: each is the difference of released counts (at risk at this start,
minus events, minus at risk at the next start), so shows nothing more.

Durations are read as right-censored follow-up times from a common origin 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from sdc._text import printable
from sdc._validation import input_error
from sdc.canonical import frame_csv
from sdc.exceptions import SdcInputError
from sdc.outputs import FINDING_COLUMNS, report_entry, round_step, summary_lines
from sdc.plots import Plottable
from sdc.rules import RULES, RuleResult
from sdc.ruleset import RuleSet
from sdc.verdict import Status

FUNC = "Session.survival_table"

#: Normal quantile of the two-sided 95% confidence intervals of :attr:`SurvivalOutput.raw`.
Z95 = NormalDist().inv_cdf(0.975)

#: Columns of the unpooled estimate (:attr:`SurvivalOutput.raw`).
RAW_COLUMNS = (
    "group", "time", "at_risk", "events", "censored", "survival", "std_err", "lower", "upper",
)  # fmt: skip

#: Columns of the released, pooled table (:attr:`SurvivalOutput.table`).
TABLE_COLUMNS = ("group", "step", "start", "end", "at_risk", "events", "censored", "survival")
#: Its columns of counts (``group`` is text; the others are numbers).
INTEGER_COLUMNS = ("step", "at_risk", "events", "censored")


#: Intervals of the default time grid over the longest follow-up.
GRID_INTERVALS = 20
#: Most grid intervals a ``time_unit`` may give (each is counted).
MAX_INTERVALS = 10_000_000


def default_grid(max_duration: float) -> float:
    """The default grid width: a round width of about ``max_duration / 20``.

    >>> default_grid(1022.0), default_grid(7.0), default_grid(0.0)
    (100.0, 0.5, 1.0)
    """
    return round_step(max_duration / GRID_INTERVALS)


def pool_steps(events: np.ndarray | list[int], t: int) -> list[tuple[int, int]] | None:
    """Pool consecutive grid intervals into steps that start only where ``t`` events are.

    ``events`` are the events in each grid interval, in time order (zeros included). A
    step after the first starts at an interval holding at least ``t`` events, as soon as
    the step before holds ``t``; the first step holds at least ``t`` too. Returns each step
    as a half-open range ``(first, stop)`` of interval positions, or ``None`` when all the
    events together are fewer than ``t`` (nothing can be released).

    Examples
    --------
    >>> pool_steps([1, 1, 3, 2, 5, 0, 1], 3)  # a step starts at 3 events, not at 2
    [(0, 4), (4, 7)]
    >>> pool_steps([4, 3, 5], 3)  # every interval has enough: no pooling
    [(0, 1), (1, 2), (2, 3)]
    >>> pool_steps([2, 9, 1], 3)  # the first step needs 3 events before 9 may start one
    [(0, 3)]
    >>> pool_steps([1, 1], 3) is None
    True
    """
    counts = [int(d) for d in events]
    if sum(counts) < t:
        return None
    starts, held = [0], 0
    for k, d in enumerate(counts):
        if k > 0 and d >= t and held >= t:
            starts.append(k)
            held = 0
        held += d
    return list(zip(starts, [*starts[1:], len(counts)], strict=True))


@dataclass(frozen=True)
class GroupCurve:
    """The unpooled Kaplan-Meier estimate of one group: one entry per distinct event time.

    Not releasable: it shows every event time and the group's largest follow-up.
    ``censored[i]`` counts records censored in ``[times[i], times[i + 1])`` (the
    last: from ``times[-1]`` on); ``censored_before`` those censored before the
    first event time. ``std_err`` is Greenwood's; ``lower`` and ``upper`` bound
    the 95% log-log interval. Both are missing where the survival is 0.
    """

    value: Any
    term: str
    records: int
    max_duration: float
    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    censored_before: int
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def total_events(self) -> int:
        return int(self.events.sum())


def kaplan_meier(duration: np.ndarray, event: np.ndarray, value: Any, term: str) -> GroupCurve:
    """The Kaplan-Meier estimate of one group (valid, non-empty inputs)."""
    order = np.argsort(duration, kind="stable")
    time, died = duration[order], event[order].astype(np.int64)
    n = int(time.size)
    distinct, first, per_time = np.unique(time, return_index=True, return_counts=True)
    d_all = np.add.reduceat(died, first)
    c_all = per_time - d_all
    at_risk_all = n - np.concatenate(([0], np.cumsum(per_time)[:-1]))
    has_event = d_all > 0
    # Censored records at each distinct time go to the latest event time at or before it.
    slot = np.cumsum(has_event) - 1
    after = slot >= 0
    n_times = int(has_event.sum())
    censored = np.bincount(slot[after], weights=c_all[after], minlength=n_times)
    at_risk = at_risk_all[has_event].astype(np.int64)
    d = d_all[has_event].astype(np.int64)
    survival = np.cumprod(1.0 - d / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(d / (at_risk * (at_risk - d)).astype(np.float64))
        std_err = survival * np.sqrt(greenwood)
        # Log-log interval: log(-log S) +- z * sqrt(greenwood) / |log S|.
        spread = np.exp(Z95 * np.sqrt(greenwood) / np.abs(np.log(survival)))
        lower, upper = survival**spread, survival ** (1.0 / spread)
    defined = (survival > 0) & np.isfinite(greenwood)
    nan = np.full(n_times, np.nan)
    return GroupCurve(
        value=value, term=term, records=n, max_duration=float(time[-1]),
        times=distinct[has_event].astype(np.float64), at_risk=at_risk, events=d,
        censored=censored.astype(np.int64), censored_before=int(c_all[~after].sum()),
        survival=survival, std_err=np.where(defined, std_err, nan),
        lower=np.where(defined, lower, nan), upper=np.where(defined, upper, nan),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class ReleasedCurve:
    """The pooled curve of one group: what may leave (see the module docstring).

    ``start_events`` holds, for every step after the first, the events in the grid
    interval its start opens (each at least the threshold); ``intervals`` the grid
    intervals with an event, before pooling.
    """

    curve: GroupCurve
    starts: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    survival: np.ndarray
    start_events: tuple[int, ...]
    intervals: int
    max_merged: bool  # the last step started in the largest follow-up's interval: merged

    @cached_property
    def frame(self) -> pd.DataFrame:
        k = self.starts.size
        return pd.DataFrame({
            "group": [self.curve.value] * k,
            "step": np.arange(1, k + 1),
            "start": self.starts,
            "end": np.concatenate((self.starts[1:], [np.nan])),
            "at_risk": self.at_risk,
            "events": self.events,
            "censored": self.censored,
            "survival": self.survival,
        })  # fmt: skip


def grid_cells(duration: np.ndarray, grid: float) -> np.ndarray:
    """The grid interval of each duration (a duration on a grid point opens its interval)."""
    return np.floor(duration / grid + 1e-9).astype(np.int64)


def on_grid(k: np.ndarray, grid: float) -> np.ndarray:
    """Grid points ``k * grid``, without the binary noise of decimal widths (0.1 * 3).

    >>> on_grid(np.array([0, 3, 7]), 0.1).tolist()
    [0.0, 0.3, 0.7]
    """
    return np.array([float(f"{x:.12g}") for x in (np.asarray(k) * grid).tolist()])


def release(
    curve: GroupCurve, duration: np.ndarray, event: np.ndarray, t: int, grid: float
) -> ReleasedCurve | None:
    """The pooled curve of one group (its ``duration`` and ``event`` rows), or ``None``
    when it has fewer than ``t`` events."""
    cell = grid_cells(duration, grid)
    last = int(cell.max())
    per_cell = np.bincount(cell[event], minlength=last + 1)
    steps = pool_steps(per_cell, t)
    if steps is None:
        return None
    merged = len(steps) > 1 and steps[-1][0] == last
    if merged:
        steps[-2:] = [(steps[-2][0], steps[-1][1])]
    firsts = np.array([a for a, _ in steps], dtype=np.int64)
    stops = np.array([b for _, b in steps], dtype=np.int64)
    step_of = np.searchsorted(firsts, cell, side="right") - 1
    events = np.bincount(step_of[event], minlength=firsts.size)
    censored = np.bincount(step_of[~event], minlength=firsts.size)
    at_risk = np.array([int((cell >= a).sum()) for a in firsts.tolist()], dtype=np.int64)
    # the unpooled estimate just before the next boundary (after every event, for the last)
    before = np.searchsorted(curve.times, np.where(stops <= last, stops * grid, np.inf)) - 1
    survival = np.where(before >= 0, curve.survival[np.maximum(before, 0)], 1.0)
    return ReleasedCurve(
        curve=curve, starts=on_grid(firsts, grid), at_risk=at_risk, events=events.astype(np.int64),
        censored=censored.astype(np.int64), survival=survival,
        start_events=tuple(int(per_cell[a]) for a in firsts[1:].tolist()),
        intervals=int((per_cell > 0).sum()), max_merged=merged,
    )  # fmt: skip


@dataclass(frozen=True)
class GroupTotals:
    """What a gate needs to know of one group besides its released steps.

    Stays inside the TRE with the evidence: ``max_duration`` is the raw largest
    follow-up time, kept only to check that no released boundary shows it;
    ``start_events`` the events in the grid interval each released step after the
    first opens (empty when the group is not released).
    """

    value: str
    term: str
    records: int
    events: int
    max_duration: float
    start_events: tuple[int, ...] = ()

    @classmethod
    def of(cls, c: GroupCurve, r: ReleasedCurve | None) -> GroupTotals:
        starts = () if r is None else r.start_events
        return cls(str(c.value), c.term, c.records, c.total_events, c.max_duration, starts)


@dataclass(frozen=True)
class SurvivalEvidence:
    """A survival output's evidence: its groups' totals and the time grid of its steps."""

    groups: tuple[GroupTotals, ...]
    grid: float

    def to_dict(self) -> dict[str, Any]:
        groups = [asdict(g) | {"start_events": list(g.start_events)} for g in self.groups]
        return {"groups": groups, "grid": self.grid}


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def evidence_from_dict(d: Any) -> SurvivalEvidence:
    """Validated survival evidence read back from a file; ``SdcInputError`` names what is wrong."""
    if not isinstance(d, dict) or set(d) != {"groups", "grid"}:
        raise SdcInputError('survival evidence must be {"groups": [...], "grid": width} with '
                            "one entry per group.")  # fmt: skip
    groups, grid = d["groups"], d["grid"]
    if isinstance(grid, bool) or not isinstance(grid, int | float) or not (
        np.isfinite(grid) and grid > 0
    ):  # fmt: skip
        raise SdcInputError(f"survival evidence: grid must be a positive width; got {grid!r}.")
    keys = {"value", "term", "records", "events", "max_duration", "start_events"}
    if not isinstance(groups, list) or not groups:
        raise SdcInputError("survival evidence: groups must be a non-empty list.")
    out = []
    for g in groups:
        if not isinstance(g, dict) or set(g) != keys:
            raise SdcInputError(f"survival evidence: each group must have exactly the keys "
                                f"{sorted(keys)}; got {g!r}.")  # fmt: skip
        md, starts = g["max_duration"], g["start_events"]
        if not (isinstance(g["value"], str) and isinstance(g["term"], str)
                and _count(g["records"]) and _count(g["events"])
                and isinstance(md, int | float) and not isinstance(md, bool)
                and np.isfinite(md) and g["events"] <= g["records"]
                and isinstance(starts, list) and all(_count(x) for x in starts)
                and sum(starts) <= g["events"]):  # fmt: skip
            raise SdcInputError(
                f"survival evidence: group {printable(json.dumps(g)[:200])} is not valid."
            )
        out.append(GroupTotals(g["value"], g["term"], g["records"], g["events"], float(md),
                               tuple(starts)))  # fmt: skip
    if len({g.value for g in out}) != len(out):
        raise SdcInputError("survival evidence names a group twice.")
    return SurvivalEvidence(tuple(out), float(grid))


def grid_problems(table: pd.DataFrame, evidence: SurvivalEvidence) -> list[str]:
    """Why released steps are off the evidence's grid, or open where they must not."""
    by_value = {g.value: g for g in evidence.groups}
    values = table["group"].astype(str)
    problems = []
    u = evidence.grid
    for v in dict.fromkeys(values):
        g = by_value.get(v)
        if g is None:
            continue
        starts = table.loc[values == v, "start"].to_numpy(dtype=np.float64)
        k = starts / u
        if (np.abs(k - np.round(k)) > 1e-9 * np.maximum(1.0, np.abs(k))).any():
            problems.append(f"group {v!r}: a step starts off the grid of width {u:g}")
        if len(g.start_events) != starts.size - 1:
            problems.append(f"group {v!r}: the evidence has {len(g.start_events)} step "
                            f"start(s) after the first; the table {starts.size - 1}")  # fmt: skip
        last = float(grid_cells(np.array([g.max_duration]), u)[0]) * u
        if starts.size > 1 and starts[-1] >= last - 1e-9 * max(1.0, abs(last)):
            problems.append(f"group {v!r}: the last step starts in the grid interval of the "
                            "largest follow-up time, which must not be released")  # fmt: skip
    return problems


@dataclass
class _Counts:
    """What the threshold and zeros rules read: one entry per group or step (events)."""

    records: np.ndarray
    contributors: np.ndarray
    has_contributor: bool = False
    place: str = "the step"

    @property
    def units(self) -> list[str]:
        return ["event(s)"] * int(self.records.size)


class SurvivalOutput(Plottable):
    """A Kaplan-Meier table checked for release: pooled table, verdict and findings.

    ``table`` is what may leave (groups that cannot be released are left out);
    ``raw`` is the unpooled estimate, for the researcher only.
    """

    kind = "survival"
    statistic = "kaplan-meier"
    value_name = "survival"
    #: What made it, as recorded in the manifest (``sdc.definition``); set by the session.
    definition: dict[str, Any] | None = None

    def __init__(
        self, name: str, curves: list[GroupCurve], releases: list[ReleasedCurve | None],
        by: str | None, ruleset: RuleSet, grid: float,
    ) -> None:  # fmt: skip
        self.name = name
        self.curves = tuple(curves)
        self.released: tuple[ReleasedCurve | None, ...] = tuple(releases)
        self.by = by
        self.ruleset = ruleset
        self.grid = grid
        self.problems: tuple[str, ...] = ()
        self.notes: tuple[str, ...] = ()

    @classmethod
    def from_files(
        cls, name: str, evidence: SurvivalEvidence, table: pd.DataFrame, ruleset: RuleSet,
        problems: tuple[str, ...] = (), notes: tuple[str, ...] = (),
    ) -> SurvivalOutput:  # fmt: skip
        """The output as a gate sees it: the released table and the groups' totals.

        ``problems`` (the files disagree with each other), and steps off the evidence's
        grid, make it ``fail``; ``notes`` (what a person must look at) at least ``review``.
        """
        out = cls(name, [], [], None, ruleset, evidence.grid)
        out.__dict__.update(totals=evidence.groups, table=table)
        grid = grid_problems(table, evidence) if not problems else []
        out.problems, out.notes = (*problems, *grid), notes
        return out

    @cached_property
    def totals(self) -> tuple[GroupTotals, ...]:
        """Records, events, largest follow-up and step-start events of every group."""
        return tuple(GroupTotals.of(c, r) for c, r in zip(self.curves, self.released, strict=True))

    @property
    def threshold(self) -> int:
        return int(self.ruleset.params["threshold"].t)

    @cached_property
    def raw(self) -> pd.DataFrame:
        """The unpooled Kaplan-Meier estimate, one row per group and distinct event time.

        NOT RELEASABLE: it shows every event time, single events and the group's
        largest event time. ``censored`` counts the records censored from this
        event time up to the next (censored before a group's first event time are
        in no row); ``std_err`` is Greenwood's, ``lower``/``upper`` the 95% log-log
        interval (missing where the survival is 0).
        """
        return _stack([_raw_frame(c) for c in self.curves], RAW_COLUMNS)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The released curve: one row per pooled step of each releasable group.

        ``start``/``end`` bound the step's interval ``[start, end)`` (the last is
        open: ``end`` missing); ``at_risk`` counts the records at risk at ``start``,
        ``events`` and ``censored`` those in the interval; ``survival`` is the
        Kaplan-Meier survival at the end of the interval.
        """
        return _stack([r.frame for r in self.released if r is not None], TABLE_COLUMNS)

    def _released_groups(self) -> list[tuple[GroupTotals, pd.DataFrame]]:
        """Each group with released steps, and those steps (in the table's order)."""
        by_value = {g.value: g for g in self.totals}
        table = self.table
        values = table["group"].astype(str)
        return [(by_value[v], table[values == v]) for v in dict.fromkeys(values) if v in by_value]

    @cached_property
    def results(self) -> tuple[tuple[str, RuleResult], ...]:
        """Rule results, each with what it was applied to ("groups", "steps" or "ends")."""
        params = self.ruleset.params
        events = np.array([g.events for g in self.totals], dtype=np.int64)
        out = [("groups", RULES["threshold"](_Counts(events, events), params["threshold"]))]
        steps = self.table["events"].to_numpy(dtype=np.int64)
        out.append(("steps", RULES["threshold"](_Counts(steps, steps), params["threshold"])))
        starts = np.array([n for g, _ in self._released_groups() for n in g.start_events],
                          dtype=np.int64)  # fmt: skip
        out.append(("starts", RULES["threshold"](_Counts(starts, starts), params["threshold"])))
        if "zeros" in self.ruleset.rules_for("survival"):
            # 1 when someone is still event-free after the last step's events, 0 when not.
            ends = [float(f["survival"].iloc[-1]) > 0 for _, f in self._released_groups()]
            left = np.array(ends, dtype=np.int64)
            out.append(("ends", RULES["zeros"](_Counts(left, left), params["zeros"])))
        return tuple(out)

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per failing or reviewed check: where (a group or a step), rule, why."""
        t = self.threshold
        kept = self._released_groups()
        step_terms = [f"{g.term}, step {k}" for g, f in kept for k in range(1, len(f) + 1)]
        end_terms = [f"{g.term}, step {len(f)}" for g, f in kept]
        start_terms = [f"{g.term}, step {k}" for g, f in kept for k in range(2, len(f) + 1)]
        rows = []
        for applied_to, r in self.results:
            fail = r.fail.copy()
            if applied_to == "groups":  # no event at all: nothing to release either
                fail |= r.measured < t
            for i in np.flatnonzero(fail | r.review):
                n = int(r.measured[i])
                if applied_to == "groups":
                    term = self.totals[i].term
                    message = (
                        f"{n} event(s) in the group; every released Kaplan-Meier step needs at "
                        f"least {t} (threshold rule), so this group's curve is not released; "
                        "merge the group with another or leave it out"
                    )
                elif applied_to == "steps":
                    term, message = step_terms[i], r.message(int(i))
                elif applied_to == "starts":
                    term = start_terms[i]
                    message = (
                        f"{n} event(s) in the grid interval this step starts: a released "
                        f"boundary must be the event time (on a grid of {self.grid:g}) of at "
                        f"least {t} people, not fewer (threshold rule)"
                    )
                else:
                    term = end_terms[i]
                    message = (
                        "the released curve falls to 0: every record still followed at the "
                        "last event time had the event then, so none is event-free at the end "
                        "of follow-up (zeros rule); "
                        + (
                            "the rule set treats such zeros as disclosive"
                            if fail[i]
                            else "a person must judge whether this may be shown"
                        )
                    )
                rows.append({
                    "term": term, "rule": r.rule, "outcome": "fail" if fail[i] else "review",
                    "measured": float(r.measured[i]), "limit": float(r.limit[i]),
                    "message": message,
                })  # fmt: skip
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    @property
    def status(self) -> Status:
        if self.problems:
            return Status.FAIL
        outcomes = set(self.findings["outcome"])
        if "fail" in outcomes:
            return Status.FAIL
        return Status.REVIEW if "review" in outcomes or self.notes else Status.PASS

    @cached_property
    def reasons(self) -> tuple[str, ...]:
        """How each released curve was coarsened, in words (at the gate: what disagrees)."""
        t = self.threshold
        lines = [*self.problems, *self.notes]
        for r in self.released:
            if r is None:
                continue
            c, k = r.curve, r.starts.size
            line = (
                f"{c.term}: curve coarsened, its {c.times.size} unpooled steps (event times) "
                f"in {r.intervals} grid interval(s) of {self.grid:g} pooled into {k} released "
                f"step(s) of at least {t} events, each starting where at least {t} events are"
            )
            if r.max_merged:
                line += (
                    "; the last step started in the grid interval of the largest follow-up "
                    "time and was merged into the step before it"
                )
            lines.append(line)
        if any(r is not None for r in self.released):
            lines.append(
                f"released intervals start at 0 and at multiples of {self.grid:g} (the time "
                "grid); the last is open, so the largest follow-up time is not shown; "
                "standard errors and confidence intervals are not released"
            )
        return tuple(lines)

    def released_csv(self) -> str:
        """What ``finalise`` writes: :attr:`table` in its one serialisation
        (:mod:`sdc.canonical`)."""
        return frame_csv(self.table, text=("group",), integer=INTEGER_COLUMNS)

    def evidence_dict(self) -> dict[str, Any]:
        """What the gate needs besides the table (stays inside: it holds the largest
        follow-up time of each group)."""
        return SurvivalEvidence(self.totals, self.grid).to_dict()

    def to_report(self) -> dict[str, Any]:
        """This output's entry in the JSON report (no row-level data, no event times)."""
        return report_entry(self)

    def summary(self) -> str:
        """A short text account of the verdict with its reasons and findings."""
        shown = len(self._released_groups())
        head = (
            f"{self.name}: survival (Kaplan-Meier, {len(self.totals)} group(s), "
            f"{shown} released, threshold {self.threshold} events per step)"
        )
        return summary_lines(self, head)

    def __repr__(self) -> str:
        return f"<SurvivalOutput {self.name!r} kaplan-meier status={self.status.value}>"


def survival_table(
    data: pd.DataFrame,
    duration: str,
    event: str,
    by: str | None,
    ruleset: RuleSet,
    name: str,
    time_unit: float | None = None,
    contributor: str | None = None,
) -> SurvivalOutput:
    """Kaplan-Meier curves of ``duration`` (follow-up from 0) and ``event`` (1: the event
    happened, 0: censored), one per value of ``by`` (or one for all records), checked
    and coarsened for release as the module docstring says.

    ``time_unit`` (e.g. 30 for days read as months) is the time grid; by default a round
    width of about a twentieth of the longest follow-up (:func:`default_grid`). Every
    released boundary is a grid point where at least ``t`` events happen (in the grid
    interval it opens); a finer grid can only give fewer boundaries.

    Rows with a missing duration, event or group are an error, never dropped.

    ``contributor``: a column naming who each row is (a patient). A curve follows each
    person once, so rows of one person count once: several rows of one person must be
    identical in duration, event and group (repeats of one follow-up, as a join with
    episodes leaves them) and are taken once; a person with differing rows is an
    error (reduce the data to one follow-up per person first, e.g. the time to the
    first event). Records at risk, events and censored are then people.

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.ruleset import RuleSet
    >>> df = pd.DataFrame({"days": [1, 2, 3, 4, 4, 4, 5, 6, 9], "died": [1] * 8 + [0]})
    >>> rs = RuleSet.from_toml('extends = "default"\\n[threshold]\\nt = 3\\n')
    >>> out = survival_table(df, "days", "died", None, rs, "km")
    >>> out.grid, out.table[["start", "end", "at_risk", "events", "censored"]]
    (0.5,    start  end  at_risk  events  censored
    0    0.0  4.0        9       3         0
    1    4.0  NaN        6       5         1)
    >>> out.status.value
    'pass'
    >>> survival_table(df, "days", "died", None, rs, "km", time_unit=2).table.start.tolist()
    [0.0, 4.0]
    """
    ruleset = RuleSet.load(ruleset)
    if not isinstance(name, str) or not name:
        raise input_error("name", FUNC, "a non-empty string", name)
    if not isinstance(data, pd.DataFrame):
        raise input_error("data", FUNC, "a pandas DataFrame", type(data).__name__)
    for arg, col in (("duration", duration), ("event", event)):
        if not isinstance(col, str):
            raise input_error(arg, FUNC, "a column name", col)
    if by is not None and not isinstance(by, str):
        raise input_error("by", FUNC, "a column name or None", by)
    named = {"duration": duration, "event": event} | ({} if by is None else {"by": by})
    for arg, col in named.items():
        if col not in data.columns:
            raise input_error(
                arg, FUNC, "a column of the data", col,
                f"Available columns: {', '.join(map(str, data.columns[:20]))}.",
            )  # fmt: skip
    if len(set(named.values())) < len(named):
        raise input_error("by", FUNC, "a column other than `duration` and `event`", named)
    if len(data) == 0:
        raise input_error("data", FUNC, "a DataFrame with at least one row", "0 rows")
    for arg, col in named.items():
        _no_missing(data[col], arg)
    if contributor is not None:
        data = one_row_per_person(data, contributor, list(named.values()))
    durations = _durations(data[duration])
    if time_unit is not None and (
        isinstance(time_unit, bool)
        or not isinstance(time_unit, int | float)
        or not (np.isfinite(time_unit) and time_unit > 0)
    ):
        raise input_error("time_unit", FUNC, "a positive number or None", time_unit)
    grid = float(time_unit) if time_unit is not None else default_grid(float(durations.max()))
    if float(durations.max()) / grid > MAX_INTERVALS:
        raise input_error(
            "time_unit", FUNC, f"a width giving at most {MAX_INTERVALS:,} grid intervals up to "
            "the longest follow-up", time_unit,
        )  # fmt: skip
    events = _events(data[event])
    t = int(ruleset.params["threshold"].t)
    if by is None:
        parts = [("all", "all", np.ones(durations.size, dtype=bool))]
    else:
        try:
            codes, values = pd.factorize(data[by], sort=True)
        except TypeError:  # values of mixed types: keep their order of appearance
            codes, values = pd.factorize(data[by], sort=False)
        parts = [(v, f"{by}={v}", codes == k) for k, v in enumerate(values.tolist())]
    curves, releases = [], []
    for value, term, rows in parts:
        curve = kaplan_meier(durations[rows], events[rows], value, term)
        curves.append(curve)
        releases.append(release(curve, durations[rows], events[rows], t, grid))
    return SurvivalOutput(name, curves, releases, by, ruleset, grid)


def one_row_per_person(data: pd.DataFrame, contributor: str, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``data`` with one row per contributor; differing rows of one are an error.

    >>> df = pd.DataFrame({"pid": [1, 1, 2], "days": [5, 5, 9], "died": [1, 1, 0]})
    >>> one_row_per_person(df, "pid", ["days", "died"]).to_dict("list")
    {'days': [5, 9], 'died': [1, 0]}
    """
    if not isinstance(contributor, str) or contributor not in data.columns:
        raise input_error("contributor", FUNC, "a column of the data or None", contributor)
    if contributor in columns:
        raise input_error("contributor", FUNC, "a column other than duration, event and by",
                          contributor)  # fmt: skip
    _no_missing(data[contributor], "contributor")
    rows = data[[contributor, *columns]].drop_duplicates()
    clash = rows[contributor].duplicated(keep=False)
    if clash.any():
        n = int(rows.loc[clash, contributor].nunique())
        raise input_error(
            "contributor", FUNC, "one follow-up per contributor (a contributor's rows "
            "identical in duration, event and group)",
            f"{n} contributor(s) in {contributor!r} with differing rows",
            "A Kaplan-Meier curve follows each person once: keep one row per person first, "
            "e.g. the time to the first event (the earliest duration with an event, else the "
            "longest follow-up).",
        )  # fmt: skip
    return rows[columns].reset_index(drop=True)


def _no_missing(series: pd.Series, arg: str) -> None:
    missing = int(series.isna().sum())
    if missing:
        raise input_error(
            arg, FUNC, "a column with no missing values",
            f"{missing} missing value(s) in column {series.name!r}",
            "Drop or fill those rows first; they are never dropped silently.",
        )  # fmt: skip


def _durations(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise input_error(
            "duration", FUNC, "a numeric column of follow-up times",
            f"column {series.name!r} of dtype {series.dtype}",
        )  # fmt: skip
    values = series.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise input_error(
            "duration", FUNC, "finite",
            f"{int(bad.sum())} infinite value(s) in column {series.name!r}",
        )  # fmt: skip
    negative = values < 0
    if negative.any():
        raise input_error(
            "duration", FUNC, ">= 0 (follow-up from time 0)",
            f"{int(negative.sum())} negative value(s) in column {series.name!r}",
        )  # fmt: skip
    return values


def _events(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=bool)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "boolean":
        return series.to_numpy(dtype=bool)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise input_error(
            "event", FUNC, "0/1 or True/False",
            f"column {series.name!r} of dtype {series.dtype}",
        )  # fmt: skip
    values = series.to_numpy(dtype=np.float64)
    bad = (values != 0) & (values != 1)
    if bad.any():
        shown = sorted(set(values[bad].tolist()))[:5]
        raise input_error(
            "event", FUNC, "0/1 or True/False",
            f"{int(bad.sum())} other value(s) in column {series.name!r}, e.g. "
            f"{', '.join(f'{v:g}' for v in shown)}",
            "Recode it, e.g. event = status == 2 for a status coded 1/2.",
        )  # fmt: skip
    return values == 1


def _raw_frame(c: GroupCurve) -> pd.DataFrame:
    return pd.DataFrame({
        "group": [c.value] * c.times.size, "time": c.times, "at_risk": c.at_risk,
        "events": c.events, "censored": c.censored, "survival": c.survival,
        "std_err": c.std_err, "lower": c.lower, "upper": c.upper,
    })  # fmt: skip


def _stack(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(frames, ignore_index=True).loc[:, list(columns)]
