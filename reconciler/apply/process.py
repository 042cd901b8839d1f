"""Which process runs a run, and whether it is gone (issue 18, finding 10).

A run row is written `running` before its first client and finished after its last; a process
killed with kill -9 (or a machine that lost power) never finishes it. Each run records its host
and pid; a `running` run of this host whose process no longer exists, or whose pid now belongs
to a process started after the run, is shown as `abandoned`. A run of another host cannot be
checked from here and is shown as recorded.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

# Process start times from /proc are whole seconds of boot time plus clock ticks: allow that.
_START_SLACK_SECONDS = 2.0


def this_host() -> str:
    return socket.gethostname()[:255]


def this_process() -> tuple[str, int]:
    """(host, pid) of the running process, as recorded with a run."""
    return this_host(), os.getpid()


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None when it cannot be told."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def is_gone(host: str | None, pid: int | None, run_started: datetime) -> bool:
    """Whether the process that started a run at `run_started` is certainly gone."""
    if host is None or pid is None or host != this_host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, another user's
        pass
    except OSError:
        return False
    started = _started_at(pid)
    if started is None:
        return False
    when = run_started if run_started.tzinfo else run_started.replace(tzinfo=UTC)
    return started > when.timestamp() + _START_SLACK_SECONDS  # the pid was reused since
