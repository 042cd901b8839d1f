"""reconciler/plan/changed.py: path classification, candidates and resolved comparison."""

from __future__ import annotations

from reconciler.model import ClientDesired, DesiredModule, Settings
from reconciler.plan.changed import (
    ChangedSince,
    DeletedClient,
    PathChanges,
    candidates,
    classify_paths,
    compare,
    settings_affect_clients,
)


def client(cid: str, file: str, profiles: tuple[str, ...] = (), **modules: int) -> ClientDesired:
    return ClientDesired(
        client_id=cid,
        name=cid.upper(),
        file=file,
        profiles=profiles,
        modules={m: DesiredModule(version="1.0.0", settings={"n": n}) for m, n in modules.items()},
    )


def test_classify_paths() -> None:
    changes = classify_paths(
        [
            "reconciler.yaml",
            "modules/forms.yaml",
            "profiles/gold.yml",
            "clients/a.yaml",
            "clients/eu/b.yaml",
            "clients/.drafts/c.yaml",
            "clients/notes.md",
            "README.md",
            "schemas/client.schema.json",
        ]
    )
    assert changes == PathChanges(
        settings=True,
        modules=frozenset({"forms"}),
        profiles=frozenset({"gold"}),
        client_files=frozenset({"clients/a.yaml", "clients/eu/b.yaml"}),
    )
    assert changes.fans_out
    assert not classify_paths(["clients/a.yaml"]).fans_out


def test_settings_affect_clients_only_through_what_clients_resolve() -> None:
    base = Settings()
    assert not settings_affect_clients(base, Settings(max_file_bytes=10))
    assert settings_affect_clients(base, Settings(default_strategy="replace"))
    assert settings_affect_clients(base, Settings(legacy_defaults=("support",)))
    assert settings_affect_clients(base, Settings(defaults={"modules": {"forms": {}}}))
    assert settings_affect_clients(None, base)


def test_candidates() -> None:
    head = {
        "a": client("a", "clients/a.yaml", ("gold",), forms=1),
        "b": client("b", "clients/b.yaml", ("silver",), support=1),
        "c": client("c", "clients/c.yaml", (), documents=1),
    }
    changes = PathChanges(
        modules=frozenset({"support"}),
        profiles=frozenset({"gold"}),
        client_files=frozenset({"clients/c.yaml"}),
    )
    assert candidates(changes, head, settings_changed=False) == {"a", "b", "c"}
    assert candidates(PathChanges(), head, settings_changed=False) == set()
    assert candidates(PathChanges(), head, settings_changed=True) == {"a", "b", "c"}


def test_compare_resolved_state_not_files() -> None:
    base = {
        "a": client("a", "clients/a.yaml", forms=1),
        "b": client("b", "clients/old-b.yaml", forms=2),
        "gone": client("gone", "clients/gone.yaml"),
    }
    head = {
        "a": client("a", "clients/a.yaml", forms=5),
        "b": client("b", "clients/b.yaml", forms=2),  # moved, same state
        "new": client("new", "clients/new.yaml"),
    }
    changed, deleted = compare(base, head, {"a", "b", "new"})
    assert changed == ["a", "new"]
    assert deleted == [DeletedClient(client_id="gone", name="GONE", file="clients/gone.yaml")]
    assert compare(None, head, {"a", "b"}) == (["a", "b"], [])
    assert compare(base, head, {"b"}, force_all=True) == (["b"], [])


def test_changed_since_lines() -> None:
    report = ChangedSince(
        rev="origin/main",
        commit="0123456789abcdef",
        head="working tree",
        paths=("clients/a.yaml",),
        compared=1,
        changed=("a",),
        deleted=(DeletedClient(client_id="g", file="clients/g.yaml"),),
        warnings=("w",),
    )
    assert report.lines() == [
        "Changed since origin/main (0123456789ab) -> working tree: 1 changed file; 1 client "
        "compared, 1 with a changed desired state",
        "client g (g, clients/g.yaml) deleted in working tree: not planned; its live state is "
        "left as is",
        "warning: w",
    ]
