"""Plots released as data + image: SVG drawn from the released table only.

An image is only as safe as the numbers it shows, and a gate cannot read
numbers back out of pixels. So a plot made through the engine is drawn, by the
functions here, from nothing but the released CSV text (read back as strings),
and the drawing is deterministic: the gate re-draws the image from the CSV it
has checked and releases the image only if the two are byte for byte the same.
An image that shows anything else (an unsuppressed bin, a raw event time) does
not match and fails.

Two kinds of plot: a bar chart of a one-dimensional count table (a histogram's
bins, in table order; suppressed bins are marked, not drawn) and the step curves
of a released Kaplan-Meier table (each pooled step drawn from its start to its
end; the last, open step ends at the axis, not at the largest follow-up time).
"""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from sdc.canonical import read_csv, read_text
from sdc.exceptions import SdcInputError

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 40, 96
#: Colours of the groups of a survival plot, in turn.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


class Plottable:
    """An output that can be drawn: set ``plot = True`` to release the image with it.

    The output supplies ``name``, ``kind``, ``statistic`` and ``released_csv()``.
    """

    plot: bool = False

    def svg(self) -> str:
        """The plot of what is released (SVG text), as finalise writes it."""
        out: Any = self
        return draw(out.kind, out.statistic, out.released_csv(), out.name)


def read_released(csv_text: str) -> pd.DataFrame:
    """The released CSV (in its one serialisation, :mod:`sdc.canonical`) as strings."""
    rows = [[read_text(f) for f in row] for row in read_csv(csv_text.encode("utf-8"), 10**9)]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise SdcInputError("a released CSV needs a header and rows of as many fields.")
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=str)


def draw(kind: str, statistic: str | None, csv_text: str, title: str) -> str:
    """The plot of a released CSV: what finalise writes and what the gate re-draws."""
    frame = read_released(csv_text)
    if kind == "survival":
        return survival_svg(frame, title)
    if statistic == "histogram" or (statistic == "count" and frame.shape[1] == 2):
        return bar_chart_svg(frame, title)
    raise SdcInputError(f"output {title!r}: no plot is drawn for a {kind} of {statistic!r}.")


def bar_chart_svg(frame: pd.DataFrame, title: str) -> str:
    """Bars of a one-dimensional table: first column the labels, second the values."""
    if frame.shape[1] != 2:
        raise SdcInputError(f"a bar chart needs a one-dimensional table; got {frame.shape[1]} "
                            "columns.")  # fmt: skip
    label_col, value_col = frame.columns
    labels = frame[label_col].tolist()
    values = [_number(v, value_col) for v in frame[value_col]]
    top = _nice_ceiling(max([v for v in values if v is not None] + [1.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    y_label = "records" if value_col in ("histogram", "count") else str(value_col)
    parts = _frame_svg(title, str(label_col), y_label, top)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot
        cx = x + slot / 2
        if v is None:
            parts.append(f'<text x="{cx:.1f}" y="{TOP + plot_h - 4:.1f}" font-size="9" '
                         'text-anchor="middle" fill="#888">suppressed</text>')  # fmt: skip
        else:
            h = plot_h * v / top
            parts.append(f'<rect x="{x + slot * 0.1:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{slot * 0.8:.1f}" height="{h:.1f}" fill="#4c72b0"/>')  # fmt: skip
        parts.append(
            f'<text x="{cx:.1f}" y="{TOP + plot_h + 12:.1f}" font-size="9" text-anchor="end" '
            f'transform="rotate(-45 {cx:.1f} {TOP + plot_h + 12:.1f})">{escape(label)}</text>'
        )
    return _document(parts)


def survival_svg(frame: pd.DataFrame, title: str) -> str:
    """Step curves of a released Kaplan-Meier table (columns of ``sdc.regression.survival``)."""
    groups = list(dict.fromkeys(frame["group"].tolist()))
    starts = [_value(v, "start") for v in frame["start"]]
    x_end = _nice_ceiling(max(starts) * 1.2 if max(starts, default=0) > 0 else 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(t: float) -> float:
        return LEFT + plot_w * t / x_end

    def py(s: float) -> float:
        return TOP + plot_h * (1.0 - s)

    parts = _frame_svg(title, "time", "survival", 1.0, x_end=x_end)
    for g, group in enumerate(groups):
        rows = frame[frame["group"] == group]
        colour = PALETTE[g % len(PALETTE)]
        level = 1.0
        points = []
        for _, row in rows.iterrows():
            start = _value(row["start"], "start")
            end = _number(row["end"], "end")
            survival = _value(row["survival"], "survival")
            stop = x_end if end is None else end
            points += [(start, level), (stop, level)]
            if end is not None:
                level = survival
            else:  # the open last step: its value is shown at the axis end
                points.append((stop, survival))
        path = " ".join(f"{px(t):.1f},{py(s):.1f}" for t, s in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')  # fmt: skip
        ly = TOP + 14 * (g + 1)
        parts.append(f'<rect x="{WIDTH - RIGHT - 150}" y="{ly - 9}" width="10" height="10" '
                     f'fill="{colour}"/>')  # fmt: skip
        parts.append(f'<text x="{WIDTH - RIGHT - 136}" y="{ly}" font-size="11">'
                     f"{escape(str(group))}</text>")  # fmt: skip
    return _document(parts)


def _frame_svg(
    title: str, x_label: str, y_label: str, y_top: float, x_end: float | None = None
) -> list[str]:
    """Title, axes, axis labels and ticks (y from 0 to ``y_top``; x when ``x_end`` is given)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x0, y0 = LEFT, TOP + plot_h
    parts = [
        f'<text x="{WIDTH / 2:.1f}" y="22" font-size="14" text-anchor="middle">'
        f"{escape(title)}</text>",
        f'<line x1="{x0}" y1="{TOP}" x2="{x0}" y2="{y0}" stroke="black"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0 + plot_w}" y2="{y0}" stroke="black"/>',
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>',
        f'<text x="{x0 + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="11" '
        f'text-anchor="middle">{escape(x_label)}</text>',
    ]
    for k in range(5):
        v = y_top * k / 4
        y = y0 - plot_h * k / 4
        parts.append(f'<line x1="{x0 - 4}" y1="{y:.1f}" x2="{x0}" y2="{y:.1f}" stroke="black"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 3:.1f}" font-size="9" '
                     f'text-anchor="end">{_tick(v)}</text>')  # fmt: skip
    if x_end is not None:
        for k in range(5):
            v = x_end * k / 4
            x = x0 + plot_w * k / 4
            parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}" '
                         'stroke="black"/>')  # fmt: skip
            parts.append(f'<text x="{x:.1f}" y="{y0 + 16}" font-size="9" '
                         f'text-anchor="middle">{_tick(v)}</text>')  # fmt: skip
    return parts


def _document(parts: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family={quoteattr("sans-serif")}>'
    )
    body = [f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>', *parts]
    return "\n".join([head, *body, "</svg>"]) + "\n"


def _value(text: str, column: str) -> float:
    """A released number that must be there."""
    value = _number(text, column)
    if value is None:
        raise SdcInputError(f"cannot plot an empty value in column {column!r}.")
    return value


def _number(text: str, column: str) -> float | None:
    """A released number; '' (suppressed, or an open end) is None."""
    if text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise SdcInputError(f"cannot plot {text!r} in column {column!r}: not a number.") from None
    if not math.isfinite(value):
        raise SdcInputError(f"cannot plot {text!r} in column {column!r}: not finite.")
    return value


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``x`` (axis ends with round ticks)."""
    if x <= 0:
        return 1.0
    p = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * p >= x * (1 - 1e-12):
            return m * p
    return 10.0 * p


def _tick(v: float) -> str:
    return f"{v:.6g}"
