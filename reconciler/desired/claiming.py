"""`status --client`: the desired state of a few clients of a large tree, found by the desired
cache's client-id index (issue 15) or, without it, by the ids' bytes."""

from __future__ import annotations

from collections.abc import Collection

from reconciler.desired.cache import FEW_FILES
from reconciler.desired.cache_fleet import claimed_files, record_probed
from reconciler.desired.load import DesiredStream, collect
from reconciler.desired.source import WorkingTree
from reconciler.model import DesiredState


def load_claiming(root: str, client_ids: Collection[str]) -> DesiredState:
    """The desired state with only the client files that claim one of `client_ids` (settings,
    catalog and profiles in full): `status --client` of one client in a large tree parses at
    most one file. Of the files whose bytes mention an id, those claiming it count, and those
    in error that claim no readable id (so their problems are shown), as without a cache; the
    cache's client-id index finds them (reading only the files it has not seen: when they are
    few, all of them, so that the next run knows every file)."""
    stream = DesiredStream(WorkingTree(root), policies=False)
    needles, read = [cid.encode() for cid in client_ids], stream.source.read_bytes
    claimed = claimed_files(stream.cache, client_ids, stream.limit, stream.client_files)
    files = stream.client_files() if claimed is None else claimed.files
    candidates = [f for f in files if any(n in read(f) for n in needles)]
    # What a file the index knows claims is one of the ids or none; the others are read.
    unseen = [f for f in candidates if claimed is None or f in claimed.unknown]
    if claimed is not None and len(claimed.unknown) < FEW_FILES:
        unseen = sorted(claimed.unknown)
    others: set[str] = set()
    if unseen:
        probe = DesiredStream(stream.source, shared_from=stream)  # its problems are dropped
        probe.resolve_files(unseen)
        others = {f for cid, found in probe._owners.items() if cid not in client_ids for f in found}
        if claimed is not None and stream.cache is not None and probe.cache is not None:
            record_probed(stream.cache, claimed, probe.cache, stream.limit)
    return collect(stream, [f for f in candidates if f not in others])
