"""Evidence of a fitted regression: per-model numbers and per-group totals, no row-level data.

Built from the statsmodels result (:func:`regression_evidence`) in the session, written
beside the coefficient table by ``finalise``, and read back by the gate
(:func:`evidence_from_dict`), which re-applies its own rules to it.

Every group the coefficients describe (:mod:`sdc.regression.groups`) is an *entry* of
kind ``records``; a categorical outcome adds one ``outcome`` entry per (group,
category), a Cox model one ``events`` entry per group. Each entry holds:

- ``records``: rows with a weight that counts;
- ``contributors``: distinct contributors among them (rows, without a contributor), or,
  for a weighted fit, Kish's effective number ``(sum W_c)**2 / sum W_c**2`` over the
  contributors' total weights ``W_c``: one record weighted 1000 among ten weighted 1 is
  about one record, not eleven;
- (per model) ``incomplete``: why the search for small combinations of records could not
  be completed (the output is then reviewed);
- for ``records`` entries of a continuous outcome: ``total`` and ``top``, the sum and the
  ten largest of the contributors' absolute outcome totals ``|sum w y|`` (what the
  dominance rules read: the coefficients reproduce those totals); ``spread``, the largest
  minus the smallest outcome (0: everyone shares one value); ``exact``, whether every
  record of the group is fitted exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError
from sdc.regression.fit import FitRows, fit_rows, saturation

#: statsmodels model classes this package understands, by class name.
SUPPORTED = (
    "OLS", "WLS", "GLS", "GLM", "Logit", "Probit", "Poisson", "NegativeBinomial", "MNLogit",
    "PHReg",
)  # fmt: skip

#: Largest contributions kept per group: as many as any (n, k) rule may read (n <= 10).
TOP_K = 10
#: What each entry kind counts.
KINDS = ("records", "outcome", "events")
OUTCOMES = ("continuous", "categorical", "events")


@dataclass(frozen=True)
class RegressionEvidence:
    """What the rules need to know about one fitted model (no row-level data)."""

    model: str
    n_obs: int
    df_resid: float
    n_params: int
    saturation: tuple[str, ...]
    outcome: str
    weighted: bool
    has_contributor: bool
    searched_below: int
    incomplete: tuple[str, ...]
    groups: tuple[str, ...]
    kinds: tuple[str, ...]
    group_records: np.ndarray
    group_contributors: np.ndarray
    group_total: np.ndarray = field(repr=False)
    group_top: np.ndarray = field(repr=False)
    group_spread: np.ndarray = field(repr=False)
    group_exact: np.ndarray = field(repr=False)
    #: The names of the parameters (one per design column) and, for a multinomial
    #: model, the outcome category of each equation: the released table's rows.
    terms: tuple[str, ...] = ()
    equations: tuple[str, ...] = ()


def _segments(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.concatenate(groups).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum([g.size for g in groups])[:-1])).astype(np.int64)
    return idx, starts


def _kish(sw: np.ndarray, sw2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1.0), 0.0)


def _contributor_codes(contributor: Any, n: int) -> np.ndarray | None:
    if contributor is None:
        return None
    import pandas as pd

    ids = pd.Series(np.asarray(contributor, dtype=object))
    if len(ids) != n:
        raise SdcInputError(
            f"`contributor` must hold one id per row the model used ({n}); got {len(ids)}"
        )
    if ids.isna().any():
        raise SdcInputError(f"`contributor` has {int(ids.isna().sum())} missing id(s); every "
                            "record must be attributed to a contributor")  # fmt: skip
    codes, _ = pd.factorize(ids)
    return codes.astype(np.int64)


def regression_evidence(
    result: Any, contributor: Any = None, small: int = 10
) -> RegressionEvidence:
    """Evidence of a fitted statsmodels result; ``SdcInputError`` if it cannot be checked.

    ``contributor``: one id per row of the model's design (patient, practice), so that
    groups count distinct contributors and dominance reads per-contributor totals.
    ``small``: groups of fewer records than this are searched for among combinations.
    """
    model = getattr(result, "model", None)
    name = type(model).__name__ if model is not None else type(result).__name__
    if model is None or name not in SUPPORTED:
        raise SdcInputError(
            f"a result of class {type(result).__module__}.{type(result).__name__} "
            f"(model {name}) is not a supported regression; supported: {', '.join(SUPPORTED)}"
        )
    from sdc.regression.design import MAX_ATOMS, design_atoms, factor_levels
    from sdc.regression.groups import revealed_groups

    exog = np.asarray(model.exog, dtype=np.float64)
    names = [str(n) for n in getattr(model, "exog_names", None) or range(exog.shape[1])]
    terms, equations = model_terms(result)
    rows = fit_rows(result, name)
    codes = _contributor_codes(contributor, exog.shape[0])
    found = design_atoms(exog, names, rows.keep)
    if found is None:
        raise SdcInputError(
            f"the design's few-valued columns cross into more than {MAX_ATOMS:,} distinct "
            "rows, too many to find the groups its coefficients describe"
        )
    atoms, atom = found
    rows_per_atom = np.bincount(atom[atom >= 0], minlength=atoms.n_atoms)
    groups, incomplete = revealed_groups(atoms, rows_per_atom, small, factor_levels(model, atoms))
    entries = _entries(groups, atom, atoms.n_atoms, rows, codes)
    n_params = int(np.asarray(result.params).size)
    n_kept = int(rows.keep.sum())
    # statsmodels counts frequency weights as records (GLM: wnobs); the rank is what it removes.
    sm_nobs = float(getattr(model, "wnobs", None) or getattr(result, "nobs", None) or exog.shape[0])
    sm_dof = float(getattr(result, "df_resid", sm_nobs - n_params))
    rank = sm_nobs - sm_dof
    # Degrees of freedom from what really varies: rows that count, fewer when weights are
    # skewed (Kish) or rows repeat contributors (entry 0 is all records).
    size = min(float(n_kept), float(entries["group_contributors"][0]))
    return RegressionEvidence(
        model=name, n_obs=n_kept, df_resid=min(sm_dof, size - rank), n_params=n_params,
        saturation=saturation(result, name, rows), outcome=rows.kind,
        weighted=rows.weights is not None, has_contributor=codes is not None,
        searched_below=int(small), incomplete=tuple(incomplete), **entries,
        terms=tuple(terms), equations=tuple(equations),
    )  # fmt: skip


def model_terms(result: Any) -> tuple[list[str], list[str]]:
    """The parameter names (x0, x1, ... when the model has none) and the equations' labels."""
    params = np.asarray(result.params)
    k = params.shape[0]
    names = [str(n) for n in (getattr(result.model, "exog_names", None) or [])]
    if len(names) != k:
        names = [f"x{j}" for j in range(k)]
    equations: list[str] = []
    if params.ndim == 2:  # one equation per outcome category but the first
        ymap = getattr(result.model, "_ynames_map", None) or {}
        equations = [str(ymap.get(j + 1, j + 1)) for j in range(params.shape[1])]
    return names, equations


def _entries(
    groups: list, atom: np.ndarray, n_atoms: int, rows: FitRows, codes: np.ndarray | None
) -> dict[str, Any]:
    """Per-entry totals of every group (and of its outcome categories or events)."""
    from sdc.kernels.group_totals import atom_moments, group_contributor_totals

    w = np.ones(atom.size) if rows.weights is None else rows.weights
    v = w * rows.y
    atom_rows, atom_exact, atom_sums, lo, hi, atom_top = atom_moments(
        atom, n_atoms, w, rows.y, rows.exact, TOP_K
    )
    idx, starts = _segments([g.atoms for g in groups])
    n_groups = len(groups)
    g_ptr = g_idx = None
    if codes is not None:  # atom -> groups, for the walk over contributors
        owner = np.repeat(np.arange(n_groups), [g.atoms.size for g in groups])
        order = np.argsort(idx, kind="stable")
        g_idx = owner[order].astype(np.int64)
        g_ptr = np.concatenate(([0], np.cumsum(np.bincount(idx, minlength=n_atoms))))

    def per_group(values: np.ndarray, how: Any = np.add) -> np.ndarray:
        return how.reduceat(values[idx], starts)

    def contributors(row_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert codes is not None and g_ptr is not None and g_idx is not None
        return group_contributor_totals(codes, atom, w, v, row_ok, g_ptr, g_idx, n_groups,
                                        TOP_K)  # fmt: skip

    records = per_group(atom_rows)
    if codes is None:
        count = _kish(per_group(atom_sums[:, 0]), per_group(atom_sums[:, 1]))
        count = count if rows.weights is not None else records.astype(np.float64)
        total = per_group(atom_sums[:, 2])
        top = np.stack([_top(atom_top[g.atoms]) for g in groups])
    else:
        n_c, sums, top = contributors(np.ones(atom.size, dtype=bool))
        count = _kish(sums[:, 0], sums[:, 1]) if rows.weights is not None else n_c
        total = sums[:, 2]
    spread = per_group(hi, np.maximum) - per_group(lo, np.minimum)
    exact = per_group(atom_exact) == records
    names, kinds = [], []
    out: dict[str, list] = {k: [] for k in ("records", "contributors", "total", "top", "spread",
                                            "exact")}  # fmt: skip
    continuous = rows.kind == "continuous"
    nans = [np.nan] * TOP_K
    split = _split_counts(atom, n_atoms, rows, codes, w, per_group, contributors)
    for i, g in enumerate(groups):
        names.append(g.name)
        kinds.append("records")
        out["records"].append(int(records[i]))
        out["contributors"].append(float(count[i]))
        out["total"].append(float(total[i]) if continuous else np.nan)
        out["top"].append(top[i].tolist() if continuous else nans)
        out["spread"].append(float(spread[i]) if continuous else np.nan)
        out["exact"].append(bool(exact[i]) if continuous else False)
        for label, (rec, cnt) in split.items():
            names.append(_entry_name(g.name, label, rows.kind))
            kinds.append("events" if rows.kind == "events" else "outcome")
            out["records"].append(int(rec[i]))
            out["contributors"].append(float(cnt[i]))
            out["total"].append(np.nan)
            out["top"].append(nans)
            out["spread"].append(np.nan)
            out["exact"].append(False)
    return {
        "groups": tuple(names), "kinds": tuple(kinds),
        "group_records": np.asarray(out["records"], dtype=np.int64),
        "group_contributors": np.asarray(out["contributors"], dtype=np.float64),
        "group_total": np.asarray(out["total"], dtype=np.float64),
        "group_top": np.asarray(out["top"], dtype=np.float64).reshape(-1, TOP_K),
        "group_spread": np.asarray(out["spread"], dtype=np.float64),
        "group_exact": np.asarray(out["exact"], dtype=bool),
    }  # fmt: skip


def _top(tops: np.ndarray) -> np.ndarray:
    flat = np.sort(tops.ravel())[::-1][:TOP_K]
    return np.pad(flat, (0, TOP_K - flat.size))


def _entry_name(group: str, label: str, kind: str) -> str:
    if kind == "events":
        return "events" if group == "all records" else f"{group}, events"
    return f"outcome = {label}" if group == "all records" else f"{group}, outcome = {label}"


def _split_counts(atom, n_atoms, rows, codes, w, per_group, contributors):
    """Per outcome category (or events only, for a Cox model): records and contributors of
    every group."""
    if rows.codes is None:
        return {}
    n_cat = len(rows.labels)
    kept = atom >= 0
    cats = range(1, 2) if rows.kind == "events" else range(n_cat)
    out = {}
    for c in cats:
        in_cat = rows.codes == c
        sel = kept & in_cat
        rec = per_group(np.bincount(atom[sel], minlength=n_atoms))
        if codes is None and rows.weights is None:
            cnt = rec.astype(np.float64)
        elif codes is None:
            sw = np.bincount(atom[sel], weights=w[sel], minlength=n_atoms)
            sw2 = np.bincount(atom[sel], weights=w[sel] ** 2, minlength=n_atoms)
            cnt = _kish(per_group(sw), per_group(sw2))
        else:
            n_c, sums, _ = contributors(in_cat)
            cnt = _kish(sums[:, 0], sums[:, 1]) if rows.weights is not None else n_c
        out[rows.labels[c]] = (rec, np.asarray(cnt, dtype=np.float64))
    return out


def evidence_to_dict(ev: RegressionEvidence) -> dict[str, Any]:
    """Plain data for the evidence file a gate reads (per-group totals, no row-level data)."""
    return {
        "model": ev.model, "n_obs": ev.n_obs, "df_resid": ev.df_resid, "n_params": ev.n_params,
        "saturation": list(ev.saturation), "outcome": ev.outcome, "weighted": ev.weighted,
        "has_contributor": ev.has_contributor, "searched_below": ev.searched_below,
        "incomplete": list(ev.incomplete), "groups": list(ev.groups), "kinds": list(ev.kinds),
        "group_records": ev.group_records.tolist(),
        "group_contributors": ev.group_contributors.tolist(),
        "group_total": _nan_none(ev.group_total.tolist()),
        "group_top": [_nan_none(r) for r in ev.group_top.tolist()],
        "group_spread": _nan_none(ev.group_spread.tolist()),
        "group_exact": ev.group_exact.tolist(), "terms": list(ev.terms),
        "equations": list(ev.equations),
    }  # fmt: skip


def _nan_none(values: list) -> list:
    return [None if v != v else v for v in values]


_KEYS = {
    "model", "n_obs", "df_resid", "n_params", "saturation", "outcome", "weighted",
    "has_contributor", "searched_below", "incomplete", "groups", "kinds", "group_records",
    "group_contributors", "group_total", "group_top", "group_spread", "group_exact", "terms",
    "equations",
}  # fmt: skip


def _fail(what: str) -> SdcInputError:
    return SdcInputError(f"regression evidence: {what}.")


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _is_number(x: Any, missing: bool = False) -> bool:
    if x is None:
        return missing
    return isinstance(x, int | float) and not isinstance(x, bool) and bool(np.isfinite(x))


def evidence_from_dict(d: Any) -> RegressionEvidence:
    """Validated evidence read back from a file; ``SdcInputError`` names what is wrong."""
    if not isinstance(d, dict) or set(d) != _KEYS:
        got = sorted(d) if isinstance(d, dict) else type(d).__name__
        raise SdcInputError(f"regression evidence must have exactly the keys {sorted(_KEYS)}; "
                            f"got {got}.")  # fmt: skip
    if d["model"] not in SUPPORTED:
        raise _fail(f"it names an unsupported model {d['model']!r}")
    for key in ("n_obs", "n_params", "searched_below"):
        if not _is_count(d[key]):
            raise _fail(f"{key} must be a count")
    if not _is_number(d["df_resid"]):
        raise _fail("df_resid must be a number")
    if d["outcome"] not in OUTCOMES:
        raise _fail(f"outcome must be one of {list(OUTCOMES)}; got {d['outcome']!r}")
    for key in ("weighted", "has_contributor"):
        if not isinstance(d[key], bool):
            raise _fail(f"{key} must be true or false; got {d[key]!r}")
    groups, sat, incomplete = d["groups"], d["saturation"], d["incomplete"]
    if not (isinstance(incomplete, list) and all(isinstance(x, str) for x in incomplete)):
        raise _fail("incomplete must be a list of reasons")
    if not (isinstance(groups, list) and groups and all(isinstance(g, str) for g in groups)):
        raise _fail("groups must be a non-empty list of names")
    if len(set(groups)) != len(groups):
        raise _fail("groups must name each group once")
    if not (isinstance(sat, list) and all(isinstance(x, str) for x in sat)):
        raise _fail("saturation must be a list of reasons")
    m = len(groups)
    checks = {
        "kinds": lambda x: x in KINDS,
        "group_records": _is_count,
        "group_contributors": lambda x: _is_number(x) and x >= 0,
        "group_total": lambda x: _is_number(x, missing=True) and (x is None or x >= 0),
        "group_top": lambda r: (
            isinstance(r, list)
            and len(r) == TOP_K
            and all(_is_number(x, missing=True) and (x is None or x >= 0) for x in r)
        ),
        "group_spread": lambda x: _is_number(x, missing=True) and (x is None or x >= 0),
        "group_exact": lambda x: isinstance(x, bool),
    }
    for key, ok in checks.items():
        values = d[key]
        if not (isinstance(values, list) and len(values) == m and all(ok(x) for x in values)):
            raise _fail(f"{key} must hold one valid entry per group")
    if any(c > r for c, r in zip(d["group_contributors"], d["group_records"], strict=True)):
        raise _fail("a group has more contributors than records")
    terms, equations = d["terms"], d["equations"]
    for key, names in (("terms", terms), ("equations", equations)):
        if not (isinstance(names, list) and all(isinstance(x, str) for x in names)):
            raise _fail(f"{key} must be a list of names")
    if len(terms) * max(len(equations), 1) != d["n_params"]:
        raise _fail("n_params must be the number of terms times the equations")

    def floats(values: list) -> np.ndarray:
        return np.asarray([np.nan if x is None else x for x in values], dtype=np.float64)

    return RegressionEvidence(
        model=d["model"], n_obs=d["n_obs"], df_resid=float(d["df_resid"]),
        n_params=d["n_params"], saturation=tuple(sat), outcome=d["outcome"],
        weighted=d["weighted"], has_contributor=d["has_contributor"],
        searched_below=d["searched_below"], incomplete=tuple(incomplete),
        groups=tuple(groups), kinds=tuple(d["kinds"]),
        group_records=np.asarray(d["group_records"], dtype=np.int64),
        group_contributors=floats(d["group_contributors"]),
        group_total=floats(d["group_total"]),
        group_top=np.asarray([floats(r) for r in d["group_top"]]).reshape(-1, TOP_K),
        group_spread=floats(d["group_spread"]),
        group_exact=np.asarray(d["group_exact"], dtype=bool),
        terms=tuple(terms), equations=tuple(equations),
    )  # fmt: skip
