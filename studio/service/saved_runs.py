"""The runs folder as the operator handles it from the command line, without a Studio.

    records, skipped = saved_runs(settings)             # every run record, and the files left unread
    delete_saved_run(settings, run_id)                  # returns the record the run had
    rename_saved_run(settings, run_id, "a better name")
    push_saved_run(settings, run_id, "me/flan-lora", dry_run=True)

`python -m studio runs / delete / rename / push` need only the disk: building a Studio would
resolve the base model and the data, load torch and sweep the store, so these would be slower
and could fail where nothing is wrong with the run (a base model not cached here). The CLI acts
as the operator, so no owner check applies; the Studio's own rename_run / delete_run / push_run
check the session's ownership and then do the same.
"""
from __future__ import annotations

from pathlib import Path

from studio.config.settings import Settings
from studio.store.records import RunRecord
from studio.store.runs import RunNotFound, RunStore


def saved_runs(settings: Settings) -> tuple[list[RunRecord], list[dict]]:
    """The run records, newest first, and the files skipped as unreadable (run id, file, reason)."""
    store = RunStore(settings.runs_dir)
    return store.list(), store.problems


def delete_saved_run(settings: Settings, run_id: str) -> RunRecord | None:
    """Delete a run (not one that is still training); returns the record it had, None when it could not be
    read: the operator may clear a run whose run.json is damaged (the page cannot: it cannot tell whose it was)."""
    store = RunStore(settings.runs_dir)
    try:
        record = store.get(run_id)
    except RunNotFound:
        record = None
    store.delete(run_id, unreadable=True)
    return record


def rename_saved_run(settings: Settings, run_id: str, name: str) -> RunRecord:
    return RunStore(settings.runs_dir).rename(run_id, name)


def push_saved_run(settings: Settings, run_id: str, repo_id: str, private: bool = False,
                   dry_run: bool = False, folder: Path | None = None, client_factory=None) -> dict:
    """Upload a finished run as a model repo (dry_run: only write the folder that would go)."""
    from studio.model.hub import default_client_factory, push

    return push(RunStore(settings.runs_dir), run_id, repo_id, private=private, dry_run=dry_run, folder=folder,
                client_factory=client_factory or default_client_factory)
