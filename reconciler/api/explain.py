"""`explain`: which layer set each resolved value of a client, and which it overrode (issue 16)."""

from __future__ import annotations

from reconciler.api._fleet import desired_stream
from reconciler.desired.explain import explain_client
from reconciler.results import ExplainReport


def explain(
    client: str,
    selector: str = "",
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
) -> ExplainReport:
    """Where every resolved value of one client comes from (SPEC §3 resolution order).

    Args:
        client: the client's client_id or name.
        selector: only `MODULE`, `MODULE.settings.PATH`, `MODULE.version`, `overrides.PATH`,
            `strategy` or `profiles`; "" for every value.
        desired_dir: the desired-state directory (its place in the repository with `ref`).
        ref: read the desired state from this git revision instead of the working tree.

    Returns:
        An `ExplainReport`: per value (enabled, version, version range, strategy, each setting,
        each override path) the layer that set it (`reconciler.yaml defaults`, `profile NAME`,
        `client file`, `module default_settings`, `module file`) with file:line:col, and the
        layers it overrode, lowest first. Sensitive settings are masked.

    Raises:
        ValidationFailed: the desired state is invalid (exit 1).
        ReconcilerError: no such client, or the selector matches nothing (exit 1).
    """
    with desired_stream(desired_dir, ref) as stream:
        return explain_client(stream, client, selector)
