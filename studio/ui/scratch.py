"""The app's scratch folder: files it offers for download (evaluation CSVs, exports) before Gradio copies them.

    folder = scratch_folder()      # <tmp>/tuning-studio-ui-<pid>, removed when the process exits

One folder per process, named after its PID. It is removed at a clean exit, and each start
removes the folders of processes that no longer exist (a killed app cannot clean up after
itself), so starts do not pile folders up in the temp directory.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "tuning-studio-ui-"
_registered: set[Path] = set()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # someone else's live process
    return True


def sweep_dead(parent: Path) -> list[Path]:
    """Remove the scratch folders of processes that are gone; returns what was removed."""
    removed = []
    for folder in parent.glob(PREFIX + "*"):
        pid = folder.name[len(PREFIX):]
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def scratch_folder(parent: Path | None = None) -> Path:
    parent = Path(parent or tempfile.gettempdir())
    sweep_dead(parent)
    folder = parent / f"{PREFIX}{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    if folder not in _registered:
        _registered.add(folder)
        atexit.register(shutil.rmtree, folder, True)
    return folder
