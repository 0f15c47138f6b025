"""Rule sets: which rules apply to which statistic, with which parameters.

A rule set is a TOML file (or a preset shipped in ``sdc.rules/presets``). A file
may ``extends = "<preset or path>"`` and override single values. Every section
and key is checked against the parameter classes the rules declare: unknown
keys, wrong types and impossible values are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdc.caps import GateParams, ReleaseParams
from sdc.exceptions import SdcRuleSetError
from sdc.protection.params import ProtectionParams
from sdc.rules import PRESET_DIR, RULES
from sdc.rules.statistic import statistic_class

#: Statistics a table may publish; each needs an entry in the ``[statistics]`` map.
STATISTICS = (
    "count", "sum", "mean", "median", "std", "var", "min", "max", "mode", "histogram",
    "coefficients", "survival", "quantile", "model", "microdata",
)  # fmt: skip

_TOP_KEYS = {"name", "description", "statistics", "protection", "gate", "release", *RULES}

#: Rules on regressions; on trained models (weights); the others apply to tables.
MODEL_RULES = ("dof", "parameters", "saturated")
TRAINED_MODEL_RULES = (
    "instance-based", "k-anonymity", "class-disclosure", "small-group", "dof",
    "hyperparameters", "raw-values", "membership-inference", "embedding",
)  # fmt: skip
#: Rules on microdata (record-level outputs); ``k-anonymity`` as for models, per key combination.
#: ``row-level`` is not applied to an output: its limits say when a released file looks
#: record-level (:func:`sdc.microdata.screening.screen_file`).
MICRODATA_RULES = ("k-anonymity", "l-diversity", "individual-risk", "global-risk", "suda")
TABLE_RULES = tuple(
    r for r in RULES if r not in {*MODEL_RULES, *TRAINED_MODEL_RULES, *MICRODATA_RULES, "row-level"}
)

#: The rules each kind of output can take in the ``[statistics]`` map: tables take the
#: table rules; regression coefficients the model rules and, for every group of records
#: they describe, counts, zeros, dominance and all-same; survival tables counts of events
#: per step and zeros.
ALLOWED_RULES = {
    **{stat: TABLE_RULES for stat in STATISTICS},
    "coefficients": (*MODEL_RULES, "threshold", "zeros", "nk-dominance", "p-percent", "all-same"),
    "survival": ("threshold", "zeros"),
    "model": TRAINED_MODEL_RULES,
    "microdata": MICRODATA_RULES,
}


def preset_names() -> list[str]:
    """Names of the shipped presets.

    Examples
    --------
    >>> preset_names()
    ['acro', 'datashield', 'default', 'opensafely']
    """
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def _where(source: str, section: str, key: str | None = None) -> str:
    return f"{source}: [{section}]" + (f" {key}" if key else "")


def _coerce(value: Any, f: dataclasses.Field, where: str) -> Any:
    """Check one TOML value against a parameter field's type and declared constraints."""
    meta = f.metadata
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind == "bool":
        if not isinstance(value, bool):
            raise SdcRuleSetError(f"{where} must be true or false; got {value!r}.")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SdcRuleSetError(f"{where} must be an integer; got {value!r}.")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SdcRuleSetError(f"{where} must be a number; got {value!r}.")
        value = float(value)
        if not math.isfinite(value):
            raise SdcRuleSetError(f"{where} must be a finite number; got {value!r}.")
    elif kind == "str":
        if not isinstance(value, str):
            raise SdcRuleSetError(f"{where} must be a string; got {value!r}.")
    elif kind.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SdcRuleSetError(f"{where} must be a list of strings; got {value!r}.")
        value = tuple(value)
    if "choices" in meta and value not in meta["choices"]:
        raise SdcRuleSetError(f"{where} must be one of {list(meta['choices'])}; got {value!r}.")
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None:
        too_low = value <= lo if meta.get("low_open") else value < lo
        if too_low:
            op = ">" if meta.get("low_open") else ">="
            raise SdcRuleSetError(f"{where} must be {op} {lo}; got {value!r}.")
    if hi is not None and value > hi:
        raise SdcRuleSetError(f"{where} must be <= {hi}; got {value!r}.")
    return value


def _params(cls: type, values: Mapping[str, Any], source: str, section: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not isinstance(values, Mapping):
        raise SdcRuleSetError(f"{source}: [{section}] must be a table of settings.")
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SdcRuleSetError(
            f"{_where(source, section, unknown[0])} is not a setting of this rule; "
            f"known settings: {', '.join(fields)}."
        )
    checked = {k: _coerce(v, fields[k], _where(source, section, k)) for k, v in values.items()}
    return cls(**checked)


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set. Build it with :meth:`load`; it holds parameters only.

    Examples
    --------
    >>> rs = RuleSet.load("acro")
    >>> rs.params["nk-dominance"]
    NKParams(n=2, k=0.9, inclusive=True)
    >>> rs.rules_for("count")
    ('threshold', 'zeros')
    >>> RuleSet.from_toml('extends = "acro"\\n[threshold]\\nt = 5\\n').params["threshold"].t
    5
    """

    name: str
    description: str
    params: Mapping[str, Any]
    statistics: Mapping[str, tuple[str, ...]]
    protection: ProtectionParams
    source: str = "<memory>"
    #: The caps on what the gate reads (``[gate]``; see :mod:`sdc.caps`).
    gate: GateParams = dataclasses.field(default_factory=GateParams)
    #: The approvals a release needs (``[release]``; see :mod:`sdc.caps`).
    release: ReleaseParams = dataclasses.field(default_factory=ReleaseParams)

    @classmethod
    def load(cls, spec: str | Path | RuleSet) -> RuleSet:
        """A preset name, a path to a TOML file, or an existing rule set."""
        if isinstance(spec, RuleSet):
            return spec
        return cls.from_dict(_load_raw(spec, ()), source=str(spec))

    @classmethod
    def from_toml(cls, text: str, source: str = "<string>") -> RuleSet:
        return cls.from_dict(_resolve(_parse(text, source), source, ()), source=source)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<dict>") -> RuleSet:
        unknown = sorted(set(raw) - _TOP_KEYS)
        if unknown:
            raise SdcRuleSetError(
                f"{source}: unknown section or key {unknown[0]!r}; known: "
                f"{', '.join(sorted(_TOP_KEYS))}."
            )
        params = {
            rid: _params(spec.params, raw.get(rid, {}), source, rid) for rid, spec in RULES.items()
        }
        stats_raw = raw.get("statistics", {})
        if not isinstance(stats_raw, Mapping):
            raise SdcRuleSetError(f"{source}: [statistics] must be a table.")
        statistics: dict[str, tuple[str, ...]] = {}
        for stat, rule_ids in stats_raw.items():
            where = _where(source, "statistics", stat)
            if stat not in STATISTICS:
                raise SdcRuleSetError(
                    f"{where}: unknown statistic; known: {', '.join(STATISTICS)}."
                )
            if not isinstance(rule_ids, list) or not all(isinstance(r, str) for r in rule_ids):
                raise SdcRuleSetError(f"{where} must be a list of rule ids; got {rule_ids!r}.")
            bad = [r for r in rule_ids if r not in ALLOWED_RULES[stat]]
            if bad:
                raise SdcRuleSetError(
                    f"{where}: {bad[0]!r} is not a rule for {stat!r}; known: "
                    f"{', '.join(ALLOWED_RULES[stat])}."
                )
            statistics[stat] = tuple(rule_ids)
        missing = [s for s in STATISTICS if s not in statistics]
        if missing:
            raise SdcRuleSetError(
                f"{source}: [statistics] has no entry for {missing[0]!r}; every statistic needs "
                "its list of rules (use [] only if it truly needs none)."
            )
        for key in ("name", "description"):
            if key in raw and not isinstance(raw[key], str):
                raise SdcRuleSetError(f"{source}: {key} must be a string; got {raw[key]!r}.")
        refused = [x for x in params["statistic"].refused if x not in STATISTICS]
        if refused:
            raise SdcRuleSetError(
                f"{_where(source, 'statistic', 'refused')}: unknown statistic {refused[0]!r}; "
                f"known: {', '.join(STATISTICS)}."
            )
        protection = _params(ProtectionParams, raw.get("protection", {}), source, "protection")
        gate = _params(GateParams, raw.get("gate", {}), source, "gate")
        release = _params(ReleaseParams, raw.get("release", {}), source, "release")
        return cls(
            name=str(raw.get("name", Path(source).stem)),
            description=str(raw.get("description", "")),
            params=params,
            statistics=statistics,
            protection=protection,
            source=source,
            gate=gate,
            release=release,
        )

    def rules_for(self, statistic: str) -> tuple[str, ...]:
        """Rule ids that apply to tables publishing ``statistic`` (percentiles: ``quantile``)."""
        return self.statistics[statistic_class(statistic)]

    @property
    def top_k(self) -> int:
        """How many largest contributions the evidence must keep for these rules."""
        return max(3, int(self.params["nk-dominance"].n))

    def to_dict(self) -> dict[str, Any]:
        """The effective rule set as plain data (no ``extends``); :meth:`from_dict` reads it."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for rid, p in self.params.items():
            out[rid] = _plain(dataclasses.asdict(p))
        out["statistics"] = {k: list(v) for k, v in self.statistics.items()}
        out["protection"] = _plain(dataclasses.asdict(self.protection))
        out["gate"] = _plain(dataclasses.asdict(self.gate))
        out["release"] = _plain(dataclasses.asdict(self.release))
        return out

    def settings_sha256(self) -> str:
        """SHA-256 of the settings (every section; not the name or description).

        Two rule sets with equal settings have equal digests, whatever they are called.

        Examples
        --------
        >>> a = RuleSet.load("default")
        >>> a.settings_sha256() == RuleSet.from_dict({**a.to_dict(), "name": "x"}).settings_sha256()
        True
        """
        import hashlib
        import json

        settings = {k: v for k, v in self.to_dict().items() if k not in ("name", "description")}
        text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_toml(self) -> str:
        """The effective rule set as TOML text."""
        lines = [
            f"name = {_toml_value(self.name)}",
            f"description = {_toml_value(self.description)}",
        ]
        for section, values in self.to_dict().items():
            if isinstance(values, dict):
                lines.append(f"\n[{section}]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        return "\n".join(lines) + "\n"


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    # A TOML basic string: escape the backslash, the quote and every control character.
    out = []
    for ch in str(v):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SdcRuleSetError(f"{source}: not valid TOML ({exc}).") from None


def _load_raw(spec: str | Path, seen: tuple[str, ...]) -> dict[str, Any]:
    """Read a preset or file and resolve its ``extends`` chain into one raw mapping."""
    text_spec = str(spec)
    if isinstance(spec, str) and spec in preset_names():
        path = PRESET_DIR / f"{spec}.toml"
    else:
        path = Path(spec)
        if not path.is_file():
            raise SdcRuleSetError(
                f"rule set {text_spec!r} is neither a preset ({', '.join(preset_names())}) "
                "nor a readable TOML file."
            )
    key = str(path.resolve())
    if key in seen:
        raise SdcRuleSetError(f"{text_spec}: `extends` forms a cycle.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SdcRuleSetError(f"{text_spec}: cannot read the rule file ({exc}).") from None
    return _resolve(_parse(text, text_spec), text_spec, (*seen, key))


def _resolve(raw: dict[str, Any], source: str, seen: tuple[str, ...]) -> dict[str, Any]:
    parent_spec = raw.pop("extends", None)
    if parent_spec is None:
        return raw
    if not isinstance(parent_spec, str):
        raise SdcRuleSetError(
            f"{source}: extends must be a preset name or path; got {parent_spec!r}."
        )
    if parent_spec not in preset_names() and not Path(parent_spec).is_absolute():
        parent_spec = str(Path(source).parent / parent_spec)
    merged = _load_raw(parent_spec, seen)
    merged.pop("name", None)
    merged.pop("description", None)
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
