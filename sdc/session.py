"""The researcher's entry point: make checked tables, then write them out for the gate."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdc._validation import column_list, input_error, require_columns
from sdc.differencing.population import population_entry, select
from sdc.differencing.tracker import Tracker
from sdc.exceptions import SdcInputError
from sdc.regression.definition import regression_definition, survival_definition
from sdc.regression.output import RegressionOutput
from sdc.regression.survival import SurvivalOutput
from sdc.rules.statistic import quantile_of
from sdc.ruleset import RuleSet
from sdc.tables.definition import table_definition_of
from sdc.tables.output import TableOutput
from sdc.tables.pandas_args import aggfunc_names, normalize_kind, refuse_unsupported, shares
from sdc.tables.sources.dispatch import crosstab_frame, source_kind, source_table
from sdc.tables.statistics import AGGFUNC_ALIASES
from sdc.tables.table_set import TableSet
from sdc.tables.tabulate import tabulate

if TYPE_CHECKING:
    from sdc.differencing.result import DifferencingResult
    from sdc.microdata.output import MicrodataOutput
    from sdc.models.output import ModelOutput
    from sdc.release.custom import CustomOutput
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
            aggfunc, "A list of them gives one checked table per statistic.",
        )  # fmt: skip
    stat = AGGFUNC_ALIASES.get(aggfunc, aggfunc)
    if stat != "count" and not has_values:
        raise input_error("values", func, f"given for aggfunc={aggfunc!r}", None)
    return stat


def _as_series(obj: Any, default: str, func: str, arg: str) -> pd.Series:
    if isinstance(obj, str):  # a column name, where pandas.crosstab takes the column itself
        raise input_error(
            arg, func, "a pandas Series, array or list (as in pandas.crosstab)", obj,
            f"Write data[{obj!r}], or Session.pivot_table(data, index=[...], columns=[...], "
            "aggfunc='count') to name columns.",
        )  # fmt: skip
    if isinstance(obj, pd.Series):
        name = str(obj.name) if obj.name is not None else default
        return obj.reset_index(drop=True).rename(name)
    if isinstance(obj, (np.ndarray, list, tuple, pd.Index)):
        return pd.Series(np.asarray(obj), name=default)
    raise input_error(arg, func, "a pandas Series, array or list", type(obj).__name__)


def _plain_list(obj: Any) -> list[Any]:
    if obj is None:
        return []
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


def _series_list(obj: Any, prefix: str, func: str, arg: str) -> list[pd.Series]:
    if obj is None:
        return []
    if isinstance(obj, (list, tuple)) and obj and not np.isscalar(obj[0]):
        return [_as_series(o, f"{prefix}_{i}", func, arg) for i, o in enumerate(obj)]
    return [_as_series(obj, f"{prefix}_0", func, arg)]


def _no_zeros_for_sources(zeros: Any, func: str) -> None:
    if zeros is not None:
        raise input_error(
            "structural_zeros", func, "None for Dask, Spark or file sources", zeros,
            "Declare them on a table made from a pandas DataFrame.",
        )  # fmt: skip


def _options(params: Any) -> dict[str, Any]:
    """The protection options a table was protected with (for its definition)."""
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(params).items() if k != "apply"}


def _objects(obj: Any) -> list[Any]:
    """The Series (or arrays) given as ``index``/``columns`` of ``crosstab``, as a list."""
    if obj is None:
        return []
    if isinstance(obj, (list, tuple)) and obj and not np.isscalar(obj[0]):
        return list(obj)
    return [obj]


def _source(obj: Any) -> str | None:
    """The data column a Series was taken from (its name); None for arrays and unnamed Series."""
    if isinstance(obj, pd.Series) and isinstance(obj.name, str):
        return obj.name
    return None


def _rows_of(value: Any, given: pd.DataFrame, data: pd.DataFrame) -> Any:
    """A per-row keyword (weights, status: one value per row of ``given``) for the rows of
    ``data`` a population kept; anything else as it is."""
    if isinstance(value, str) or not isinstance(value, pd.Series | np.ndarray | list):
        return value
    if len(value) != len(given) or not given.index.is_unique:
        return value
    positions = given.index.get_indexer(data.index)
    return value.iloc[positions] if isinstance(value, pd.Series) else np.asarray(value)[positions]


def _rows_used(result: Any) -> pd.Index | None:
    """The labels of the rows a fitted model used (None when it does not keep them)."""
    labels = getattr(getattr(getattr(result, "model", None), "data", None), "row_labels", None)
    return labels if isinstance(labels, pd.Index) else None


class _SessionDefault:
    """The ``contributor`` of a method when none is given: the session's own."""

    def __repr__(self) -> str:
        return "<the session's contributor>"


#: What a method's ``contributor`` is when not given: ``Session(contributor=...)``.
SESSION_DEFAULT: Any = _SessionDefault()


class Session:
    """Make checked tables under one rule set, then ``finalise`` them for the output checker.

    ``rules`` is a preset name ("default", "acro", "opensafely", "datashield"), a
    TOML path or a :class:`~sdc.ruleset.RuleSet`. ``suppress`` chooses whether
    outputs are released protected (failing cells masked); ``None`` follows the
    rule set's ``[protection] apply``. It is read when an output is made: changing
    it later affects later outputs only (``t.protect()`` protects one already made).
    ``contributor``: the column naming who each record is (patient, practice), used
    by every method that takes ``contributor=`` when it is not given there
    (``contributor=None`` there: each row is a different person).

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

    def __init__(
        self, rules: str | Path | RuleSet = "default", *, suppress: bool | None = None,
        contributor: str | None = None,
    ) -> None:  # fmt: skip
        if contributor is not None and (not isinstance(contributor, str) or not contributor):
            raise input_error("contributor", "Session", "one column name or None", contributor)
        self.rules = rules
        self.suppress = suppress
        self.contributor = contributor
        self.ruleset_ = RuleSet.load(rules)
        self.outputs: dict[
            str, TableOutput | RegressionOutput | SurvivalOutput | MicrodataOutput | CustomOutput
        ] = {}
        #: Each output's records, for differencing (row-level: never written out).
        self._records = Tracker()
        #: The researcher's case for releasing an output, by name (``add_exception``).
        self.exceptions: dict[str, str] = {}
        #: Comments for the checker: (output name or None, text) (``add_comment``).
        self.comments: list[tuple[str | None, str]] = []

    def __repr__(self) -> str:
        """The rule set and every output with its verdict, one a line.

        >>> import pandas as pd, sdc
        >>> s = sdc.Session()
        >>> _ = s.crosstab(pd.Series(list("ab") * 10, name="g"), name="by_g")
        >>> s
        <Session rules='default', 1 output(s)>
          by_g: frequency table, count -> pass
        """
        head = f"<Session rules={self.ruleset_.name!r}, {len(self.outputs)} output(s)>"
        lines = [
            f"  {o.name}: {o.kind}" + (f", {o.statistic}" if getattr(o, "statistic", None)
                                       else "") + f" -> {o.status.value}"
            for o in self.outputs.values()
        ]  # fmt: skip
        return "\n".join([head, *lines])

    def _name(self, name: str | None, func: str) -> str:
        if name is None:
            name = f"output_{len(self.outputs)}"
            while name in self.outputs:
                name += "_"
        from sdc.release.manifest import name_problem

        if not isinstance(name, str) or name_problem(name):
            why = name_problem(name) if isinstance(name, str) else "it is not a text"
            raise input_error("name", func, f"a name usable as a file name ({why})", name)
        if name.casefold() in {n.casefold() for n in self.outputs}:
            raise input_error("name", func, "a name not used yet in this session", name,
                              "Use remove_output first to replace it.")  # fmt: skip
        return name

    def _who(self, contributor: Any, data: Any, func: str) -> Any:
        """The contributor a method uses: the one given (None: rows are people), else the
        session's, which must then be a column of ``data``."""
        if contributor is not SESSION_DEFAULT:
            return contributor
        who = self.contributor
        columns = getattr(data, "columns", None)
        if who is not None and columns is not None and who not in list(columns):
            raise input_error(
                "contributor", func, "a column of data (the session's contributor)", who,
                "Pass contributor=None if each row of these data is a different person, "
                "or contributor=<column> naming who each row is.",
            )  # fmt: skip
        return who

    def _protect(self) -> bool:
        return self.ruleset_.protection.apply if self.suppress is None else bool(self.suppress)

    def crosstab(
        self,
        index: Any,
        columns: Any = None,
        values: Any = None,
        aggfunc: Any = None,
        *,
        margins: bool = False,
        margins_name: str = "All",
        dropna: bool = False,
        normalize: bool | str | int = False,
        contributor: Any = SESSION_DEFAULT,
        name: str | None = None,
        hierarchies: dict[str, Any] | None = None,
        structural_zeros: Sequence[dict[str, Any]] | None = None,
    ) -> TableOutput | TableSet:
        """A checked ``pandas.crosstab``: Series (or lists of Series) as rows and columns.

        ``contributor`` (a Series of ids: patient, practice, holding) makes the
        threshold count distinct contributors and dominance use per-contributor totals.
        ``hierarchies`` maps a dimension to its subtotals (see :mod:`sdc.tables.hierarchy`);
        they are published with the margins. As in pandas, ``aggfunc`` may be a function
        (``np.mean``, ``len``) or a list (one checked table per statistic, a
        :class:`~sdc.tables.table_set.TableSet`), and ``normalize`` (True, "index",
        "columns") gives the shares in ``.shares``, computed from the released counts
        and margins (the verdict and what ``finalise`` writes are the counts). Missing
        keys are a level of their own (``dropna=False``); totals are labelled "All".
        See :mod:`sdc.tables.pandas_args`. ``structural_zeros``: combinations declared
        impossible, e.g. ``[{"sex": "M", "diag": "pregnancy"}]``, which the zeros rule
        does not flag; recorded and shown to the checker (see :mod:`sdc.tables.structural`).
        """
        func = "Session.crosstab"
        if contributor is SESSION_DEFAULT:
            if self.contributor is not None:
                raise input_error(
                    "contributor", func, "given (the Series of ids) when the session has a "
                    "contributor column", "not given",
                    f"crosstab takes Series, not a frame: pass contributor=df"
                    f"[{self.contributor!r}], or contributor=None if each row is a person.",
                )  # fmt: skip
            contributor = None
        refuse_unsupported(margins_name, dropna, func)
        if aggfunc is not None:
            named, many = aggfunc_names(aggfunc, func)
            if many:
                if normalize is not False:
                    raise input_error("normalize", func, "False with a list of aggfunc",
                                      normalize, "Shares are of counts: make the count "
                                      "table on its own.")  # fmt: skip
                for _, stat in named:  # every name checked before any table is made
                    _statistic(stat, values is not None or stat in ("count", "size", "len"),
                               func)  # fmt: skip
                base = self._name(name, func)
                outs: dict[Any, TableOutput] = {
                    label: self._crosstab(index, columns, values, stat, margins, contributor,
                                          f"{base}_{label}", hierarchies, structural_zeros)
                    for label, stat in named
                }  # fmt: skip
                return TableSet(base, outs, flat=columns is None)
            aggfunc = named[0][1]
        dims = (len(_objects(index)), len(_objects(columns)))
        stat = "count" if aggfunc is None else str(AGGFUNC_ALIASES.get(aggfunc, aggfunc))
        kind = normalize_kind(normalize, func, dims, stat)  # checked before the table is made
        if kind is not None and hierarchies:
            raise input_error("normalize", func, "False for a table with hierarchies",
                              normalize, "Compute shares from `.table` instead.")  # fmt: skip
        out = self._crosstab(index, columns, values, aggfunc, margins, contributor, name,
                             hierarchies, structural_zeros)  # fmt: skip
        if kind is not None:
            released = out.protected_table if out.protected_applied else out.table
            out.shares = shares(released, kind, margins)
        return out

    def _crosstab(self, index, columns, values, aggfunc, margins, contributor, name,
                  hierarchies, zeros=None):  # fmt: skip
        func = "Session.crosstab"
        first = index[0] if isinstance(index, (list, tuple)) and index else index
        if (kind := source_kind(first)) is not None and kind != "files":
            _no_zeros_for_sources(zeros, func)
            rows_, cols_ = _plain_list(index), _plain_list(columns)
            frame, r, c, v, who = crosstab_frame(kind, rows_, cols_, values, contributor, func)
            stat = _statistic(aggfunc, values is not None, func)
            return self._add_source(kind, frame, r, c, v, stat, who, margins, name, func,
                                    hierarchies)  # fmt: skip
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
        sources = {
            "dims": [_source(o) for o in [*_objects(index), *_objects(columns)]],
            "values": _source(values), "contributor": _source(contributor),
        }  # fmt: skip
        value_col = contrib_col = None
        if value_s is not None:
            value_col = str(value_s.name) if value_s.name not in frame.columns else "__value"
            frame[value_col] = value_s.to_numpy()
        if contrib_s is not None:
            contrib_col = "__contributor"
            frame[contrib_col] = contrib_s.to_numpy()
        return self._add(
            frame, [str(s.name) for s in rows], [str(s.name) for s in cols], value_col,
            statistic, contrib_col, margins, name, func, hierarchies, sources, zeros,
            records=first.index if isinstance(first, pd.Series) else False,
        )  # fmt: skip

    def pivot_table(
        self,
        data: pd.DataFrame,
        values: str | Sequence[str] | None = None,
        index: str | Sequence[str] | None = None,
        columns: str | Sequence[str] | None = None,
        aggfunc: Any = "mean",
        *,
        margins: bool = False,
        margins_name: str = "All",
        dropna: bool = False,
        contributor: str | None = SESSION_DEFAULT,
        name: str | None = None,
        hierarchies: dict[str, Any] | None = None,
        progress: bool = False,
        population: str | None = None,
        structural_zeros: Sequence[dict[str, Any]] | None = None,
    ) -> TableOutput | TableSet:
        """A checked ``pandas.pivot_table`` over column names of ``data`` (see ``crosstab``).

        ``data`` may also be a Dask or Spark DataFrame, or Parquet/CSV file paths (a path,
        a glob pattern or a list), streamed in bounded memory; ``progress`` then draws a
        progress line on a terminal's stderr (see :mod:`sdc.tables.sources`). A list of
        ``values`` or of ``aggfunc`` gives one checked table per value column and
        statistic, shown side by side as pandas shows them (a
        :class:`~sdc.tables.table_set.TableSet`). ``population``: a filter expression
        (``"age < 90"``) selecting the records to tabulate; it is recorded, so the gate can
        apply it again (see :mod:`sdc.differencing.population`).
        """
        func = "Session.pivot_table"
        contributor = self._who(contributor, data, func)
        refuse_unsupported(margins_name, dropna, func)
        named, many_stats = aggfunc_names(aggfunc, func)
        many_values = isinstance(values, (list, tuple))
        if not (many_stats or many_values):
            return self._pivot_table(data, values, index, columns, named[0][1], margins,
                                     contributor, name, hierarchies, progress,
                                     structural_zeros, population)  # fmt: skip
        if many_values and (not values or len(set(values)) < len(values)):
            raise input_error("values", func, "a non-empty list of columns without repeats",
                              values)  # fmt: skip
        for _, stat in named:  # every name and column checked before any table is made
            _statistic(stat, True, func)
        if many_values and isinstance(data, pd.DataFrame):
            require_columns(data, [str(v) for v in values], "values", func)  # type: ignore[union-attr]
        base = self._name(name, func)
        outs: dict[Any, TableOutput] = {}
        for label, stat in named:
            for value in list(values) if many_values else [values]:  # type: ignore[arg-type]
                key = tuple(k for k, keep in ((label, many_stats), (value, many_values)) if keep)
                outs[key[0] if len(key) == 1 else key] = self._pivot_table(
                    data, value, index, columns, stat, margins, contributor,
                    "_".join([base, *map(str, key)]), hierarchies, progress, structural_zeros,
                    population,
                )  # fmt: skip
        flat = not column_list(columns, "columns", func)
        return TableSet(base, outs, flat, values if isinstance(values, str) else None)

    def _pivot_table(self, data, values, index, columns, aggfunc, margins, contributor, name,
                     hierarchies, progress, zeros=None, population=None):  # fmt: skip
        func = "Session.pivot_table"
        if (kind := source_kind(data)) is not None:
            _no_zeros_for_sources(zeros, func)
            if population is not None:
                raise input_error(
                    "population",
                    func,
                    "None with a Dask, Spark or file source",
                    population,
                    "Filter the source before tabulating it.",
                )
            rows, cols = column_list(index, "index", func), column_list(columns, "columns", func)
            if not rows:
                rows, cols = cols, []
            if not rows:
                raise input_error("index", func, "at least one column (index or columns)", index)
            for arg, col in (("values", values), ("contributor", contributor)):
                if col is not None and not isinstance(col, str):
                    raise input_error(arg, func, "one column name", col)
            stat = _statistic(aggfunc, values is not None, func)
            return self._add_source(kind, data, rows, cols, values, stat, contributor, margins,
                                    name, func, hierarchies, progress)  # fmt: skip
        if not isinstance(data, pd.DataFrame):
            raise input_error("data", func, "a pandas DataFrame", type(data).__name__)
        given, data = data, select(data, population, func)
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
            hierarchies, None, zeros, population=population, base=given.index,
        )  # fmt: skip

    def _add(
        self, frame, rows, cols, value_col, statistic, contrib_col, margins, name, func,
        hierarchies=None, sources=None, zeros=None, *, records=None, population=None,
        base=None,
    ):  # fmt: skip
        if not isinstance(margins, bool):
            raise input_error("margins", func, "True or False", margins)
        out = tabulate(
            frame, rows, cols, values=value_col, statistic=statistic, contributor=contrib_col,
            margins=margins, ruleset=self.ruleset_, name=self._name(name, func),
            protect=self._protect(), func=func, hierarchies=hierarchies, structural_zeros=zeros,
        )  # fmt: skip
        if sources is None:  # columns of a DataFrame: each is named as in the data
            sources = {"dims": [*rows, *cols], "values": value_col, "contributor": contrib_col}
        out.definition = table_definition_of(out, func.rpartition(".")[2], sources)
        records = frame.index if records is None else records  # False: rows without labels
        labels = records if isinstance(records, pd.Index) and len(records) == len(frame) else None
        out.definition["population"] = population_entry(labels, population, base)
        self._records.table(out, frame, [*rows, *cols], labels)
        if out.structural_zeros:
            out.definition["structural_zeros"] = list(out.structural_zeros)
        if statistic != "histogram" and any(
            r.rule == "threshold" and r.fail.any() for r in out.check.results
        ):  # a histogram offers re-binning instead
            from sdc.tables.merge_advice import merge_advice

            t = self.ruleset_.params["threshold"].t
            out.advice = (*out.advice, *merge_advice(out.check.evidence, t))
        out.on_protect = self._keep_protected
        self.outputs[out.name] = out
        return out

    def _keep_protected(self, released: TableOutput) -> None:
        """After ``t.protect(...)``: the session releases the table as protected."""
        if released.name in self.outputs:  # an output removed from the session stays out
            self.outputs[released.name] = released

    def _add_source(
        self, kind, data, rows, cols, value_col, statistic, contrib_col, margins, name, func,
        hierarchies=None, progress=False,
    ):  # fmt: skip
        """A table from Dask, Spark or files: the one place those sources are sent."""
        if not isinstance(margins, bool) or not isinstance(progress, bool):
            raise input_error("margins/progress", func, "True or False", (margins, progress))
        from sdc.tables.sources.progress import ProgressLine

        bar = ProgressLine() if progress else None
        try:
            out = source_table(
                kind, data, rows, cols, value_col, statistic, contrib_col, margins,
                ruleset=self.ruleset_, name=self._name(name, func), protect=self._protect(),
                func=func, hierarchies=hierarchies, progress=bar,
            )  # fmt: skip
        finally:
            if bar is not None:
                bar.close()
        out.on_protect = self._keep_protected
        self.outputs[out.name] = out
        return out

    def protect_linked(
        self,
        data: pd.DataFrame,
        tables: Sequence[Any],
        *,
        values: str | None = None,
        aggfunc: str = "count",
        contributor: str | None = SESSION_DEFAULT,
        secondary_zeros: bool | None = None,
        singletons: bool | None = None,
        audit_rounds: int | None = None,
        cost: str | None = None,
        population: str | None = None,
    ) -> list[ProtectedTable]:
        """Make several tables (with margins) from ``data`` and protect them jointly.

        ``tables``: dicts with ``index``, optional ``columns``, ``hierarchies`` and
        ``name``. No combination of the released tables recovers a primary: they
        are suppressed and audited as one system (see :mod:`sdc.tables.linked`). Each
        table joins the session's outputs as released.
        """
        from sdc.protection.params import with_options
        from sdc.tables.linked import LinkedTable, joint_groups, protect_linked

        contributor = self._who(contributor, data, "Session.protect_linked")
        specs = [LinkedTable.of(t) for t in tables]
        if not specs:
            raise SdcInputError("protect_linked needs at least one table.")
        params = with_options(
            self.ruleset_.protection, "Session.protect_linked", secondary_zeros=secondary_zeros,
            singletons=singletons, audit_rounds=audit_rounds, cost=cost,
        )  # fmt: skip
        outputs = [
            self._pivot_table(
                data, values, list(t.index), list(t.columns) or None, aggfunc, True,
                contributor, t.name, t.hierarchies, False, None, population,
            )
            for t in specs
        ]  # fmt: skip
        dims = list(dict.fromkeys(d for o in outputs for d in o.model.dims))
        joint = self._pivot_table(
            data, values, dims, None, aggfunc, True, contributor, "__joint",
            joint_groups(outputs, dims) or None, False, None, population,
        )  # fmt: skip
        self.remove_output(joint.name)
        protected = []
        names = [o.name for o in outputs]
        for made, (released, view) in zip(outputs, protect_linked(outputs, joint, params),
                                          strict=True):  # fmt: skip
            released.definition = {
                **(made.definition or {}), "call": "protect_linked",
                "protection": {"applied": True, "options": _options(params), "linked": names},
            }  # fmt: skip
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
        contributor: str | None = SESSION_DEFAULT,
        name: str | None = None,
        population: str | None = None,
    ) -> TableOutput:
        """A checked histogram of ``column``: bin counts as a one-dimensional table.

        ``bins``: a number of bins (round edges) or the edges. The end bins are open
        (``< a``, ``>= b``) and every edge lies strictly inside the data's range, so
        no edge pins its minimum or maximum. ``rebin`` merges small bins with their
        neighbours first (see :mod:`sdc.tables.histogram`). The table's rows are the bins.
        ``plot``: ``finalise`` also writes the bar chart (``.svg()``), drawn from the
        released bins only (see :mod:`sdc.plots`). ``contributor``: a column naming who
        each record is; a bin is then checked on its distinct contributors (the bar
        still counts records), and ``rebin`` merges until each bin has ``t`` people.
        """
        from sdc.tables import histogram

        func = "Session.hist"
        given, data = data, select(data, population, func)
        contributor = self._who(contributor, data, func)
        values, cuts = histogram.histogram_frame(data, column, bins, func)
        for arg, flag in (("rebin", rebin), ("plot", plot)):
            if not isinstance(flag, bool):
                raise input_error(arg, func, "True or False", flag)
        ids = histogram.contributor_codes(data, column, contributor, func)
        t = self.ruleset_.params["threshold"].t
        edges = histogram.open_edges(cuts)
        people = None if ids is None else histogram.BinPeople(values, edges, ids)
        merged = histogram.rebin(edges, histogram.bin_counts(values, cuts, ids), t, people)[1:-1]
        if rebin:
            cuts = merged
        frame = pd.DataFrame({column: histogram.bin_labels(values, cuts)})
        if ids is not None:
            frame[contributor] = data[contributor].to_numpy()
        out = self._add(
            frame, [column], [], None, "histogram", contributor, False, name, func,
            records=data.index, population=population, base=given.index,
        )  # fmt: skip
        out.plot = plot
        out.definition = {**(out.definition or {}), "call": "hist"}
        out.definition["dims"][0]["bins"] = [float(e) for e in cuts]
        if not rebin and merged.size < cuts.size:
            shown = ", ".join(histogram.labels_of(merged))
            who = "records" if contributor is None else "contributors"
            out.advice = (
                f"re-binning offered: rebin=True merges the bins of 1 to {t - 1} {who} "
                f"with their neighbours, giving {merged.size + 1} bins: {shown}",
            )
        return out

    def describe(
        self,
        data: pd.DataFrame,
        column: str,
        by: str | None = None,
        stats: Sequence[str] = ("count", "mean", "median", "p25", "p75"),
        *,
        contributor: str | None = SESSION_DEFAULT,
        name: str | None = None,
        population: str | None = None,
    ) -> Description:
        """Statistics of ``column`` per group of ``by``: one checked table each.

        ``stats``: aggfunc names (count, sum, mean, median, std, var, min, max, mode)
        and percentiles ``p1`` .. ``p99``; the default ones pass the default rules on
        ordinary data (raw ``min`` and ``max`` are refused by them: a refused extreme's
        advice names the rounded percentile to ask for instead). Each table joins the session as
        ``<name>_<statistic>`` (see :mod:`sdc.tables.describe`). ``contributor``: a
        column naming who each record is; counts, dominance, the all-same rule and the
        contributors around a quantile then count people, not records.
        """
        from sdc.tables.describe import Description, describe_frame, extreme_advice

        func = "Session.describe"
        given, data = data, select(data, population, func)
        contributor = self._who(contributor, data, func)
        frame, group = describe_frame(data, column, by, func, contributor)
        if isinstance(stats, str) or not stats or not all(isinstance(s, str) for s in stats):
            raise input_error("stats", func, "a non-empty list of statistic names", stats)
        if len(set(stats)) != len(stats):
            raise input_error("stats", func, "a list without repeats", list(stats))
        for stat in stats:
            _statistic(stat, True, func)  # every name is checked before any table is made
        base = self._name(name, func)
        outputs = {
            stat: self._pivot_table(
                frame,
                column,
                group,
                None,
                stat,
                False,
                contributor,
                f"{base}_{stat}",
                None,
                False,
            )  # fmt: skip
            for stat in stats
        }
        for out in outputs.values():
            definition = {**(out.definition or {}), "call": "describe"}
            if by is None:  # the one group is not a column of the data
                definition["dims"][0].update(column=None, constant=group)
            definition["population"] = population_entry(frame.index, population, given.index)
            out.definition = definition
        for stat, out in outputs.items():
            out.advice = (*out.advice, *extreme_advice(stat, out.findings))
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
        contributor: str | None = SESSION_DEFAULT,
        name: str | None = None,
        population: str | None = None,
    ) -> SurvivalOutput:
        """Kaplan-Meier curves coarsened for release (see :mod:`sdc.regression.survival`).

        Every released step holds at least the rule set's threshold t of events and starts
        at a point of a time grid where t events fall in the grid interval it opens, so no
        boundary is anyone's own event time; the largest follow-up time is never shown;
        ``.raw`` is the unpooled estimate. ``time_unit``: the grid's width (by default a
        round width of about a twentieth of the longest follow-up); a finer one gives
        fewer boundaries, never weaker ones.
        ``plot``: ``finalise`` also writes the released curves as an image (``.svg()``).
        ``contributor``: a column naming who each row is; rows of one person count once
        (they must then agree: see :func:`sdc.regression.survival.survival_table`).
        """
        from sdc.regression.survival import survival_table

        func = "Session.survival_table"
        given, data = data, select(data, population, func)
        contributor = self._who(contributor, data, func)
        if not isinstance(plot, bool):
            raise input_error("plot", func, "True or False", plot)
        out = survival_table(
            data, duration, event, by, self.ruleset_, self._name(name, func), time_unit,
            contributor,
        )  # fmt: skip
        out.plot = plot
        out.definition = survival_definition(data, duration, event, by, time_unit, contributor)
        out.definition["population"] = population_entry(data.index, population, given.index)
        self._records.survival(out, data, duration, event, by, time_unit)
        self.outputs[out.name] = out
        return out

    def check_model_result(
        self, result: Any, *, contributor: Any = SESSION_DEFAULT, name: str | None = None
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
        if contributor is SESSION_DEFAULT:
            frame = getattr(getattr(getattr(result, "model", None), "data", None), "frame", None)
            contributor = self._who(contributor, frame, func)
            if isinstance(contributor, str):  # the session's column, in the data of the fit
                if not isinstance(frame, pd.DataFrame):
                    raise input_error(
                        "contributor", func, "the ids (the fit keeps no data frame to take "
                        "the session's contributor column from)", contributor,
                        "Pass contributor=data[column], or contributor=None if each row is "
                        "a person.",
                    )  # fmt: skip
                contributor = frame[contributor]
        ids = contributor_ids(result, contributor, func)
        out = RegressionOutput(self._name(name, func), result, self.ruleset_, ids)
        out.definition = regression_definition("check_model_result", None, None, {})
        out.definition["population"] = population_entry(_rows_used(result), None, None)
        self._records.regression(out)
        self.outputs[out.name] = out
        return out

    def check_model(
        self, estimator: Any, *, train: Any = None, test: Any = None,
        n_records: int | None = None, contributor: Any = SESSION_DEFAULT,
        name: str | None = None,
    ) -> ModelOutput:  # fmt: skip
        """Check a fitted (scikit-learn) model for release (see :mod:`sdc.models.output`).

        Weights-only checks always run; ``train=(X, y)`` with ``test=(X, y)`` (records
        not used in training) adds the membership inference attack and the
        equivalence classes of the predictions. ``contributor``: the ids of the training
        rows (one per row of ``train``; the session's column name cannot be used, as the
        features rarely hold it): a tree model's leaves are then also counted in
        distinct contributors. Models are not written by
        ``finalise``: the model file goes to the gate, which runs ``sdc check-model``.
        """
        from sdc.models.check import check_estimator

        func = "Session.check_model"
        if contributor is SESSION_DEFAULT:
            if self.contributor is not None and train is not None:
                raise input_error(
                    "contributor", func, "given (the ids of the training rows) when the "
                    "session has a contributor column", "not given",
                    "Pass contributor=df.loc[train_rows, "
                    f"{self.contributor!r}], or contributor=None if each row is a person.",
                )  # fmt: skip
            contributor = None
        return check_estimator(
            estimator, self.ruleset_, name=self._name(name, func),
            train=train, test=test, n_records=n_records, contributor=contributor,
        )  # fmt: skip

    def assess_microdata(
        self, data: pd.DataFrame, keys: Sequence[str], sensitive: Sequence[str] | None = None,
        *, weight: str | None = None, contributor: str | None = SESSION_DEFAULT,
        name: str | None = None,
    ) -> MicrodataOutput:  # fmt: skip
        """Assess record-level data for release (see :mod:`sdc.microdata`).

        ``keys``: the quasi-identifiers; ``sensitive``: variables whose l-diversity is
        checked; ``weight``: sampling weights (Fk and the individual risk); ``contributor``:
        a household or person id (household risk). The result's ``mitigate`` plans local
        suppression to k-anonymity. It joins the session: ``finalise`` writes its
        assessment, and its records (keys, sensitive variables, weight) only if it passes.
        """
        from sdc.microdata.output import assess
        from sdc.microdata.released import microdata_definition

        contributor = self._who(contributor, data, "Session.assess_microdata")
        out = assess(
            data, self.ruleset_, keys=keys, sensitive=sensitive, weight=weight,
            contributor=contributor, name=self._name(name, "Session.assess_microdata"),
        )  # fmt: skip
        out.definition = microdata_definition(data, out.keys.keys, out.sensitive, out.weight)
        self.outputs[out.name] = out
        return out

    def _fit(self, func: str, factory: Any, formula: Any, data: Any, name: str | None,
             fit: dict[str, Any], contributor: str | None = None,
             population: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        from sdc.regression.rows import contributor_column

        where = f"Session.{func}"
        if not isinstance(formula, str) or "~" not in formula:
            raise input_error("formula", where, "a formula such as 'y ~ x + C(g)'", formula)
        if not isinstance(data, pd.DataFrame):
            raise input_error("data", where, "a pandas DataFrame", type(data).__name__)
        contributor = self._who(contributor, data, where)
        if contributor is not None:
            if not isinstance(contributor, str):
                raise input_error("contributor", where, "one column name", contributor)
            require_columns(data, [contributor], "contributor", where)
        given, data = data, select(data, population, where)
        if population is not None:  # per-row keywords (weights, status) follow the records
            kwargs = {k: _rows_of(v, given, data) for k, v in kwargs.items()}
        try:
            # What statsmodels warns about (a fit that did not converge, a singular design)
            # goes to the output as something a person must look at, not to the terminal.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = factory(formula, data=data, **kwargs).fit(**fit)
        except Exception as exc:  # a formula naming no column, a singular design, ...
            raise SdcInputError(f"{where} could not fit {formula!r}: {exc}") from None
        ids = None if contributor is None else contributor_column(result, data, contributor, where)
        out = RegressionOutput(self._name(name, where), result, self.ruleset_, ids)
        out.note_fit_warnings(str(w.message) for w in caught)
        options = {**kwargs, "contributor": contributor} if contributor is not None else kwargs
        out.definition = regression_definition(func, formula, data, options)
        out.definition["population"] = population_entry(_rows_used(result), population,
                                                        given.index)  # fmt: skip
        self._records.regression(out)
        self.outputs[out.name] = out
        return out

    def ols(self, formula: str, data: pd.DataFrame, *, contributor: str | None = SESSION_DEFAULT,
            name: str | None = None, population: str | None = None,
            **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.ols`` and check it.

        ``contributor``: a column of ``data`` naming who each row is (see
        :meth:`check_model_result`); the other keywords go to statsmodels.
        """
        import statsmodels.formula.api as smf

        return self._fit("ols", smf.ols, formula, data, name, {}, contributor, population, **kwargs)

    def wls(self, formula: str, data: pd.DataFrame, *, weights: Any,
            contributor: str | None = SESSION_DEFAULT, name: str | None = None,
            population: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.wls`` with ``weights`` (values, or a column of
        ``data``) and check it; groups are counted by their effective size (Kish)."""
        import statsmodels.formula.api as smf

        if isinstance(weights, str):
            require_columns(data, [weights], "weights", "Session.wls")
            weights = data[weights]
        return self._fit("wls", smf.wls, formula, data, name, {}, contributor, population,
                         weights=weights, **kwargs)  # fmt: skip

    def logit(self, formula: str, data: pd.DataFrame, *, contributor: str | None = SESSION_DEFAULT,
              name: str | None = None, population: str | None = None,
              **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.logit`` and check it."""
        import statsmodels.formula.api as smf

        return self._fit("logit", smf.logit, formula, data, name, {"disp": 0}, contributor,
                         population, **kwargs)  # fmt: skip

    def probit(self, formula: str, data: pd.DataFrame, *, contributor: str | None = SESSION_DEFAULT,
               name: str | None = None, population: str | None = None,
               **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.probit`` and check it."""
        import statsmodels.formula.api as smf

        return self._fit("probit", smf.probit, formula, data, name, {"disp": 0}, contributor,
                         population, **kwargs)  # fmt: skip

    def poisson(self, formula: str, data: pd.DataFrame, *,
                contributor: str | None = SESSION_DEFAULT, name: str | None = None,
                population: str | None = None,
                **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.poisson`` (``offset=``, ``exposure=`` as in
        statsmodels) and check it."""
        import statsmodels.formula.api as smf

        return self._fit("poisson", smf.poisson, formula, data, name, {"disp": 0}, contributor,
                         population, **kwargs)  # fmt: skip

    def glm(self, formula: str, data: pd.DataFrame, *, contributor: str | None = SESSION_DEFAULT,
            name: str | None = None, population: str | None = None,
            **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit ``statsmodels.formula.api.glm`` (``family=``, ``freq_weights=``,
        ``var_weights=``, ``offset=`` as in statsmodels) and check it."""
        import statsmodels.formula.api as smf

        return self._fit("glm", smf.glm, formula, data, name, {}, contributor, population, **kwargs)

    def phreg(self, formula: str, data: pd.DataFrame, *, status: Any,
              contributor: str | None = SESSION_DEFAULT, name: str | None = None,
              population: str | None = None, **kwargs: Any) -> RegressionOutput:  # fmt: skip
        """Fit a Cox model, ``statsmodels.formula.api.phreg`` (``status``: 1 for an event,
        values or a column of ``data``), and check it; groups are counted by their events."""
        import statsmodels.formula.api as smf

        return self._fit("phreg", smf.phreg, formula, data, name, {}, contributor, population,
                         status=status, **kwargs)  # fmt: skip

    def remove_output(self, name: str) -> None:
        """Drop an output from the session so it is not finalised (with its exception and
        comments)."""
        if name not in self.outputs:
            raise input_error("name", "Session.remove_output", "an output of this session", name)
        del self.outputs[name]
        self._records.forget(name)
        self.exceptions.pop(name, None)
        self.comments = [(n, t) for n, t in self.comments if n != name]

    def check_differencing(self, *, intervals: bool = False) -> DifferencingResult:
        """Whether the outputs together give away a small group (see :mod:`sdc.differencing`).

        Every group of 1 to t-1 records (t: the rule set's threshold) whose count, or sum,
        follows from the numbers the outputs release is a finding that names the group,
        the outputs and the combination. ``intervals``: also bound every other small group
        with HiGHS LPs (slower). ``finalise`` runs it and records what it finds.
        """
        if not isinstance(intervals, bool):
            raise input_error("intervals", "Session.check_differencing", "True or False",
                              intervals)  # fmt: skip
        t = int(self.ruleset_.params["threshold"].t)
        return self._records.check(self.outputs, t, intervals=intervals)

    def _note(self, text: Any, arg: str, func: str) -> str:
        from sdc.release.manifest import MAX_NOTE

        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
            raise input_error(arg, func, f"a text of 1 to {MAX_NOTE} characters", text)
        return text.strip()

    def _output_name(self, name: Any, func: str) -> str:
        if not isinstance(name, str) or name not in self.outputs:
            raise input_error("name", func, "the name of an output of this session", name,
                              f"Outputs: {', '.join(self.outputs) or 'none yet'}.")  # fmt: skip
        return name

    def add_exception(self, name: str, reason: str) -> None:
        """Ask the checker to release output ``name`` although it needs review (or fails),
        and say why: ``reason`` is shown to the checker with its verdict.

        It changes no verdict: a ``review`` output still needs a checker's approval, and
        a failing one still fails. A second call replaces the reason.

        Examples
        --------
        >>> import sdc
        >>> from sdc.example import example_microdata
        >>> s = sdc.Session()
        >>> t = s.crosstab(example_microdata().region, name="visits")
        >>> s.add_exception("visits", "The small cells are published in the annual report.")
        >>> s.exceptions
        {'visits': 'The small cells are published in the annual report.'}
        >>> s.outputs["visits"].status.value
        'fail'
        """
        func = "Session.add_exception"
        self.exceptions[self._output_name(name, func)] = self._note(reason, "reason", func)

    def add_comment(self, name: str | None, text: str) -> None:
        """A comment for the checker on output ``name`` (``None``: on the whole request).

        Comments are written into the request's manifest and shown in the checker's
        report; they are no files, so they never make the request need review, and they
        change no verdict.

        Examples
        --------
        >>> import sdc
        >>> s = sdc.Session()
        >>> s.add_comment(None, "Tables for chapter 3 of the thesis.")
        >>> s.comments
        [(None, 'Tables for chapter 3 of the thesis.')]
        """
        func = "Session.add_comment"
        who = None if name is None else self._output_name(name, func)
        self.comments.append((who, self._note(text, "text", func)))

    def custom_output(self, path: Any, *, kind: str, name: str | None = None) -> CustomOutput:
        """Add a file the engine did not make (a figure, a table made elsewhere) for review.

        ``path``: the file, copied as it is now; or a fitted statsmodels result of a class
        the engine cannot check (e.g. ``QuantReg``): its coefficient table is written.
        ``kind``: what it is, in words, for the checker. It is always at best ``review``
        (a person must look at it), and it fails if it looks like row-level data
        (see :mod:`sdc.release.custom`).

        Examples
        --------
        >>> import pathlib, tempfile, sdc
        >>> note = pathlib.Path(tempfile.mkdtemp()) / "figure1.txt"
        >>> _ = note.write_text("Figure 1: admissions by year, drawn from table visits.")
        >>> s = sdc.Session()
        >>> out = s.custom_output(note, kind="figure caption", name="caption")
        >>> out.status.value, out.path
        ('review', 'caption.txt')
        """
        from sdc.release.custom import CustomOutput, read_custom

        func = "Session.custom_output"
        label = self._note(kind, "kind", func)
        source, data = read_custom(path, func)
        if name is None:
            name = Path(source).stem or None
        out = CustomOutput(self._name(name, func), source, label, data)
        self.outputs[out.name] = out
        return out

    def finalise(
        self, path: str | Path, *, overwrite: bool = False,
        signing_key: str | Path | None = None, author: str | None = None,
        append: bool = False,
    ) -> Path:  # fmt: skip
        """Write every output, the evidence the gate needs, a manifest and the report.

        ``signing_key``: the trusted runner's Ed25519 private key (a PEM file, as
        ``sdc keygen`` writes it), to sign the manifest with; by default the file named
        by the ``SDC_SIGNING_KEY`` environment variable, if it is set. An unsigned
        request is at best ``review`` at the gate. ``author``: who makes the request
        (default: the ``SDC_AUTHOR`` environment variable, if set), recorded in the
        manifest; the author may never approve it at ``sdc release``. See
        :func:`sdc.release.bundle.write_bundle` for the layout. ``append``: add this
        session's outputs to the request folder ``path`` that an earlier ``finalise``
        wrote, re-finalised as one request (see :mod:`sdc.release.append`).

        Each output is written as the session holds it: a table protected with
        ``t.protect(...)`` as that protection shows it. The researcher's exceptions and
        comments go into the manifest. Outputs that fail or need review are named in an
        :class:`~sdc.exceptions.SdcReleaseWarning`.
        """
        from sdc.exceptions import SdcReleaseWarning
        from sdc.release.bundle import Notes, write_bundle

        if append:
            from sdc.release.append import append_bundle

            if overwrite:
                raise input_error("append", "Session.finalise", "False with overwrite=True",
                                  append, "Choose one.")  # fmt: skip
            if self.exceptions or self.comments:
                raise input_error(
                    "append", "Session.finalise", "False when the session has exceptions or "
                    "comments", append, "Finalise them with their outputs in one request.",
                )  # fmt: skip
            return append_bundle(
                Path(path), list(self.outputs.values()), self.ruleset_, signing_key, author
            )

        notes = Notes(dict(self.exceptions), list(self.comments))
        folder = write_bundle(
            Path(path), list(self.outputs.values()), self.ruleset_, overwrite, signing_key,
            author, notes, differencing=self.check_differencing() if self.outputs else None,
        )  # fmt: skip
        held = [f"{o.name} ({o.status.value})" for o in self.outputs.values()
                if o.status.value != "pass"]  # fmt: skip
        if held:
            warnings.warn(
                f"finalise wrote {len(held)} output(s) that do not pass as they are: "
                f"{', '.join(held)}. A failing output never leaves: protect it (t.protect()), "
                "change it or remove it (remove_output); one that needs review leaves only "
                "with a checker's approval (add_exception says why it should).",
                SdcReleaseWarning, stacklevel=2,
            )  # fmt: skip
        return folder
