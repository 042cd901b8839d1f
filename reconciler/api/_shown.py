"""Where results and errors get shown paths (issue 16): once, as they leave the api, so every
renderer, the CLI's error lines and the dashboard print `sub/desired-state/clients/x.yaml:5:11`
when run from the repository root (see desired/shown.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.desired.shown import ShownPaths
from reconciler.errors import ValidationFailed
from reconciler.plan.model import Plan


@contextmanager
def shown_errors(root: str) -> Iterator[ShownPaths]:
    """Re-raise a ValidationFailed from the block with its problems at shown paths."""
    shown = ShownPaths(root)
    try:
        yield shown
    except ValidationFailed as failed:
        raise shown.error(failed) from None


def shown_plan(planned: Plan, root: str) -> Plan:
    """The plan with client files, deleted clients' files, policy locations and the settings
    file (where safety limits are reported) shown."""
    shown = ShownPaths(root)
    if not shown.prefix:
        return planned
    clients = tuple(dataclasses.replace(c, file=shown(c.file)) for c in planned.clients)
    since = planned.changed_since
    if since is not None:
        deleted = tuple(dataclasses.replace(d, file=shown(d.file)) for d in since.deleted)
        since = dataclasses.replace(since, deleted=deleted)
    violations = tuple(
        dataclasses.replace(v, location=shown.location(v.location)) for v in planned.violations
    )
    return dataclasses.replace(
        planned,
        clients=clients,
        changed_since=since,
        violations=violations,
        settings_file=shown(planned.settings_file),
    )
