"""A term's placement rules: the ``[rules]`` table of ``term.toml``, with defaults and validation.

Rules live in one JSON column on the term, so a new rule needs no schema migration; this
module is the single place that knows their names, types and defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("welfare", "stable")

DEFAULT_MAX_CHOICES = 10
"""How many opportunities a student may rank on the web pages when ``max_choices`` is absent."""


@dataclass(frozen=True)
class Rules:
    """Hard limits and solve settings for one term (DESIGN.md, "Term bundle")."""

    max_job_shadows: int = 2
    max_internships: int = 1
    max_micro_internships: int = 1
    max_travel_min: int = 45
    weekly_hours_cap_under_16: float | None = 18
    weekly_hours_cap_16_17: float | None = None
    background_check_for_minors: bool = True
    place_unranked: bool = True
    mode: str = "welfare"
    seed: int = 0
    time_limit_s: float = 60
    priority: dict[str, int] = field(default_factory=dict)
    # How many opportunities a student may rank (the web pages enforce it; an imported
    # preferences.csv is taken as written). At least 1.
    max_choices: int = DEFAULT_MAX_CHOICES

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form; an absent cap is ``None``."""
        return dataclasses.asdict(self)

    def to_toml(self) -> dict[str, Any]:
        """The ``[rules]`` table as written to ``term.toml``: an absent cap is left out, and so
        is a rule added after the bundle format settled when it has its default (bundles that
        never mention it are written back unchanged)."""
        return {
            k: v
            for k, v in self.to_dict().items()
            if v is not None and not (k in _WRITTEN_IF_SET and v == _DEFAULTS[k])
        }

    def priority_weight(self, flags: list[str] | tuple[str, ...]) -> int:
        """A student's priority weight: 1 plus the weights of their flags."""
        return 1 + sum(self.priority.get(flag, 0) for flag in flags)


_INT_FIELDS = (
    "max_job_shadows",
    "max_internships",
    "max_micro_internships",
    "max_travel_min",
    "seed",
)
_CAP_FIELDS = ("weekly_hours_cap_under_16", "weekly_hours_cap_16_17")
_POSITIVE_INT_FIELDS = ("max_choices",)
_WRITTEN_IF_SET = frozenset(_POSITIVE_INT_FIELDS)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Rules)}
_BOOL_FIELDS = ("background_check_for_minors", "place_unranked")


def parse_rules(raw: Mapping[str, Any]) -> tuple[Rules, list[tuple[str, str]]]:
    """Build :class:`Rules` from a ``[rules]`` table.

    Returns the rules (defaults where a value is bad) and a list of ``(key, message)``
    problems, so a caller can report every bad key at once.
    """
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(Rules)}
    for key in raw:
        if key not in known:
            problems.append((key, f"unknown rule {key!r}; known rules: {', '.join(sorted(known))}"))

    def _number(key: str, value: Any, integer: bool) -> Any:
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if integer else "a number"
            problems.append((key, f"must be {kind}, got {value!r}"))
            return None
        if value < 0:
            problems.append((key, f"must not be negative, got {value!r}"))
            return None
        return value

    for key in _INT_FIELDS:
        if key in raw and (v := _number(key, raw[key], integer=True)) is not None:
            values[key] = v
    for key in _POSITIVE_INT_FIELDS:
        if key in raw and (v := _number(key, raw[key], integer=True)) is not None:
            if v < 1:
                problems.append((key, f"must be at least 1, got {v!r}"))
            else:
                values[key] = v
    for key in _CAP_FIELDS:
        if key in raw and (v := _number(key, raw[key], integer=False)) is not None:
            values[key] = v
    for key in _BOOL_FIELDS:
        if key in raw:
            if isinstance(raw[key], bool):
                values[key] = raw[key]
            else:
                problems.append((key, f"must be true or false, got {raw[key]!r}"))
    if "mode" in raw:
        if raw["mode"] in MODES:
            values["mode"] = raw["mode"]
        else:
            problems.append(("mode", f"must be one of {', '.join(MODES)}, got {raw['mode']!r}"))
    if "time_limit_s" in raw:
        v = _number("time_limit_s", raw["time_limit_s"], integer=False)
        if v is not None and v <= 0:
            problems.append(("time_limit_s", "must be positive"))
        elif v is not None:
            values["time_limit_s"] = v
    if "priority" in raw:
        prio = raw["priority"]
        if not isinstance(prio, Mapping):
            problems.append(("priority", "must be a table of flag = weight"))
        else:
            weights: dict[str, int] = {}
            for flag, weight in prio.items():
                if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                    problems.append(
                        (f"priority.{flag}", f"must be a non-negative whole number, got {weight!r}")
                    )
                else:
                    weights[str(flag)] = weight
            values["priority"] = weights
    return Rules(**values), problems


def rules_from_dict(data: Mapping[str, Any] | None) -> Rules:
    """Rebuild rules stored by :meth:`Rules.to_dict` (trusted data, no validation)."""
    if not data:
        return Rules()
    known = {f.name for f in dataclasses.fields(Rules)}
    return Rules(**{k: v for k, v in data.items() if k in known})
