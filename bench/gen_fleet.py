"""Generate a realistic desired-state tree of N clients (reused by every benchmark).

    python bench/gen_fleet.py 10000 /tmp/fleet [--seed 0]

The catalog, profiles and reconciler.yaml are the example's (desired-state/); each client gets
a deterministic UUID, one to three profiles, about ten modules with settings, and overrides.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import uuid
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "desired-state"
MODELINE = "# yaml-language-server: $schema=../../schemas/client.schema.json\n"
TIERS = (["foundation"], ["foundation", "growth"], ["foundation", "growth", "enterprise"])
COLORS = ("#0a7cff", "#f5a623", "#1b5e20", "#006d77", "#6a1b9a", "#2e7d32", "#c62828")
LANGUAGES = ("en", "de", "fr", "es", "nl", "it")
TIMEZONES = ("UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo")
# Ranges the example catalog satisfies, in the npm styles people write.
RANGES = {
    "forms": "^1.4.0",
    "documents": "^1.0.0",
    "automation": ">=1.5.0 <2",
    "support": "^1",
    "consultation": "~2.0.0",
    "questionnaire-engine": "^1.2.0",
    "theme-customizer": "1.x",
    "integrations": "^3.0.0 || ^4.0.0",
    "analytics": "~2.3.0",
    "email-integration": "^1.3.0",
    "consultation-generator": "^0.9.0",
}
PLACES = ("north", "lake", "summit", "harbor", "bright", "river")
KINDS = ("dental", "clinic", "physio", "vets", "health", "care", "smiles", "therapy")


def _client(rng: random.Random, index: int) -> tuple[str, str]:
    """One client file's text, and its client_id."""
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    name = f"{rng.choice(PLACES)}-{rng.choice(KINDS)}-{index}"
    tier = rng.choice(TIERS)
    basic_analytics = rng.random() < 0.2
    lines = [MODELINE, f"client_id: {client_id}", f"name: {name}", f"profiles: [{', '.join(tier)}]"]
    if rng.random() < 0.3:
        lines.append(f"strategy: {rng.choice(('merge', 'replace', 'preserve'))}")
    lines.append("modules:")
    modules = {
        "forms": {
            "max_fields": rng.randint(5, 200),
            "layout": rng.choice(("single-column", "two-column")),
        },
        "documents": {
            "storage_quota_mb": rng.choice((512, 1024, 2048, 4096)),
            "retention_years": rng.randint(1, 30),
        },
        "automation": {"max_workflows": rng.randint(1, 100), "timezone": rng.choice(TIMEZONES)},
        "support": {
            "sla_hours": rng.choice((4, 8, 24, 48)),
            "channel": rng.choice(("email", "chat", "phone")),
        },
        "consultation": {
            "duration_minutes": rng.choice((15, 30, 45, 60)),
            "allow_video": rng.random() < 0.5,
        },
        "questionnaire-engine": {
            "max_questions": rng.randint(10, 300),
            "branching": rng.random() < 0.7,
        },
        "theme-customizer": {
            "palette": rng.choice(("light", "dark", "auto")),
            "allow_custom_css": rng.random() < 0.2,
        },
        "integrations": {
            "webhooks_enabled": rng.random() < 0.5,
            "allowed_hosts": [f"api.{name}.example"],
        },
    }
    if basic_analytics:
        lines += [
            "  analytics:",
            "    enabled: false",
            "  analytics-basic:",
            "    settings:",
            f"      retention_days: {rng.randint(7, 90)}",
        ]
    else:
        modules["analytics"] = {
            "retention_days": rng.randint(30, 730),
            "dashboards": ["overview", "funnel"],
        }
    if "enterprise" in tier:
        modules["email-integration"] = {
            "sender_address": f"hello@{name}.example",
            # A mounted secret, not a value: the example forbids clear text (issue 18).
            "smtp": {
                "username": name,
                "smtp_password": {"secret": {"file": "secrets/northwind-smtp-password"}},
            },
        }
        modules["consultation-generator"] = {"tone": rng.choice(("clinical", "friendly"))}
    for module_id, settings in modules.items():
        lines.append(f"  {module_id}:")
        if rng.random() < 0.3:
            lines.append(f'    version: "{RANGES[module_id]}"')
        lines.append("    settings:")
        lines.extend(_yaml_map(settings, 6))
    lines += [
        "overrides:",
        "  theme:",
        f'    primary_color: "{rng.choice(COLORS)}"',
        f"    logo_url: https://cdn.example.com/{name}/logo.svg",
        "  consultation:",
        f"    welcome_text: Welcome to {name}",
        f"    languages: [{', '.join(rng.sample(LANGUAGES, 2))}]",
    ]
    return "\n".join(lines) + "\n", client_id


def _yaml_map(data: dict[str, object], indent: int) -> list[str]:
    out = []
    for key, value in data.items():
        pad = " " * indent
        if isinstance(value, dict):
            out.append(f"{pad}{key}:")
            out.extend(_yaml_map(value, indent + 2))
        elif isinstance(value, list):
            out.append(f"{pad}{key}: [{', '.join(map(str, value))}]")
        elif isinstance(value, bool):
            out.append(f"{pad}{key}: {'true' if value else 'false'}")
        else:
            out.append(f"{pad}{key}: {value}")
    return out


def generate(n: int, dest: Path, seed: int = 0) -> list[str]:
    """Write a desired-state tree of `n` clients under `dest`; return their client ids."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "reconciler.yaml", dest / "reconciler.yaml")
    for folder in ("modules", "profiles", "secrets"):
        shutil.copytree(EXAMPLE / folder, dest / folder, dirs_exist_ok=True)
    clients = dest / "clients"
    if clients.exists():
        shutil.rmtree(clients)
    clients.mkdir()
    rng = random.Random(seed)
    ids = []
    for index in range(n):
        text, client_id = _client(rng, index)
        (clients / f"client-{index:06d}.yaml").write_text(text, encoding="utf-8")
        ids.append(client_id)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of clients")
    parser.add_argument("dest", type=Path, help="directory to write (clients/ is replaced)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ids = generate(args.n, args.dest, args.seed)
    print(f"wrote {len(ids)} clients to {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
