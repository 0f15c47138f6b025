"""The result tables of ``benchmarks/README.md``, shown in the documentation as they are there.

The README stays the one place the figures are written: this module takes its
tables (with the heading each sits under, and the sentence that introduces it
when that sentence ends with a colon) and nothing else of its prose.
"""

from __future__ import annotations

import re


def benchmark_tables(readme: str, level: int = 3) -> str:
    """Every Markdown table of ``readme`` under its section heading, as Markdown.

    >>> text = "# B\\n\\n## Speed\\n\\nMedian of 3:\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n"
    >>> print(benchmark_tables(text))
    ### Speed
    <BLANKLINE>
    Median of 3:
    <BLANKLINE>
    | a | b |
    |---|---|
    | 1 | 2 |
    <BLANKLINE>
    """
    out: list[str] = []
    heading = None  # the section a table is in; None before the first section
    shown = None
    paragraph: list[str] = []  # the paragraph being read
    before: list[str] = []  # the paragraph just before the current line (blank lines apart)
    in_code = False
    lines = readme.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_code, paragraph, before = not in_code, [], []
        elif in_code:
            pass
        elif m := re.match(r"(#{1,6}) (.*)", line):
            heading = m.group(2).strip() if len(m.group(1)) > 1 else None
            paragraph, before = [], []
        elif line.startswith("|"):
            table = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append(lines[i])
                i += 1
            if heading is not None:
                if heading != shown:
                    out.append("#" * level + f" {heading}\n")
                    shown = heading
                intro = " ".join(paragraph or before)
                if intro.endswith(":"):
                    out.append(intro + "\n")
                out.append("\n".join(table) + "\n")
            paragraph, before = [], []
            continue
        elif line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            before, paragraph = paragraph, []
        i += 1
    return "\n".join(out)
