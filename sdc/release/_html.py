"""HTML building blocks: inert text, numbers, and any JSON value drawn generically.

Every string that reaches the HTML report passes through :func:`text`: it is
escaped for element content and attribute values alike, and every character
that could change how the text around it is shown (control characters, bidi
overrides and isolates, zero-width and other format characters, line and
paragraph separators, unassigned and private-use code points) is replaced by a
visible ``U+XXXX`` marker. A label written by a researcher therefore renders as
exactly the characters it holds and can neither add markup nor reorder the page.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

#: Unicode categories shown as a visible marker instead of the character itself.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

#: Nested values deeper than this are shown as their ``repr``, cut short.
_MAX_DEPTH = 6
#: Items of a list or mapping shown before "... and N more".
_MAX_ITEMS = 200


def _visible(ch: str) -> str:
    if unicodedata.category(ch) in _HIDDEN:
        return f"\x00U+{ord(ch):04X}\x01"
    return ch


def text(value: Any) -> str:
    """``value`` as inert HTML text (safe in element content and in quoted attributes).

    Examples
    --------
    >>> text('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    >>> text("abc\\u202edef")
    'abc<span class="cc">U+202E</span>def'
    """
    s = str(value)
    if any(unicodedata.category(ch) in _HIDDEN for ch in s):
        s = "".join(_visible(ch) for ch in s)
        s = html.escape(s, quote=True)
        return s.replace("\x00", '<span class="cc">').replace("\x01", "</span>")
    return html.escape(s, quote=True)


def attr(value: Any) -> str:
    """``value`` for a quoted attribute: as :func:`text`, markers written as plain ``U+XXXX``.

    >>> attr('a"b\\u202e')
    'a&quot;bU+202E'
    """
    s = "".join(f"U+{ord(ch):04X}" if unicodedata.category(ch) in _HIDDEN else ch
                for ch in str(value))  # fmt: skip
    return html.escape(s, quote=True)


def number(x: Any) -> str:
    """A number as the report shows it: thousands separated, at most 10 significant digits.

    ``None`` (a withheld or missing value) is an en dash; anything that is not a
    number is shown as text.

    >>> number(36501.41000000001), number(1.0000000000000002), number(None), number(3329)
    ('36,501.41', '1', '–', '3,329')
    """
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return text(x)
    if isinstance(x, float) and not math.isfinite(x):
        return text(x)
    return f"{x:,.10g}" if isinstance(x, float) else f"{x:,}"


def labels_text(labels: Mapping[str, Any]) -> str:
    """A cell's labels as ``dim=label, ...``, each part isolated from the text around it.

    >>> labels_text({"region": "N", "sex": "F"})
    '<bdi>region=N</bdi>, <bdi>sex=F</bdi>'
    """
    return ", ".join(f"<bdi>{text(k)}={text(v)}</bdi>" for k, v in labels.items())


def generic(value: Any, depth: int = 0) -> str:
    """Any JSON value as HTML: mappings as definition lists, lists as lists, the rest as text.

    Used for fields this version of the report does not know, so a newer report
    still renders (and shows everything it holds).

    >>> generic({"trust": "signed", "keys": ["a", "b"]})  # doctest: +NORMALIZE_WHITESPACE
    '<dl class="kv"><dt>trust</dt><dd>signed</dd><dt>keys</dt><dd><ul class="plain"><li>a</li>...'
    """
    if depth >= _MAX_DEPTH:
        shown = repr(value)
        return text(shown if len(shown) <= 200 else shown[:197] + "...")
    if isinstance(value, Mapping):
        if not value:
            return "<em>(empty)</em>"
        items = list(value.items())
        parts = [
            f"<dt>{text(k)}</dt><dd>{generic(v, depth + 1)}</dd>" for k, v in items[:_MAX_ITEMS]
        ]
        return f'<dl class="kv">{"".join(parts)}{_more(len(items))}</dl>'
    if isinstance(value, (list, tuple)):
        if not value:
            return "<em>(none)</em>"
        parts = [f"<li>{generic(v, depth + 1)}</li>" for v in value[:_MAX_ITEMS]]
        more = f"<li>{_more(len(value))}</li>" if len(value) > _MAX_ITEMS else ""
        return f'<ul class="plain">{"".join(parts)}{more}</ul>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value)
    if value is None:
        return "<em>null</em>"
    return text(value)


def _more(n: int) -> str:
    return f"<em>... and {n - _MAX_ITEMS} more</em>" if n > _MAX_ITEMS else ""


def rows(
    cells: Iterable[Iterable[str]], head: Iterable[str], cls: str, num: Iterable[int] = ()
) -> str:
    """A plain HTML table from already-rendered cell contents (header escaped here).

    ``num``: the columns (by position) of numbers, aligned right.
    """
    right = set(num)
    th = "".join(
        f'<th class="num">{text(h)}</th>' if k in right else f"<th>{text(h)}</th>"
        for k, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if k in right else f"<td>{c}</td>"
            for k, c in enumerate(row)
        )
        + "</tr>"
        for row in cells
    )
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'
