"""The researcher's entry point: make checked tables, then write them out for the gate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdc._validation import column_list, input_error, require_columns
from sdc.exceptions import SdcInputError
from sdc.regression.output import RegressionOutput
from sdc.regression.survival import SurvivalOutput
from sdc.rules.statistic import quantile_of
from sdc.ruleset import RuleSet
from sdc.tables.output import TableOutput
from sdc.tables.statistics import AGGFUNC_ALIASES
from sdc.tables.tabulate import tabulate

if TYPE_CHECKING:
    from sdc.models.output import ModelOutput
    from sdc.tables.describe import Description
    from sdc.tables.protected import ProtectedTable


def _statistic(aggfunc: Any, has_values: bool, func: str) -> str:
    if aggfunc is None:
        if has_values:
            raise input_error("aggfunc", func, "given when values are given", None,
                              "pandas.crosstab needs both, e.g. aggfunc='mean'.")  # fmt: skip
        return "count"
    percentile = isinstance(aggfunc, str) and quantile_of(aggfunc) is not None
    if not isinstance(aggfunc, str) or (aggfunc not in AGGFUNC_ALIASES and not percentile):
        raise input_error(
            "aggfunc", func, f"one of {sorted(AGGFUNC_ALIASES)} or a percentile p1 .. p99",
            aggfunc, "Make one table per statistic.",
        )  # fmt: skip
    stat = AGGFUNC_ALIASES.get(aggfunc, aggfunc)
    if stat != "count" and not has_values:
        raise input_error("values", func, f"given for aggfunc={aggfunc!r}", None)
    return stat


def _as_series(obj: Any, default: str, func: str, arg: str) -> pd.Series:
    if isinstance(obj, pd.Series):
        name = str(obj.name) if obj.name is not None else default
        return obj.reset_index(drop=True).rename(name)
    if isinstance(obj, (np.ndarray, list, tuple, pd.Index)):
        return pd.Series(np.asarray(obj), name=default)
    raise input_error(arg, func, "a pandas Series, array or list", type(obj).__name__)


def _series_list(obj: Any, prefix: str, func: str, arg: str) -> list[pd.Series]:
    if obj is None:
        return []
    if isinstance(obj, (list, tuple)) and obj and not np.isscalar(obj[0]):
        return [_as_series(o, f"{prefix}_{i}", func, arg) for i, o in enumerate(obj)]
    return [_as_series(obj, f"{prefix}_0", func, arg)]


class Session:
    """Make checked tables under one rule set, then ``finalise`` them for the output checker.

    ``rules`` is a preset name ("default", "acro", "opensafely", "datashield"), a
    TOML path or a :class:`~sdc.ruleset.RuleSet`. ``suppress`` chooses whether
    outputs are released protected (failing cells masked); ``None`` follows the
    rule set's ``[protection] apply``.

    Examples
    --------
    >>> import pandas as pd, sdc
    >>> df = pd.DataFrame({"region": list("NNNNNNNNNNNNSS"), "cost": range(14)})
    >>> s = sdc.Session(rules="acro")
    >>> t = s.pivot_table(df, index="region", values="cost", aggfunc="mean")
    >>> t.table
            cost
    region
    N        5.5
    S       12.5
    >>> t.status.value
    'fail'
    """

    def __init__(self, rules: str | Path | RuleSet = "default", *, suppress: bool | None = None):
        self.rules = rules
        self.suppress = suppress
        self.ruleset_ = RuleSet.load(rules)
        self.outputs: dict[str, TableOutput | RegressionOutput | SurvivalOutput] = {}

    def _name(self, name: str | None, func: str) -> str:
        if name is None:
            name = f"output_{len(self.outputs)}"
            while name in self.outputs:
                name += "_"
        if not isinstance(name, str) or not name or any(ch in name for ch in '/\\:*?"<>|'):
            raise input_error("name", func, "a non-empty name usable as a file name", name)
        if name in self.outputs:
            raise input_error("name", func, "a name not used yet in this session", name,
                              "Use remove_output first to replace it.")  # fmt: skip
        return name

    def _protect(self) -> bool:
        return self.ruleset_.protection.apply if self.suppress is None else bool(self.suppress)

    def crosstab(
        self,
        index: Any,
        columns: Any = None,
        values: Any = None,
        aggfunc: str | None = None,
        *,
        margins: bool = False,
        contributor: Any = None,
        name: str | None = None,
        hierarchies: dict[str, Any] | None = None,
    ) -> TableOutput:
        """A checked ``pandas.crosstab``: Series (or lists of Series) as rows and columns.

        ``contributor`` (a Series of ids: patient, practice, holding) makes the
        threshold count distinct contributors and dominance use per-contributor totals.
        ``hierarchies`` maps a dimension to its subtotals (see :mod:`sdc.tables.hierarchy`);
        they are published with the margins.
        """
        func = "Session.crosstab"
        rows = _series_list(index, "row", func, "index")
        cols = _series_list(columns, "col", func, "columns")
        if not rows:
            raise input_error("index", func, "at least one Series", index)
        parts = rows + cols
        value_s = _as_series(values, "value", func, "values") if values is not None else None
        contrib_s = (
            _as_series(contributor, "contributor", func, "contributor")
            if contributor is not None
            else None
        )
        extra = [s for s in (value_s, contrib_s) if s is not None]
        lengths = {len(s) for s in parts + extra}
        if len(lengths) != 1:
            raise input_error("index/columns/values", func, "of equal length", sorted(lengths))
        frame = pd.concat(parts, axis=1, keys=[s.name for s in parts])
        statistic = _statistic(aggfunc, value_s is not None, func)
        value_col = contrib_col = None
        if value_s is not None:
            value_col = str(value_s.name) if value_s.name not in frame.columns else "__value"
            frame[value_col] = value_s.to_numpy()
        if contrib_s is not None:
            contrib_col = "__contributor"
            frame[contrib_col] = contrib_s.to_numpy()
        return self._add(
            frame, [str(s.name) for s in rows], [str(s.name) for s in cols], value_col,
            statistic, contrib_col, margins, name, func, hierarchies,
        )  # fmt: skip

    def pivot_table(
        self,
        data: pd.DataFrame,
        values: str | None = None,
        index: str | Sequence[str] | None = None,
        columns: str | Sequence[str] | None = None,
        aggfunc: str = "mean",
        *,
        margins: bool = False,
        contributor: str | None = None,
        name: str | None = None,
        hierarchies: dict[str, Any] | None = None,
    ) -> TableOutput:
        """A checked ``pandas.pivot_table`` over column names of ``data`` (see ``crosstab``)."""
        func = "Session.pivot_table"
        if not isinstance(data, pd.DataFrame):
            raise input_error("data", func, "a pandas DataFrame", type(data).__name__)
        rows = column_list(index, "index", func)
        cols = column_list(columns, "columns", func)
        if not rows and not cols:
            raise input_error("index", func, "at least one column (index or columns)", index)
        require_columns(data, rows + cols, "index/columns", func)
        value_col = None
        if values is not None:
            if not isinstance(values, str):
                raise input_error("values", func, "one column name", values)
            require_columns(data, [values], "values", func)
            value_col = values
        statistic = _statistic(aggfunc, value_col is not None, func)
        if contributor is not None:
            if not isinstance(contributor, str):
                raise input_error("contributor", func, "one column name", contributor)
            require_columns(data, [contributor], "contributor", func)
        needed = list(dict.fromkeys(rows + cols + [c for c in (value_col, contributor) if c]))
        if not rows:
            rows, cols = cols, []
        return self._add(
            data[needed], rows, cols, value_col, statistic, contributor, margins, name, func,
            hierarchies,
        )  # fmt: skip

    def _add(
        self, frame, rows, cols, value_col, statistic, contrib_col, margins, name, func,
        hierarchies=None,
    ):  # fmt: skip
        if not isinstance(margins, bool):
            raise input_error("margins", func, "True or False", margins)
        out = tabulate(
            frame, rows, cols, values=value_col, statistic=statistic, contributor=contrib_col,
            margins=margins, ruleset=self.ruleset_, name=self._name(name, func),
            protect=self._protect(), func=func, hierarchies=hierarchies,
        )  # fmt: skip
        self.outputs[out.name] = out
        return out

    def protect_linked(
        self,
        data: pd.DataFrame,
        tables: Sequence[Any],
        *,
        values: str | None = None,
        aggfunc: str = "count",
        contributor: str | None = None,
        secondary_zeros: bool | None = None,
        singletons: bool | None = None,
        audit_rounds: int | None = None,
        cost: str | None = None,
    ) -> list[ProtectedTable]:
        """Make several tables (with margins) from ``data`` and protect them jointly.

        ``tables``: dicts with ``index``, optional ``columns``, ``hierarchies`` and
        ``name``. No combination of the released tables recovers a primary: they
        are suppressed and audited as one system (see :mod:`sdc.tables.linked`). Each
        table joins the session's outputs as released.
        """
        from sdc.protection.params import with_options
        from sdc.tables.linked import LinkedTable, joint_groups, protect_linked

        specs = [LinkedTable.of(t) for t in tables]
        if not specs:
            raise SdcInputError("protect_linked needs at least one table.")
        params = with_options(
            self.ruleset_.protection, "Session.protect_linked", secondary_zeros=secondary_zeros,
            singletons=singletons, audit_rounds=audit_rounds, cost=cost,
        )  # fmt: skip
        outputs = [
            self.pivot_table(
                data, values=values, index=list(t.index), columns=list(t.columns) or None,
                aggfunc=aggfunc, margins=True, contributor=contributor, name=t.name,
                hierarchies=t.hierarchies,
            )
            for t in specs
        ]  # fmt: skip
        dims = list(dict.fromkeys(d for o in outputs for d in o.model.dims))
        joint = self.pivot_table(
            data, values=values, index=dims, aggfunc=aggfunc, margins=True,
            contributor=contributor, name="__joint",
            hierarchies=joint_groups(outputs, dims) or None,
        )  # fmt: skip
        self.remove_output(joint.name)
        protected = []
        for released, view in protect_linked(outputs, joint, params):
            self.outputs[released.name] = released
            protected.append(view)
        return protected

    def hist(
        self,
        data: pd.DataFrame,
        column: str,
        bins: int | Sequence[float] = 20,
        *,
        rebin: bool = False,
        plot: bool = False,
        name: str | None = None,
    ) -> TableOutput:
        """A checked histogram of ``column``: bin counts as a one-dimensional table.

        ``bins``: a number of bins (round edges covering the data, so its extremes
        are not published) or the edges. ``rebin`` merges small bins with their
        neighbours first (see :mod:`sdc.tables.histogram`). The table's rows are the bins.
        ``plot``: ``finalise`` also writes the bar chart (``.svg()``), drawn from the
        released bins only (see :mod:`sdc.plots`).
        """
        from sdc.tables import histogram

        func = "Session.hist"
        values, edges = histogram.histogram_frame(data, column, bins, func)
        for arg, flag in (("rebin", rebin), ("plot", plot)):
            if not isinstance(flag, bool):
                raise input_error(arg, func, "True or False", flag)
        t = self.ruleset_.params["threshold"].t
        counts = histogram.bin_counts(values, edges)
        merged = histogram.rebin(edges, counts, t)
        if rebin:
            edges = merged
        frame = pd.DataFrame({column: histogram.bin_labels(values, edges)})
        out = self._add(frame, [column], [], None, "histogram", None, False, name, func)
        out.plot = plot
        if not rebin and merged.size < edges.size:
            labels = histogram.bin_labels(merged[:-1], merged).categories
            shown = ", ".join(labels[: merged.size - 1])
            out.advice = (
                f"re-binning offered: rebin=True merges the bins of 1 to {t - 1} records "
                f"with their neighbours, giving {merged.size - 1} bins: {shown}",
            )
        return out

    def describe(
        self,
        data: pd.DataFrame,
        column: str,
        by: str | None = None,
        stats: Sequence[str] = ("count", "mean", "median", "p25", "p75", "min", "max"),
        *,
        contributor: str | None = None,
        name: str | None = None,
    ) -> Description:
        """Statistics of ``column`` per group of ``by``: one checked table each.

        ``stats``: aggfunc names (count, sum, mean, median, std, var, min, max, mode)
        and percentiles ``p1`` .. ``p99``. Each table joins the session as
        ``<name>_<statistic>`` (see :mod:`sdc.tables.describe`). ``contributor``: a
        column naming who each record is; counts, dominance, the all-same rule and the
        contributors around a quantile then count people, not records.
        """
        from sdc.tables.describe import Description, describe_frame

        func = "Session.describe"
        frame, group = describe_frame(data, column, by, func, contributor)
        if isinstance(stats, str) or not stats or not all(isinstance(s, str) for s in stats):
            raise input_error("stats", func, "a non-empty list of statistic names", stats)
        if len(set(stats)) != len(stats):
            raise input_error("stats", func, "a list without repeats", list(stats))
        for stat in stats:
            _statistic(stat, True, func)  # every name is checked before any table is made
        base = self._name(name, func)
        outputs = {
            stat: self.pivot_table(
                frame,
                values=column,
                index=group,
                aggfunc=stat,
                contributor=contributor,
                name=f"{base}_{stat}",
            )  # fmt: skip
            for stat in stats
        }
        return Description(base, column, outputs)

    def survival_table(
        self,
        data: pd.DataFrame,
        duration: str,
        event: str,
        by: str | None = None,
        *,
        time_unit: float | None = None,
        plot: bool = False,
        name: str | None = None,
    ) -> SurvivalOutput:
        """Kaplan-Meier curves coarsened for release (see :mod:`sdc.regression.survival`).

        Every released step holds at least the rule set's threshold t of events and starts
        at a point of a time grid where t events fall in the grid interval it opens, so no
        boundary is anyone's own event time; the largest follow-up time is never shown;
        ``.raw`` is the unpooled estimate. ``time_unit``: the grid's width (by default a
        round width of about a twentieth of the longest follow-up); a finer one gives
        fewer boundaries, never weaker ones.
        ``plot``: ``finalise`` also writes the released curves as an image (``.svg()``).
        """
        from sdc.regression.survival import survival_table

        func = "Session.survival_table"
        if not isinstance(plot, bool):
            raise input_error("plot", func, "True or False", plot)
        out = survival_table(
            data, duration, event, by, self.ruleset_, self._name(name, func), time_unit
        )
        out.plot = plot
        self.outputs[out.name] = out
        return out

    def check_model_result(
        self, result: Any, *, contributor: Any = None, name: str | None = None
    ) -> RegressionOutput:
        """Check a statsmodels result the researcher fitted (see :mod:`sdc.regression.output`).

        ``contributor``: who each row of the model is (patient, practice): one id per row
        the fit used, or a Series indexed like the data it was fitted on. Every group of
        records the coefficients describe then counts distinct contributors, and dominance
        reads per-contributor totals. A result of a class the engine does not know is
        ``review``, with the class named.
        """
        from sdc.regression.rows import contributor_ids

        func = "Session.check_model_result"
        ids = contributor_ids(result, contributor, func)
        out = RegressionOutput(self._name(name, func), result, self.ruleset_, ids)
        self.outputs[out.name] = out
        return out

    def check_model(
        self, estimator: Any, *, train: Any = None, test: Any = None,
        n_records: int | None = None, name: str | None = None,
    ) -> ModelOutput:  # fmt: skip
        """Check a fitted (scikit-learn) model for release (see :mod:`sdc.models.output`).

        Weights-only checks always run; ``train=(X, y)`` with ``test=(X, y)`` (records
        not used in training) adds the membership inference attack and the
        equivalence classes of the predictions. Models are not written by
        ``finalise``: the model file goes to the gate, which runs ``sdc check-model``.
        """
        from sdc.models.check import check_estimator

        return check_estimator(
            estimator, self.ruleset_, name=self._name(name, "Session.check_model"),
            train=train, test=test, n_records=n_records,
        )  # fmt: skip

    def _fit(self, func: str, factory: Any, formula: Any, data: Any, name: str | None,
             fit: dict[str, Any], contributor: str | None = None,
             **kwargs: Any) -> RegressionOutput:  # fmt: skip
        from sdc.regression.rows import contributor_column

        where = f"Session.{func}"
        if not isinstance(formula, str) or "~" not in formula:
            raise input_error("formula", where, "a formula such as 'y ~ x + C(g)'", formula)
        if not isinstance(data, pd.DataFrame):
            raise input_error("data", where, "a pandas DataFrame", type(data).__name__)
        if contributor is not None:
            if not isinstance(contributor, str):
                raise input_error("contributor", where, "one column name", contributor)
            require_columns(data, [contributor], "contributor", where)
        try:
            result = factory(formula, data=data, **kwargs).fit(**fit)
        except Exception as exc:  # a formula naming no column, a singular design, ...
            raise SdcInputError(f"{where} could not fit {formula!r}: {exc}") from None
        ids = None if contributor is None else contributor_column(result, data, contributor, where)
        out = RegressionOutput(self._name(name, where), result, self.ruleset_, ids)
        self.outputs[out.name] = out
        return out

    def ols(self, formula: str, data: pd.DataFrame, *, contributor: str | None = None,
            name: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.ols`` and check it.

        ``contributor``: a column of ``data`` naming who each row is (see
        :meth:`check_model_result`); the other keywords go to statsmodels.
        """
        import statsmodels.formula.api as smf

        return self._fit("ols", smf.ols, formula, data, name, {}, contributor, **kwargs)

    def wls(self, formula: str, data: pd.DataFrame, *, weights: Any,
            contributor: str | None = None, name: str | None = None,
            **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.wls`` with ``weights`` (values, or a column of
        ``data``) and check it; groups are counted by their effective size (Kish)."""
        import statsmodels.formula.api as smf

        if isinstance(weights, str):
            require_columns(data, [weights], "weights", "Session.wls")
            weights = data[weights]
        return self._fit("wls", smf.wls, formula, data, name, {}, contributor, weights=weights,
                         **kwargs)  # fmt: skip

    def logit(self, formula: str, data: pd.DataFrame, *, contributor: str | None = None,
              name: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.logit`` and check it."""
        import statsmodels.formula.api as smf

        return self._fit("logit", smf.logit, formula, data, name, {"disp": 0}, contributor,
                         **kwargs)  # fmt: skip

    def probit(self, formula: str, data: pd.DataFrame, *, contributor: str | None = None,
               name: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.probit`` and check it."""
        import statsmodels.formula.api as smf

        return self._fit("probit", smf.probit, formula, data, name, {"disp": 0}, contributor,
                         **kwargs)  # fmt: skip

    def poisson(self, formula: str, data: pd.DataFrame, *, contributor: str | None = None,
                name: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.poisson`` (``offset=``, ``exposure=`` as in
        statsmodels) and check it."""
        import statsmodels.formula.api as smf

        return self._fit("poisson", smf.poisson, formula, data, name, {"disp": 0}, contributor,
                         **kwargs)  # fmt: skip

    def glm(self, formula: str, data: pd.DataFrame, *, contributor: str | None = None,
            name: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.glm`` (``family=``, ``freq_weights=``,
        ``var_weights=``, ``offset=`` as in statsmodels) and check it."""
        import statsmodels.formula.api as smf

        return self._fit("glm", smf.glm, formula, data, name, {}, contributor, **kwargs)

    def phreg(self, formula: str, data: pd.DataFrame, *, status: Any,
              contributor: str | None = None, name: str | None = None,
              **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit a Cox model, ``statsmodels.formula.api.phreg`` (``status``: 1 for an event,
        values or a column of ``data``), and check it; groups are counted by their events."""
        import statsmodels.formula.api as smf

        return self._fit("phreg", smf.phreg, formula, data, name, {}, contributor,
                         status=status, **kwargs)  # fmt: skip

    def remove_output(self, name: str) -> None:
        """Drop an output from the session so it is not finalised."""
        if name not in self.outputs:
            raise input_error("name", "Session.remove_output", "an output of this session", name)
        del self.outputs[name]

    def finalise(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write every output, the evidence the gate needs, a manifest and the report.

        See :func:`sdc.release.bundle.write_bundle` for the layout.
        """
        from sdc.release.bundle import write_bundle

        return write_bundle(Path(path), list(self.outputs.values()), self.ruleset_, overwrite)
