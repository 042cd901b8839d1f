"""Hypothesis strategies: desired-state documents and live rows, well-typed or not."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st

MODULES = (
    "analytics", "analytics-basic", "automation", "consultation", "consultation-generator",
    "documents", "email-integration", "forms", "integrations", "questionnaire-engine",
    "support", "theme-customizer",
)  # fmt: skip
PROFILES = ("foundation", "growth", "enterprise")
KEYS = (
    "client_id", "name", "profiles", "strategy", "modules", "overrides", "enabled", "version",
    "settings", "theme", "consultation", "plan_catalog", "catalog", "max_fields", "layout",
    "smtp", "smtp_password", "sender_address", "retention_days", "<<", "null", "",
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["merge", "replace", "preserve", "^1.0.0", "1.x", ">=2 <3", "*", "yes", "~"]),
)
keys = st.one_of(st.sampled_from(KEYS + MODULES), st.text(max_size=8))
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-typed value, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


module_entry = st.fixed_dictionaries(
    {},
    optional={
        "enabled": maybe(st.booleans()),
        "version": maybe(st.sampled_from(["^1.0.0", "~2.0.0", "1.x", "^9", ">=0.9.0 <1", "bogus"])),
        "settings": maybe(st.dictionaries(keys, json_values, max_size=3)),
        "strategy": maybe(st.sampled_from(["merge", "replace", "preserve"])),
    },
)
client_docs = st.fixed_dictionaries(
    {
        "client_id": maybe(st.uuids(version=4).map(str)),
        "name": maybe(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)),
    },
    optional={
        "profiles": maybe(st.lists(st.sampled_from((*PROFILES, "platinum")), max_size=3)),
        "strategy": maybe(st.sampled_from(["merge", "replace", "preserve"])),
        "modules": maybe(
            st.dictionaries(
                st.sampled_from((*MODULES, "teleport")), maybe(module_entry), max_size=5
            )
        ),
        "overrides": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    k: maybe(st.dictionaries(keys, json_values, max_size=3))
                    for k in ("theme", "consultation", "plan_catalog", "catalog")
                },
            )
        ),
        "extra": json_values,
    },
)
yaml_noise = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`?,\n \t0123456789.~<=\\\ufeff\r")),
    max_size=80,
)

client_ids = st.uuids(version=4).map(str)
module_lists = st.lists(st.sampled_from((*MODULES, "retired-module")), max_size=6)
legacy_rows = st.fixed_dictionaries(
    {
        "modules_enabled": st.one_of(module_lists, module_lists, json_values),
        "theme_overrides": st.one_of(st.dictionaries(keys, json_values, max_size=3), json_values),
        "consultation_config": st.one_of(st.just({}), json_values),
        "plan_catalog_overrides": st.one_of(st.just({}), st.none()),
        "catalog_overrides": st.one_of(st.just({}), st.none()),
    }
)
registry_rows = st.dictionaries(
    st.sampled_from((*MODULES, "retired-module")),
    st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "version": st.one_of(st.none(), st.sampled_from(["1.5.0", "2.3.1", "0.0.1", "x"])),
            "settings": st.dictionaries(keys, json_values, max_size=3),
        }
    ),
    max_size=5,
)
live_clients = st.lists(
    st.tuples(client_ids, st.one_of(st.none(), legacy_rows), registry_rows),
    min_size=1,
    max_size=4,
    unique_by=lambda c: c[0],
)


def fresh_uuid() -> str:
    return str(uuid.uuid4())
