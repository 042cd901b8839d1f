"""Build plans from hand-made desired states against real stores (no YAML needed)."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.live.engine import display_url, make_engine
from reconciler.live.state import read_live
from reconciler.model import ClientDesired, DesiredModule, ModuleDef, Safety, Settings
from reconciler.plan.build import plan_clients
from reconciler.plan.model import Plan

CATALOG = {
    "forms": ModuleDef(id="forms", name="Forms", version="1.2.0"),
    "documents": ModuleDef(id="documents", name="Documents", version="2.0.0"),
    "support": ModuleDef(id="support", name="Support", version="1.0.0", protected=True),
    "analytics": ModuleDef(id="analytics", name="Analytics", version="3.1.0"),
    "mail": ModuleDef(
        id="mail",
        name="Mail",
        version="1.0.0",
        sensitive_paths=frozenset({("smtp_password",)}),
    ),
}
IDS = [
    "0ee6a19a-b01d-4773-8a91-d6023ddab802",
    "74089fb5-e782-426b-ad85-c7990bd21638",
    "e3189a23-3157-4c72-aacf-e644df46c05e",
]


def settings(**safety: object) -> Settings:
    return Settings(safety=Safety(**safety))  # type: ignore[arg-type]


def client(
    cid: str, strategy: str = "merge", overrides: dict | None = None, **modules: DesiredModule
) -> ClientDesired:
    return ClientDesired(
        client_id=cid,
        name=f"client-{cid[:4]}",
        file=f"clients/{cid[:4]}.yaml",
        strategy=strategy,  # type: ignore[arg-type]
        modules=modules,
        overrides=overrides or {},
    )


def make_plan(url: str, clients: Iterable[ClientDesired], cfg: Settings | None = None) -> Plan:
    cfg = cfg or settings()
    chosen = list(clients)
    with make_engine(url).connect() as conn:
        lives = read_live(conn, [c.client_id for c in chosen])
    plans, unchanged = plan_clients(
        chosen, lives, legacy_defaults=cfg.legacy_defaults, catalog=CATALOG
    )
    return Plan(
        clients=tuple(plans),
        unchanged=unchanged,
        store=display_url(url),
        settings=cfg,
        catalog=CATALOG,
    )
