"""Where the desired-state cache lives and whether it is used (issue 15): `--no-cache`,
RECONCILER_NO_CACHE, RECONCILER_CACHE_DIR, the folder beside the tree or under
$XDG_CACHE_HOME; `reconciler cache stats|clear`."""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.desired.cache_db import FILE_NAME, CacheFile, CacheUnusable, remove

log = logging.getLogger("reconciler.desired.cache")

DIR_NAME = ".reconciler-cache"
_TABLES = ("entries", "stamps", "verdicts", "snapshots", "insync")


@dataclass(frozen=True, slots=True)
class CacheConfig:
    enabled: bool = True
    directory: str | None = None  # None: beside the desired-state directory


_CONFIG: ContextVar[CacheConfig | None] = ContextVar("reconciler_desired_cache", default=None)


def configure(*, enabled: bool = True, directory: str | None = None) -> None:
    """What this context's desired streams do (the CLI's --no-cache)."""
    _CONFIG.set(CacheConfig(enabled, directory))


def current_config() -> CacheConfig:
    chosen = _CONFIG.get()
    return env_config() if chosen is None else chosen


def env_config() -> CacheConfig:
    """RECONCILER_NO_CACHE=1 turns the cache off; RECONCILER_CACHE_DIR moves it."""
    off = os.environ.get("RECONCILER_NO_CACHE", "").strip().lower() not in ("", "0", "false")
    return CacheConfig(not off, os.environ.get("RECONCILER_CACHE_DIR") or None)


def cache_directory(source_root: str, config: CacheConfig) -> Path:
    """Where the cache of a tree lives: the configured directory, else beside the tree."""
    if config.directory:
        return Path(config.directory)
    return Path(os.path.abspath(source_root)).parent / DIR_NAME


def _fallback_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "module-reconciler"


def open_file(directory: Path, *, fallback: bool = True) -> CacheFile | None:
    """The cache file in `directory` (rebuilt with one warning if it cannot be trusted), or
    under $XDG_CACHE_HOME when `directory` cannot be written; None when neither works."""
    try:
        return CacheFile(directory)
    except CacheUnusable as exc:
        log.warning("desired cache %s ignored and rebuilt: %s", directory, exc)
        remove(directory)
        try:
            return CacheFile(directory)
        except (CacheUnusable, OSError) as again:
            log.warning("desired cache %s not used: %s", directory, again)
            return None
    except OSError as exc:
        if fallback:
            log.info("desired cache not writable in %s (%s); using the user cache", directory, exc)
            return open_file(_fallback_directory(), fallback=False)
        log.warning("desired cache %s not used: %s", directory, exc)
        return None


def cache_stats(desired_dir: str) -> dict[str, Any]:
    """Where the cache of `desired_dir` is and what it holds (`reconciler cache stats`)."""
    directory = cache_directory(desired_dir, current_config())
    path = directory / FILE_NAME
    stats: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not stats["exists"]:
        return stats
    file = open_file(directory, fallback=False)
    counts = file.counts() if file is not None else {}
    if file is not None:
        file.close()
    size = sum(p.stat().st_size for p in directory.glob(FILE_NAME + "*"))
    return {**stats, "bytes": size, **{k: counts.get(k, 0) for k in _TABLES}}


def clear_cache(desired_dir: str) -> tuple[str, bool]:
    """Remove the cache of `desired_dir`: its path, and whether there was one."""
    directory = cache_directory(desired_dir, current_config())
    return str(directory / FILE_NAME), remove(directory)
