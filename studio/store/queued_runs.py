"""Trainings waiting in the queue, kept on disk so that a restart cannot make them vanish.

    queued = QueuedRuns(store)
    queued.remember(run_id, record)   # a training was queued: runs/.queued/<run_id>.json
    queued.forget(run_id)             # it started (its run folder exists), ended or was cancelled
    queued.settle()                   # at start-up: each one a gone studio left becomes a run record,
                                      # "interrupted" and never started, in its owner's Runs list

The queue itself lives in memory (jobs.py): a studio killed while trainings wait used to lose
them without a word, and a run's folder appears only when its training starts. A queued request
is a promise to its owner; this keeps it. After a restart it is not trained behind the owner's
back (the owner may have left, and the studio's owner token lives in their browser): it is shown,
with the reason and its settings, and the owner starts it again with one click in the Train tab.
A promise whose studio process still lives (another process on the same runs folder) is left alone.
"""
from __future__ import annotations

import logging
from pathlib import Path

from studio.store.processes import is_alive, process_identity
from studio.store.records import BadRecord, load_json
from studio.store.runs import RunStore, is_run_id, now_iso, read_text_bounded, write_json_atomic

QUEUED = ".queued"
MAX_PROMISE_BYTES = 256 * 1024   # a record is a few kB; the same bound as any JSON the studio reads back
NEVER_STARTED = ("It was waiting in the training queue when the studio stopped (a restart or a crash), "
                 "so it never started and nothing was trained. Start it again from the Train tab.")

log = logging.getLogger("studio.queue")


class QueuedRuns:
    def __init__(self, store: RunStore):
        self.store = store
        self.folder = store.root / QUEUED

    def _path(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise ValueError(f"Not a run id: {run_id[:80]!r}")
        return self.folder / f"{run_id}.json"

    def remember(self, run_id: str, record: dict) -> None:
        """Keep the queued training's first record until its run exists. A disk that refuses it costs
        only this safety net: the training itself stays queued."""
        try:
            self.folder.mkdir(exist_ok=True)
            write_json_atomic(self._path(run_id), {"run_id": run_id, "record": record, "queued_at": now_iso(),
                                                   "process": process_identity()})
        except OSError as exc:
            log.warning("Could not keep queued training %s on disk: %s", run_id, exc)

    def forget(self, run_id: str) -> None:
        try:
            self._path(run_id).unlink(missing_ok=True)
        except OSError:
            pass   # settle() removes it at the next start: its run exists or it is shown as never started

    def waiting(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.folder.glob("*.json") if is_run_id(p.stem))
        except OSError:
            return []

    def settle(self) -> list[str]:
        """Turn every promise of a studio that is gone into a run record; returns those run ids."""
        shown = []
        for run_id in self.waiting():
            path = self._path(run_id)
            try:
                promise = load_json(read_text_bounded(path, MAX_PROMISE_BYTES))
            except (OSError, BadRecord) as exc:
                log.warning("Skipping unreadable queued training %s: %s", path.name, exc)
                self.forget(run_id)
                continue
            if not isinstance(promise, dict) or not isinstance(promise.get("record"), dict):
                self.forget(run_id)
                continue
            if is_alive(promise.get("process")):
                continue   # its studio still runs (another process on this folder): still its promise
            if not self.store.path(run_id).exists():
                try:
                    self.store.add_unstarted(run_id, promise["record"], NEVER_STARTED,
                                             queued_at=promise.get("queued_at"))
                    shown.append(run_id)
                except (OSError, BadRecord) as exc:   # a full disk: keep the promise for the next start
                    log.warning("Could not record queued training %s: %s", run_id, exc)
                    continue
            self.forget(run_id)
        return shown
