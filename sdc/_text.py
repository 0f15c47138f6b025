"""Text that names things (labels, output names, terms): what is refused, what looks alike.

Labels and names end up in released CSV files, in reports and on screens. Three
rules keep them honest:

- **refused characters**: control characters (a newline in a label would write
  fake lines into a text report), format characters (zero-width spaces,
  right-to-left overrides), line and paragraph separators, surrogates, private
  use and unassigned code points. :func:`refused_characters` lists them;
  :func:`printable` escapes them for display.
- **mixed scripts**: a label whose letters come from several alphabets that can
  be confused (Latin, Cyrillic, Greek, ...), such as a Cyrillic "І" in "Іsles".
- **collisions**: two different labels of one table that are the same after
  Unicode NFKC normalisation and whitespace trimming ("N" and a full-width "Ｎ",
  "Isles" and "Isles "). Case is kept: "L" and "l" are distinct codes in many
  classifications.

Only the standard library is used, so any layer may import this module.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

#: Unicode general categories never allowed in a label or name.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

#: Prefixes of character names that say how a letter is drawn, not its alphabet.
_STYLE_PREFIXES = ("FULLWIDTH", "HALFWIDTH", "MATHEMATICAL", "MODIFIER", "SMALL", "CIRCLED")

#: Alphabets written together in one language count as one script.
_SCRIPT_FAMILIES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "BOPOMOFO": "CJK"}

#: Scripts that mix with Latin letters without being confused with them.
_MIXES_WITH_LATIN = frozenset({"CJK"})


def refused_characters(text: str) -> list[str]:
    """The code points of ``text`` that a label or name may not hold (as ``U+XXXX``).

    Examples
    --------
    >>> refused_characters("North")
    []
    >>> refused_characters("N\\nsdc report: PASS")
    ['U+000A']
    >>> refused_characters("Is\\u200bles")
    ['U+200B']
    """
    return [f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) in REFUSED_CATEGORIES]


def printable(text: str) -> str:
    """``text`` with every refused character escaped (``\\n`` becomes ``\\u000a``).

    Examples
    --------
    >>> printable("a\\nb\\tc")
    'a\\\\u000ab\\\\u0009c'
    """
    out = []
    for ch in text:
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out)


def _script(ch: str) -> str | None:
    """The alphabet of a letter (from its Unicode name), None for anything else."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    words = unicodedata.name(ch, "").split()
    while words and words[0] in _STYLE_PREFIXES:
        words = words[1:]
    if not words:
        return None
    return _SCRIPT_FAMILIES.get(words[0], words[0])


def scripts(text: str) -> set[str]:
    """The alphabets the letters of ``text`` come from.

    Examples
    --------
    >>> sorted(scripts("Isles"))
    ['LATIN']
    >>> sorted(scripts("\\u0406sles"))  # a Cyrillic capital I, then Latin
    ['CYRILLIC', 'LATIN']
    """
    return {s for s in map(_script, text) if s is not None}


def mixes_scripts(text: str) -> bool:
    """True when ``text`` mixes alphabets that can be confused with each other."""
    found = scripts(text)
    if "LATIN" in found:
        found -= _MIXES_WITH_LATIN
    return len(found) > 1


def collision_key(text: str) -> str:
    """What a label looks like: NFKC-normalised, whitespace trimmed and collapsed.

    Examples
    --------
    >>> collision_key(" \\uff2eorth ") == collision_key("North")
    True
    >>> collision_key("north") == collision_key("North")
    False
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


def lookalikes(labels: Iterable[str]) -> list[str]:
    """Why some of ``labels`` (of one table) could be mistaken for others; ``[]`` if none.

    Labels are shown with :func:`ascii`, so that a reader sees which characters differ.

    Examples
    --------
    >>> lookalikes(["North", "South"])
    []
    >>> print(lookalikes(["N", "\\uff2e"])[0][:34])
    labels 'N' and '\\uff2e' look alike
    >>> lookalikes(["\\u0406sles"])
    ["label '\\\\u0406sles' mixes alphabets (CYRILLIC, LATIN)"]
    """
    distinct = list(dict.fromkeys(labels))
    reasons = [
        f"label {t!a} mixes alphabets ({', '.join(sorted(scripts(t)))})"
        for t in distinct
        if mixes_scripts(t)
    ]
    groups: dict[str, list[str]] = {}
    for t in distinct:
        groups.setdefault(collision_key(t), []).append(t)
    for same in groups.values():
        if len(same) > 1:
            shown = " and ".join(ascii(t) for t in same[:5])
            reasons.append(
                f"labels {shown} look alike (equal after Unicode NFKC normalisation and "
                "whitespace trimming)"
            )
    return reasons
