"""One stable rule id per kind of problem (issue 16), for SARIF `ruleId`s and annotation titles.

Problems carry a reason in words, not a code; the kind is read from the reason's fixed wording
(and, for settings, from the JSON path), most specific first. tests/render/test_rules.py holds
every rule fixture of tests/fixtures/desired/rules/ to its id, so a reworded reason that no
longer matches fails there instead of silently becoming the catch-all `problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import Problem


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str  # short, for an annotation title and a SARIF shortDescription
    reason: re.Pattern[str] | None = None  # matched with search() on the reason
    path: re.Pattern[str] | None = None  # and/or on the JSON path


def _rule(id_: str, title: str, reason: str | None = None, path: str | None = None) -> Rule:
    return Rule(
        id_,
        title,
        re.compile(reason) if reason is not None else None,
        re.compile(path) if path is not None else None,
    )


# Most specific first: the first rule whose patterns all match names the problem.
RULES: tuple[Rule, ...] = (
    _rule("not-utf8", "File is not UTF-8", r"^not valid UTF-8"),
    _rule("unreadable-file", "File cannot be read", r"^cannot read the file"),
    _rule("file-too-large", "File is too large", r"^file is \d+ bytes, over the limit"),
    _rule("empty-file", "File is empty", r"^file is empty"),
    _rule("not-a-mapping", "Top level is not a mapping", r"^top level is "),
    _rule("too-deep", "Nesting too deep", r"^nesting deeper than"),
    _rule("yaml-anchor", "YAML anchor or alias", r"anchors and aliases are not allowed"),
    _rule("yaml-tag", "YAML tag", r"tags are not allowed"),
    _rule("merge-key", "YAML merge key", r"^merge keys \(<<\)"),
    _rule("duplicate-key", "Duplicate key", r"^duplicate key "),
    _rule("date-value", "Unquoted date or time", r"would be read as a date"),
    _rule("yaml-syntax", "YAML syntax error", r"^(YAML (syntax )?error|character #x|invalid YAML)"),
    _rule("duplicate-client-id", "client_id used twice", r"^client_id .* is also used in "),
    _rule("duplicate-module", "Module defined twice", r"^module .* is also defined in "),
    _rule("name-mismatch", "Name does not match the file", r"does not match the file name"),
    _rule("unknown-module", "Unknown module", r"^unknown module "),
    _rule("unknown-profile", "Unknown profile", r"^unknown profile "),
    _rule("invalid-version-range", "Invalid version range", r"is not a valid version range"),
    _rule(
        "dependency-unsatisfied", "Dependency version unsatisfied", r"^needs .*, but the catalog"
    ),
    _rule("version-unsatisfied", "Version not in the catalog", r"is not satisfied by the catalog"),
    _rule("dependency-cycle", "Dependency cycle", r"^dependency cycle"),
    _rule("missing-dependency", "Missing dependency", r"needs .*, which is not enabled"),
    _rule("conflict", "Conflicting modules", r"conflicts with .*; enable only one"),
    _rule(
        "invalid-settings-schema",
        "Invalid settings_schema",
        r"^(invalid settings_schema|the schema cannot be applied)",
    ),
    _rule(
        "settings-schema",
        "Settings break the module's settings_schema",
        path=r"^\$\.(modules\.[^.\[]+\.settings|default_settings|defaults\.modules\.[^.\[]+\.settings)",
    ),
    _rule("unknown-key", "Unknown key", r"^(unknown|invalid) key "),
    _rule("missing-key", "Missing required key", r"^missing required key "),
    _rule("wrong-type", "Wrong type", r"^expected .*, got "),
    _rule("not-allowed-value", "Value not allowed", r" is not one of: "),
)
CATCH_ALL = Rule("problem", "Invalid desired state")
BY_ID: dict[str, Rule] = {r.id: r for r in (*RULES, CATCH_ALL)}


def rule_of(problem: Problem) -> Rule:
    """The kind of a problem: its first matching rule, else the catch-all `problem`."""
    for rule in RULES:
        if rule.reason is not None and not rule.reason.search(problem.reason):
            continue
        if rule.path is not None and not rule.path.search(problem.path):
            continue
        return rule
    return CATCH_ALL
