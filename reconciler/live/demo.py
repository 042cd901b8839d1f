"""Demo live state for the example clients of desired-state/ (`reconciler init --demo`).

It deliberately differs from the desired state so the quick start shows a real status and a
real plan: a client with no legacy row (legacy defaults), one with `[]`, one whose stores
conflict, and others with a few modules and overrides. Re-seeding resets these clients.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from reconciler.live.locks import client_transaction
from reconciler.live.state import write_live
from reconciler.model import ClientLive, LegacyRow, RegistryModule

ACME_DENTAL = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
BRIGHT_SMILES = "74089fb5-e782-426b-ad85-c7990bd21638"
NORTHWIND_CLINIC = "e3189a23-3157-4c72-aacf-e644df46c05e"
HARBOR_PHYSIO = "d18ea511-018e-4cde-86d2-c73949d0f77a"
SUMMIT_HEALTH = "36a85917-ad8f-4e4a-b855-3ab94d394f46"
LAKESIDE_VETS = "c8d7d1d9-7646-4c30-989a-c4fea8f82535"

DEMO_NAMES: dict[str, str] = {
    ACME_DENTAL: "acme-dental",
    BRIGHT_SMILES: "bright-smiles",
    NORTHWIND_CLINIC: "northwind-clinic",
    HARBOR_PHYSIO: "harbor-physio",
    SUMMIT_HEALTH: "summit-health",
    LAKESIDE_VETS: "lakeside-vets",
}

# Obvious placeholders: the demo holds no real secret.
_PLACEHOLDER_KEY = "demo-placeholder-not-a-real-key"


def _row(modules: tuple[str, ...], **overrides: object) -> LegacyRow:
    """A legacy row as the original writes it: override columns not given hold `{}`."""
    columns = ("theme_overrides", "consultation_config", "plan_catalog_overrides")
    values = {c: overrides.get(c, {}) for c in (*columns, "catalog_overrides")}
    return LegacyRow(modules_enabled=modules, **values)


def _mod(enabled: bool = True, version: str | None = None, **settings: object) -> RegistryModule:
    return RegistryModule(enabled=enabled, version=version, settings=settings)


DEMO_LIVE: tuple[ClientLive, ...] = (
    # No legacy row: old code gives it the legacy defaults; the registry knows one of them.
    ClientLive(
        client_id=ACME_DENTAL,
        legacy=None,
        registry={"analytics": _mod(version="1.0.0", retention_days=30)},
    ),
    # `[]`: explicitly no modules, which is not the same as no row.
    ClientLive(
        client_id=BRIGHT_SMILES,
        legacy=_row((), theme_overrides={"primary_color": "#0a7cff"}),
    ),
    # The stores disagree: consultation disabled in the registry, email-integration missing
    # from the legacy list.
    ClientLive(
        client_id=NORTHWIND_CLINIC,
        legacy=_row(
            ("analytics", "consultation", "forms", "integrations"),
            theme_overrides={"primary_color": "#1f3a5f", "logo_url": "https://example.com/nw.png"},
            consultation_config={"duration_minutes": 30},
        ),
        registry={
            "consultation": _mod(enabled=False, version="1.2.0"),
            "forms": _mod(version="2.0.0", max_fields=25),
            "integrations": _mod(version="1.1.0", provider="zapier", api_key=_PLACEHOLDER_KEY),
            "email-integration": _mod(version="0.9.0", sender="noreply@example.com"),
        },
    ),
    ClientLive(
        client_id=HARBOR_PHYSIO,
        legacy=_row(
            ("forms", "questionnaire-engine", "support"),
            consultation_config={"duration_minutes": 45, "allow_video": True},
        ),
        registry={"questionnaire-engine": _mod(version="1.0.0", max_questions=20)},
    ),
    ClientLive(
        client_id=SUMMIT_HEALTH,
        legacy=_row(
            ("analytics", "automation", "documents", "support", "theme-customizer"),
            theme_overrides={"font": "Inter"},
            plan_catalog_overrides={"tier": "growth"},
        ),
        registry={
            "documents": _mod(version="1.3.0", storage_gb=50),
            "theme-customizer": _mod(version="1.0.0"),
        },
    ),
    ClientLive(
        client_id=LAKESIDE_VETS,
        legacy=_row(
            ("analytics-basic", "consultation-generator", "support"),
            catalog_overrides={"hidden": ["automation"]},
        ),
        registry={"analytics-basic": _mod(version="0.5.0")},
    ),
)


def seed_demo(engine: Engine) -> tuple[str, ...]:
    """Write the demo live state (replacing these clients' state); returns their ids."""
    for live in DEMO_LIVE:
        with client_transaction(engine, live.client_id) as conn:
            write_live(conn, live)
    return tuple(live.client_id for live in DEMO_LIVE)
