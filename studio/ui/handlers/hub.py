"""The Runs tab's Hub section: push a run with the operator's token, import one from the Hub or uploaded files."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .common import plain, refuse_in_presenter_mode, text

if TYPE_CHECKING:
    from studio.service.engine import Studio

MAX_IMPORT_FILES = 20


def push_run(studio: Studio, run_id: str | None, repo: str, private: bool, owner: str,
             client_factory=None) -> str:
    """Upload one of this session's runs; the token stays on the server (hub.py reads it)."""
    refuse_in_presenter_mode(studio, "pushing runs")
    if not run_id:
        raise ValueError("Pick a run first.")
    repo = text("repository", repo, 200).strip()
    try:
        result = studio.push_run(run_id, repo, private=private is True, owner=owner, client_factory=client_factory)
    except PermissionError:  # ours (not this session's run): its message says why
        raise
    except OSError as exc:  # the network or the Hub said no: say so, without a traceback
        raise ValueError(f"The Hub did not accept the upload: {type(exc).__name__}.") from None
    visibility = "private" if result["private"] else "public"
    return (f"Pushed **{plain(studio.run_label(run_id, method=False))}** to the {visibility} model repo "
            f"[{plain(repo)}](https://huggingface.co/{repo}): {len(result['files'])} files.")


def import_from_hub(studio: Studio, repo: str, client_factory=None) -> str:
    """A pushed run or a PEFT adapter repo on the Hub, as a new run here."""
    refuse_in_presenter_mode(studio, "importing runs")
    from studio.model.hub import check_repo_id

    repo = check_repo_id(text("repository", repo, 200).strip())  # never a folder on the server
    try:
        record = studio.pull_run(repo, client_factory=client_factory)
    except PermissionError:
        raise
    except OSError as exc:  # unreachable, unknown or private repo
        raise ValueError(f"Could not fetch {repo} from the Hub ({type(exc).__name__}): is it public, "
                         "spelled right, and is this studio online?") from None
    return f"Imported {plain(repo)} as **{plain(studio.run_label(record))}**."


def import_files(studio: Studio, paths: list[str] | None, scratch: Path) -> str:
    """Uploaded files of one run or adapter folder (weights as safetensors, configs), as a new run."""
    refuse_in_presenter_mode(studio, "importing runs")
    paths = [p for p in (paths or []) if p]
    if not paths:
        raise ValueError("Choose the files of a run or adapter folder first (adapter_config.json and "
                         "adapter_model.safetensors, or config.json and model.safetensors).")
    if len(paths) > MAX_IMPORT_FILES:
        raise ValueError(f"{len(paths)} files is more than a run holds; choose at most {MAX_IMPORT_FILES}.")
    from studio.model.hub import os_error_text

    holder = None
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(prefix="import-", dir=scratch))
        folder = holder / "uploaded files"  # the origin an imported run is named after
        folder.mkdir()
        for path in paths:
            name = Path(path).name
            if not name or name.startswith("."):
                continue
            shutil.copy2(path, folder / name)
        record = studio.pull_run(str(folder))
    except OSError as exc:  # the server's disk (full, say) while copying the upload: the person's words
        raise ValueError(f"The uploaded files could not be imported: {os_error_text(exc)}") from None
    finally:
        if holder is not None:
            shutil.rmtree(holder, ignore_errors=True)
    return f"Imported the uploaded files as **{plain(studio.run_label(record))}**."


def preparation_text(status: dict) -> str:
    """The header's progress note while STUDIO_PRELOAD_RUNS / STUDIO_PREPARE get the demo ready."""
    if not status["lines"] and not status["running"]:
        return ""
    head = ("⏳ Getting the demo ready in the background (the app works meanwhile):" if status["running"]
            else "✅ Demo ready:")
    return head + "\n" + "\n".join(f"- {plain(line)}" for line in status["lines"])
