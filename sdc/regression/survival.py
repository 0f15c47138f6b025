"""Kaplan-Meier survival tables: the estimate, its coarsening for release, rules and verdict.

A Kaplan-Meier curve drops at every event time, so an unpooled curve publishes
the time of each event and, where one person had the event, that person's
follow-up. What leaves is a coarsened curve:

- the event times of each group are pooled into released *steps*, in time order:
  a step closes as soon as it holds at least ``t`` events (``t`` is the rule
  set's ``[threshold] t``); a leftover tail with fewer than ``t`` events joins the
  step before it (:func:`pool_steps`);
- each released step is an interval ``[start, end)``: the first starts at 0, the
  others at the first event time they pool, and each ends where the next starts;
  the last is open (``end`` is missing), so the largest follow-up time is never
  shown. If the last step would start at the group's largest follow-up time (all
  its events tied there, nobody followed longer), it joins the step before it;
- a step reports the records at risk at its start, the events and censored
  records in its interval, and the survival at its end. The unpooled estimate is
  constant between the last event time of a step and the start of the next, so
  that survival is exact: it is the unpooled value at the step's last event time;
- a group with fewer than ``t`` events (none included) cannot be pooled into even
  one step: its curve is left out and the output fails (rule ``threshold``);
- when the rule set applies ``zeros`` to count tables, a released curve that
  falls to 0 (the records followed longest had the event, none is event-free at
  the end) is a zero: "review" or "fail" as ``[zeros] outcome`` says.

Standard errors and confidence intervals are not released: Greenwood's variance
sums over every unpooled event time, so the change between two released values
would tell how the events are spread inside a step. They are in :attr:`raw`.
Every released step holds at least ``t`` events, and the records at risk at the
start of a step (which include every later event) are at least ``t`` too. Censored
counts are not thresholded: each is the difference of released counts (at risk at
this start, minus events, minus at risk at the next start), so shows nothing more.

Durations are read as right-censored follow-up times from a common origin 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error
from sdc.canonical import frame_csv
from sdc.outputs import FINDING_COLUMNS, report_entry, summary_lines
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


def pool_steps(events: np.ndarray | list[int], t: int) -> list[tuple[int, int]] | None:
    """Pool consecutive event times into steps of at least ``t`` events each.

    ``events`` are the events at each distinct event time, in time order. A step
    closes as soon as it holds ``t`` events; a leftover tail with fewer joins the
    step before it. Returns each step as a half-open range ``(first, stop)`` of
    positions in ``events``, or ``None`` when all of them together are fewer
    than ``t`` (nothing can be released).

    Examples
    --------
    >>> pool_steps([1, 1, 1, 2, 5], 3)
    [(0, 3), (3, 5)]
    >>> pool_steps([1, 1, 1, 2, 5, 1], 3)  # the tail (1 event) joins the step before
    [(0, 3), (3, 6)]
    >>> pool_steps([4, 3], 3)  # nothing to pool
    [(0, 1), (1, 2)]
    >>> pool_steps([1, 1], 3) is None
    True
    """
    steps: list[tuple[int, int]] = []
    first = total = 0
    counts = [int(d) for d in events]
    for i, d in enumerate(counts):
        total += d
        if total >= t:
            steps.append((first, i + 1))
            first, total = i + 1, 0
    if not steps:
        return None
    if first < len(counts):
        steps[-1] = (steps[-1][0], len(counts))
    return steps


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


@dataclass(frozen=True)
class ReleasedCurve:
    """The pooled curve of one group: what may leave (see the module docstring)."""

    curve: GroupCurve
    steps: tuple[tuple[int, int], ...]
    max_merged: bool  # the last step started at the largest follow-up and was merged

    @cached_property
    def frame(self) -> pd.DataFrame:
        c = self.curve
        firsts = np.array([a for a, _ in self.steps])
        stops = np.array([b for _, b in self.steps])
        starts = np.concatenate(([0.0], c.times[firsts[1:]]))
        at_risk = np.concatenate(([c.records], c.at_risk[firsts[1:]]))
        censored = np.add.reduceat(c.censored, firsts)
        censored[0] += c.censored_before
        return pd.DataFrame({
            "group": [c.value] * len(self.steps),
            "step": np.arange(1, len(self.steps) + 1),
            "start": starts,
            "end": np.concatenate((starts[1:], [np.nan])),
            "at_risk": at_risk.astype(np.int64),
            "events": np.add.reduceat(c.events, firsts),
            "censored": censored,
            "survival": c.survival[stops - 1],
        })  # fmt: skip


def release(curve: GroupCurve, t: int) -> ReleasedCurve | None:
    """The pooled curve of one group, or ``None`` when it has fewer than ``t`` events."""
    steps = pool_steps(curve.events, t)
    if steps is None:
        return None
    merged = len(steps) > 1 and curve.times[steps[-1][0]] >= curve.max_duration
    if merged:
        steps[-2:] = [(steps[-2][0], steps[-1][1])]
    return ReleasedCurve(curve, tuple(steps), merged)


@dataclass(frozen=True)
class GroupTotals:
    """What a gate needs to know of one group besides its released steps.

    Stays inside the TRE with the evidence: ``max_duration`` is the raw largest
    follow-up time, kept only to check that no released boundary shows it.
    """

    value: str
    term: str
    records: int
    events: int
    max_duration: float

    @classmethod
    def of(cls, c: GroupCurve) -> GroupTotals:
        return cls(str(c.value), c.term, c.records, c.total_events, c.max_duration)


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
        self, name: str, curves: list[GroupCurve], by: str | None, ruleset: RuleSet
    ) -> None:
        self.name = name
        self.curves = tuple(curves)
        self.by = by
        self.ruleset = ruleset
        self.problems: tuple[str, ...] = ()
        self.notes: tuple[str, ...] = ()

    @classmethod
    def from_files(
        cls, name: str, totals: list[GroupTotals], table: pd.DataFrame, ruleset: RuleSet,
        problems: tuple[str, ...] = (), notes: tuple[str, ...] = (),
    ) -> SurvivalOutput:  # fmt: skip
        """The output as a gate sees it: the released table and the groups' totals.

        ``problems`` (the files disagree with each other) make it ``fail``; ``notes``
        (what a person must look at) at least ``review``.
        """
        out = cls(name, [], None, ruleset)
        out.__dict__.update(totals=tuple(totals), table=table, released=())
        out.problems, out.notes = problems, notes
        return out

    @cached_property
    def totals(self) -> tuple[GroupTotals, ...]:
        """Records, events and largest follow-up of every group, released or not."""
        return tuple(GroupTotals.of(c) for c in self.curves)

    @property
    def threshold(self) -> int:
        return int(self.ruleset.params["threshold"].t)

    @cached_property
    def released(self) -> tuple[ReleasedCurve | None, ...]:
        """The pooled curve of each group (``None`` where it cannot be released)."""
        return tuple(release(c, self.threshold) for c in self.curves)

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
            c, k = r.curve, len(r.steps)
            pooled = c.times.size - k
            line = (
                f"{c.term}: curve coarsened, its {c.times.size} unpooled steps (event times) "
                f"pooled into {k} released step(s) of at least {t} events each"
                if pooled
                else f"{c.term}: every event time already has at least {t} events; not pooled"
            )
            if r.max_merged:
                line += (
                    "; the last step started at the largest follow-up time and was merged "
                    "into the step before it"
                )
            lines.append(line)
        if any(r is not None for r in self.released):
            lines.append(
                "released intervals start at 0 and at the first event time of each later "
                "step; the last is open, so the largest follow-up time is not shown; "
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
        return {"groups": [asdict(g) for g in self.totals]}

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
) -> SurvivalOutput:
    """Kaplan-Meier curves of ``duration`` (follow-up from 0) and ``event`` (1: the event
    happened, 0: censored), one per value of ``by`` (or one for all records), checked
    and coarsened for release as the module docstring says.

    ``time_unit`` (e.g. 30 for days read as months): follow-up times are first
    rounded down to a multiple of it, as in a life table, so every released
    boundary is a multiple of the unit rather than somebody's event time.

    Rows with a missing duration, event or group are an error, never dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.ruleset import RuleSet
    >>> df = pd.DataFrame({"days": [1, 2, 3, 4, 4, 5, 6], "died": [1, 1, 1, 1, 1, 1, 0]})
    >>> rs = RuleSet.from_toml('extends = "default"\\n[threshold]\\nt = 3\\n')
    >>> out = survival_table(df, "days", "died", None, rs, "km")
    >>> out.table[["start", "end", "at_risk", "events", "censored"]]
       start  end  at_risk  events  censored
    0    0.0  4.0        7       3         0
    1    4.0  NaN        4       3         1
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
    durations = _durations(data[duration])
    if time_unit is not None:
        if (
            isinstance(time_unit, bool)
            or not isinstance(time_unit, int | float)
            or not (np.isfinite(time_unit) and time_unit > 0)
        ):
            raise input_error("time_unit", FUNC, "a positive number or None", time_unit)
        durations = np.floor(durations / time_unit) * time_unit
    events = _events(data[event])
    if by is None:
        return SurvivalOutput(name, [kaplan_meier(durations, events, "all", "all")], by, ruleset)
    try:
        codes, values = pd.factorize(data[by], sort=True)
    except TypeError:  # values of mixed types: keep their order of appearance
        codes, values = pd.factorize(data[by], sort=False)
    curves = [
        kaplan_meier(durations[codes == k], events[codes == k], v, f"{by}={v}")
        for k, v in enumerate(values.tolist())
    ]
    return SurvivalOutput(name, curves, by, ruleset)


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
