"""Who owns what on disk: process identities that survive pid reuse, and whether their owner still runs.

    me = process_identity()                    # {"host": ..., "pid": ..., "started": ...}
    is_alive(record["process"])                # False once that very process has ended
    pid_alive(4242)                            # for leftovers named after a pid only
    folder = owned_scratch_dir(TRAINER_SCRATCH)            # a temp folder named after this process
    remove_dead_scratch(Path(tempfile.gettempdir()), TRAINER_SCRATCH)      # at start-up

A pid alone is not an identity: the system hands a freed pid to the next process,
so the process's start time is kept beside it and must match too.
"""
from __future__ import annotations

import re
import shutil
import socket
import tempfile
from pathlib import Path

import psutil

# create_time() is derived from clock ticks since boot; two readings of one process agree far
# closer than this, while a reused pid belongs to a process started at least a tick later.
SAME_START_SECONDS = 0.5
# The Trainer's output folder (it saves nothing there, but wants one): a temp folder per training.
TRAINER_SCRATCH = "studio-trainer-"


def process_identity(pid: int | None = None) -> dict:
    """Host, pid and start time: together they name one process, even across restarts."""
    process = psutil.Process(pid) if pid is not None else psutil.Process()
    return {"host": socket.gethostname(), "pid": process.pid, "started": process.create_time()}


def is_alive(identity) -> bool:
    """True while the very process named by `identity` runs on this host.

    A process of another host counts as gone: a restarted Space comes back under a new
    host name, and its old processes are gone with the old container.
    """
    if not isinstance(identity, dict) or identity.get("host") != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(identity["pid"]))
        started = float(identity["started"])
        return (abs(process.create_time() - started) < SAME_START_SECONDS
                and process.status() != psutil.STATUS_ZOMBIE)
    except (psutil.Error, KeyError, ValueError, TypeError):
        return False


def pid_alive(pid: int) -> bool:
    """True while some process holds `pid` (possibly a newer one: callers only ever keep more)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError):
        return False


def owned_scratch_dir(prefix: str) -> str:
    """A fresh temporary folder whose name says which process owns it (see remove_dead_scratch)."""
    me = psutil.Process()
    return tempfile.mkdtemp(prefix=f"{prefix}{me.pid}-{int(me.create_time())}-")


def remove_dead_scratch(parent: Path, prefix: str) -> list[Path]:
    """Delete `prefix<pid>-<start>-*` folders whose process has ended (what `kill -9` leaves behind)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-(\d+)-")
    removed = []
    try:
        entries = list(Path(parent).glob(f"{prefix}*"))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or not entry.is_dir():
            continue  # not named by owned_scratch_dir: whose it is cannot be known, so keep it
        if _started_as(int(match.group(1)), int(match.group(2))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _started_as(pid: int, started: int) -> bool:
    try:
        process = psutil.Process(pid)
        return int(process.create_time()) == started and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError):
        return False
