"""The rule-set reference, generated from the code at build time (never written by hand).

Reads the rule registry (``sdc.rules.RULES``: each rule's function, parameter
class and protection level), the sections and statistics that
``sdc.ruleset.RuleSet`` accepts, the ``[protection]`` parameters, and every
shipped preset (``rules/presets/*.toml``: its cited sources, its file and its
effective values). :func:`ruleset_reference` returns MyST Markdown.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import tomllib
from typing import Any

#: What each top-level key of a rule file that is not a rule id means. A key the
#: rule-set loader accepts and this map lacks stops the build (see `_top_keys`).
TOP_KEYS = {
    "extends": "a preset name or a path (relative to this file) whose values this file "
    "starts from; sections are merged key by key, `name` and `description` are not inherited",
    "name": "the rule set's name, shown in every report (default: the file's stem)",
    "description": "one line saying what the rule set is for",
    "statistics": "the class map: for each statistic an output may publish, the rule ids "
    "that apply to it (every statistic needs an entry)",
    "protection": "what is done with failing cells when a protected table is asked for "
    "(see [protection] below)",
    "gate": "the caps on what the gate reads of a request folder (see [gate] below)",
    "release": "the approvals `sdc release` needs before anything of a request leaves "
    "(see [release] below)",
}

_KIND_OF_STATISTIC = {
    "coefficients": "regression coefficients",
    "survival": "survival tables",
    "model": "trained models",
}


def _doc(obj: Any) -> str:
    """A docstring as Markdown: its text before the Examples section, roles made code."""
    text = inspect.getdoc(obj) or ""
    text = re.split(r"\n\s*Examples\n\s*-+\n", text)[0].strip()
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)


def _one_line(text: str) -> str:
    """Text fit for one table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _escape(text: str) -> str:
    """Plain text (a TOML comment) shown literally in Markdown."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _type_name(f: dataclasses.Field) -> str:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return "list of strings" if kind.startswith("tuple") else kind


def _value(v: Any) -> str:
    """A value as TOML writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(v)


def constraint(f: dataclasses.Field) -> str:
    """The values a parameter accepts, from its field metadata (what the loader checks).

    >>> import dataclasses
    >>> bounds = {"min": 0, "max": 1, "low_open": True}
    >>> @dataclasses.dataclass
    ... class P:
    ...     k: float = dataclasses.field(default=0.5, metadata=bounds)
    >>> constraint(dataclasses.fields(P)[0])
    '0 < k <= 1'
    """
    meta = f.metadata
    if "choices" in meta:
        return "one of " + ", ".join(_value(c) for c in meta["choices"])
    lo, hi = meta.get("min"), meta.get("max")
    low_op = "<" if meta.get("low_open") else "<="
    if lo is not None and hi is not None:
        return f"{lo} {low_op} {f.name} <= {hi}"
    if lo is not None:
        return f"{f.name} {'>' if meta.get('low_open') else '>='} {lo}"
    if hi is not None:
        return f"{f.name} <= {hi}"
    return "true or false" if _type_name(f) == "bool" else "any " + _type_name(f)


def _field_table(cls: type, section: str, presets: dict[str, Any]) -> list[str]:
    """One row per parameter: type, accepted values, built-in default, each preset's value."""
    names = list(presets)
    rows = [
        "| setting | type | accepted values | built-in | "
        + " | ".join(f"`{n}`" for n in names)
        + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for f in dataclasses.fields(cls):
        values = []
        for p in presets.values():
            obj = {"protection": p.protection, "gate": p.gate, "release": p.release}.get(section)
            obj = p.params[section] if obj is None else obj
            values.append(f"`{_value(getattr(obj, f.name))}`")
        rows.append(
            f"| `{f.name}` | {_type_name(f)} | {_one_line(constraint(f))} "
            f"| `{_value(f.default)}` | " + " | ".join(values) + " |"
        )
    return rows


def _preset_header(text: str) -> str:
    """The comment block that opens a preset file: its sources."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].removeprefix(" "))
    return "\n".join(_escape(line) for line in lines).strip()


def _output_kinds(rule_id: str, allowed: dict[str, tuple[str, ...]]) -> str:
    kinds = []
    for stat, rules in allowed.items():
        if rule_id in rules:
            kind = _KIND_OF_STATISTIC.get(stat, "tables")
            if kind not in kinds:
                kinds.append(kind)
    return ", ".join(kinds)


def _top_keys(accepted: set[str], rule_ids: set[str]) -> list[str]:
    unknown = sorted(accepted - rule_ids - set(TOP_KEYS))
    if unknown:
        raise RuntimeError(
            f"the rule-set loader accepts the key {unknown[0]!r}, which the reference does not "
            "describe: add it to TOP_KEYS in docs/_ext/sdc_rulesets.py"
        )
    return [k for k in TOP_KEYS if k in accepted or k == "extends"]


def ruleset_reference() -> str:
    """The whole reference page body (below its title) as MyST Markdown.

    >>> text = ruleset_reference()
    >>> "`nk-dominance`" in text and "### `acro`" in text
    True
    """
    from sdc.rules import PRESET_DIR, RULES

    from sdc import ruleset as rs
    from sdc.caps import GateParams, ReleaseParams
    from sdc.protection.params import ProtectionParams

    out: list[str] = []
    add = out.append
    presets = {name: rs.RuleSet.load(name) for name in rs.preset_names()}

    add("## Rules\n")
    add(
        "Every rule id the engine knows, from the registry `sdc.rules.RULES`. A rule is a "
        "pure function of per-cell (or per-model) evidence and its parameters; its section "
        "in a rule file sets the parameters below.\n"
    )
    add("| rule id | unsafe when | may apply to |")
    add("|---|---|---|")
    for rid, spec in RULES.items():
        add(
            f"| [`{rid}`](#rule-{rid}) | {_one_line(_doc(spec.params))} "
            f"| {_output_kinds(rid, rs.ALLOWED_RULES)} |"
        )
    add("")
    for rid, spec in RULES.items():
        add(f"(rule-{rid})=")
        add(f"### `{rid}`\n")
        add(_doc(spec.params) + "\n")
        add(_doc(spec.func) + f" (`{spec.func.__module__}.{spec.func.__name__}`)\n")
        add(
            f"Applies to: {_output_kinds(rid, rs.ALLOWED_RULES)}. Its settings "
            f"(`{spec.params.__name__}`, section `[{rid}]`), with the value each preset gives "
            "them:\n"
        )
        out.extend(_field_table(spec.params, rid, presets))
        add("")
        if spec.protection is not None:
            add(f"Protection level (what the audit must reach): {_doc(spec.protection)}\n")

    add("## Rule files\n")
    add(
        "A rule set is a TOML file. Its top level may hold these keys, plus one section per "
        "rule id (above); any other key is an error.\n"
    )
    add("| key | meaning |")
    add("|---|---|")
    for key in _top_keys(set(rs._TOP_KEYS), set(RULES)):
        add(f"| `{key}` | {_one_line(TOP_KEYS[key])} |")
    add("")

    add("### `[statistics]`\n")
    add(
        "Each statistic an output may publish, and the rules its entry may name (a rule "
        "that does not fit the kind of output is an error). Percentiles `p1` to `p99` use "
        "the `quantile` entry.\n"
    )
    add("| statistic | rules it may name |")
    add("|---|---|")
    for stat in rs.STATISTICS:
        add(f"| `{stat}` | {', '.join(f'`{r}`' for r in rs.ALLOWED_RULES[stat])} |")
    add("")

    add("### `[protection]`\n")
    add(_doc(ProtectionParams) + "\n")
    out.extend(_field_table(ProtectionParams, "protection", presets))
    add("")

    add("### `[gate]`\n")
    add(_doc(GateParams) + " Each read of a request stays within these caps; a file or a "
        "folder past one is refused and never leaves.\n")  # fmt: skip
    out.extend(_field_table(GateParams, "gate", presets))
    add("")

    add("### `[release]`\n")
    add(_doc(ReleaseParams) + " See the release workflow (`sdc release`).\n")
    out.extend(_field_table(ReleaseParams, "release", presets))
    add("")

    add("## Presets\n")
    add(
        "The rule sets shipped in `rules/presets/` (`sdc rules list`; `sdc rules show NAME` "
        "prints one in full). Each file cites the sources of its values; a value whose "
        "source could not be checked is marked \\[unverified\\].\n"
    )
    add("| preset | description | extends |")
    add("|---|---|---|")
    raw = {}
    for name in presets:
        text = (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")
        raw[name] = text
        parent = tomllib.loads(text).get("extends", "")
        add(f"| [`{name}`](#preset-{name}) | {_one_line(presets[name].description)} "
            f"| {f'`{parent}`' if parent else ''} |")  # fmt: skip
    add("")

    names = list(presets)
    add("The class map of each preset (which rules apply to which statistic):\n")
    add("| statistic | " + " | ".join(f"`{n}`" for n in names) + " |")
    add("|---|" + "---|" * len(names))
    for stat in rs.STATISTICS:
        cells = [", ".join(p.statistics[stat]) or "(none)" for p in presets.values()]
        add(f"| `{stat}` | " + " | ".join(cells) + " |")
    add("")

    for name, text in raw.items():
        add(f"(preset-{name})=")
        add(f"### `{name}`\n")
        add(_one_line(presets[name].description) + "\n")
        header = _preset_header(text)
        if header:
            add("Sources, as the file cites them:\n")
            add("\n".join("> " + line if line else ">" for line in header.splitlines()) + "\n")
        add(f"The file `rules/presets/{name}.toml`:\n")
        add("```toml\n" + text.rstrip("\n") + "\n```\n")
    return "\n".join(out)
