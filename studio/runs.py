"""The run store: every training run as a folder on disk, the single source of truth.

    store = RunStore(Path("runs")); store.sweep()          # once at start-up
    run_dir = store.create(run_id, record)                  # status "running"
    store.append_event(run_id, {"step": 1, "loss": 2.3})
    store.finish(run_id, save_model=lambda folder: model.save_pretrained(folder), **fields)
    store.list(); store.get(run_id); store.rename(run_id, "nicer name"); store.delete(run_id)

Layout of runs/<id>/: run.json (method, base model, hyperparameters, status,
timings, parameter counts, size, metrics), events.jsonl (the loss curve) and
model/ (a PEFT adapter folder or a full model, safetensors only).

Why it cannot lose anything: run.json is replaced atomically (write a temporary
file, fsync, os.replace); the model is written into model.tmp-*/ and renamed to
model/ only when complete, before run.json says "completed". A folder without a
readable run.json is never listed. sweep() deletes leftovers and marks runs whose
training process is gone as "interrupted".
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import threading
import unicodedata
from pathlib import Path

import psutil

RUN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
FINAL_STATUSES = ("completed", "stopped", "failed", "interrupted")
LOADABLE_STATUSES = ("completed", "stopped")
MAX_NAME_CHARS = 80
# Weight formats that unpickle on load (and so can run code): a model folder holding one is never loaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class RunNotFound(KeyError):
    def __str__(self) -> str:  # KeyError's default repr-quotes the message
        return str(self.args[0])


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id(method: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{method}-{stamp}-{os.urandom(2).hex()}"


def clean_name(name) -> str:
    """A run name as shown everywhere: one line, no control or direction-override characters, capped.

    Control characters garble tables and logs, and bidi overrides can make one name look
    like another; letters of any script and emoji (joiners included) stay.
    """
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch == "\u200d" else " " for ch in str(name))
    return " ".join(text.split())[:MAX_NAME_CHARS]


def has_safe_weights(model_dir: Path) -> bool:
    """True when the folder holds safetensors weights and nothing that unpickles."""
    try:
        files = [f.name.lower() for f in model_dir.iterdir() if f.is_file()]
    except OSError:
        return False
    return any(f.endswith(".safetensors") for f in files) and not any(f.endswith(PICKLE_SUFFIXES) for f in files)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ paths
    def path(self, run_id: str) -> Path:
        """The run's folder; rejects anything that is not a plain run id inside the store."""
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise RunNotFound(f"{str(run_id)[:80]!r} is not a valid run id.")
        folder = (self.root / run_id).resolve()
        if folder.parent != self.root:
            raise RunNotFound(f"{run_id!r} is not a valid run id.")
        return folder

    def model_dir(self, run_id: str) -> Path:
        return self.path(run_id) / "model"

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str) -> dict:
        folder = self.path(run_id)
        try:
            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise RunNotFound(f"No run {run_id!r}.") from None
        record["run_id"] = run_id
        return record

    def list(self, method: str | None = None, loadable_only: bool = False) -> list[dict]:
        """Every readable run, newest first."""
        records = []
        for folder in self.root.iterdir():
            if not folder.is_dir() or not RUN_ID_PATTERN.match(folder.name):
                continue
            try:
                record = self.get(folder.name)
            except RunNotFound:
                continue
            if method and record.get("method") != method:
                continue
            if loadable_only and not self.is_loadable(record):
                continue
            records.append(record)
        return sorted(records, key=lambda r: r.get("created_at", ""), reverse=True)

    def is_loadable(self, record: dict) -> bool:
        """Finished, with a complete model folder in safetensors (only those are ever loaded)."""
        return record.get("status") in LOADABLE_STATUSES and has_safe_weights(self.model_dir(record["run_id"]))

    def events(self, run_id: str) -> list[dict]:
        path = self.path(run_id) / "events.jsonl"
        if not path.exists():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                break  # a line cut short by a crash ends the curve
        return events

    def require_loadable(self, run_id: str) -> dict:
        record = self.get(run_id)
        if not self.is_loadable(record):
            raise RunNotFound(f"Run {run_id!r} has no saved model (status: {record.get('status')}).")
        return record

    # ------------------------------------------------------------------ writing
    def create(self, run_id: str, record: dict) -> Path:
        folder = self.path(run_id)
        with self._lock:
            folder.mkdir()  # raises if the id is taken: never overwrite a run
            record = dict(record, run_id=run_id, status="running", created_at=now_iso(),
                          owner=_process_identity())
            write_json_atomic(folder / "run.json", record)
            (folder / "events.jsonl").touch()
        return folder

    def update(self, run_id: str, **fields) -> dict:
        with self._lock:
            record = self.get(run_id)
            record.update(fields)
            write_json_atomic(self.path(run_id) / "run.json", record)
            return record

    def append_event(self, run_id: str, event: dict) -> None:
        with open(self.path(run_id) / "events.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")

    def finish(self, run_id: str, status: str, save_model=None, **fields) -> dict:
        """Save the model (if given) through a temporary folder, then record the final status."""
        assert status in FINAL_STATUSES
        folder = self.path(run_id)
        if save_model is not None:
            tmp = folder / f"model.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                save_model(tmp)
                os.replace(tmp, folder / "model")
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            fields["size_bytes"] = folder_size(folder / "model")
        return self.update(run_id, status=status, finished_at=now_iso(), **fields)

    def rename(self, run_id: str, name: str) -> dict:
        if not isinstance(name, str):
            raise ValueError("A run's name must be text.")
        if len(" ".join(name.split())) > MAX_NAME_CHARS:
            raise ValueError(f"A run's name is at most {MAX_NAME_CHARS} characters.")
        name = clean_name(name)
        if not name:
            raise ValueError("A run's name cannot be empty.")
        return self.update(run_id, name=name)

    def delete(self, run_id: str) -> None:
        record = self.get(run_id)
        if record.get("status") == "running" and self._owner_alive(record):
            raise ValueError(f"Run {run_id!r} is still training; stop it first.")
        folder = self.path(run_id)
        # Rename first so a half-deleted folder is never listed as a run.
        trash = self.root / f".deleting-{run_id}-{os.getpid()}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ start-up
    def sweep(self) -> list[str]:
        """Remove leftovers of crashed saves; mark orphaned 'running' runs as interrupted."""
        interrupted = []
        for entry in self.root.iterdir():
            if entry.name.startswith(".deleting-") or ".tmp-" in entry.name:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                continue
            if not entry.is_dir() or not RUN_ID_PATTERN.match(entry.name):
                continue
            for leftover in entry.glob("*.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
            try:
                record = self.get(entry.name)
            except RunNotFound:
                continue
            if record.get("status") == "running" and not self._owner_alive(record):
                self.update(entry.name, status="interrupted", finished_at=now_iso(),
                            error="The process training this run ended before it finished.")
                interrupted.append(entry.name)
        return interrupted

    @staticmethod
    def _owner_alive(record: dict) -> bool:
        """True when the very process that started the run still runs (pids get reused)."""
        owner = record.get("owner") or {}
        try:
            return owner == _process_identity(int(owner.get("pid", -1)))
        except (psutil.Error, ValueError, TypeError):
            return False


def _process_identity(pid: int | None = None) -> dict:
    """Host, pid and start time: together they name one process, even across restarts."""
    process = psutil.Process(pid) if pid is not None else psutil.Process()
    return {"host": socket.gethostname(), "pid": process.pid, "started": process.create_time()}
