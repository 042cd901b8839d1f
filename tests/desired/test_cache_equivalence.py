"""The desired cache never changes an answer (issue 15, "Correctness first"): after any sequence
of edits to a desired-state tree, validate, plan, drift, `plan --client` and `status --client`
run with the cache of the earlier runs give exactly what --no-cache gives."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from reconciler.desired import cache
from reconciler.desired.load import DesiredStream
from reconciler.desired.source import WorkingTree
from reconciler.live.engine import dispose_engine
from tests.cli.cli_helpers import EXAMPLE, Result, invoke
from tests.desired.cache_helpers import (
    assert_same,
    cache_file,
    command,
    sqlite_store,
    warm_and_cold,
)

MODULES = sorted(p.stem for p in (EXAMPLE / "modules").glob("*.yaml"))
PROFILES = ["foundation", "growth", "enterprise", "platinum"]  # platinum: no such profile
# A setting of some modules, with valid values and invalid ones (type, range, enum).
SETTINGS: dict[str, tuple[str, list[Any]]] = {
    "forms": ("max_fields", [1, 60, 200, 500, "many"]),
    "consultation": ("duration_minutes", [10, 45, 5, None]),
    "support": ("channel", ["email", "chat", "phone", "fax"]),
    "analytics": ("retention_days", [30, 400, 7]),
    "automation": ("max_workflows", [1, 25, 101]),
    "theme-customizer": ("palette", ["light", "dark", "neon"]),
}
VERSIONS = ["0.9.2", "1.0.0", "1.3.0", "1.5.0", "2.3.1", "3.1.2", "9.9.9", "not-a-version"]

Mutation = Callable[[Path, random.Random], str]


pytestmark = pytest.mark.usefixtures("own_cache")  # tests/desired/conftest.py


def _load(path: Path) -> Any:
    """The file's data; None when an earlier edit left it unreadable (it is then rewritten)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _pick(root: Path, folder: str, rnd: random.Random) -> Path | None:
    files = sorted((root / folder).glob("*.yaml"))
    return rnd.choice(files) if files else None


def _edit(root: Path, folder: str, rnd: random.Random, change: Callable[[Any], None]) -> str:
    """Load one YAML file of `folder`, change its data, write it back (a mapping or not)."""
    path = _pick(root, folder, rnd)
    if path is None:
        return f"no file in {folder}"
    data = _load(path)
    if not isinstance(data, dict):
        data = {}
    change(data)
    _dump(path, data)
    return f"edit {path.relative_to(root)}"


def _modules_of(data: dict[str, Any]) -> dict[str, Any]:
    modules = data.get("modules")
    if not isinstance(modules, dict):
        modules = data["modules"] = {}
    return modules


def _set_setting(data: dict[str, Any], rnd: random.Random) -> None:
    module = rnd.choice(sorted(SETTINGS))
    key, values = SETTINGS[module]
    entry = _modules_of(data).get(module)
    if not isinstance(entry, dict):
        entry = _modules_of(data)[module] = {}
    if not isinstance(entry.get("settings"), dict):
        entry["settings"] = {}
    entry["settings"][key] = rnd.choice(values)


def client_setting(root: Path, rnd: random.Random) -> str:
    return _edit(root, "clients", rnd, lambda d: _set_setting(d, rnd))


def client_add_module(root: Path, rnd: random.Random) -> str:
    module = rnd.choice([*MODULES, "no-such-module"])
    body = rnd.choice([{}, {"enabled": False}, {"version": "^1.0.0"}, {"enabled": "yes please"}])
    return _edit(root, "clients", rnd, lambda d: _modules_of(d).__setitem__(module, body))


def client_remove_module(root: Path, rnd: random.Random) -> str:
    def change(data: dict[str, Any]) -> None:
        modules = _modules_of(data)
        if modules:
            del modules[rnd.choice(sorted(modules))]

    return _edit(root, "clients", rnd, change)


def client_profiles(root: Path, rnd: random.Random) -> str:
    chosen = rnd.sample(PROFILES, rnd.randint(0, 3))
    return _edit(root, "clients", rnd, lambda d: d.__setitem__("profiles", chosen))


def client_strategy(root: Path, rnd: random.Random) -> str:
    strategy = rnd.choice(["merge", "replace", "preserve", "bogus", 7])
    return _edit(root, "clients", rnd, lambda d: d.__setitem__("strategy", strategy))


def client_duplicate(root: Path, rnd: random.Random) -> str:
    """Claim another file's client_id (or name): both files are then in error."""
    other = _pick(root, "clients", rnd)
    data = _load(other) if other is not None else None
    field = rnd.choice(["client_id", "name"])
    value = data.get(field) if isinstance(data, dict) else None
    return _edit(root, "clients", rnd, lambda d: d.__setitem__(field, value or "x"))


def client_clear_text_secret(root: Path, rnd: random.Random) -> str:
    """A clear-text sensitive value: a warning or an error, as reconciler.yaml says."""

    def change(data: dict[str, Any]) -> None:
        entry = _modules_of(data).setdefault("integrations", {})
        if isinstance(entry, dict):
            entry["settings"] = {"api_key": rnd.choice(["k3y-in-clear", "other-key"])}

    return _edit(root, "clients", rnd, change)


def client_syntax_error(root: Path, rnd: random.Random) -> str:
    path = _pick(root, "clients", rnd)
    if path is None:
        return "no client"
    path.write_text(path.read_text(encoding="utf-8") + "\nmodules: [unclosed\n")
    return f"break {path.name}"


def client_add(root: Path, rnd: random.Random) -> str:
    number = rnd.randint(0, 999)
    data: dict[str, Any] = {
        "client_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "name": f"new-client-{number}",
        "profiles": rnd.sample(PROFILES[:3], rnd.randint(0, 2)),
    }
    if rnd.random() < 0.5:
        _set_setting(data, rnd)
    _dump(root / "clients" / f"new-{number}.yaml", data)
    return f"add new-{number}.yaml"


def client_delete(root: Path, rnd: random.Random) -> str:
    path = _pick(root, "clients", rnd)
    if path is not None:
        path.unlink()
    return f"delete {path}"


def client_rename(root: Path, rnd: random.Random) -> str:
    path = _pick(root, "clients", rnd)
    if path is None:
        return "no client"
    target = path.with_name(f"renamed-{rnd.randint(0, 99)}.yaml")
    if not target.exists():
        path.rename(target)
    return f"rename {path.name} -> {target.name}"


def same_size_rewrite(root: Path, rnd: random.Random) -> str:
    """One digit of a client, profile or module file changed: same size, other bytes (a
    client_id, a version, a setting, a profile's setting...)."""
    files = sorted(p for d in ("clients", "profiles", "modules") for p in (root / d).glob("*.yaml"))
    path = rnd.choice(files)
    text = path.read_text(encoding="utf-8")
    digits = [m.start() for m in re.finditer(r"[0-9]", text)]
    if not digits:
        return f"no digit in {path.name}"
    at = rnd.choice(digits)
    new = rnd.choice([d for d in "0123456789" if d != text[at]])
    path.write_text(text[:at] + new + text[at + 1 :], encoding="utf-8")
    return f"same-size rewrite of {path.relative_to(root)} at {at}"


def profile_edit(root: Path, rnd: random.Random) -> str:
    def change(data: dict[str, Any]) -> None:
        choice = rnd.randrange(3)
        if choice == 0:
            _set_setting(data, rnd)
        elif choice == 1:
            _modules_of(data)[rnd.choice([*MODULES, "no-such-module"])] = {}
        else:
            modules = _modules_of(data)
            if modules:
                del modules[rnd.choice(sorted(modules))]

    return _edit(root, "profiles", rnd, change)


def module_edit(root: Path, rnd: random.Random) -> str:
    def change(data: dict[str, Any]) -> None:
        if rnd.random() < 0.5:
            data["version"] = rnd.choice(VERSIONS)
            return
        module = data.get("id")
        if module in SETTINGS:
            key, values = SETTINGS[module]
            defaults = data.setdefault("default_settings", {})
            if isinstance(defaults, dict):
                defaults[key] = rnd.choice(values)

    return _edit(root, "modules", rnd, change)


def settings_edit(root: Path, rnd: random.Random) -> str:
    path = root / "reconciler.yaml"
    data = _load(path) or {}
    choice = rnd.randrange(4)
    if choice == 0:
        data["strategy"] = rnd.choice(["merge", "replace", "preserve"])
    elif choice == 1:
        data["legacy"] = {"defaults": rnd.sample(MODULES, rnd.randint(0, 4))}
    elif choice == 2:
        data["secrets"] = {"plaintext": rnd.choice(["warn", "forbid"])}
    else:
        _set_setting(data.setdefault("defaults", {}), rnd)
    _dump(path, data)
    return f"reconciler.yaml change {choice}"


def policy_edit(root: Path, rnd: random.Random) -> str:
    path = root / "policies" / "guard-rails.yaml"
    data = _load(path)
    rule = rnd.choice(data["rules"])
    rule["effect"] = "warn" if rule["effect"] == "deny" else "deny"
    _dump(path, data)
    return f"policy {rule['id']} -> {rule['effect']}"


def secret_edit(root: Path, rnd: random.Random) -> str:
    path = rnd.choice(sorted((root / "secrets").glob("*-*")))
    path.write_text(f"secret-{rnd.randint(0, 9999)}\n")
    return f"secret {path.name}"


MUTATIONS: list[Mutation] = [
    client_setting,
    client_add_module,
    client_remove_module,
    client_profiles,
    client_strategy,
    client_duplicate,
    client_clear_text_secret,
    client_syntax_error,
    client_add,
    client_delete,
    client_rename,
    same_size_rewrite,
    profile_edit,
    module_edit,
    settings_edit,
    policy_edit,
    secret_edit,
]


def _client_ids(root: Path) -> list[str]:
    ids = []
    for path in sorted((root / "clients").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("client_id"), str):
            ids.append(data["client_id"])
    return ids


def check_runs(
    capsys: pytest.CaptureFixture[str],
    desired: Path,
    store: str,
    rnd: random.Random,
    step: str,
    *,
    client_id: str | None = None,
) -> dict[str, Result]:
    """Every command warm, then with --no-cache: the same exit code, stdout and stderr (the
    warm results by verb). The `--client` runs read only the files the client-id index names
    when the fleet's verdict matches (plan, drift), or the files claiming the id and those the
    cache has not seen (status)."""
    ids = _client_ids(desired) or ["00000000-0000-4000-8000-000000000000"]
    chosen = client_id or rnd.choice([*ids, "00000000-0000-4000-8000-000000000000"])
    by_client = ["status", "plan"] if client_id else [rnd.choice(["status", "plan", "drift"])]
    results = {}
    for args in (  # --client first: the cache has not seen the edited files yet
        *(command(verb, desired, store, "--client", chosen) for verb in by_client),
        command("validate", desired, store),
        command("plan", desired, store),
        command("drift", desired, store),
    ):
        warm, cold = warm_and_cold(capsys, desired, args)
        assert_same(warm, cold, (step, args))
        results[args[0] if "--client" not in args else f"{args[0]} --client"] = warm
    return results


Step = list[tuple[Mutation, int]]  # edits made together, then every command is checked


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One empty initialised store for every example (no command here writes to it)."""
    url = sqlite_store(tmp_path_factory.mktemp("cache-store") / "store.db")
    yield url
    dispose_engine(url)


@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing example is shown as found:
    # shrinking one (each runs dozens of commands) takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.lists(
            st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 2**32)), min_size=1, max_size=3
        ),
        min_size=1,
        max_size=4,
    )
)
def test_warm_runs_equal_no_cache_runs_after_any_edits(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shared_store: str,
    steps: list[Step],
) -> None:
    """With stamps taken at once (RACY_SECONDS 0): every file not edited since the last run is
    known by its stamp, every edited one is read (each step's edits come a run or more after
    the last stamp, so their ctime differs from it)."""
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        desired = Path(tmp) / "desired-state"
        shutil.copytree(EXAMPLE, desired)
        with contextlib.chdir(tmp):  # a cold cache of the example
            assert invoke(capsys, "validate", "--dir", str(desired)).code == 0
        assert cache_file(desired).exists()
        for number, edits in enumerate(steps):
            done = [mutation(desired, random.Random(seed)) for mutation, seed in edits]
            check_runs(capsys, desired, shared_store, random.Random(number), "; ".join(done))


def test_a_stamped_file_rewritten_in_place_is_read_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stamps (lstat) stand for a file's content once it is older than RACY_SECONDS; a
    same-size rewrite with its mtime set back still differs in ctime, so it is read again."""
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    desired = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, desired)
    store = sqlite_store(tmp_path / "store.db")
    path = desired / "clients" / "acme-dental.yaml"
    before = path.stat()
    time.sleep(0.05)  # every file is now older than its stamp will be
    warm, cold = warm_and_cold(capsys, desired, command("plan", desired, store))
    assert_same(warm, cold)
    assert "two-column" in warm.out  # the plan shows the resolved settings
    stats = invoke(capsys, "cache", "stats", "--dir", str(desired), "--format", "json")
    assert stats.json()["stamps"] == 6  # every client file is stamped

    text = path.read_text()
    changed = text.replace("layout: two-column", "layout: one-column")  # same size, not valid
    assert len(changed) == len(text)
    path.write_text(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    warm, cold = warm_and_cold(capsys, desired, command("validate", desired, store))
    assert_same(warm, cold)
    assert warm.code == 1
    assert "one-column" in warm.out
    dispose_engine(store)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _file(root: Path, relpath: str) -> Path:
    return root / relpath


ACME_FILE, BRIGHT_FILE = "clients/acme-dental.yaml", "clients/bright-smiles.yaml"
HARBOR_FILE, SUMMIT_FILE = "clients/harbor-physio.yaml", "clients/summit-health.yaml"
ACME_ID = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
NEW_CLIENT = """client_id: 5a0c3a9e-6c4b-4f8e-9d7e-1f2a3b4c5d6e
name: new-client
profiles: [foundation, growth]
modules:
  forms:
    settings:
      max_fields: 77
"""
Edit = Callable[[Path], None]
NOTHING: Edit = lambda root: None  # noqa: E731
# (what, set-up before the warm run, the edit after it): every kind of input an outcome depends on.
EDITS: list[tuple[str, Edit, Edit]] = [
    (
        "client setting, same size",
        NOTHING,
        lambda r: _replace(r / ACME_FILE, "max_fields: 60", "max_fields: 61"),
    ),
    (
        "client profiles",
        NOTHING,
        lambda r: _replace(r / BRIGHT_FILE, "[foundation]", "[foundation, growth]"),
    ),
    (
        "client unknown module",
        NOTHING,
        lambda r: _replace(r / HARBOR_FILE, "modules:\n", "modules:\n  no-such-module: {}\n"),
    ),
    (
        "client wrong type",
        NOTHING,
        lambda r: _replace(r / ACME_FILE, "duration_minutes: 45", 'duration_minutes: "45"'),
    ),
    (
        "client duplicates another's client_id",
        NOTHING,
        lambda r: _replace(
            r / "clients/lakeside-vets.yaml",
            "c8d7d1d9-7646-4c30-989a-c4fea8f82535",
            "74089fb5-e782-426b-ad85-c7990bd21638",
        ),
    ),
    ("client added", NOTHING, lambda r: (r / "clients/new-client.yaml").write_text(NEW_CLIENT)),
    ("client deleted", NOTHING, lambda r: (r / HARBOR_FILE).unlink()),
    (
        "client renamed",
        NOTHING,
        lambda r: (r / HARBOR_FILE).rename(r / "clients/harbor.yaml"),
    ),
    (
        "profile setting",
        NOTHING,
        lambda r: _replace(
            r / "profiles/growth.yaml",
            "file_uploads: true",
            "file_uploads: true\n      max_fields: 150",
        ),
    ),
    ("profile deleted", NOTHING, lambda r: (r / "profiles/enterprise.yaml").unlink()),
    (
        "profile added",
        lambda r: _replace(r / BRIGHT_FILE, "[foundation]", "[foundation, platinum]"),
        lambda r: (r / "profiles/platinum.yaml").write_text(
            "name: platinum\nmodules:\n  documents:\n    settings:\n      retention_years: 3\n"
        ),
    ),
    (
        "module default settings",
        NOTHING,
        lambda r: _replace(r / "modules/forms.yaml", "  max_fields: 40", "  max_fields: 45"),
    ),
    (
        "module version",
        NOTHING,
        lambda r: _replace(r / "modules/forms.yaml", "version: 1.5.0", "version: 1.3.0"),
    ),
    ("module deleted", NOTHING, lambda r: (r / "modules/theme-customizer.yaml").unlink()),
    (
        "reconciler.yaml strategy",
        NOTHING,
        lambda r: _replace(r / "reconciler.yaml", "strategy: merge", "strategy: replace"),
    ),
    (
        "reconciler.yaml legacy defaults",
        NOTHING,
        lambda r: _replace(r / "reconciler.yaml", ", integrations, support]", "]"),
    ),
    (
        "reconciler.yaml defaults layer",
        NOTHING,
        lambda r: _replace(r / "reconciler.yaml", "channel: email", "channel: chat"),
    ),
    (
        "reconciler.yaml secrets.plaintext",
        lambda r: _replace(
            r / SUMMIT_FILE, "{secret: {file: secrets/summit-health-api-key}}", "clear-text-key"
        ),
        lambda r: _replace(r / "reconciler.yaml", "plaintext: forbid", "plaintext: warn"),
    ),
    (
        "reconciler.yaml max_file_bytes",
        NOTHING,
        lambda r: _replace(r / "reconciler.yaml", "max_file_bytes: 1048576", "max_file_bytes: 600"),
    ),
    (
        "policy",
        NOTHING,
        lambda r: _replace(
            r / "policies/guard-rails.yaml",
            'change.kind == "disable" &&',
            'change.kind == "enable" &&',
        ),
    ),
]


@pytest.mark.parametrize(("what", "setup", "edit"), EDITS, ids=[e[0] for e in EDITS])
def test_each_kind_of_edit_is_seen_by_a_warm_run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    shared_store: str,
    what: str,
    setup: Edit,
    edit: Edit,
) -> None:
    """A warm cache (entries and the fleet's verdict) of the tree, one edit, then every
    command warm equals --no-cache; the edit changed what validate or plan says, so a cache
    that missed it would have answered wrong."""
    desired = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, desired)
    setup(desired)
    with contextlib.chdir(tmp_path):
        before = [invoke(capsys, *command(v, desired, shared_store)) for v in ("validate", "plan")]
    edit(desired)
    warm = check_runs(capsys, desired, shared_store, random.Random(0), what, client_id=ACME_ID)
    after = [warm["validate"], warm["plan"]]
    assert [(r.code, r.out) for r in after] != [(r.code, r.out) for r in before]


def test_a_warm_run_reads_and_parses_only_what_changed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is really used (else every equality above would hold trivially): a warm run
    parses no client file, reads none that has a stamp, and an edit costs that one file."""
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    parsed: list[str] = []
    read: list[str] = []
    outcome, read_bytes = DesiredStream._outcome, WorkingTree.read_bytes

    def counting_outcome(self: DesiredStream, relpath: str, raw: bytes | None = None) -> Any:
        parsed.append(relpath)
        return outcome(self, relpath, raw)

    def counting_read(self: WorkingTree, relpath: str) -> bytes:
        read.append(relpath)
        return read_bytes(self, relpath)

    monkeypatch.setattr(DesiredStream, "_outcome", counting_outcome)
    monkeypatch.setattr(WorkingTree, "read_bytes", counting_read)
    desired = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, desired)
    time.sleep(0.05)  # the copied files are older than their stamps will be
    clients = sorted(f"clients/{p.name}" for p in (desired / "clients").iterdir())

    def validate(*extra: str) -> tuple[list[str], list[str]]:
        parsed.clear()
        read.clear()
        with contextlib.chdir(tmp_path):
            assert invoke(capsys, "validate", "--dir", str(desired), *extra).code == 0
        return sorted(parsed), sorted(p for p in read if p.startswith("clients/"))

    assert validate("--no-cache") == (clients, clients)
    assert validate() == (clients, clients)  # cold: every file parsed, and stamped
    assert validate() == ([], [])  # warm: stamps stand for the files
    time.sleep(0.05)
    acme = desired / "clients/acme-dental.yaml"
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    assert validate() == (["clients/acme-dental.yaml"], ["clients/acme-dental.yaml"])
    assert validate() == ([], [])
