"""The read-back after a batch's writes compares both stores with the targets exactly as
`read_live` and dataclass equality would (issue 15), on both stores."""

from __future__ import annotations

from sqlalchemy import text

from reconciler.live.engine import make_engine
from reconciler.live.locks import clients_transaction
from reconciler.live.state import read_live, write_live_many
from reconciler.live.verify import first_mismatch
from reconciler.model import JSON, ClientLive, LegacyRow, RegistryModule
from tests.helpers import add_clients

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
C = "33333333-3333-4333-8333-333333333333"

# Values a JSON round trip could bend: a 64-bit overflow, floats, unicode, nesting, empties.
AWKWARD: dict[str, JSON] = {
    "big": 123456789012345678901234567890,
    "float": 0.1,
    "tiny": 1e-05,
    "whole": 2.0,
    "text": 'héllo \u2028 \\ "q"',
    "nested": {"list": [1, [2, {"x": None}]], "empty": {}},
    "flag": False,
}


def _targets() -> list[ClientLive]:
    return [
        ClientLive(
            client_id=A,
            legacy=LegacyRow(
                modules_enabled=("forms", "support"),
                theme_overrides={"colour": "#fff", **AWKWARD},
                consultation_config={},
                plan_catalog_overrides=None,
                catalog_overrides={"n": [1, 2]},
            ),
            registry={
                "forms": RegistryModule(enabled=True, version="1.0.0", settings=AWKWARD),
                "support": RegistryModule(enabled=False, version=None, settings={}),
            },
        ),
        ClientLive(client_id=B, registry={"forms": RegistryModule(enabled=True)}),
        ClientLive(client_id=C, legacy=LegacyRow(modules_enabled=())),
    ]


def _written(url: str) -> list[ClientLive]:
    add_clients(url, [A, B, C])
    targets = _targets()
    engine = make_engine(url)
    with clients_transaction(engine, [A, B, C]) as conn:
        write_live_many(conn, [(ClientLive(client_id=t.client_id), t) for t in targets])
    return targets


def test_what_was_written_matches(store_url: str) -> None:
    targets = _written(store_url)
    with make_engine(store_url).connect() as conn:
        assert read_live(conn, [A, B, C]) == {t.client_id: t for t in targets}
        assert first_mismatch(conn, targets) is None


def test_a_changed_value_or_row_is_the_first_mismatch(store_url: str) -> None:
    targets = _written(store_url)
    engine = make_engine(store_url)
    with engine.connect() as conn:
        conn.execute(
            text(
                "UPDATE reconciler_client_modules SET version = '2' "
                f"WHERE client_id = '{B}' AND module_id = 'forms'"
            )
        )
        assert first_mismatch(conn, targets) == B
        assert first_mismatch(conn, [targets[0], targets[2]]) is None
        conn.execute(
            text(
                "INSERT INTO reconciler_client_modules "
                "(client_id, module_id, enabled, version, settings) "
                f"VALUES ('{C}', 'extra', false, NULL, '{{}}')"
            )
        )
        assert first_mismatch(conn, [targets[2], targets[0]]) == C
        conn.execute(text(f"DELETE FROM client_app_overrides WHERE client_id = '{A}'"))
        assert first_mismatch(conn, [targets[0]]) == A
        conn.rollback()


def test_a_bent_value_is_a_mismatch(store_url: str) -> None:
    """A value stored other than the target holds (a float where an exact integer was meant)
    is found, as dataclass equality finds it."""
    targets = _written(store_url)
    with make_engine(store_url).connect() as conn:
        settings = {**AWKWARD, "big": 1.2345678901234568e29}
        bent = ClientLive(
            client_id=A,
            legacy=targets[0].legacy,
            registry={
                **targets[0].registry,
                "forms": RegistryModule(enabled=True, version="1.0.0", settings=settings),
            },
        )
        assert read_live(conn, [A])[A] != bent
        assert first_mismatch(conn, [bent]) == A
        no_row = ClientLive(client_id=C)  # C has a legacy row with no modules
        assert first_mismatch(conn, [no_row]) == C
