"""Populations: which records an output covers, and the filter expressions that select them.

A researcher selects records by filtering a DataFrame (``df[df.age < 90]``) before
tabulating it: the rows' index then tells which records an output covers. A
filter can also be given as an expression (``population="age < 90"``); the
session applies it and the manifest stores it, so the gate can apply it again to
the data it is given.

Expressions are read, never run: a small language checked node by node
(comparisons of a column with literals, ``in`` / ``not in`` a list of literals,
``.isna()`` / ``.notna()``, combined with ``and`` / ``or`` / ``not`` or ``&`` /
``|`` / ``~``; column names with spaces in backticks, as in ``DataFrame.query``).
A comparison with a number compares numbers (text that is not a number, and a
missing value, compare false; ``!=`` true); with text it compares the values'
text, so a CSV column read as text selects the same records as the typed column
did in the session.

What a definition records (:func:`population_entry`) is the expression, the
number of records covered and a fingerprint of their row labels (never a label
itself), and the same for the rows the expression was applied to (``base``).
"""

from __future__ import annotations

import ast
import hashlib
import re
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error
from sdc.canonical import label_text
from sdc.definition import le_bytes

#: Longest expression accepted (characters).
MAX_EXPRESSION = 2000
_BACKTICK = re.compile(r"`([^`]+)`")
_COMPARE = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}  # fmt: skip


class _Bad(Exception):
    """The expression uses something the language does not have (the message says what)."""


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float) and not isinstance(node.operand.value, bool)
    ):  # fmt: skip
        return -node.operand.value
    raise _Bad(f"{ast.unparse(node)!r} is not a number, text or True/False")


def to_numbers(series: pd.Series) -> np.ndarray:
    """Each value as a float (NaN where it is no number), as ``pd.to_numeric`` reads it;
    a text column (a CSV read at the gate) converts each distinct value once (ten times
    faster on a million rows of a few hundred values).

    Examples
    --------
    >>> to_numbers(pd.Series(["1", "2.5", "x", None, "1"])).tolist()
    [1.0, 2.5, nan, nan, 1.0]
    """
    if not pd.api.types.is_numeric_dtype(series.dtype):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        per_value = np.append(_coerce(pd.Series(np.asarray(uniques, dtype=object))), np.nan)
        return per_value[codes]  # code -1 (missing): the NaN appended
    return _coerce(series)


def _coerce(series: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(series, errors="coerce")
    if pd.api.types.is_bool_dtype(numbers.dtype):
        numbers = numbers.astype(np.float64)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


class _Evaluator:
    """Evaluates a parsed expression on the columns of a DataFrame, as boolean arrays."""

    def __init__(self, frame: pd.DataFrame, names: dict[str, str],
                 cache: dict[Any, Any] | None = None) -> None:  # fmt: skip
        self.frame = frame
        self.names = names
        self.read: set[str] = set()
        #: Each column's numbers and text codes, read once (shared by the expressions
        #: evaluated on one frame).
        self.cache: dict[Any, Any] = {} if cache is None else cache

    def _numbers(self, series: pd.Series) -> np.ndarray:
        key = ("numbers", series.name)
        if key not in self.cache:
            self.cache[key] = to_numbers(series)
        return self.cache[key]

    def _texts(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        key = ("texts", series.name)
        if key not in self.cache:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            texts = np.array([label_text(_plain(u)) for u in uniques] + [""], dtype=object)
            self.cache[key] = (np.where(codes < 0, len(uniques), codes), texts)
        return self.cache[key]

    def column(self, node: ast.AST) -> pd.Series:
        if not isinstance(node, ast.Name):
            raise _Bad(f"{ast.unparse(node)!r} is not a column name")
        name = self.names.get(node.id, node.id)
        if name not in self.frame.columns:
            raise _Bad(f"the data have no column {name!r}")
        self.read.add(name)
        return self.frame[name]

    def compare(self, series: pd.Series, op: ast.cmpop, value: Any) -> np.ndarray:
        if isinstance(op, ast.In | ast.NotIn):
            values = value if isinstance(value, list) else [value]
            hit = np.zeros(len(series), dtype=bool)
            for v in values:
                hit |= self.compare(series, ast.Eq(), v)
            return ~hit if isinstance(op, ast.NotIn) else hit
        if type(op) not in _COMPARE:
            raise _Bad(f"the comparison {type(op).__name__} is not supported")
        if isinstance(value, int | float) and not isinstance(value, bool):
            x = self._numbers(series)
            with np.errstate(invalid="ignore"):
                out = _COMPARE[type(op)](x, float(value))
            return out | (np.isnan(x) & isinstance(op, ast.NotEq))
        codes, texts = self._texts(series)
        per_text = np.asarray(_COMPARE[type(op)](texts, label_text(value)), dtype=bool)
        per_text[-1] = isinstance(op, ast.NotEq)  # a missing value
        return per_text[codes]

    def __call__(self, node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.BoolOp):
            parts = [self(v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr):
            a, b = self(node.left), self(node.right)
            return (a & b) if isinstance(node.op, ast.BitAnd) else (a | b)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            return ~self(node.operand)
        if isinstance(node, ast.Compare):
            out = np.ones(len(self.frame), dtype=bool)
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(left, ast.Name):
                    col, value_node, cmp = left, right, op
                elif isinstance(right, ast.Name) and not isinstance(op, ast.In | ast.NotIn):
                    col, value_node, cmp = right, left, _flipped(op)
                else:
                    raise _Bad(f"{ast.unparse(node)!r} compares no column with a value")
                if isinstance(cmp, ast.In | ast.NotIn):
                    if not isinstance(value_node, ast.List | ast.Tuple):
                        raise _Bad("'in' needs a list of values, e.g. region in ['N', 'S']")
                    value: Any = [_literal(e) for e in value_node.elts]
                else:
                    value = _literal(value_node)
                out &= self.compare(self.column(col), cmp, value)
                left = right
            return out
        if (
            isinstance(node, ast.Call) and not node.args and not node.keywords
            and isinstance(node.func, ast.Attribute) and node.func.attr in ("isna", "notna")
        ):  # fmt: skip
            missing = self.column(node.func.value).isna().to_numpy()
            return missing if node.func.attr == "isna" else ~missing
        raise _Bad(f"{ast.unparse(node)!r} is not a comparison of a column with values")


def _flipped(op: ast.cmpop) -> ast.cmpop:
    flip = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
    return flip.get(type(op), type(op))()


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    return x if isinstance(x, str | int | float | bool) else str(x)


def parse(expression: Any, func: str) -> tuple[ast.AST, dict[str, str]]:
    """The expression's syntax tree and its backtick names (``SdcInputError`` if not valid)."""
    if not isinstance(expression, str) or not expression.strip():
        raise input_error("population", func, "a filter expression such as 'age < 90'",
                          expression)  # fmt: skip
    if len(expression) > MAX_EXPRESSION:
        raise input_error("population", func, f"at most {MAX_EXPRESSION} characters",
                          f"{len(expression)} characters")  # fmt: skip
    names: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        key = f"__column_{len(names)}__"
        names[key] = m.group(1)
        return key

    try:
        tree = ast.parse(_BACKTICK.sub(name, expression.strip()), mode="eval").body
    except SyntaxError:
        raise input_error("population", func, "a valid filter expression", expression,
                          "Write e.g. \"age < 90 and region != 'N'\".") from None  # fmt: skip
    return tree, names


def evaluate(expression: str, frame: pd.DataFrame, func: str,
             cache: dict[Any, Any] | None = None) -> np.ndarray:  # fmt: skip
    """The records of ``frame`` the expression selects, as a boolean mask.

    ``cache``: a dict kept between calls on the same ``frame`` (each column is then
    converted once).

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30, 95, None], "sex": ["F", "M", "F"]})
    >>> evaluate("age < 90 and sex == 'F'", df, "f").tolist()
    [True, False, False]
    >>> evaluate("(sex in ['M']) | age.isna()", df, "f").tolist()
    [False, True, True]
    """
    tree, names = parse(expression, func)
    try:
        mask = _Evaluator(frame, names, cache)(tree)
    except _Bad as exc:
        raise input_error("population", func, "a filter over columns of the data", expression,
                          f"Here {exc}.") from None  # fmt: skip
    return np.asarray(mask, dtype=bool)


def columns_read(expression: str) -> list[str]:
    """The columns an expression reads (in order of appearance).

    Examples
    --------
    >>> columns_read("age < 90 and `smoking status` == 'never'")
    ['age', 'smoking status']
    """
    tree, names = parse(expression, "columns_read")
    out = [names.get(n.id, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(out))


def select(data: Any, population: str | None, func: str) -> pd.DataFrame:
    """``data`` restricted to the records ``population`` selects (all when None)."""
    if population is None:
        return data
    if not isinstance(data, pd.DataFrame):
        raise input_error("data", func, "a pandas DataFrame when population is given",
                          type(data).__name__)  # fmt: skip
    mask = evaluate(population, data, func)
    if not mask.any():
        raise input_error("population", func, "a filter that selects some records", population,
                          "It selects none of the data.")  # fmt: skip
    return data[mask]


def index_fingerprint(index: pd.Index) -> str | None:
    """Fingerprint of a set of row labels (their order plays no part); None if one repeats.

    Integer labels (a ``RangeIndex``, positions in a file) are hashed as numbers,
    any other label by its text.

    Examples
    --------
    >>> index_fingerprint(pd.Index([2, 0, 1])) == index_fingerprint(pd.RangeIndex(3))
    True
    >>> index_fingerprint(pd.Index([0, 0])) is None
    True
    """
    if not index.is_unique:
        return None
    h = hashlib.sha256(b"sdc row labels v1\n")
    if pd.api.types.is_integer_dtype(index.dtype):
        h.update(b"int\n")
        labels = index.to_numpy(dtype=np.int64)
        if not index.is_monotonic_increasing:  # a filtered frame's labels mostly are
            labels = np.sort(labels)
        h.update(le_bytes(labels, "<i8"))
    else:
        h.update(b"text\n")
        for text in sorted(str(x) for x in index):
            h.update(text.encode("utf-8", "surrogatepass") + b"\n")
    return "sha256:" + h.hexdigest()


def population_entry(index: pd.Index | None, expression: str | None,
                     base: pd.Index | None) -> dict[str, Any]:  # fmt: skip
    """What a definition records of an output's population (no row label, no value).

    ``index``: the rows the output covers (None when they have no labels, e.g.
    arrays); ``base``: the rows ``expression`` was applied to.

    Examples
    --------
    >>> e = population_entry(pd.RangeIndex(3), "age < 90", pd.RangeIndex(5))
    >>> e["expression"], e["rows"], e["base"]["rows"]
    ('age < 90', 3, 5)
    """
    printed = None if index is None else index_fingerprint(index)
    if base is None or base is index or (index is not None and base.equals(index)):
        base, base_printed = index, printed  # the same rows: hashed once
    else:
        base_printed = index_fingerprint(base)
    return {
        "expression": expression,
        "rows": None if index is None else len(index),
        "index": printed,
        "base": {"rows": None if base is None else len(base), "index": base_printed},
    }


def data_key(rows: int, index_print: str | None) -> str | None:
    """The key under which a registry files outputs of one dataset (see :func:`dataset_key`)."""
    if index_print is None:
        return None
    text = f"sdc dataset v1\n{int(rows)}\n{index_print}"
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def dataset_key(definition: Any) -> str | None:
    """The dataset an output's records belong to, for the release registry (or None).

    It depends only on the rows the output's population was selected from (their
    number and labels): every output made from one data file shares it, whatever
    columns, filter or grouping it used. The gate computes it for the data given
    with ``--data`` (rows numbered from 0) and asks the registry for the outputs
    released under it.

    Examples
    --------
    >>> d = {"population": population_entry(pd.RangeIndex(3), "age < 90", pd.RangeIndex(5))}
    >>> dataset_key(d) == data_key(5, index_fingerprint(pd.RangeIndex(5)))
    True
    """
    if not isinstance(definition, dict) or not isinstance(definition.get("population"), dict):
        return None
    base = definition["population"].get("base")
    if not isinstance(base, dict) or not isinstance(base.get("rows"), int):
        return None
    fp = base.get("index")
    return data_key(base["rows"], fp if isinstance(fp, str) else None)


def check_population(population: Any, func: str) -> str | None:
    """``population`` as given (None or a valid expression); raises ``SdcInputError``."""
    if population is None:
        return None
    parse(population, func)
    return str(population).strip()
