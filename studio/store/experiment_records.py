"""Experiments on disk: one JSON record per experiment beside the runs, so a restart knows where each stopped.

    records = ExperimentRecords(runs_dir)
    records.save(record)             # atomically, as runs_dir/.experiments/<experiment id>.json
    for record in records.load():    # every readable record, oldest first; the unreadable in records.problems
        seen = as_seen(record)       # "interrupted" (with `stopped_at`) when its process is gone mid-way

A record holds what the experiment was asked (methods, budget, seeds, test dialogues,
generation settings), the hashed owner (as run.json keeps it), the run id of each
training as it is queued, the stage it reached ("training lora", "evaluating", ...) and,
once it ends, its result. The folder's name is not a run id, so the run store neither
lists nor sweeps it. Writing never changes a run; reading never changes a record.
"""
from __future__ import annotations

import re
from pathlib import Path

from studio.store.processes import is_alive, pid_alive
from studio.store.records import BadRecord, load_json
from studio.store.runs import read_text_bounded, write_json_atomic

FOLDER = ".experiments"
EXPERIMENT_ID = re.compile(r"exp-\d{8}-\d{6}-[0-9a-f]{4}")
UNDER_WAY = ("starting", "training", "evaluating")
# A record is a few kB; its result with 10 models and every pair stays far below this.
MAX_RECORD_BYTES = 2 * 2**20
# write_json_atomic's temporary file: .<name>.tmp-<pid>-<thread>
_LEFTOVER = re.compile(r"\..+\.tmp-(\d+)-\d+")


def is_experiment_id(value) -> bool:
    return isinstance(value, str) and EXPERIMENT_ID.fullmatch(value) is not None


def as_seen(record: dict) -> dict:
    """The record as it stands: one under way whose process has ended was cut short where it was."""
    if record.get("status") in UNDER_WAY and not is_alive(record.get("process")):
        return {**record, "status": "interrupted", "stopped_at": record.get("stage") or "starting"}
    return record


class ExperimentRecords:
    def __init__(self, runs_dir: Path):
        self.folder = Path(runs_dir) / FOLDER
        self.problems: dict[str, str] = {}    # file name -> why it could not be read

    def path(self, experiment_id: str) -> Path:
        if not is_experiment_id(experiment_id):
            raise ValueError(f"{str(experiment_id)[:80]!r} is not an experiment id (exp-YYYYMMDD-HHMMSS-xxxx).")
        return self.folder / f"{experiment_id}.json"

    def save(self, record: dict) -> None:
        """Write the record in one step: a reader (or a kill) sees the old one or the new one, whole."""
        path = self.path(record["experiment_id"])
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, record)

    def get(self, experiment_id: str) -> dict | None:
        try:
            return self._read(self.path(experiment_id))
        except (FileNotFoundError, ValueError):
            return None

    def load(self) -> list[dict]:
        """Every readable record, oldest first; a bad file is noted in `problems`, never raised."""
        if not self.folder.is_dir():
            return []
        records = []
        for path in sorted(self.folder.iterdir()):
            leftover = _LEFTOVER.fullmatch(path.name)
            if leftover:
                if not pid_alive(int(leftover.group(1))):   # a write killed half-way: the record is the old one
                    path.unlink(missing_ok=True)
                continue
            if path.suffix != ".json" or not is_experiment_id(path.stem):
                continue
            try:
                records.append(self._read(path))
            except (OSError, ValueError) as exc:
                self.problems[path.name] = str(exc)
        return sorted(records, key=lambda r: (r.get("created_at") or 0, r["experiment_id"]))

    def _read(self, path: Path) -> dict:
        record = load_json(read_text_bounded(path, MAX_RECORD_BYTES))
        if not isinstance(record, dict) or record.get("experiment_id") != path.stem:
            raise BadRecord("not an experiment record (no matching experiment_id)")
        for key, kind in (("methods", list), ("budget", dict), ("runs", dict), ("train", dict)):
            if not isinstance(record.get(key), kind):
                raise BadRecord(f"not an experiment record ({key!r} is missing or of the wrong kind)")
        return record
